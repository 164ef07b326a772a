"""Canvas's gradebook CSV, in the layout Canvas exports and imports: `Student`, `ID`, `SIS User ID`,
`SIS Login ID`, `Section`, then one column per assignment named `Name (id)`, and a second row
`Points Possible`.

Canvas matches a row to a student by `ID` (the Canvas user id: the roster's `lms_id`), else by
`SIS Login ID` (here the roster's `email`), else by name. An assignment column is matched by the
Canvas assignment id in its name, else by its title; a column matching nothing creates an assignment.
Scores are after the late penalty; Canvas has no column for a note, so lateness shows only in the score.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from autograder.reports.classtable import class_table, csv_document, csv_text
from autograder.reports.gradebook_csv import POINTS_POSSIBLE
from autograder.reports.text import points
from autograder.grading.results import SubmissionResult, write_text_atomic

STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def canvas_csv(results: list[SubmissionResult], assignment_ids: Mapping[str, str] | None = None) -> str:
    """The gradebook as Canvas imports it; `assignment_ids` gives Canvas's id of an assignment by name."""
    ids = assignment_ids or {}
    table = class_table(results)
    titles = [f"{a} ({ids[a]})" if a in ids else a for a in table.assignments]
    rows = [[*STUDENT_COLUMNS, *titles],
            [POINTS_POSSIBLE, "", "", "", "", *(points(table.possible[a]) for a in table.assignments)]]
    rows += [[csv_text(row.name or row.student), csv_text(row.lms_id), "", csv_text(row.email), "",
              *(row.cell(a) for a in table.assignments)] for row in table.rows]
    return csv_document(rows)


def write_canvas(results: list[SubmissionResult], path: Path, assignment_ids: Mapping[str, str] | None = None) -> None:
    """Write canvas_csv(results) atomically."""
    write_text_atomic(Path(path), canvas_csv(results, assignment_ids))
