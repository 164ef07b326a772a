"""Our reference notebooks in a real nbgrader course.

Instructors may keep using nbgrader: `nbgrader generate_assignment` must accept reference/<name>/<name>.ipynb
as source, release it without solutions, and release the same code students get from `grade release`
(assignments/<name>/<name>.ipynb), so either tool can hand out the assignment.
"""
from __future__ import annotations

import ast
import csv
import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.grading.assignments import available
from autograder.course.gradebook import SCORE_CELL

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


def points_of_tests(tests: Path) -> float:
    """The points of every test in a test file, by their @pytest.mark.points(n) markers."""
    total = 0.0
    for node in ast.parse(tests.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            total += sum(d.args[0].value for d in node.decorator_list
                         if isinstance(d, ast.Call) and ast.unparse(d.func) == "pytest.mark.points")
    return total


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_score_cell_is_worth_what_the_tests_are(name: str) -> None:
    """`grade export` puts the tests' total into this nbgrader task cell: their points must agree."""
    cells = [c for c in nbformat.read(ROOT / "reference" / name / f"{name}.ipynb", as_version=4).cells
             if c.metadata.get("nbgrader", {}).get("grade_id") == SCORE_CELL]
    assert len(cells) == 1 and cells[0].cell_type == "markdown" and cells[0].metadata.nbgrader["task"]
    assert cells[0].metadata.nbgrader["points"] == points_of_tests(ROOT / "reference" / name / f"test_{name}.py")


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


# ------------------------------------------------------------------- scores into a course nbgrader runs

DUE = "2025-03-01T23:59:00+00:00"


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """A real nbgrader command in the course, with this environment's alembic and Jupyter kernel."""
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
               JUPYTER_CONFIG_DIR=str(course / ".jupyter"))
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=900)


def grade(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("grade")), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An nbgrader course whose mlp was generated by nbgrader, collected (alice on time, bob two days
    late), graded by `grade batch` with a late policy and exported with `grade export --course`."""
    course = tmp_path_factory.mktemp("graded-course")
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\nc.CourseDirectory.course_id = 'test'\n")
    (course / "source" / "mlp").mkdir(parents=True)
    shutil.copyfile(ROOT / "reference" / "mlp" / "mlp.ipynb", course / "source" / "mlp" / "mlp.ipynb")
    done = nbgrader(course, "generate_assignment", "mlp")
    assert done.returncode == 0, done.stdout + done.stderr
    samples = ROOT / "examples" / "submissions" / "mlp"
    released = nbformat.read(course / "release" / "mlp" / "mlp.ipynb", as_version=4)
    score_cell = next(c for c in released.cells if c.metadata.get("nbgrader", {}).get("grade_id") == SCORE_CELL)
    for student, sample, when in (("alice", "correct_functional", "2025-03-01 20:00:00.250000 UTC"),
                                  ("bob", "mistake_gradient_sign", "2025-03-03 08:30:00.000000 UTC")):
        folder = course / "submitted" / student / "mlp"
        folder.mkdir(parents=True)
        work = nbformat.read(samples / f"{sample}.ipynb", as_version=4)
        work.cells.append(score_cell)   # the samples' code, in the notebook nbgrader released
        nbformat.write(work, folder / "mlp.ipynb")
        (folder / "timestamp.txt").write_text(when)
    results = course / "results.json"
    done = grade("batch", course / "submitted", "--root", ROOT, "-j", "2", "--due", DUE, "--late-penalty", "10",
                 "--json", results)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    done = grade("export", results, "--course", course, "--root", ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return course


def test_generate_assignment_force_still_works_after_the_export(graded_course: Path) -> None:
    done = nbgrader(graded_course, "generate_assignment", "mlp", "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded_course / 'gradebook.db'}") as gb:
        assert gb.find_submission("mlp", "bob").score == 90   # the scores survive it


def test_formgrader_and_nbgrader_export_show_the_scores_and_the_penalty(graded_course: Path) -> None:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    api = NbGraderAPI(coursedir=CourseDirectory(root=str(graded_course)))
    submissions = {s["student"]: s for s in api.get_submissions("mlp")}   # formgrader's list of submissions
    assert {s: (v["autograded"], v["score"], v["max_score"], v["needs_manual_grade"])
            for s, v in submissions.items()} == {"alice": (True, 100, 100, False), "bob": (True, 90, 100, False)}
    done = nbgrader(graded_course, "export", "--to", "grades.csv")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {row["student_id"]: row for row in csv.DictReader((graded_course / "grades.csv").open(newline=""))}
    assert {s: (float(r["raw_score"]), float(r["late_submission_penalty"]), float(r["score"]))
            for s, r in rows.items()} == {"alice": (100, 0, 100), "bob": (90, 20, 70)}
    assert rows["bob"]["timestamp"].startswith("2025-03-03 08:30:00")
    assert rows["bob"]["duedate"].startswith("2025-03-01 23:59")


def test_nbgrader_feedback_shows_the_public_tests_and_the_total_never_a_hidden_test(graded_course: Path) -> None:
    done = nbgrader(graded_course, "generate_feedback", "mlp")
    assert done.returncode == 0, done.stdout + done.stderr
    page = (graded_course / "feedback" / "bob" / "mlp" / "mlp.html").read_text()
    assert "test_mse_gradients_match_finite_differences: 0/10 (failed)" in page
    assert "hidden tests: " in page and "Late: 2 days late: -20 points" in page
    assert "test_gradient_step" not in page   # a hidden test of mlp


def test_nbgrader_autograde_keeps_working_and_a_second_export_restores_the_penalty(graded_course: Path) -> None:
    from nbgrader.api import Gradebook

    done = nbgrader(graded_course, "autograde", "mlp", "--student", "bob", "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    url = f"sqlite:///{graded_course / 'gradebook.db'}"
    with Gradebook(url) as gb:   # autograde never scores a task cell; it applies its own late policy (none)
        submission = gb.find_submission("mlp", "bob")
        assert (submission.score, submission.late_submission_penalty) == (90, 0)
    done = grade("export", graded_course / "results.json", "--course", graded_course, "--root", ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    with Gradebook(url) as gb:
        assert gb.find_submission("mlp", "bob").late_submission_penalty == 20
