"""The student bundle: what `grade release` writes, that it leaks nothing, and `grade check` on it."""
import ast
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import torch
from click.testing import CliRunner

from autograder.grading.assignments import available
from autograder.course.bundle import VALUES_FILE, public_tests_source, read_values
from autograder.grading.data import declared_data
from autograder.grading.notebook import read_notebook
from cli import main

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = available(ROOT, ("reference",))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    result = CliRunner().invoke(main, ["release", "--root", str(ROOT), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def solution_lines(notebook: Path) -> list[str]:
    """Every substantial line between the solution markers of a reference notebook that does not also
    appear outside them (short statements such as `model.eval()` are in instructions by design)."""
    inside_lines, outside_lines, inside = [], set(), False
    for cell in nbformat.read(notebook, as_version=4).cells:
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside and len(line.strip()) >= 16:
                inside_lines.append(line.strip())
            elif not inside:
                outside_lines.add(line.strip())
    return [line for line in inside_lines if line not in outside_lines]


def hidden_test_names(tests: Path) -> list[str]:
    tree = ast.parse(tests.read_text())
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")
            and not any(getattr(d, "attr", None) == "public" for d in n.decorator_list)]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_committed_bundle_is_exactly_what_release_writes(bundle, name):
    made = sorted(p.relative_to(bundle) for p in (bundle / name).rglob("*") if p.is_file())
    committed = sorted(p.relative_to(ROOT / "assignments") for p in (ROOT / "assignments" / name).rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts)
    assert made == committed
    for relative in made:
        fresh, shipped = bundle / relative, ROOT / "assignments" / relative
        if relative.name == VALUES_FILE:
            assert_same_values(read_values(fresh), read_values(shipped), f"assignments/{relative}")
        else:
            assert fresh.read_bytes() == shipped.read_bytes(), \
                f"assignments/{relative} is out of date: run `grade release {name}`"


def assert_same_values(fresh, shipped, where: str) -> None:
    """The same calls with the same results; floats may differ in the last bits, as they do between
    CPUs whose vector units round matrix products differently."""
    assert sorted(fresh) == sorted(shipped), f"{where} is out of date: its recorded calls differ"
    for key in fresh:
        torch.testing.assert_close(fresh[key], shipped[key], rtol=1e-12, atol=1e-12,
                                   msg=lambda m: f"{where} is out of date: {m}")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_bundle_leaks_no_solution_and_no_hidden_test(bundle, name):
    files = [p for p in (bundle / name).rglob("*") if p.is_file()]
    text = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in files)
    # The stub's code must hold no solution line; the public tests are the instructor's own text, shipped
    # on purpose, and are checked for hidden tests below.
    code_lines = {line.strip() for cell in nbformat.read(bundle / name / f"{name}.ipynb", as_version=4).cells
                  if cell.cell_type == "code" for line in cell.source.splitlines()}
    reference = ROOT / "reference" / name
    leaks = [line for line in solution_lines(reference / f"{name}.ipynb") if line in code_lines]
    assert not leaks, f"solution lines found in the bundle: {leaks[:5]}"
    hidden = [test for test in hidden_test_names(reference / f"test_{name}.py") if re.search(rf"\b{test}\b", text)]
    assert not hidden, f"hidden tests named in the bundle: {hidden}"
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    notebook = reference / f"{name}.ipynb"
    for hidden_file in declared_data(read_notebook(notebook), notebook).hidden:
        secret = (reference / "data" / hidden_file).read_bytes()
        assert hidden_file not in text and not [p for p in files if p.read_bytes() == secret], hidden_file
    assert not list((bundle / name).glob("*.py")) or [p.name for p in (bundle / name).glob("*.py")] == [f"test_{name}.py"]


def test_release_is_deterministic(bundle, tmp_path):
    again = tmp_path / "again"
    assert CliRunner().invoke(main, ["release", "mlp", "--root", str(ROOT), "--out", str(again)]).exit_code == 0
    for path in (again / "mlp").iterdir():
        assert path.read_bytes() == (bundle / "mlp" / path.name).read_bytes()


def test_public_tests_source_drops_hidden_tests_and_their_helpers(tmp_path):
    source = '''"""Tests."""
import pytest

SIZE = 3
SECRET = 42


def shared():
    return SIZE


def only_hidden():
    return SECRET


@pytest.mark.points(1)
@pytest.mark.public
def test_open(student):
    assert shared() == 3


@pytest.mark.points(1)
def test_secret(student):
    assert only_hidden() == 42
'''
    out = public_tests_source(source, tmp_path / "t.py")
    compile(out, "t.py", "exec")
    assert "test_open" in out and "def shared" in out and "SIZE = 3" in out
    assert "test_secret" not in out and "only_hidden" not in out and "SECRET" not in out


def test_public_tests_source_keeps_only_the_imports_the_public_tests_use(tmp_path):
    source = '''from __future__ import annotations

import math
import pytest
import torch.nn.functional as F
from collections import OrderedDict, deque as queue
from os.path import *


def helper():
    return queue()


@pytest.mark.public
def test_open(student):
    assert helper() is not None


def test_secret(student):
    assert F.relu is not None and math.pi and OrderedDict
'''
    out = public_tests_source(source, tmp_path / "t.py")
    compile(out, "t.py", "exec")
    assert "from __future__ import annotations\n" in out and "import pytest\n" in out
    assert "from collections import deque as queue\n" in out and "from os.path import *" in out
    assert "math" not in out and "torch" not in out and "OrderedDict" not in out


def test_check_runs_only_public_tests_offline_from_the_bundle(bundle, tmp_path):
    student_dir = tmp_path / "student"
    shutil.copytree(bundle / "mlp", student_dir)
    notebook = student_dir / "mlp.ipynb"
    shutil.copy(ROOT / "examples" / "submissions" / "mlp" / "mistake_gradient_sign.ipynb", notebook)
    result = CliRunner(env={"COLUMNS": "250"}).invoke(main, ["check", str(notebook), "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Hidden tests will also run when your work is graded" in result.output
    assert "sign is flipped" in result.output and "Public tests: 30/40 points" in result.output
    for hidden in hidden_test_names(ROOT / "reference" / "mlp" / "test_mlp.py"):
        assert hidden not in result.output


def test_check_lists_what_is_still_to_implement(bundle):
    result = CliRunner(env={"COLUMNS": "250"}).invoke(main, ["check", str(bundle / "mlp" / "mlp.ipynb")])
    assert result.exit_code == 0, result.output
    assert "Not implemented yet (still raising NotImplementedError):\n  linear_forward (the 2nd code cell)\n" \
        in result.output and "0/40" in result.output
    assert "  MLP.__init__, MLP.forward (the 11th code cell)\n  train_step, train, predict (the 12th code cell)\n" \
        in result.output


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_stub_tells_students_how_to_check_their_work(bundle, name):
    first = next(c for c in nbformat.read(bundle / name / f"{name}.ipynb", as_version=4).cells
                 if c.cell_type == "markdown")
    assert "from autograder import check; check()" in first.source and f"grade check {name}.ipynb" in first.source
