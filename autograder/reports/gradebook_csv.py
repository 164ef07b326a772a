"""A gradebook CSV: one row per submission, one column per test."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from autograder.reports.text import note, points, student_of
from autograder.grading.results import SubmissionResult, write_text_atomic

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str) -> str:
    """Student-chosen names cannot become spreadsheet formulas (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def gradebook_csv(results: list[SubmissionResult]) -> str:
    """One row per submission (with the student's roster details and the row's note), one column per test
    (union of names, first-seen order) with points earned."""
    names = list(dict.fromkeys(t.name for r in results for t in r.tests))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["assignment", "submission", "student", "name", "email", "lms_id", "score", "max_score",
                     "status", "note", *names])
    for result in results:
        earned = {t.name: points(t.score) for t in result.tests}
        texts = (result.assignment, result.submission, student_of(result), result.name, result.email, result.lms_id)
        writer.writerow([*map(_csv_text, texts), points(result.score), points(result.max_score), result.status,
                         _csv_text(note(result)), *(earned.get(name, "") for name in names)])
    return out.getvalue()


def write_csv(results: list[SubmissionResult], path: Path) -> None:
    """Write gradebook_csv(results) atomically."""
    write_text_atomic(Path(path), gradebook_csv(results))
