"""Shared checks for the assignment test files: each sample loses exactly the points it deserves."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from autograder.grading.grade import grade_notebook
from autograder.grading.results import SubmissionResult

ROOT = Path(__file__).resolve().parents[1]


@cache
def graded(assignment: str, sample: str) -> SubmissionResult:
    """A sample (file name, with or without .ipynb) graded once per test session."""
    path = (ROOT / "examples" / "submissions" / assignment / sample).with_suffix(".ipynb")
    return grade_notebook(path, assignment, ROOT)


def sample_names(assignment: str) -> list[str]:
    """The samples that ship for an assignment, as file stems."""
    return sorted(p.stem for p in (ROOT / "examples" / "submissions" / assignment).glob("*.ipynb"))


def assert_loses_exactly(result: SubmissionResult, points: dict[str, float], failing: dict[str, str]) -> None:
    """Tests in `failing` score 0 with a message containing the given words; all others full marks."""
    assert result.status == "graded" and not result.cell_errors, (result.error, result.cell_errors)
    assert {t.name: t.max_score for t in result.tests} == points
    for test in result.tests:
        if test.name in failing:
            assert test.score == 0 and test.status in ("failed", "error"), (test.name, test.status, test.message)
            assert failing[test.name] in test.message, (test.name, test.message)
        else:
            assert (test.status, test.score) == ("passed", test.max_score), (test.name, test.status, test.message)
    assert result.score == 100 - sum(points[name] for name in failing)


def assert_reference_scores_full_marks(assignment: str) -> None:
    result = grade_notebook(ROOT / "reference" / assignment / f"{assignment}.ipynb", None, ROOT)
    assert result.assignment == assignment and (result.score, result.max_score) == (100, 100), \
        [(t.name, t.status, t.message) for t in result.tests if t.status != "passed"]


def assert_stub_is_not_implemented(assignment: str) -> None:
    result = grade_notebook(ROOT / "assignments" / assignment / f"{assignment}.ipynb", assignment, ROOT)
    assert (result.score, result.max_score, result.status) == (0, 100, "graded")
    assert {t.status for t in result.tests} == {"not_implemented"}
    assert all("not implemented" in t.message for t in result.tests)
