"""Patching the checking machinery, pytest's outcomes, and walking the worker's memory for the grader.

Every patch lives in the worker; the comparisons run in the grader. Each attack is added to the correct
solution with a wrong softmax (or to the stub), so the score proves the patches gained nothing and broke
nothing else.
"""
from autograder.worker.client import Limits

from .conftest import FAST, MAX_SCORE, expect_softmax, grade, reference_with, stub_with

PATCH_EVERYTHING = '''
import builtins, sys, types, unittest
import numpy, pytest, torch
import autograder.checks, autograder.remote, autograder.worker.wire

always = lambda *args, **kwargs: True
nothing = lambda *args, **kwargs: None
for name in ("allclose", "equal", "isclose"):
    setattr(torch, name, always)
    setattr(numpy, name if name != "equal" else "array_equal", always)
torch.Tensor.__eq__ = always
torch.testing.assert_close = nothing
numpy.testing.assert_allclose = numpy.testing.assert_array_equal = nothing
pytest.approx = lambda *args, **kwargs: types.SimpleNamespace(__eq__=always)
pytest.fail = pytest.skip = pytest.xfail = nothing
for name in ("assertEqual", "assertTrue", "assertAlmostEqual", "assertIsInstance"):
    setattr(unittest.TestCase, name, nothing)
builtins.AssertionError = type("AssertionError", (Exception,), {})
for name in ("assert_close", "assert_shape", "assert_dtype", "assert_rel_error", "assert_gradient",
             "assert_at_least", "copy_parameters"):
    setattr(autograder.checks, name, nothing)
autograder.checks.expect_tensor = lambda value, name: value
autograder.checks.CheckFailed = type("CheckFailed", (Exception,), {})
autograder.remote.RemoteObject.__eq__ = always
sys.modules["autograder.checks"] = types.ModuleType("autograder.checks")
'''

WRONG_SOFTMAX = '''
def softmax(logits):
    return torch.zeros_like(logits)
'''

SKIP_IN_CALL = '''
import pytest


def softmax(logits):
    pytest.skip("nothing to grade here")
'''

OUTCOMES_AT_IMPORT = [
    'import pytest\npytest.skip("skip the whole notebook", allow_module_level=True)',
    'import pytest\npytest.xfail("expected to fail, so do not count it")',
    'import pytest\npytest.exit("stop the grading run", returncode=0)',
]

WALK_AND_HIJACK = '''
import gc, sys

frames, frame = set(), sys._getframe()
while frame is not None:
    frames.add(frame.f_code.co_filename)
    frame = frame.f_back
print("FRAMES", sorted(frames))
kinds = sorted({f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()
                if str(type(o).__module__).startswith(("autograder", "_pytest", "pytest"))})
print("KINDS", kinds)

# Take over the worker's loop: from now on every request is answered with a "passed" test result.
worker = next(o for o in gc.get_objects() if type(o).__name__ == "Worker")
worker.handle = lambda request: {"status": "passed", "score": 100, "type": "", "message": ""}
'''


def test_patching_checks_pytest_unittest_and_builtins_gains_nothing(tmp_path):
    # importing the grader's own modules in the worker takes seconds: give that cell time to finish
    limits = Limits(**{**FAST.__dict__, "cell_seconds": 30})
    result = grade(reference_with(tmp_path, "patched", prepend=[PATCH_EVERYTHING], softmax=WRONG_SOFTMAX), limits)
    expect_softmax(result, "failed", "softmax(z)")
    assert not result.cell_errors, result.cell_errors


def test_pytest_skip_in_student_code_is_an_error_not_a_skip(tmp_path):
    result = grade(reference_with(tmp_path, "skip_in_call", softmax=SKIP_IN_CALL))
    expect_softmax(result, "error", "your code raised Skipped: nothing to grade here")


def test_pytest_outcomes_raised_at_import_only_fail_their_cells(tmp_path):
    result = grade(reference_with(tmp_path, "outcomes", prepend=OUTCOMES_AT_IMPORT))
    assert result.score == MAX_SCORE
    assert [e["type"] for e in result.cell_errors] == ["Skipped", "XFailed", "Exit"]


def test_walking_frames_and_gc_finds_nothing_of_the_grader_and_hijacking_the_loop_gains_nothing(tmp_path):
    result = grade(stub_with(tmp_path, "walk", prepend=[WALK_AND_HIJACK]))
    assert result.score == 0 and result.status == "graded"
    assert all(t.status == "error" and "malformed cell report" in t.message for t in result.tests), \
        {t.name: t.message[:200] for t in result.tests}
    frames = next(line for line in result.output.splitlines() if line.startswith("FRAMES"))
    kinds = next(line for line in result.output.splitlines() if line.startswith("KINDS"))
    for grader_side in ("plugin.py", "grading.py", "checks.py", "test_mlp.py", "_pytest"):
        assert grader_side not in frames, frames
    for grader_side in ("autograder.grading.plugin", "autograder.grading.results", "autograder.checks", "_pytest"):
        assert grader_side not in kinds, kinds
