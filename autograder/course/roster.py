"""The class roster: who should have handed something in, read from a CSV file the instructor keeps.

A header row names the columns: `id` (required: the student's folder name in the class folder) and
optionally `name`, `email` and `lms_id`, which reports carry along. Anything the file gets wrong is a
UsageError naming the file and the line, so a roster is either read whole or not used at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.errors import UsageError
from autograder.identifiers import shown
from autograder.course.student_csv import read_rows

COLUMNS = ("id", "name", "email", "lms_id")


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""
    email: str = ""
    lms_id: str = ""


def _header(path: Path, header: list[str] | None) -> list[str]:
    if header is None:
        raise UsageError(f"{path} is empty: a roster needs a header row with an 'id' column")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise UsageError(f"{path} line 1: unknown column {shown(unknown[0])} (columns: {', '.join(COLUMNS)})")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise UsageError(f"{path} line 1: column {shown(repeated[0])} appears twice")
    if "id" not in header:
        raise UsageError(f"{path} line 1: no 'id' column (the header is {', '.join(header) or 'empty'})")
    return header


def read_roster(path: Path) -> dict[str, Student]:
    """The students on the roster at `path`, by id, in the file's order.

    Ids must be student ids and distinct, ignoring case (see student_csv.read_rows).
    """
    students = {row["id"]: Student(**row) for _, row in read_rows(path, "roster", lambda h: _header(path, h))}
    if not students:
        raise UsageError(f"{path} lists no students, only a header")
    return students
