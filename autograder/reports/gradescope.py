"""Gradescope's results.json."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from autograder.reports.text import cell_error_lines, points
from autograder.grading.results import SubmissionResult, write_json_atomic


def _summary_text(result: SubmissionResult) -> str:
    if result.status == "unreadable":
        return (f"This notebook could not be graded: {result.error}\n"
                "Every test scores 0. Fix the notebook and submit it again.")
    if result.status == "missing":
        return f"Nothing was graded: {result.error}\nThe score is 0. Submit the notebook to be graded."
    passed = sum(t.status == "passed" for t in result.tests)
    headline = (f"{result.assignment}: {points(result.score)}/{points(result.max_score)} points, "
                f"{passed} of {len(result.tests)} tests passed.")
    return "\n".join([headline, *cell_error_lines(result)])


def gradescope_result(result: SubmissionResult) -> dict[str, Any]:
    """Gradescope's results.json. Built from plain fields only, so it exists even for unreadable notebooks."""
    return {
        "score": result.score,
        "execution_time": round(result.duration, 3),
        "output": _summary_text(result),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{"score": t.score, "max_score": t.max_score,
                   "status": "passed" if t.status == "passed" else "failed",
                   "name": t.name, "number": str(i), "output": t.message, "tags": [],
                   "visibility": t.visibility}
                  for i, t in enumerate(result.tests, start=1)],
    }


def write_gradescope(result: SubmissionResult, path: Path) -> None:
    """Write gradescope_result(result) atomically (Gradescope reads /autograder/grading/results/results.json)."""
    write_json_atomic(Path(path), gradescope_result(result))
