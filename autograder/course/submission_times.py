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

import os
import subprocess
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from autograder.errors import UsageError
from autograder.course.student_csv import read_rows, read_text
from autograder.course.lateness import parse_time

TIMESTAMP_FILE = "timestamp.txt"
MAX_TIMESTAMP_BYTES = 4096    # nbgrader's timestamp.txt: one line
LISTED = 5                    # submissions without a time named in the error
GIT_SECONDS = 60


def _id_and_timestamp(path: Path, header: list[str] | None) -> list[str]:
    if header != ["id", "timestamp"]:
        found = ",".join(header or []) or "nothing"
        raise UsageError(f"{path} line 1: the header must be id,timestamp (found {found})")
    return header


def read_timestamps(path: Path) -> dict[str, datetime]:
    """The times in a `--timestamps` CSV, by student id: a header `id,timestamp`, then one row per student."""
    return {row["id"]: parse_time(row["timestamp"], f"{path} line {line}")
            for line, row in read_rows(path, "timestamps file", lambda header: _id_and_timestamp(path, header))}


def nbgrader_timestamp(notebook: Path) -> datetime | None:
    """The time in nbgrader's timestamp.txt beside the notebook, or None when there is no such file."""
    path = notebook.parent / TIMESTAMP_FILE
    if not os.path.lexists(path):
        return None
    if path.is_symlink():   # in the class folder, where a student may have put anything
        raise UsageError(f"timestamp file {path} is not a regular file")
    return parse_time(read_text(path, "timestamp file", MAX_TIMESTAMP_BYTES), str(path), naive_is_utc=True)


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
