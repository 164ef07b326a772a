"""An nbgrader course folder, as nbgrader's formgrader reads it after `grade export --course`.

Formgrader lists a student's submission as autograded only when `autograded/<student>/<assignment>/`
exists and the gradebook's timestamp of the submission is the one in `submitted/.../timestamp.txt`;
`nbgrader generate_feedback` renders the notebooks found there. So, as nbgrader autograde does, each
exported submission's folder is copied from `submitted/` to `autograded/` (regular files only: links
are not followed), and its time is taken from its timestamp.txt when the results carry none.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

from autograder.errors import UsageError
from autograder.identifiers import SAFE_NAME
from autograder.course.lateness import iso
from autograder.reports.text import student_of
from autograder.grading.results import SubmissionResult
from autograder.course.submission_times import nbgrader_timestamp

GRADEBOOK = "gradebook.db"   # nbgrader's default database, in the course folder


def _submitted(course: Path, result: SubmissionResult) -> Path | None:
    """The student's folder for the assignment in submitted/, if it is a real folder with a safe name."""
    student = student_of(result)
    if not (SAFE_NAME.fullmatch(student) and SAFE_NAME.fullmatch(result.assignment)):
        return None
    folder = course / "submitted" / student / result.assignment
    return folder if folder.is_dir() and not folder.is_symlink() else None


def _copy_files(source: Path, target: Path) -> None:
    """`source` to `target`, replacing it: folders and regular files, never through a link."""
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    for parent, folders, files in os.walk(source):
        here = target / Path(parent).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        folders[:] = [name for name in folders if not os.path.islink(os.path.join(parent, name))]
        for name in files:
            if not os.path.islink(os.path.join(parent, name)):
                shutil.copyfile(os.path.join(parent, name), here / name)


def with_submission_times(course: Path, results: list[SubmissionResult]) -> list[SubmissionResult]:
    """The results, each with the time in its submitted/ folder's timestamp.txt where it had none."""
    if not (course / "submitted").is_dir():
        raise UsageError(f"{course} is not an nbgrader course folder: it has no submitted/ folder")
    done = []
    for result in results:
        folder = _submitted(course, result) if result.status != "missing" else None
        if folder is not None and not result.submitted_at:
            when = nbgrader_timestamp(folder / "notebook.ipynb")   # reads the timestamp.txt in that folder
            result = replace(result, submitted_at=iso(when)) if when else result
        done.append(result)
    return done


def copy_autograded(course: Path, results: list[SubmissionResult]) -> None:
    """Copy each graded submission's folder from submitted/ to autograded/, for formgrader."""
    for result in results:
        folder = _submitted(course, result) if result.status != "missing" else None
        if folder is not None:
            _copy_files(folder, course / "autograded" / folder.parent.name / folder.name)
