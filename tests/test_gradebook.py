"""Export into a real nbgrader gradebook, read back through nbgrader's own API.

Creating a gradebook runs nbgrader's `alembic` subprocess (seconds), so it is done once and copied. That
the course keeps working for nbgrader's own commands is tested in test_nbgrader_course.py.
"""
import os
import shutil
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry

from autograder.errors import GraderError, UsageError
from autograder.course.gradebook import SCORE_CELL, export_to_gradebook
from autograder.grading.results import SubmissionResult
from autograder.grading.results import TestResult as Outcome   # a class named Test* would be collected by pytest

ROOT = Path(__file__).resolve().parents[1]
NO_ALEMBIC_PATH = os.pathsep.join(["/usr/bin", "/bin"])


def export(results, path):
    export_to_gradebook(results, path, ROOT)


def alice(forward=40.0, **fields) -> SubmissionResult:   # the reference's score cell is worth 100 points
    return SubmissionResult("mlp", "subs/alice/mlp.ipynb", [
        Outcome("test_forward", forward, 40, "passed" if forward == 40 else "failed"),
        Outcome("test_backward", 0, 35, "failed", "wrong sign"),
        Outcome("test_hidden", 25, 25, "passed", "SECRET", visibility="after_published"),
    ], **fields)


def bob() -> SubmissionResult:
    return SubmissionResult("mlp", "course/submitted/bob/mlp/mlp.ipynb", [
        Outcome("test_forward", 0, 40, "timed_out"),
        Outcome("test_backward", 35, 35, "passed"),
        Outcome("test_hidden", 0, 25, "failed", "SECRET", visibility="after_published"),
    ])


def carol_unreadable() -> SubmissionResult:
    return SubmissionResult("mlp", "subs/carol/mlp.ipynb", status="unreadable", error="not valid JSON", tests=[
        Outcome(t.name, 0, t.max_score, "error", "not valid JSON", visibility=t.visibility) for t in alice().tests])


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A new, empty gradebook, made with `alembic` deliberately missing from PATH."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", NO_ALEMBIC_PATH)
        assert shutil.which("alembic") is None
        export([], path)
        path_after = os.environ["PATH"]
    return path, path_after


@pytest.fixture
def gradebook(template, tmp_path):
    path = tmp_path / "gradebook.db"
    shutil.copy(template[0], path)
    return path


def open_gradebook(path):
    return Gradebook(f"sqlite:///{path}")


def counts(path):
    with sqlite3.connect(path) as db:
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("assignment", "notebook", "grade_cells", "task_cells", "student",
                              "submitted_assignment", "submitted_notebook", "grade", "comment")}


def test_new_gradebook_is_made_with_the_venvs_alembic_and_path_is_restored(template):
    path, path_after = template
    assert path_after == NO_ALEMBIC_PATH
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_scores_go_into_the_score_cell_of_the_notebook_nbgrader_would_make(gradebook):
    results = [alice(), bob(), carol_unreadable()]
    export(results, gradebook)
    with open_gradebook(gradebook) as gb:
        assert sorted(s.id for s in gb.students) == ["alice", "bob", "carol"]
        notebook = gb.find_notebook("mlp", "mlp")   # the reference's cells, and no cell of the grader's own
        assert notebook.grade_cells == [] and [c.name for c in notebook.task_cells] == [SCORE_CELL]
        assert {c.name for c in notebook.solution_cells} >= {"linear-forward", "mlp", "training"}
        assert gb.find_assignment("mlp").max_score == 100
        for result, student in zip(results, ["alice", "bob", "carol"]):
            submission = gb.find_submission("mlp", student)
            assert (submission.score, submission.max_score) == (result.score, 100)
            assert not submission.needs_manual_grade
            grade = gb.find_grade(SCORE_CELL, "mlp", "mlp", student)
            assert (grade.auto_score, grade.score) == (result.raw_score, result.score)
        comment = gb.find_comment(SCORE_CELL, "mlp", "mlp", "alice").comment   # nbgrader's feedback shows it
        assert comment.splitlines() == ["test_forward: 40/40 (passed)", "test_backward: 0/35 (failed)",
                                        "hidden tests: 25/25 points"]
        assert "SECRET" not in comment and "test_hidden" not in comment
        assert gb.find_comment(SCORE_CELL, "mlp", "mlp", "carol").comment.startswith(
            "Your notebook could not be graded: not valid JSON")


def test_the_late_penalty_and_submission_time_go_where_nbgrader_keeps_them(gradebook):
    late = alice(submitted_at="2025-03-03T09:30:00+00:00", due="2025-03-01T23:59:00+00:00", days_late=2,
                 penalty=20)
    export([late, bob()], gradebook)
    with open_gradebook(gradebook) as gb:
        submission = gb.find_submission("mlp", "alice")
        assert (submission.score, submission.late_submission_penalty) == (late.raw_score, 20)
        assert max(0.0, submission.score - submission.late_submission_penalty) == late.score   # nbgrader export's
        assert submission.timestamp == datetime(2025, 3, 3, 9, 30)
        assert gb.find_assignment("mlp").duedate == datetime(2025, 3, 1, 23, 59)
        assert submission.total_seconds_late > 0
        assert gb.find_submission("mlp", "bob").late_submission_penalty == 0
        assert "Late: 2 days late: -20 points" in gb.find_comment(SCORE_CELL, "mlp", "mlp", "alice").comment


def test_export_is_idempotent_and_updates_scores(gradebook):
    export([alice(), bob()], gradebook)
    before = counts(gradebook)
    export([alice(), bob()], gradebook)
    assert counts(gradebook) == before
    export([alice(forward=0)], gradebook)
    assert counts(gradebook) == before
    with open_gradebook(gradebook) as gb:
        assert gb.find_submission("mlp", "alice").score == alice(forward=0).score == 25
        assert gb.find_submission("mlp", "bob").score == bob().score


def test_gradebook_made_by_nbgrader_before_any_notebook(gradebook):
    with open_gradebook(gradebook) as gb:      # what the instructor's course may already hold
        gb.add_assignment("mlp")
        gb.add_student("alice", first_name="Alice")
        with gb.db.no_autoflush:
            gb.add_submission("mlp", "alice")
    export([alice()], gradebook)
    with open_gradebook(gradebook) as gb:
        assert gb.find_submission("mlp", "alice").score == alice().score
        assert gb.find_student("alice").first_name == "Alice"


def test_a_course_notebook_without_the_score_cell_or_with_other_points_is_refused(gradebook):
    with open_gradebook(gradebook) as gb:
        gb.add_assignment("mlp")
        gb.add_notebook("homework", "mlp")
    with pytest.raises(UsageError, match=f"has no task cell '{SCORE_CELL}' to hold the tests' score"):
        export([alice()], gradebook)
    with open_gradebook(gradebook) as gb:
        gb.add_task_cell(SCORE_CELL, "homework", "mlp", max_score=90, cell_type="markdown")
    with pytest.raises(UsageError, match="is worth 90 points, but its tests are worth 100"):
        export([alice()], gradebook)


def test_an_assignment_nowhere_to_be_found_says_how_to_define_it(gradebook):
    stranger = SubmissionResult("homework9", "subs/alice/homework9.ipynb", alice().tests)
    with pytest.raises(UsageError, match="nbgrader generate_assignment homework9"):
        export([stranger], gradebook)


def test_a_missing_submission_adds_only_its_student_with_the_rosters_details(gradebook):
    dave = SubmissionResult("", "", status="missing", error="no submission found for dave", student="dave",
                            email="dave@example.edu", lms_id="1004", on_roster=True)
    roster_alice = SubmissionResult("mlp", "subs/alice/mlp.ipynb", alice().tests, student="alice",
                                    email="alice@example.edu", on_roster=True)
    export([roster_alice, dave], gradebook)
    with open_gradebook(gradebook) as gb:
        assert (gb.find_student("dave").email, gb.find_student("dave").lms_user_id) == ("dave@example.edu", "1004")
        assert gb.find_student("alice").email == "alice@example.edu"
        assert [a.name for a in gb.assignments] == ["mlp"]
        assert gb.find_submission("mlp", "alice").score == alice().score
        with pytest.raises(MissingEntry):
            gb.find_submission("mlp", "dave")


def test_two_submissions_of_one_student_are_refused(gradebook):
    twin = SubmissionResult("mlp", "other/alice/mlp.ipynb", alice().tests)
    with pytest.raises(UsageError, match="both student 'alice'"):
        export([alice(), twin], gradebook)


def test_not_a_gradebook(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("hello, this is not a database " * 10)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE things (x)")
    cases = [(tmp_path, "is a folder"), (text, "not an SQLite database"),
             (other, "not an nbgrader gradebook"), (tmp_path / "missing" / "gb.db", "does not exist")]
    for path, complaint in cases:
        with pytest.raises(UsageError, match=complaint):
            export([alice()], path)
    assert text.read_text().startswith("hello") and not (tmp_path / "missing").exists()


def test_read_only_gradebook_fails_with_one_clear_error(gradebook, capfd):
    url = f"sqlite:///file:{gradebook}?mode=ro&uri=true"
    with pytest.raises(GraderError, match="cannot write gradebook .*attempt to write a readonly database$"):
        export([alice()], url)
    assert "Traceback" not in capfd.readouterr().err


def test_unwritable_gradebook_file(gradebook, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK)   # root ignores file modes
    with pytest.raises(UsageError, match="not writable"):
        export([alice()], gradebook)


def test_alembic_missing_everywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", NO_ALEMBIC_PATH)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(UsageError, match="alembic"):
        export([alice()], tmp_path / "gradebook.db")
    assert os.environ["PATH"] == NO_ALEMBIC_PATH and not (tmp_path / "gradebook.db").exists()
