"""Gradescope's results.json.

Students see the top-level `output` at once, and each test when its `visibility` allows: hidden tests
(`after_published`) appear only when grades are published, and Gradescope shows no total score while any
test is hidden. So nothing shown at once may tell the hidden tests' points: the output counts the visible
tests alone, and what the grader printed (`stdout_visibility`) is for instructors only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from autograder.reports.text import PUBLIC_ONLY, cell_error_lines, hidden_tests, late_details, points, visible_tests
from autograder.grading.results import SubmissionResult, write_json_atomic


def _summary_text(result: SubmissionResult) -> str:
    if result.status == "unreadable":
        return (f"This notebook could not be graded: {result.error}\n"
                "Every test scores 0. Fix the notebook and submit it again.")
    if result.status == "missing":
        return f"Nothing was graded: {result.error}\nThe score is 0. Submit the notebook to be graded."
    visible, hidden = visible_tests(result), hidden_tests(result)
    lines = [f"{result.assignment}: visible tests {points(sum(t.score for t in visible))}/"
             f"{points(sum(t.max_score for t in visible))} points, "
             f"{sum(t.status == 'passed' for t in visible)} of {len(visible)} passed."] if visible else []
    if hidden:
        lines.append(f"{len(hidden)} hidden test(s) also ran: their results and your total score are shown "
                     "when grades are published.")
    late = [f"Late: {late_details(result)}."] if result.days_late else []
    public = [f"{PUBLIC_ONLY.capitalize()}."] if result.public_only else []
    return "\n".join(lines + late + public + cell_error_lines(result))


def gradescope_result(result: SubmissionResult) -> dict[str, Any]:
    """Gradescope's results.json. Built from plain fields only, so it exists even for unreadable notebooks.

    Every text is shown as plain text (`output_format`), so nothing a submission printed can become markup.
    The top-level score (which Gradescope shows instead of the tests' sum) is after any late penalty.
    """
    return {
        "score": result.score,
        "execution_time": round(result.duration, 3),
        "output": _summary_text(result),
        "output_format": "text",
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
