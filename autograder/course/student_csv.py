"""CSV files with a row per student (the roster, submission times): read whole, or refused with a UsageError
that names the file and the line, so a half-read file is never used."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from autograder.errors import UsageError
from autograder.identifiers import is_student_id, shown

MAX_BYTES = 16 * 2**20


def read_text(path: Path, what: str, limit: int = MAX_BYTES) -> str:
    """The text of the file at `path`, at most `limit` bytes of UTF-8; the byte-order mark spreadsheets often
    write first is dropped."""
    if not path.is_file():
        raise UsageError(f"{what} {path} is not a regular file")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UsageError(f"{what} {path} is larger than {limit:,} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UsageError(f"{path} line {line}: not UTF-8 text") from None


def read_rows(path: Path, what: str,
              columns: Callable[[list[str] | None], list[str]]) -> list[tuple[int, dict[str, str]]]:
    """The rows after the header as (line, {column: cell}), cells stripped of spaces, blank lines skipped.

    `columns` gets the header (cells stripped and lower-cased; None for an empty file) and returns the
    column names or raises UsageError. Every row must have an `id` that is a student id
    (identifiers.is_student_id) and that no earlier row has, ignoring case as some file systems do."""
    reader = csv.reader(io.StringIO(read_text(path, what), newline=""), strict=True)
    rows: list[tuple[int, dict[str, str]]] = []
    seen: dict[str, tuple[str, int]] = {}
    try:
        first = next(reader, None)
        header = columns(None if first is None else [cell.strip().lower() for cell in first])
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise UsageError(f"{path} line {line}: {len(row)} values, but the header names {len(header)} columns")
            cells = {name: cell.strip() for name, cell in zip(header, row)}
            student = cells["id"]
            if not is_student_id(student):
                raise UsageError(f"{path} line {line}: {shown(student)} is not a student id (ASCII letters, "
                                 "digits, '.', '_' and '-', starting with a letter or digit, at most 64)")
            if student.casefold() in seen:
                earlier, earlier_line = seen[student.casefold()]
                raise UsageError(f"{path} line {line}: id {shown(student)} is already on line {earlier_line}"
                                 + ("" if earlier == student else f" (as {shown(earlier)})"))
            seen[student.casefold()] = (student, line)
            rows.append((line, cells))
    except csv.Error as exc:
        raise UsageError(f"{path} line {reader.line_num}: not valid CSV ({exc})") from None
    return rows
