"""Our reference notebooks in a real nbgrader course.

Instructors may keep using nbgrader: `nbgrader generate_assignment` must accept reference/<name>/<name>.ipynb
as source, release it without solutions, and release the same code students get from `grade release`
(assignments/<name>/<name>.ipynb), so either tool can hand out the assignment.
"""
from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.grading.assignments import available

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = available(ROOT, ("reference",))


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """release/ of a course whose source/ holds every reference notebook, generated in one nbgrader call
    (nbgrader takes seconds to start)."""
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\nc.CourseDirectory.course_id = 'test'\n")
    for name in ASSIGNMENTS:
        (course / "source" / name).mkdir(parents=True)
        shutil.copyfile(ROOT / "reference" / name / f"{name}.ipynb", course / "source" / name / f"{name}.ipynb")
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs alembic, installed beside this interpreter
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
               JUPYTER_CONFIG_DIR=str(course / ".jupyter"))  # no user-level nbgrader_config.py
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force"], cwd=course,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return course / "release"


def code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def by_grade_id(cells: list[nbformat.NotebookNode]) -> dict[str, nbformat.NotebookNode]:
    """Code cells keyed by grade_id, in order; a cell without one by its position."""
    return {cell.metadata.get("nbgrader", {}).get("grade_id") or f"code cell {index}": cell
            for index, cell in enumerate(cells, start=1)}


def solution_lines(notebook: Path) -> set[str]:
    """Substantial lines between the solution markers that do not also appear outside them."""
    inside_lines, outside_lines, inside = set(), set(), False
    for cell in code_cells(notebook):
        for line in (line.strip() for line in cell.source.splitlines()):
            if line == "### BEGIN SOLUTION":
                inside = True
            elif line == "### END SOLUTION":
                inside = False
            elif inside and len(line) >= 16:
                inside_lines.add(line)
            elif not inside:
                outside_lines.add(line)
    return inside_lines - outside_lines


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_nbgrader_releases_the_reference_without_solutions(release: Path, name: str) -> None:
    released = release / name / f"{name}.ipynb"
    assert released.is_file()
    cells = code_cells(released)
    source = "\n".join(cell.source for cell in cells)
    assert "### BEGIN SOLUTION" not in source and "### END SOLUTION" not in source
    assert "raise NotImplementedError()" in source
    lines = {line.strip() for line in source.splitlines()}
    leaks = sorted(solution_lines(ROOT / "reference" / name / f"{name}.ipynb") & lines)
    assert not leaks, f"solution lines in nbgrader's release of {name}: {leaks[:5]}"


def differences(ours: list[nbformat.NotebookNode], theirs: list[nbformat.NotebookNode]) -> list[str]:
    """What differs between two lists of code cells, matched by grade_id: missing cells and source diffs."""
    mine, nbgraders = by_grade_id(ours), by_grade_id(theirs)
    found = [f"only in assignments/: {key}" for key in mine.keys() - nbgraders.keys()]
    found += [f"only in nbgrader's release: {key}" for key in nbgraders.keys() - mine.keys()]
    if not found and list(mine) != list(nbgraders):
        found.append(f"cell order differs: {list(mine)} vs {list(nbgraders)}")
    for key in mine.keys() & nbgraders.keys():
        if mine[key].source != nbgraders[key].source:
            diff = difflib.unified_diff(mine[key].source.splitlines(), nbgraders[key].source.splitlines(),
                                        "assignments/", "nbgrader release", lineterm="")
            found.append(f"cell {key}:\n" + "\n".join(diff))
    return found


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_committed_stub_has_the_code_nbgrader_releases(release: Path, name: str) -> None:
    # Metadata differs by design: nbgrader adds a checksum and cell_type to every nbgrader cell.
    found = differences(code_cells(ROOT / "assignments" / name / f"{name}.ipynb"),
                        code_cells(release / name / f"{name}.ipynb"))
    assert not found, f"assignments/{name}/{name}.ipynb differs from nbgrader's release:\n" + "\n\n".join(found)
