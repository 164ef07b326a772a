"""A class as a gradebook sees it: one row per student, one cell per assignment, and each assignment's
points possible. The CSV, Canvas and Moodle gradebooks are all written from this one grid.

A cell is the score after any late penalty; a student with a "missing" row scores 0 in that
assignment (a missing row that names no assignment counts for every assignment of the class); a
student with nothing for an assignment has an empty cell. A notebook that could not be read and says
no assignment has no cell, only a note. Two submissions of one student for one assignment cannot
share a cell: the grader does not choose between them, so the cell is left empty (an LMS import
changes nothing there) and the note names both.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from autograder.reports.text import note, points, student_of
from autograder.grading.results import SubmissionResult

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """Student-chosen names cannot become spreadsheet formulas (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_document(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


@dataclass
class StudentRow:
    student: str
    name: str = ""
    email: str = ""
    lms_id: str = ""
    results: dict[str, list[SubmissionResult]] = field(default_factory=dict)   # by assignment
    missing: dict[str, SubmissionResult] = field(default_factory=dict)   # by assignment; "" for every one
    unplaced: list[SubmissionResult] = field(default_factory=list)      # unreadable, for no known assignment

    def result(self, assignment: str) -> SubmissionResult | None:
        """The result in this student's cell for `assignment`: graded or unreadable, else missing, else None
        (also when two submissions compete for the cell)."""
        handed_in = self.results.get(assignment, [])
        if handed_in:
            return handed_in[0] if len(handed_in) == 1 else None
        return self.missing.get(assignment) or self.missing.get("")

    def cell(self, assignment: str) -> str:
        result = self.result(assignment)
        return "" if result is None else points(result.score)

    def note(self, assignment: str) -> str:
        """What the cell's score does not say: text.note of its result, or why the cell is empty."""
        handed_in = self.results.get(assignment, [])
        if len(handed_in) > 1:
            return (f"{len(handed_in)} submissions ({', '.join(r.submission for r in handed_in)}): "
                    "the cell is left empty, grade one of them")
        result = self.result(assignment)
        return note(result) if result is not None else ""

    def notes(self, assignments: list[str]) -> str:
        """Each assignment's note, named: "mlp: 2 days late: -20 points; cnn: no submission found for dave"."""
        found = [(a, self.note(a)) for a in assignments] + [(r.submission, note(r)) for r in self.unplaced]
        return "; ".join(f"{name}: {text}" for name, text in found if text)


@dataclass
class ClassTable:
    assignments: list[str]
    possible: dict[str, float]   # points possible, by assignment
    rows: list[StudentRow]


def class_table(results: list[SubmissionResult]) -> ClassTable:
    """The grid of `results`: students in the order they first appear, assignments sorted by name."""
    rows: dict[str, StudentRow] = {}
    possible: dict[str, float] = {}
    for result in results:
        student = student_of(result)
        row = rows.setdefault(student, StudentRow(student))
        row.name, row.email, row.lms_id = row.name or result.name, row.email or result.email, \
            row.lms_id or result.lms_id
        if result.status == "missing":
            row.missing[result.assignment] = result
            continue
        if not result.assignment:
            row.unplaced.append(result)
            continue
        row.results.setdefault(result.assignment, []).append(result)
        possible[result.assignment] = max(possible.get(result.assignment, 0.0), result.max_score)
    names = sorted({*possible, *(a for row in rows.values() for a in row.missing if a)})
    return ClassTable(names, {a: possible.get(a, 0.0) for a in names}, list(rows.values()))
