"""The class roster: who should have handed something in, read from a CSV file the instructor keeps.

A header row names the columns: `id` (required: the student's folder name in the class folder) and
optionally `name`, `email` and `lms_id`, which reports carry along. Anything the file gets wrong is a
UsageError naming the file and the line, so a roster is either read whole or not used at all.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import UsageError
from autograder.identifiers import is_student_id, shown

COLUMNS = ("id", "name", "email", "lms_id")
MAX_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""
    email: str = ""
    lms_id: str = ""


def _text(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read roster {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"roster {path} is larger than {MAX_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8-sig")   # spreadsheets often start UTF-8 with a byte-order mark
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UsageError(f"{path} line {line}: not UTF-8 text") from None


def _header(path: Path, row: list[str] | None) -> list[str]:
    if row is None:
        raise UsageError(f"{path} is empty: a roster needs a header row with an 'id' column")
    header = [cell.strip().lower() for cell in row]
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

    Ids must be student ids (identifiers.is_student_id) and distinct, ignoring case as some file
    systems do; cells are stripped of surrounding spaces; blank lines are skipped.
    """
    reader = csv.reader(io.StringIO(_text(path), newline=""), strict=True)
    try:
        header = _header(path, next(reader, None))
        students: dict[str, Student] = {}
        lines: dict[str, tuple[str, int]] = {}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise UsageError(f"{path} line {line}: {len(row)} values, but the header names {len(header)} columns")
            student = Student(**{name: cell.strip() for name, cell in zip(header, row)})
            if not is_student_id(student.id):
                raise UsageError(f"{path} line {line}: {shown(student.id)} is not a student id (ASCII letters, "
                                 "digits, '.', '_' and '-', starting with a letter or digit, at most 64)")
            key = student.id.casefold()
            if key in lines:
                first, first_line = lines[key]
                raise UsageError(f"{path} line {line}: id {shown(student.id)} is already on line {first_line}"
                                 + ("" if first == student.id else f" (as {shown(first)})"))
            lines[key] = (student.id, line)
            students[student.id] = student
    except csv.Error as exc:
        raise UsageError(f"{path} line {reader.line_num}: not valid CSV ({exc})") from None
    if not students:
        raise UsageError(f"{path} lists no students, only a header")
    return students
