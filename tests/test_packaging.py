"""What an install ships: every package of the engine, not only the ones an editable install happens to
find on disk; and what a student's install leaves out (the instructor's tools, Jupyter), which the
student's checks must not need."""
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from test_selfcheck import PUBLICLY_TESTED, student_folder

ROOT = Path(__file__).resolve().parents[1]


def test_every_engine_package_is_listed_for_installation():
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    on_disk = sorted(".".join(init.parent.relative_to(ROOT).parts)
                     for init in (ROOT / "autograder").rglob("__init__.py"))
    assert sorted(listed) == on_disk


def test_the_engine_wheel_holds_every_module_its_metadata_and_true_hashes(tmp_path):
    import base64
    import hashlib
    import zipfile

    from autograder.course.wheel import engine_wheel

    wheel = engine_wheel(tmp_path)
    assert wheel.name == "dl_autograder-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "autograder").rglob("*.py")} | {"cli.py"}
        assert modules <= names
        info = "dl_autograder-0.1.0.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        assert "Name: dl-autograder" in metadata and "Requires-Dist: torch>=2.6" in metadata
        assert "grade = cli:main" in archive.read(f"{info}/entry_points.txt").decode()
        rows = [line.split(",") for line in archive.read(f"{info}/RECORD").decode().splitlines()]
        assert {row[0] for row in rows} == names
        for path, digest, size in rows:
            if path != f"{info}/RECORD":
                data = archive.read(path)
                hashed = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                assert (digest, int(size)) == (f"sha256={hashed}", len(data))


# A student's install leaves out the instructor's tools and, with them, Jupyter.
INSTRUCTOR_OR_JUPYTER = ("nbgrader", "nbformat", "nbconvert", "nbclient", "notebook", "ipykernel", "IPython",
                         "ipywidgets", "traitlets", "zmq", "tornado")


def _is_instructor_or_jupyter(module: str) -> bool:
    top = module.partition(".")[0]
    return top in INSTRUCTOR_OR_JUPYTER or top.startswith("jupyter")


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


def test_a_students_install_leaves_out_the_instructors_tools():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = _requirement_names(project["dependencies"])
    assert not [name for name in needed if _is_instructor_or_jupyter(name.replace("-", "_"))], needed
    assert _requirement_names(project["optional-dependencies"]["instructor"]) == {"nbgrader", "nbformat"}


def test_importing_autograder_imports_no_torch():
    code = "import sys, autograder; print(sorted(m for m in sys.modules if m.partition('.')[0] in ('torch', 'numpy')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


STUDENT_CHECKS = """
import json, sys
from pathlib import Path
from cli import main

notebook = Path(sys.argv[1])
main(["check", str(notebook)], standalone_mode=False)
for cell in json.loads(notebook.read_text())["cells"]:   # the cells, run in __main__ as a kernel runs them
    if cell["cell_type"] == "code" and "demo" not in cell["metadata"].get("tags", []):
        exec("".join(cell["source"]), globals())
from autograder import check
check()
print("MODULES", json.dumps(sorted(sys.modules)))
"""


def test_the_students_checks_import_nothing_of_nbgrader_or_jupyter(tmp_path):
    notebook = student_folder(tmp_path, PUBLICLY_TESTED)
    done = subprocess.run([sys.executable, "-c", STUDENT_CHECKS, str(notebook)], cwd=notebook.parent,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Public tests: 40/40 points") == 2   # grade check, then check()
    modules = json.loads(done.stdout.split("MODULES", 1)[1])
    assert "autograder.selfcheck.kernel" in modules and "cli" in modules
    assert not [m for m in modules if _is_instructor_or_jupyter(m)]


@pytest.mark.parametrize("command", [["release", "mlp", "--out", "bundle"], ["export", "--gradebook", "g.db"]])
def test_instructor_commands_without_the_instructors_tools_say_how_to_install_them(tmp_path, monkeypatch, command):
    monkeypatch.setitem(sys.modules, "nbgrader", None)   # as if not installed
    results = tmp_path / "results.json"
    results.write_text("{}")
    arguments = [*command, str(results)] if command[0] == "export" else command
    result = CliRunner().invoke(main, [*arguments, "--root", str(ROOT)] if command[0] == "release" else arguments)
    assert result.exit_code == 2
    assert f"grade {command[0]} is an instructor's command and needs nbgrader" in result.output
    assert "pip install -c constraints.txt -e '.[instructor]'" in result.output


def test_ci_runs_exactly_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"Run the test suite:\n\n```bash\n(.+)\n```", readme).group(1)
    assert (ROOT / ".ci" / "run").read_text().rstrip().splitlines()[-1] == command
    assert "'.[test,instructor]'" in command
