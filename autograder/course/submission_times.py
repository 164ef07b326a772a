"""When each submission was handed in, read before anything is graded, from the first of:

1. a `--timestamps` CSV the instructor gives (header `id,timestamp`: the student's id and a time), for
   example exported from the platform that received the work;
2. nbgrader's `timestamp.txt` beside the notebook (`submitted/<student>/<assignment>/timestamp.txt`),
   written by nbgrader's exchange when the student submitted;
3. the time of the last git commit of the notebook, when it is in a git repository at or below the
   class folder (a class repository, or one cloned repository per student). A commit's time is what
   the committer's machine said: students can set it, so prefer 1 or 2 where the deadline matters.

A time that cannot be read, or a submission with no time at all, is a UsageError naming the file.
"""
from __future__ import annotations

import csv
import io
import os
import subprocess
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from autograder.errors import UsageError
from autograder.identifiers import is_student_id, shown
from autograder.course.lateness import parse_time

TIMESTAMP_FILE = "timestamp.txt"
MAX_BYTES = 16 * 2**20        # a --timestamps file
MAX_TIMESTAMP_BYTES = 4096    # nbgrader's timestamp.txt: one line
LISTED = 5                    # submissions without a time named in the error
GIT_SECONDS = 60


def _read(path: Path, limit: int, what: str) -> str:
    if path.is_symlink() or not path.is_file():
        raise UsageError(f"{what} {path} is not a regular file")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UsageError(f"{what} {path} is larger than {limit} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{what} {path} is not UTF-8 text") from None


def read_timestamps(path: Path) -> dict[str, datetime]:
    """The times in a `--timestamps` CSV, by student id: a header `id,timestamp`, then one row per student."""
    reader = csv.reader(io.StringIO(_read(path, MAX_BYTES, "timestamps file"), newline=""), strict=True)
    times: dict[str, datetime] = {}
    lines: dict[str, int] = {}
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
        if header != ["id", "timestamp"]:
            raise UsageError(f"{path} line 1: the header must be id,timestamp (found {','.join(header) or 'nothing'})")
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != 2:
                raise UsageError(f"{path} line {line}: {len(row)} values, but the header names 2 columns")
            student, text = (cell.strip() for cell in row)
            if not is_student_id(student):
                raise UsageError(f"{path} line {line}: {shown(student)} is not a student id")
            if student in lines:
                raise UsageError(f"{path} line {line}: id {shown(student)} is already on line {lines[student]}")
            times[student], lines[student] = parse_time(text, f"{path} line {line}"), line
    except csv.Error as exc:
        raise UsageError(f"{path} line {reader.line_num}: not valid CSV ({exc})") from None
    return times


def nbgrader_timestamp(notebook: Path) -> datetime | None:
    """The time in nbgrader's timestamp.txt beside the notebook, or None when there is no such file."""
    path = notebook.parent / TIMESTAMP_FILE
    if not os.path.lexists(path):
        return None
    return parse_time(_read(path, MAX_TIMESTAMP_BYTES, "timestamp file"), str(path), naive_is_utc=True)


def git_commit_time(notebook: Path, ceiling: Path | None = None) -> tuple[datetime | None, str]:
    """The committer time of the notebook's last commit, or None and why not. With `ceiling`, only a
    repository at or below that folder counts (not, say, the course repository the class folder sits in)."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    if ceiling is not None:
        env["GIT_CEILING_DIRECTORIES"] = str(Path(os.path.abspath(ceiling)).parent)
    try:
        done = subprocess.run(["git", "-C", str(notebook.parent), "log", "-1", "--format=%cI", "--",
                               notebook.name], capture_output=True, text=True, env=env, timeout=GIT_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"git could not be run ({exc})"
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[0] if done.stderr.strip() else f"git exit code {done.returncode}"
        return None, "not in a git repository" if "not a git repository" in reason else f"git: {reason}"
    if not done.stdout.strip():
        return None, "never committed to its git repository"
    return parse_time(done.stdout, f"git log of {notebook}"), ""


def submission_times(submissions: Iterable[tuple[str, Path]], listed: dict[str, datetime] | None = None,
                     listed_in: Path | None = None, ceiling: Path | None = None) -> dict[Path, datetime]:
    """When each (student, notebook) was handed in: by the student's row in `listed` (read from
    `listed_in`), else nbgrader's timestamp.txt, else git. A UsageError names the submissions with none."""
    times: dict[Path, datetime] = {}
    missing: list[str] = []
    for student, notebook in submissions:
        if listed is not None and student in listed:
            times[notebook] = listed[student]
            continue
        found = nbgrader_timestamp(notebook)
        if found is None:
            found, why = git_commit_time(notebook, ceiling)
            if found is None:
                where = f"not in {listed_in}, " if listed_in else ""
                missing.append(f"{notebook} ({where}no {TIMESTAMP_FILE} beside it, {why})")
                continue
        times[notebook] = found
    if missing:
        more = f" and {len(missing) - LISTED} more" if len(missing) > LISTED else ""
        raise UsageError("a late policy needs each submission's time, and none was found for "
                         + "; ".join(missing[:LISTED]) + more)
    return times
