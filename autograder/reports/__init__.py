"""Reports, all written from the result model: JUnit XML, Gradescope, CSV, GitHub's step summary and
annotations, GitHub Classroom, per-student feedback, and the terminal table. One module per format.

Every file is written atomically, so an interrupted run leaves the old report or the new one, never half.
Student-controlled text (paths, messages, printed output) is escaped for each format. Reports a student
can see (annotations, step summary, Classroom, feedback) name only tests with visibility "visible".
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.reports.classroom import classroom_result, write_classroom
from autograder.reports.feedback import feedback_html, feedback_markdown
from autograder.reports.github import append_step_summary, github_annotations, markdown_summary
from autograder.reports.gradebook_csv import gradebook_csv, write_csv
from autograder.reports.gradescope import gradescope_result, write_gradescope
from autograder.reports.junit import junit_xml, write_junit
from autograder.reports.reading import read_results, result_from_dict
from autograder.reports.text import points, spelled, student_of
from autograder.results import SubmissionResult, write_json_atomic, write_text_atomic

__all__ = [
    "ReportPaths", "append_step_summary", "classroom_result", "feedback_html", "feedback_markdown",
    "github_annotations", "gradebook_csv", "gradescope_name", "gradescope_result", "junit_xml", "markdown_summary",
    "points", "read_results", "result_from_dict", "spelled", "student_of", "write_classroom", "write_csv",
    "write_gradescope", "write_junit", "write_reports",
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


def gradescope_name(result: SubmissionResult) -> str:
    return f"{student_of(result)}-{result.assignment or 'unknown'}.json"


def write_reports(results: list[SubmissionResult], paths: ReportPaths) -> None:
    """Write every report asked for, each atomically, plus GitHub's step summary when running there."""
    if paths.json:
        write_json_atomic(paths.json, {"submissions": [r.to_dict() for r in results]})
    if paths.junit:
        write_junit(results, paths.junit)
    if paths.gradescope:
        for result in results:
            write_gradescope(result, paths.gradescope / gradescope_name(result))
    if paths.csv:
        write_csv(results, paths.csv)
    if paths.classroom:
        write_classroom(results, paths.classroom)
    if paths.feedback:
        for result in results:
            folder = paths.feedback / student_of(result)
            write_text_atomic(folder / f"{result.assignment or 'unknown'}.md", feedback_markdown(result))
            write_text_atomic(folder / f"{result.assignment or 'unknown'}.html", feedback_html(result))
    append_step_summary(results)
