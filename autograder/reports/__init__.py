"""Reports, all written from the result model: JUnit XML, Gradescope, CSV, GitHub's step summary and
annotations, GitHub Classroom, per-student feedback, and the terminal table. One module per format.

Every file is written atomically, so an interrupted run leaves the old report or the new one, never half.
Student-controlled text (paths, messages, printed output) is escaped for each format. Reports a student
can see (annotations, step summary, Classroom, feedback) name only tests with visibility "visible".
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import ReportError
from autograder.identifiers import inside
from autograder.reports.classroom import classroom_result, write_classroom
from autograder.reports.destinations import Destination, check_destinations
from autograder.reports.feedback import feedback_html, feedback_markdown
from autograder.reports.files import feedback_names, gradescope_names
from autograder.reports.github import append_step_summary, github_annotations, markdown_summary
from autograder.reports.gradebook_csv import gradebook_csv, write_csv
from autograder.reports.gradescope import gradescope_result, write_gradescope
from autograder.reports.junit import junit_xml, write_junit
from autograder.reports.reading import ResultsFile, read_results, read_results_file, result_from_dict
from autograder.reports.text import incomplete_line, points, spelled, student_of
from autograder.grading.results import SubmissionResult, results_document, write_json_atomic, write_text_atomic

__all__ = [
    "ReportPaths", "ResultsFile", "append_step_summary", "classroom_result", "feedback_html", "feedback_markdown",
    "feedback_names", "github_annotations", "gradebook_csv", "gradescope_names", "gradescope_result",
    "incomplete_line", "junit_xml", "markdown_summary", "points", "read_results", "read_results_file",
    "result_from_dict", "spelled", "student_of", "write_classroom", "write_csv", "write_gradescope", "write_junit",
    "write_reports",
]


@dataclass(frozen=True)
class ReportPaths:
    """Where each report goes; None leaves it out."""

    json: Path | None = None
    junit: Path | None = None
    gradescope: Path | None = None    # a folder: one results.json-style file per submission
    csv: Path | None = None
    classroom: Path | None = None
    feedback: Path | None = None      # a folder: <student>/<assignment>.md and .html

    def check(self) -> None:
        """Before grading: a ReportError naming the first report that cannot be written where asked."""
        check_destinations(Destination(f"--{option}", path, folder=option in ("gradescope", "feedback"))
                           for option, path in vars(self).items() if path is not None)


def write_reports(results: list[SubmissionResult], paths: ReportPaths, incomplete: bool = False) -> None:
    """Write every report asked for, each atomically, plus GitHub's step summary when running there;
    `incomplete` (Ctrl-C stopped the run) is marked in the JSON and the summary.

    Per-submission files are named by reports.files and checked to stay inside their folder. A report
    that cannot be written does not stop the others: one ReportError names every one that failed.
    """
    failed: list[str] = []

    def attempt(write: Callable[[], None]) -> None:
        try:
            write()
        except ReportError as exc:
            failed.append(str(exc))

    if paths.json:
        attempt(lambda: write_json_atomic(paths.json, results_document(results, incomplete)))
    if paths.junit:
        attempt(lambda: write_junit(results, paths.junit))
    if paths.gradescope:
        for result, name in zip(results, gradescope_names(results)):
            attempt(lambda: write_gradescope(result, inside(paths.gradescope, name)))
    if paths.csv:
        attempt(lambda: write_csv(results, paths.csv))
    if paths.classroom:
        attempt(lambda: write_classroom(results, paths.classroom))
    if paths.feedback:
        for result, (folder, stem) in zip(results, feedback_names(results)):
            attempt(lambda: write_text_atomic(inside(paths.feedback, folder, f"{stem}.md"), feedback_markdown(result)))
            attempt(lambda: write_text_atomic(inside(paths.feedback, folder, f"{stem}.html"), feedback_html(result)))
    append_step_summary(results, incomplete)
    if failed:
        raise ReportError("\n".join(failed))
