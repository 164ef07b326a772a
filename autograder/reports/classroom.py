"""The result a GitHub Classroom runner reports."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from autograder.reports.text import hidden_line, hidden_tests, visible_tests
from autograder.grading.results import SubmissionResult, write_json_atomic

_CLASSROOM_STATUS = {"passed": "pass", "failed": "fail", "not_implemented": "fail",
                     "error": "error", "timed_out": "error"}


def _classroom_test(name: str, status: str, score: float, max_score: float, message: str,
                    duration: float) -> dict[str, Any]:
    return {"name": name, "status": status, "score": score, "max_score": max_score, "message": message,
            "test_code": "", "filename": "", "line_no": 0, "duration": round(duration * 1000)}


def _classroom_tests(result: SubmissionResult, prefix: str) -> list[dict[str, Any]]:
    tests = [_classroom_test(prefix + t.name, _CLASSROOM_STATUS[t.status], t.score, t.max_score, t.message,
                             t.duration) for t in visible_tests(result)]
    hidden = hidden_tests(result)
    if hidden:
        tests.append(_classroom_test(
            prefix + "hidden tests", "pass" if all(t.status == "passed" for t in hidden) else "fail",
            sum(t.score for t in hidden), sum(t.max_score for t in hidden), hidden_line(result),
            sum(t.duration for t in hidden)))
    return tests


def classroom_result(results: list[SubmissionResult]) -> dict[str, Any]:
    """The result a GitHub Classroom runner reports (autograding-grading-reporter sums the tests' scores).

    Students read it in the workflow log, so hidden tests appear as one "hidden tests" entry.
    Test names are prefixed with the submission when there are several. A missing submission fails.
    """
    many = len(results) > 1
    tests = [t for r in results for t in _classroom_tests(r, f"{r.submission}: " if many else "")]
    if any(r.status == "unreadable" for r in results):
        status = "error"
    elif any(r.status == "missing" for r in results) or any(t.status != "passed" for r in results for t in r.tests):
        status = "fail"
    else:
        status = "pass"
    return {"version": 1, "status": status, "max_score": sum(r.max_score for r in results), "tests": tests}


def write_classroom(results: list[SubmissionResult], path: Path) -> None:
    """Write classroom_result(results) atomically."""
    write_json_atomic(Path(path), classroom_result(results))
