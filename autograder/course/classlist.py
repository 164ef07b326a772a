"""Who is in a class and what each student handed in: the rows of a class's reports, before grading.

The class folder's layouts say whose each notebook is (`student_in`). Every student folder is a
student whether or not it holds a notebook, and with a roster so is everyone on it: each gets a row,
so nobody drops out of the reports unseen. A student with nothing to grade gets a "missing" row that
says what was found instead.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from autograder.errors import UsageError
from autograder.reports.text import NBGRADER_STEPS
from autograder.grading.results import SubmissionResult, now
from autograder.course.roster import Student

SKIPPED_FOLDERS = {".ipynb_checkpoints", "__pycache__", ".git"}
LISTED_FILES = 5       # of the files found in a folder without a notebook, named in its row
_BUDGET = 10_000       # entries looked at in one student's folder, or for notebooks under a link


@dataclass(frozen=True)
class Row:
    """One row of the reports: a submission to grade, or a student with nothing to grade and why."""

    student: str
    submission: Path | None = None   # the notebook (or link, to be reported as one) to grade
    folder: Path | None = None       # the student's folder, when it holds nothing to grade
    reason: str = ""                 # why there is nothing to grade

    def missing(self, assignment: str | None) -> SubmissionResult:
        """The result of a student with nothing to grade: score 0, no tests, the reason."""
        return SubmissionResult(assignment=assignment or "", submission=str(self.folder or ""),
                                status="missing", error=self.reason, graded_at=now())


def find_submissions(folder: Path) -> list[Path]:
    """Every notebook under `folder`, sorted: `<student>/<assignment>.ipynb`, nbgrader's
    `submitted/<student>/<assignment>/*.ipynb`, or a flat folder of notebooks.

    Symbolic links are not followed out of the folder (nor within it): a link named like a notebook,
    and a linked folder with notebooks in it, are listed themselves, so each is reported as what it
    is rather than graded as the student's work or silently left out.
    """
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    found = []
    for parent, folders, files in os.walk(folder):   # never descends into linked folders
        here = Path(parent)
        folders[:] = [name for name in folders if name not in SKIPPED_FOLDERS]
        found += [here / name for name in files if name.endswith(".ipynb")]
        found += [here / name for name in folders
                  if os.path.islink(here / name) and (name.endswith(".ipynb") or _holds_notebooks(here / name))]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _holds_notebooks(folder: Path, depth: int = 3, budget: int = _BUDGET) -> bool:
    """Whether a notebook lies within `depth` levels of `folder`, looking at no more than `budget`
    entries and following no further links: enough for every layout find_submissions knows."""
    pending = [(folder, depth)]
    while pending and budget > 0:
        current, left = pending.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    budget -= 1
                    if entry.name.endswith(".ipynb"):
                        return True
                    if left > 1 and entry.name not in SKIPPED_FOLDERS and entry.is_dir(follow_symlinks=False):
                        pending.append((Path(entry.path), left - 1))
                    if budget <= 0:
                        break
        except OSError:
            continue
    return False


def _stem(name: str) -> str:
    return name.removesuffix(".ipynb")


def student_in(relative: PurePath, groups: Iterable[str]) -> str:
    """Whose a submission is, by its path in the class folder: the top folder (`<student>/...`), the
    folder inside a grouping folder (nbgrader's `submitted/<student>/...`, or `<assignment>/<student>/...`),
    else the notebook's own name (a flat folder: `<student>.ipynb`, also inside a grouping folder)."""
    parts = relative.parts
    if len(parts) >= 2 and parts[0] in set(groups):
        return parts[1] if len(parts) >= 3 else _stem(parts[1])
    return parts[0] if len(parts) >= 2 else _stem(parts[0])


def _real_folders(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries
                          if e.name not in SKIPPED_FOLDERS and e.is_dir(follow_symlinks=False))
    except OSError:
        return []


def student_folders(folder: Path, groups: Iterable[str]) -> dict[str, Path]:
    """The folders that are a student's, by student: those at the top of the class folder, and those
    in a grouping folder (see student_in). Linked folders are not: they are reported by find_submissions."""
    groups = set(groups)
    found: dict[str, Path] = {}
    for top in _real_folders(folder):
        for place in _real_folders(top) if top.name in groups else [top]:
            found.setdefault(place.name, place)
    return found


def _files_in(folder: Path) -> list[str]:
    """Files under `folder` (not following links), relative to it, sorted; at most _BUDGET looked at."""
    names: list[str] = []
    for parent, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if name not in SKIPPED_FOLDERS)
        names += [(Path(parent) / name).relative_to(folder).as_posix() for name in files]
        if len(names) >= _BUDGET:
            break
    return sorted(names)


def nothing_found(student: str, folder: Path | None) -> str:
    """Why a student has no row to grade: nothing at all, or only files that are not notebooks."""
    files = _files_in(folder) if folder is not None else []
    if not files:
        return f"no submission found for {student}"
    more = f" and {len(files) - LISTED_FILES} more" if len(files) > LISTED_FILES else ""
    return f"no notebook found (found: {', '.join(files[:LISTED_FILES])}{more})"


def class_rows(folder: Path, known: Iterable[str], roster: Mapping[str, Student] | None = None) -> list[Row]:
    """Every row of a class: each submission found in `folder`, then a missing row for each student
    folder and each student on the roster with none; sorted by student, then path.

    `known` are the assignment names, which group submissions like nbgrader's `submitted/` does. A
    class with no row at all (no notebook, no student folder, no roster) is a UsageError.
    """
    groups = {*NBGRADER_STEPS, *known}
    rows = [Row(student_in(path.relative_to(folder), groups), path) for path in find_submissions(folder)]
    accounted = {row.student for row in rows}
    extra = student_folders(folder, groups)
    extra.update({student: None for student in roster or {} if student not in extra})
    rows += [Row(student, folder=place, reason=nothing_found(student, place))
             for student, place in extra.items() if student not in accounted]
    if not rows:
        raise UsageError(f"no notebooks found in {folder}")
    return sorted(rows, key=lambda row: (row.student, str(row.submission or row.folder or "")))


def on_roster(result: SubmissionResult, student: str, roster: Mapping[str, Student] | None) -> SubmissionResult:
    """`result` as the student's row: whose it is, and with a roster, whether they are on it and their details."""
    if roster is None:
        return replace(result, student=student)
    entry = roster.get(student)
    if entry is None:
        return replace(result, student=student, on_roster=False)
    return replace(result, student=student, on_roster=True, name=entry.name, email=entry.email, lms_id=entry.lms_id)
