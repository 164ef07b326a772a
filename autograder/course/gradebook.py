"""Scores into an nbgrader course's gradebook, through nbgrader's own API, so that the course keeps working:
`nbgrader generate_assignment --force`, `nbgrader autograde`, formgrader and `nbgrader export` all see
the same assignment, with the scores in it.

nbgrader refuses to change the cells of a notebook that has submissions, so the grader adds no cell of
its own. Each reference notebook has one nbgrader task cell, `autograded-tests`, worth the points of its
tests; a student's tests' total goes into its auto score (which nbgrader autograde never touches, and a
manual score from formgrader overrides, as for any cell), the visible tests and the hidden total into
its comment (nbgrader's feedback shows it to the student), the late penalty into the notebook's
`late_submission_penalty`, and the submission time into the submission's timestamp. An assignment the
gradebook does not have yet is defined from its reference notebook by nbgrader's own preprocessors,
exactly as generate_assignment would.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from nbgrader.api import (
    Comment, Gradebook, Grade, InvalidEntry, MissingEntry, SubmittedAssignment, SubmittedNotebook,
)
from sqlalchemy.exc import SQLAlchemyError

from autograder.grading.assignments import find_assignment
from autograder.errors import UsageError
from autograder.reports import student_of
from autograder.reports.text import PUBLIC_ONLY, hidden_line, hidden_tests, late_details, points, visible_tests
from autograder.grading.results import SubmissionResult

SCORE_CELL = "autograded-tests"   # the task cell of every reference notebook that holds the tests' points
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


def _define_from_reference(url: str, assignment: str, root: Path) -> None:
    """Record the assignment's notebook and cells as `nbgrader generate_assignment` would, from the
    reference notebook (or the student bundle's stub: nbgrader records the same cells from either)."""
    import nbformat
    from nbgrader.preprocessors import (
        CheckCellMetadata, ClearOutput, ClearSolutions, ComputeChecksums, LockCells, SaveCells,
    )

    try:
        source = find_assignment(assignment, root).notebook
    except UsageError as exc:
        raise UsageError(f"the gradebook has no notebook for assignment {assignment!r} and none can be made "
                         f"here ({exc}): run `nbgrader generate_assignment {assignment}` first, or pass --root") \
            from None
    nb = nbformat.read(source, as_version=4)
    resources = {"nbgrader": {"db_url": url, "notebook": assignment, "assignment": assignment}}
    for step in (LockCells(), ClearSolutions(enforce_metadata=True), ClearOutput(), CheckCellMetadata(),
                 ComputeChecksums(), SaveCells()):
        nb, resources = step.preprocess(nb, resources)


def _score_cell(gb: Gradebook, assignment: str, results: list[SubmissionResult], where: str) -> str:
    """The name of the notebook holding the assignment's score cell, checked against the tests' points."""
    found = [nb.name for nb in gb.find_assignment(assignment).notebooks
             if any(cell.name == SCORE_CELL for cell in nb.task_cells)]
    if not found:
        raise UsageError(f"{where}: assignment {assignment!r} has no task cell {SCORE_CELL!r} to hold the tests' "
                         f"score (add it to the assignment's source notebook, as reference/{assignment}/"
                         f"{assignment}.ipynb has it, and run nbgrader generate_assignment)")
    cell = gb.find_task_cell(SCORE_CELL, found[0], assignment)
    worth = {r.max_score for r in results if r.tests}
    if worth and worth != {cell.max_score}:
        raise UsageError(f"{where}: task cell {SCORE_CELL!r} of {assignment!r} is worth {points(cell.max_score)} "
                         f"points, but its tests are worth {', '.join(points(w) for w in sorted(worth))}: "
                         "make the notebook's points match the tests'")
    return found[0]


def _comment(result: SubmissionResult) -> str:
    """What the student may read of the result, as nbgrader's feedback shows a cell's comment."""
    lines = [f"{t.name}: {points(t.score)}/{points(t.max_score)} ({t.status.replace('_', ' ')})"
             for t in visible_tests(result)]
    lines += [hidden_line(result)] if hidden_tests(result) else []
    lines += [f"Late: {late_details(result)}"] if result.days_late else []
    lines += [PUBLIC_ONLY] if result.public_only else []
    if result.status == "unreadable":
        lines.insert(0, f"Your notebook could not be graded: {result.error.splitlines()[0] if result.error else ''}")
    return "\n".join(lines)


def _submitted_notebook(gb: Gradebook, submission: SubmittedAssignment, notebook: str, assignment: str,
                        student: str) -> SubmittedNotebook:
    try:
        return gb.find_submission_notebook(notebook, assignment, student)
    except MissingEntry:   # a submission made before the notebook existed
        found = SubmittedNotebook(notebook=gb.find_notebook(notebook, assignment), assignment=submission)
        gb.db.add(found)
        return found


def _grade_and_comment(gb: Gradebook, submitted: SubmittedNotebook, notebook: str, assignment: str,
                       student: str) -> tuple[Grade, Comment]:
    """The student's grade and comment on the score cell; add_submission mirrors only the cells that
    existed when the submission was made."""
    cell = gb.find_task_cell(SCORE_CELL, notebook, assignment)
    try:
        grade = gb.find_grade(SCORE_CELL, notebook, assignment, student)
    except MissingEntry:
        grade = Grade(cell_id=cell.id, notebook=submitted)
        gb.db.add(grade)
    try:
        comment = gb.find_comment(SCORE_CELL, notebook, assignment, student)
    except MissingEntry:
        comment = Comment(cell_id=cell.id, notebook=submitted)
        gb.db.add(comment)
    return grade, comment


def _add_student(gb: Gradebook, result: SubmissionResult, student: str) -> None:
    """The student, with the email and LMS id a roster gave (nbgrader's own fields for them)."""
    details = {"email": result.email, "lms_user_id": result.lms_id}
    gb.update_or_create_student(student, **{key: value for key, value in details.items() if value})


def _record(gb: Gradebook, result: SubmissionResult, student: str, notebook: str) -> None:
    _add_student(gb, result, student)
    when = {"timestamp": datetime.fromisoformat(result.submitted_at)} if result.submitted_at else {}
    with gb.db.no_autoflush:    # else SQLAlchemy warns about nbgrader's half-built submission objects
        submission = gb.update_or_create_submission(result.assignment, student, **when)
        submitted = _submitted_notebook(gb, submission, notebook, result.assignment, student)
        grade, comment = _grade_and_comment(gb, submitted, notebook, result.assignment, student)
    grade.auto_score = result.raw_score
    grade.needs_manual_grade = False
    comment.auto_comment = _comment(result)
    submitted.late_submission_penalty = result.penalty or None
    gb.db.commit()


def _due_date(gb: Gradebook, assignment: str, results: list[SubmissionResult]) -> None:
    """The due date the late policy used, where the course has none, so nbgrader shows lateness too."""
    dues = {r.due for r in results if r.due}
    entry = gb.find_assignment(assignment)
    if entry.duedate is None and len(dues) == 1:
        entry.duedate = datetime.fromisoformat(dues.pop()).replace(tzinfo=None)   # nbgrader keeps UTC, naive
        gb.db.commit()


def export_to_gradebook(results: list[SubmissionResult], db_url_or_path: str | Path, root: Path | None = None) -> None:
    """Write every result into an nbgrader gradebook (SQLite path or database URL).

    Creates the students and, when missing, the assignment (from its reference notebook under `root`);
    exporting the same results again changes nothing. Each submission is committed on its own, so a
    failed export is finished by running it again. A missing submission only adds its student: nbgrader
    counts a student with no submission as missing by itself.
    """
    missing = [r for r in results if r.status == "missing"]
    chosen = _by_student([r for r in results if r.status != "missing"])
    url = _db_url(db_url_or_path)
    by_assignment: dict[str, list[SubmissionResult]] = {}
    for (assignment, _), result in chosen.items():
        by_assignment.setdefault(assignment, []).append(result)
    try:
        with _alembic_on_path(), _quiet_nbgrader_log():
            with Gradebook(url) as gb:
                for assignment in by_assignment:
                    gb.update_or_create_assignment(assignment)
                undefined = [a for a in by_assignment if not gb.find_assignment(a).notebooks]
            for assignment in undefined:   # nbgrader's preprocessors open the gradebook themselves
                _define_from_reference(url, assignment, root or Path.cwd())
            with Gradebook(url) as gb:
                for result in missing:
                    _add_student(gb, result, student_of(result))
                notebooks = {a: _score_cell(gb, a, rs, str(db_url_or_path)) for a, rs in by_assignment.items()}
                for assignment, assignment_results in by_assignment.items():
                    _due_date(gb, assignment, assignment_results)
                for (assignment, student), result in chosen.items():
                    _record(gb, result, student, notebooks[assignment])
    except (SQLAlchemyError, InvalidEntry) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"cannot write gradebook {db_url_or_path}: {reason}") from None
