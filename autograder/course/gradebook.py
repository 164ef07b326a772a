"""Scores into an nbgrader gradebook, through nbgrader's own API, so formgrader and `nbgrader export` see them.

nbgrader keeps scores on grade cells of a notebook of an assignment. Here the notebook is named after the
assignment (the released file is `<assignment>.ipynb`) and every test is one code grade cell (name = test
name, max_score = the test's points) whose auto_score is the points earned. A manual_score set by a
human in formgrader still wins over auto_score, as it does in nbgrader.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

from nbgrader.api import Gradebook, Grade, InvalidEntry, MissingEntry, SubmittedAssignment, SubmittedNotebook
from sqlalchemy.exc import SQLAlchemyError

from autograder.errors import UsageError
from autograder.reports import student_of
from autograder.grading.results import SubmissionResult, TestResult

GRADEBOOK_TABLES = {"alembic_version", "assignment", "student", "submitted_assignment", "grade"}


@contextlib.contextmanager
def _alembic_on_path() -> Iterator[None]:
    """nbgrader runs the `alembic` command to stamp a new database; a venv's bin is on PATH only if activated.

    Checked before nbgrader starts, which would otherwise leave a half-made database behind.
    """
    if shutil.which("alembic"):
        yield
        return
    old = os.environ.get("PATH")
    os.environ["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent), old) if p)
    try:
        if not shutil.which("alembic"):
            raise UsageError("nbgrader needs the `alembic` command (installed with nbgrader) on PATH "
                             f"or next to {sys.executable}")
        yield
    finally:
        if old is None:
            os.environ.pop("PATH")
        else:
            os.environ["PATH"] = old


@contextlib.contextmanager
def _quiet_nbgrader_log() -> Iterator[None]:
    """nbgrader logs a full traceback before raising InvalidEntry; the UsageError raised here says it once."""
    log = logging.getLogger("tornado.application")
    was_disabled, log.disabled = log.disabled, True
    try:
        yield
    finally:
        log.disabled = was_disabled


def _check_file(path: Path) -> None:
    """Refuse anything but a new file or an existing nbgrader gradebook, before SQLAlchemy touches it."""
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a gradebook database")
    if not path.parent.is_dir():
        raise UsageError(f"cannot create gradebook {path}: folder {path.parent} does not exist")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path} is not a gradebook: not an SQLite database ({exc})") from None
    if not GRADEBOOK_TABLES <= tables:
        raise UsageError(f"{path} is an SQLite database but not an nbgrader gradebook "
                         f"(missing tables: {', '.join(sorted(GRADEBOOK_TABLES - tables))})")
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        raise UsageError(f"gradebook {path} is not writable")


def _db_url(db_url_or_path: str | Path) -> str:
    text = str(db_url_or_path)
    if "://" in text:
        return text
    path = Path(text).resolve()
    _check_file(path)
    return f"sqlite:///{path}"


def _by_student(results: list[SubmissionResult]) -> dict[tuple[str, str], SubmissionResult]:
    """One result per (assignment, student): two would silently overwrite each other's grades."""
    chosen: dict[tuple[str, str], SubmissionResult] = {}
    for result in results:
        key = (result.assignment, student_of(result))
        if key in chosen:
            raise UsageError(f"{chosen[key].submission} and {result.submission} are both student {key[1]!r}'s "
                             f"submission of {key[0]!r}; export one of them")
        chosen[key] = result
    return chosen


def _define_assignment(gb: Gradebook, assignment: str, tests: list[TestResult]) -> None:
    gb.update_or_create_assignment(assignment)
    gb.update_or_create_notebook(assignment, assignment)
    for test in tests:
        gb.update_or_create_grade_cell(test.name, assignment, assignment, max_score=test.max_score,
                                       cell_type="code")


def _grade(gb: Gradebook, submission: SubmittedAssignment, test: str, assignment: str, student: str) -> Grade:
    """The student's grade for one cell; add_submission mirrors only the cells that existed at the time."""
    try:
        return gb.find_grade(test, assignment, assignment, student)
    except MissingEntry:
        pass
    cell = gb.find_grade_cell(test, assignment, assignment)
    try:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
    except MissingEntry:
        notebook = SubmittedNotebook(notebook=gb.find_notebook(assignment, assignment), assignment=submission)
        gb.db.add(notebook)
    grade = Grade(cell=cell, notebook=notebook)
    gb.db.add(grade)
    return grade


def _add_student(gb: Gradebook, result: SubmissionResult, student: str) -> None:
    """The student, with the email and LMS id a roster gave (nbgrader's own fields for them)."""
    details = {"email": result.email, "lms_user_id": result.lms_id}
    gb.update_or_create_student(student, **{key: value for key, value in details.items() if value})


def _record(gb: Gradebook, result: SubmissionResult, student: str) -> None:
    _add_student(gb, result, student)
    with gb.db.no_autoflush:    # else SQLAlchemy warns about nbgrader's half-built submission objects
        submission = gb.update_or_create_submission(result.assignment, student)
    for test in result.tests:
        grade = _grade(gb, submission, test.name, result.assignment, student)
        grade.auto_score = test.score
        grade.needs_manual_grade = False
    gb.db.commit()


def export_to_gradebook(results: list[SubmissionResult], db_url_or_path: str | Path) -> None:
    """Write every result's scores into an nbgrader gradebook (SQLite path or database URL).

    Creates the assignment, its notebook, grade cells and students as needed; exporting the same results
    again changes nothing. Each submission is committed on its own, so a failed export is finished by
    running it again. A missing submission only adds its student: nbgrader counts a student with no
    submission as missing by itself.
    """
    missing = [r for r in results if r.status == "missing"]
    chosen = _by_student([r for r in results if r.status != "missing"])
    url = _db_url(db_url_or_path)
    try:
        with _alembic_on_path(), _quiet_nbgrader_log(), Gradebook(url) as gb:
            for result in missing:
                _add_student(gb, result, student_of(result))
            for assignment in dict.fromkeys(a for a, _ in chosen):
                tests = {t.name: t for (a, _), r in chosen.items() if a == assignment for t in r.tests}
                _define_assignment(gb, assignment, list(tests.values()))
            for (_, student), result in chosen.items():
                _record(gb, result, student)
    except (SQLAlchemyError, InvalidEntry) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"cannot write gradebook {db_url_or_path}: {reason}") from None
