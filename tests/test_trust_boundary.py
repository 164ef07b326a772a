"""Submissions that try to win without doing the work gain nothing: their code never runs here."""
import builtins
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from autograder.grading.grade import grade_notebook
from conftest import notebook_variant

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference" / "mlp" / "mlp.ipynb"
STUB = ROOT / "assignments" / "mlp" / "mlp.ipynb"

ALWAYS_EQUAL = '''
class Anything:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __getattr__(self, name):
        return self
    def __call__(self, *args, **kwargs):
        return self


def linear_forward(X, w, b):
    return Anything()


def mse_loss(y_hat, y):
    return Anything()
'''

PATCH_ALLCLOSE = '''
import torch, numpy
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
numpy.allclose = lambda *a, **k: True
import builtins
import subprocess
import sys
builtins.AssertionError = type("Nothing", (Exception,), {})
'''


def graded(tmp_path, name, **changes):
    return grade_notebook(notebook_variant(STUB, tmp_path / f"{name}.ipynb", **changes), "mlp", ROOT)


def test_no_submission_code_runs_in_the_grading_process(tmp_path):
    marker = "import builtins, os\nbuiltins.SUBMISSION_RAN_HERE = True\nprint('RAN IN', os.getpid())"
    result = graded(tmp_path, "marker", prepend=[marker])
    assert "RAN IN" in result.output, "the submission's code did not run at all"
    assert not hasattr(builtins, "SUBMISSION_RAN_HERE"), "the submission's code ran in the grading process"
    assert result.score == 0


def test_patched_comparisons_gain_nothing(tmp_path):
    result = graded(tmp_path, "patch", prepend=[PATCH_ALLCLOSE])
    assert result.score == 0
    assert torch.allclose(torch.zeros(1), torch.ones(1)) is False


def test_always_equal_objects_gain_nothing(tmp_path):
    result = graded(tmp_path, "eq", replace={"linear-forward": ALWAYS_EQUAL})
    assert result.score == 0
    forward = {t.name: t for t in result.tests}["test_linear_forward"]
    assert forward.status == "failed" and "expected a torch.Tensor, got an object of type Anything" in forward.message


@pytest.mark.parametrize("exit_call", ["import sys; sys.exit(0)", "import os; os._exit(0)"])
def test_exiting_early_gains_nothing(tmp_path, exit_call):
    result = graded(tmp_path, "exit", prepend=[exit_call])
    assert result.score == 0 and result.max_score == 100
    assert all(t.status != "passed" for t in result.tests)
    if "_exit" in exit_call:
        assert all("exited with code 0" in t.message for t in result.tests)


def test_exiting_after_a_correct_solution_keeps_only_what_was_earned(tmp_path):
    """sys.exit in a cell stops only that cell; the correct cells before and after still count."""
    result = grade_notebook(notebook_variant(REFERENCE, tmp_path / "late_exit.ipynb",
                                             prepend=["import sys; sys.exit(0)"]), "mlp", ROOT)
    assert result.score == 100
    assert result.cell_errors and result.cell_errors[0]["type"] == "SystemExit"


def test_pytest_plugins_installed_in_the_environment_are_not_loaded_when_grading():
    """An installed plugin could change how a test is reported; grading loads only its own."""
    probe = ("import sys; from pathlib import Path; from autograder.grading.grade import grade_notebook\n"
             f"result = grade_notebook(Path({str(STUB)!r}), 'mlp', Path({str(ROOT)!r}))\n"
             "print(len(result.tests), sorted(m for m in sys.modules if m.endswith('pytest_plugin')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split(maxsplit=1) == ["18", "[]\n"], out.stdout
