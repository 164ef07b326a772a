"""The gradebook CSV (one row per student, one column per assignment, a "Points Possible" row as Canvas
writes it) and its detail (one row per student and test, with lateness and penalties)."""
from __future__ import annotations

from pathlib import Path

from autograder.reports.classtable import class_table, csv_document, csv_text
from autograder.reports.text import note, points, student_of
from autograder.grading.results import SubmissionResult, write_text_atomic

POINTS_POSSIBLE = "Points Possible"
DETAIL_COLUMNS = ["student", "name", "email", "lms_id", "assignment", "submission", "status", "note",
                  "submitted_at", "days_late", "penalty", "test", "visibility", "test_status", "score",
                  "max_score", "message"]


def gradebook_csv(results: list[SubmissionResult]) -> str:
    """`student`, the roster's `name`, `email` and `lms_id`, a column per assignment with the score after
    any late penalty, and a `note` per student; the second row holds each assignment's points possible."""
    table = class_table(results)
    rows = [["student", "name", "email", "lms_id", *table.assignments, "note"],
            [POINTS_POSSIBLE, "", "", "", *(points(table.possible[a]) for a in table.assignments), ""]]
    rows += [[*map(csv_text, (row.student, row.name, row.email, row.lms_id)),
              *(row.cell(a) for a in table.assignments), csv_text(row.notes(table.assignments))]
             for row in table.rows]
    return csv_document(rows)


def _submission_cells(result: SubmissionResult) -> list[str]:
    texts = (student_of(result), result.name, result.email, result.lms_id, result.assignment, result.submission)
    return [*map(csv_text, texts), result.status, csv_text(note(result)), result.submitted_at,
            str(result.days_late), points(result.penalty)]


def detail_csv(results: list[SubmissionResult]) -> str:
    """One row per submission and test (a submission with no test gets one row, its note saying why):
    the test's visibility, status, points and message beside the submission's lateness and penalty."""
    rows = [DETAIL_COLUMNS]
    for result in results:
        head = _submission_cells(result)
        rows += [[*head, csv_text(t.name), t.visibility, t.status, points(t.score), points(t.max_score),
                  csv_text(t.message)] for t in result.tests] or [[*head, "", "", "", "", "", ""]]
    return csv_document(rows)


def write_csv(results: list[SubmissionResult], path: Path) -> None:
    """Write gradebook_csv(results) atomically."""
    write_text_atomic(Path(path), gradebook_csv(results))


def write_detail_csv(results: list[SubmissionResult], path: Path) -> None:
    """Write detail_csv(results) atomically."""
    write_text_atomic(Path(path), detail_csv(results))
