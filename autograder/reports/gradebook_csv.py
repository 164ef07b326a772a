"""A gradebook CSV: one row per submission, one column per test."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from autograder.reports.text import points, student_of
from autograder.results import SubmissionResult, write_text_atomic

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: str) -> str:
    """Student-chosen names cannot become spreadsheet formulas (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def gradebook_csv(results: list[SubmissionResult]) -> str:
    """One row per submission, one column per test (union of names, first-seen order) with points earned."""
    names = list(dict.fromkeys(t.name for r in results for t in r.tests))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["assignment", "submission", "student", "score", "max_score", "status", *names])
    for result in results:
        earned = {t.name: points(t.score) for t in result.tests}
        writer.writerow([_csv_text(result.assignment), _csv_text(result.submission), _csv_text(student_of(result)),
                         points(result.score), points(result.max_score), result.status,
                         *(earned.get(name, "") for name in names)])
    return out.getvalue()


def write_csv(results: list[SubmissionResult], path: Path) -> None:
    """Write gradebook_csv(results) atomically."""
    write_text_atomic(Path(path), gradebook_csv(results))
