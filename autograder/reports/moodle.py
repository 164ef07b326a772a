"""Moodle's grade import CSV: one row per student, identified by a user field Moodle matches at import
(`Email address` to the user's email, or `ID number` to their ID number: the roster's `email` and
`lms_id`), then for each assignment a grade column and a feedback column (lateness, or why nothing was
graded), each mapped to the grade item at import."""
from __future__ import annotations

from pathlib import Path

from autograder.reports.classtable import class_table, csv_document, csv_text
from autograder.grading.results import SubmissionResult, write_text_atomic

STUDENT_COLUMNS = ["Full name", "Email address", "ID number"]
FEEDBACK = "{} feedback"


def moodle_csv(results: list[SubmissionResult]) -> str:
    """The gradebook as Moodle's CSV grade import reads it; scores are after the late penalty."""
    table = class_table(results)
    header = [*STUDENT_COLUMNS, *(column for a in table.assignments for column in (a, FEEDBACK.format(a)))]
    rows = [header]
    for row in table.rows:
        cells = [csv_text(row.name or row.student), csv_text(row.email), csv_text(row.lms_id)]
        for assignment in table.assignments:
            cells += [row.cell(assignment), csv_text(row.note(assignment))]
        rows.append(cells)
    return csv_document(rows)


def write_moodle(results: list[SubmissionResult], path: Path) -> None:
    """Write moodle_csv(results) atomically."""
    write_text_atomic(Path(path), moodle_csv(results))
