"""`grade release` validates an assignment before it writes anything: tiny assignments built here, each
wrong in one way, are refused through the real CLI (exit 2, naming the test, region or file) and leave
the output folder as it was; a valid one is released with its public data only, and its bundle checks
offline with `grade check`."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main

DOUBLE = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
SCALED = ('def scaled(x):\n    """x times the scale in data/scale.npy."""\n'
          '    ### BEGIN SOLUTION\n    return scale * x\n    ### END SOLUTION')
TRIPLE = "def triple(x):\n    ### BEGIN SOLUTION\n    return 3 * x\n    ### END SOLUTION"
SOLUTIONS = {"double": DOUBLE, "scaled": SCALED}
SETUP = 'import numpy as np\nimport torch\n\nscale = float(np.load("data/scale.npy"))  # in the worker, as in Jupyter'
TESTS = '''
import numpy as np
import pytest
import torch


@pytest.mark.points(40)
@pytest.mark.public
def test_double(student, reference):
    x = torch.arange(4.0)
    assert torch.equal(student.double(x), reference.double(x)), "double(x) must be 2 x"


@pytest.mark.points(60)
def test_scaled(student, data_file):
    expected = torch.from_numpy(np.load(data_file("answers.npy")))  # held out: only the grader has it
    assert torch.equal(student.scaled(torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64)), expected), "scaled(x)"
'''


def _cell(source: str, grade_id: str, solution: bool) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": not solution,
                                 "schema_version": 3, "solution": solution}
    return cell


def assignment(root: Path, name: str, *, tests: str = TESTS, cells: dict[str, str] = SOLUTIONS,
               data: dict | None = None, files: dict[str, object] | None = None) -> Path:
    """reference/<name>/ under root: a setup cell reading data/scale.npy, solution cells, the tests, and data/
    (scale.npy public, answers.npy hidden, unless `data` and `files` say otherwise). Each assignment needs a
    name of its own: a grading process imports an assignment's tests once, by their module name."""
    folder = root / "reference" / name
    (folder / "data").mkdir(parents=True)
    declared = data if data is not None else {"public": ["scale.npy"], "hidden": ["answers.npy"]}
    nb = nbformat.v4.new_notebook(metadata={"autograder": {"assignment": name, "data": declared}})
    nb.cells = [_cell(SETUP, "setup", False)] + [_cell(source, grade_id, True) for grade_id, source in cells.items()]
    nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / f"test_{name}.py").write_text(tests)
    for file, value in (files if files is not None else {"scale.npy": 3.0, "answers.npy": [3.0, 6.0, 12.0]}).items():
        if isinstance(value, str):
            (folder / "data" / file).write_text(value)
        else:
            np.save(folder / "data" / file, np.array(value, dtype=np.float64))
    return folder


def release(root: Path, *names: str):
    return CliRunner().invoke(main, ["release", *names, "--root", str(root), "--out", str(root / "out")])


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(root: Path, name: str, *fragments: str) -> str:
    """Release `name` into an output folder holding an earlier bundle: exit 2, every fragment in the message,
    and the folder exactly as it was."""
    earlier = root / "out" / name / "earlier.txt"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("the bundle released before")
    before = tree(root / "out")
    result = release(root, name)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    for fragment in fragments:
        assert fragment in message, (fragment, result.output)
    assert tree(root / "out") == before and "Traceback" not in result.output
    return message


def test_a_valid_assignment_is_released_with_its_public_data_only_and_checks_offline(tmp_path):
    folder = assignment(tmp_path, "tiny_ok")
    result = release(tmp_path, "tiny_ok")
    assert result.exit_code == 0, result.output
    bundle = tmp_path / "out" / "tiny_ok"
    assert sorted(tree(bundle)) == ["data/scale.npy", "reference_values.wire", "test_tiny_ok.py", "tiny_ok.ipynb"]
    assert (bundle / "data" / "scale.npy").read_bytes() == (folder / "data" / "scale.npy").read_bytes()
    stub = nbformat.read(bundle / "tiny_ok.ipynb", as_version=4)
    assert stub.metadata["autograder"]["data"] == {"public": ["scale.npy"]}
    assert "answers" not in json.dumps(stub) and "test_scaled" not in (bundle / "test_tiny_ok.py").read_text()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["tiny_ok"]  # no staging folder left

    student = tmp_path / "student"
    shutil.copytree(bundle, student)
    solved = nbformat.read(folder / "tiny_ok.ipynb", as_version=4)
    for cell in solved.cells:
        cell.source = "\n".join(line for line in cell.source.splitlines() if "### " not in line)
    nbformat.write(solved, student / "tiny_ok.ipynb")
    checked = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["check", str(student / "tiny_ok.ipynb")])
    assert checked.exit_code == 0 and "Public tests: 40/40 points" in checked.output, checked.output


def test_a_reference_that_fails_a_hidden_test_is_refused_naming_the_test_and_file(tmp_path):
    assignment(tmp_path, "tiny_fails", files={"scale.npy": 3.0, "answers.npy": [4.0, 8.0, 16.0]})
    refused(tmp_path, "tiny_fails", "tiny_fails cannot be released",
            f"test_scaled (hidden, in {tmp_path}/reference/tiny_fails/test_tiny_fails.py) fails on the reference "
            "notebook", "scaled(x)")


def test_points_that_do_not_add_up_to_100_are_refused(tmp_path):
    assignment(tmp_path, "tiny_points", tests=TESTS.replace("points(60)", "points(50)"))
    refused(tmp_path, "tiny_points", "test_tiny_points.py add up to 90, not 100", "test_double 40, test_scaled 50")


def test_a_solution_region_no_test_reaches_is_refused(tmp_path):
    assignment(tmp_path, "tiny_unreached", cells={**SOLUTIONS, "triple": TRIPLE})
    message = refused(tmp_path, "tiny_unreached", "no test in", "test_tiny_unreached.py reaches the solution "
                      "region of triple (cell triple, line 2) of", "a mistake there would cost no point")
    assert "of double" not in message and "of scaled" not in message


def test_a_public_test_that_draws_new_inputs_on_every_run_is_refused(tmp_path):
    assignment(tmp_path, "tiny_random", tests=TESTS.replace("x = torch.arange(4.0)", "x = torch.randn(4)"))
    refused(tmp_path, "tiny_random", "test_double (public, in", "calls the reference with other arguments on a "
            "second run", "seeded torch.Generator")


def test_a_reference_function_that_returns_other_values_each_run_is_refused(tmp_path):
    noisy = DOUBLE.replace("return 2 * x", "return 2 * x + 1e-9 * torch.rand(x.shape)  # unseeded")
    assignment(tmp_path, "tiny_drift", cells={**SOLUTIONS, "double": noisy},
               tests=TESTS.replace("torch.equal(student.double(x), reference.double(x))",
                                   "torch.allclose(student.double(x), reference.double(x), atol=1e-6)"))
    refused(tmp_path, "tiny_drift", "test_double (public, in", "reference.double returns other values on a second "
            "run with the same arguments")


@pytest.mark.parametrize("case, change, fragment", [
    ("undeclared", {"files": {"scale.npy": 3.0, "answers.npy": [3.0, 6.0, 12.0], "notes.txt": "draft"}},
     "data/notes.txt is not declared in tiny_data_undeclared.ipynb's metadata"),
    ("missing", {"files": {"scale.npy": 3.0}}, "data/answers.npy is declared by tiny_data_missing.ipynb but does "
                                               "not exist"),
    ("malformed", {"data": {"public": ["../scale.npy"]}}, "'../scale.npy' is not a plain file name in data/"),
    ("twice", {"data": {"public": ["scale.npy"], "hidden": ["answers.npy", "scale.npy"]}},
     "lists scale.npy more than once"),
    ("public_test_opens_hidden", {"tests": TESTS.replace('x = torch.arange(4.0)',
                                                       'x = torch.from_numpy(np.load(data_file("answers.npy")))')
                                  .replace("test_double(student, reference)", "test_double(student, reference, "
                                                                                "data_file)")},
     "test_double is a public test but opens the hidden file data/answers.npy, which students do not have"),
])
def test_data_that_would_not_reach_students_or_workers_as_declared_is_refused(tmp_path, case, change, fragment):
    name = f"tiny_data_{case}"
    assignment(tmp_path, name, **change)
    refused(tmp_path, name, fragment)


def test_one_refused_assignment_keeps_every_other_from_being_written(tmp_path):
    assignment(tmp_path, "tiny_first")
    assignment(tmp_path, "tiny_second", tests=TESTS.replace("points(60)", "points(61)"))
    result = release(tmp_path)
    assert result.exit_code == 2 and "tiny_second cannot be released" in result.output
    assert not (tmp_path / "out").exists()


def test_a_release_replaces_the_earlier_bundle_whole(tmp_path):
    assignment(tmp_path, "tiny_again")
    stale = tmp_path / "out" / "tiny_again" / "data" / "dropped.npy"
    stale.parent.mkdir(parents=True)
    stale.write_text("a file of an earlier release")
    assert release(tmp_path, "tiny_again").exit_code == 0
    assert sorted(tree(tmp_path / "out")) == ["tiny_again/data/scale.npy", "tiny_again/reference_values.wire",
                                              "tiny_again/test_tiny_again.py", "tiny_again/tiny_again.ipynb"]

