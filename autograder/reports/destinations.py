"""Where reports go, checked before anything is graded: a report that cannot be written where it was
asked for is a usage error at once, not after the class has been graded.

The writers create missing folders, so a path passes when a file can be created in the nearest folder
that exists on its way (tried with an unnamed temporary file, which leaves nothing behind); it fails
when a file stands where a folder must be, a folder stands where the file must be, or two reports
would be written to the same place.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import ReportError


@dataclass(frozen=True)
class Destination:
    option: str       # the command-line option that asked for it, to name in errors
    path: Path
    folder: bool = False   # a folder of per-submission files rather than one file


def _existing_folder(path: Path) -> Path:
    """The nearest of `path` and the folders above it that exists (as anything)."""
    current = path
    while not os.path.lexists(current) and current != current.parent:
        current = current.parent
    return current


def _problem(destination: Destination) -> str | None:
    path = destination.path
    if destination.folder:
        if os.path.lexists(path) and not path.is_dir():
            return f"{path} is a file, not a folder"
        start = path
    else:
        if path.is_dir() and not path.is_symlink():   # a link is replaced by the rename, never followed
            return f"{path} is a folder"
        start = path.parent
    existing = _existing_folder(start)
    if not existing.is_dir():
        return f"{existing} is not a folder"
    try:   # what writing will do, so permissions, read-only mounts and root all count as they will then
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return f"no file can be created in folder {existing} ({exc.strerror or exc})"
    return None


def check_destinations(destinations: Iterable[Destination]) -> None:
    """Raise a ReportError naming the first report that cannot be written where asked, and why."""
    seen: dict[Path, str] = {}
    for destination in destinations:
        problem = _problem(destination)
        if problem:
            raise ReportError(f"cannot write {destination.path} ({destination.option}): {problem}")
        where = Path(os.path.abspath(destination.path)).resolve()
        if where in seen:
            raise ReportError(f"cannot write {destination.path} ({destination.option}): "
                              f"{seen[where]} writes there too")
        seen[where] = destination.option
