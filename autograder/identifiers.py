"""Identifiers, not paths: the one place where names a submission can influence become safe to build
paths from.

An assignment name selects code the grader imports (`reference/<name>/test_<name>.py`), so it must be a
plain identifier and one of the assignments the instructor has. A student id on a roster names the
student's folder and report files, so it must be a name a file can have unchanged. Report file names are made from who
the student is and what the assignment is, read from submission paths and metadata: they become
bounded names of a few safe characters, distinct for distinct submissions, and every report path built
from them is checked to stay inside its folder.
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from autograder.errors import ReportError

ASSIGNMENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")   # its own file_stem: reports are named by it
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")   # what report files and folders are called
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_STEM = 64
_DIGEST = 8


def is_assignment_name(name: object) -> bool:
    """A well-formed assignment name: lower-case ASCII letters, digits and `_`, starting with a letter."""
    return isinstance(name, str) and ASSIGNMENT_NAME.fullmatch(name) is not None


def is_student_id(text: object) -> bool:
    """A well-formed student id: ASCII letters, digits, `.`, `_` and `-`, starting with a letter or digit,
    at most 64 characters (a folder name that is also its own report file name)."""
    return isinstance(text, str) and STUDENT_ID.fullmatch(text) is not None


def known_assignment(name: object, known: Iterable[str]) -> str | None:
    """`name` if it is a well-formed name of one of the `known` assignments, else None."""
    return name if is_assignment_name(name) and name in set(known) else None


def shown(value: object, limit: int = 80) -> str:
    """A name as an error message may quote it: repr'd (control characters and NUL escaped), bounded;
    a list or an object (read from JSON, perhaps deeply nested) only by its type."""
    if isinstance(value, str):
        value = value[:limit]
    elif not isinstance(value, (int, float, type(None))):
        return f"a {type(value).__name__}"
    quoted = repr(value)
    return quoted if len(quoted) <= limit else quoted[: limit - 1] + "…"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST]


def file_stem(text: str) -> str:
    """A file-name stem for `text`: ASCII letters, digits, `.`, `_` and `-`, not starting with `.` or
    `-`, at most MAX_STEM characters. Text that had to change gets a short hash of the original, so
    `a/b` and `a_b` stay different."""
    safe = _UNSAFE.sub("_", text).lstrip(".-")
    if safe == text and 0 < len(safe) <= MAX_STEM:
        return safe
    return f"{safe[: MAX_STEM - _DIGEST - 1] or 'unnamed'}-{_digest(text)}"


def unique_stems(stems: list[str], keys: list[str]) -> list[str]:
    """`stems` (from file_stem) made unique within one folder, ignoring case as some file systems do.

    A stem several entries share gets a short hash of each one's key (the submission path); a tie
    left after that (the same key twice) gets a counter, in order, so the result is deterministic.
    """
    counts = Counter(stem.casefold() for stem in stems)
    hashed = [stem if counts[stem.casefold()] == 1 else f"{stem[: MAX_STEM - _DIGEST - 1]}-{_digest(key)}"
              for stem, key in zip(stems, keys, strict=True)]
    taken: set[str] = set()
    unique = []
    for stem in hashed:
        candidate, number = stem, 1
        while candidate.casefold() in taken:
            number += 1
            candidate = f"{stem[:MAX_STEM]}-{number}"
        taken.add(candidate.casefold())
        unique.append(candidate)
    return unique


def inside(folder: Path, *names: str) -> Path:
    """`folder/names...`, where each name is one safe file name and the folder the file goes in,
    resolved, is `folder` or below it. (The file itself is replaced by a rename, which never follows
    a link planted in its place.)"""
    for name in names:
        if SAFE_NAME.fullmatch(name) is None:
            raise ReportError(f"refusing to write a report named {shown(name)} into {folder}")
    path = folder.joinpath(*names)
    if not path.parent.resolve().is_relative_to(folder.resolve()):
        raise ReportError(f"refusing to write {path}: its folder resolves to {path.parent.resolve()}, "
                          f"outside {folder}")
    return path
