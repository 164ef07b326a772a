"""Shared checks for the assignment test files: each sample loses exactly the points it deserves.

Each test's points are read from the reference test file itself, so changing them needs no edit here; the
grader's own reading of them (pytest markers) is checked against this one (the file's syntax) on every
sample.
"""
from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from autograder.checks import names_a_mistake
from autograder.grading.grade import grade_notebook
from autograder.grading.results import SubmissionResult

ROOT = Path(__file__).resolve().parents[1]


@cache
def graded(assignment: str, sample: str) -> SubmissionResult:
    """A sample (file name, with or without .ipynb) graded once per test session."""
    path = (ROOT / "examples" / "submissions" / assignment / sample).with_suffix(".ipynb")
    return grade_notebook(path, assignment, ROOT)


@cache
def declared_points(assignment: str) -> dict[str, float]:
    """Every test of reference/<assignment>/test_<assignment>.py and the number in its @pytest.mark.points(n)."""
    path = ROOT / "reference" / assignment / f"test_{assignment}.py"
    points = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            marks = [d for d in node.decorator_list if isinstance(d, ast.Call) and ast.unparse(d.func).endswith(
                "mark.points")]
            assert len(marks) == 1, f"{path}: {node.name} needs exactly one @pytest.mark.points(n)"
            points[node.name] = float(ast.literal_eval(marks[0].args[0]))
    return points


def sample_names(assignment: str) -> list[str]:
    """The samples that ship for an assignment, as file stems."""
    return sorted(p.stem for p in (ROOT / "examples" / "submissions" / assignment).glob("*.ipynb"))


def assert_loses_exactly(result: SubmissionResult, points: dict[str, float], failing: dict[str, str],
                         partial: dict[str, float] | None = None, *, named: bool = True) -> None:
    """Tests in `failing` score 0 with a message containing the given words, tests in `partial` the points
    given there (status partial, a message saying what full marks need); all others full marks. With `named`,
    at least one of those messages names the mistake (`checks.names_a_mistake`, the audit's measure)."""
    partial = partial or {}
    assert result.status == "graded" and not result.cell_errors, (result.error, result.cell_errors)
    assert {t.name: t.max_score for t in result.tests} == points
    for test in result.tests:
        if test.name in failing:
            assert test.score == 0 and test.status in ("failed", "error"), (test.name, test.status, test.message)
            assert failing[test.name] in test.message, (test.name, test.message)
        elif test.name in partial:
            assert (test.status, test.score) == ("partial", partial[test.name]), (test.name, test.status, test.message)
            assert "for full marks" in test.message, (test.name, test.message)
        else:
            assert (test.status, test.score) == ("passed", test.max_score), (test.name, test.status, test.message)
    lost = sum(points[name] for name in failing) + sum(points[name] - given for name, given in partial.items())
    assert result.score == 100 - lost
    if named and (failing or partial):
        messages = [t.message for t in result.tests if t.name in failing or t.name in partial]
        assert any(names_a_mistake(message) for message in messages), messages


def assert_reference_scores_full_marks(assignment: str) -> None:
    result = grade_notebook(ROOT / "reference" / assignment / f"{assignment}.ipynb", None, ROOT)
    assert result.assignment == assignment and (result.score, result.max_score) == (100, 100), \
        [(t.name, t.status, t.message) for t in result.tests if t.status != "passed"]


def assert_stub_is_not_implemented(assignment: str) -> None:
    result = grade_notebook(ROOT / "assignments" / assignment / f"{assignment}.ipynb", assignment, ROOT)
    assert (result.score, result.max_score, result.status) == (0, 100, "graded")
    assert {t.status for t in result.tests} == {"not_implemented"}
    assert all("not implemented" in t.message for t in result.tests)
