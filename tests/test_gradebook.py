"""Export into a real nbgrader gradebook, read back through nbgrader's own API.

Creating a gradebook runs nbgrader's `alembic` subprocess (seconds), so it is done once and copied.
"""
import os
import shutil
import sqlite3
import sys

import pytest
from nbgrader.api import Gradebook, MissingEntry

from autograder.errors import GraderError, UsageError
from autograder.course.gradebook import export_to_gradebook
from autograder.grading.results import SubmissionResult
from autograder.grading.results import TestResult as Outcome   # a class named Test* would be collected by pytest

NO_ALEMBIC_PATH = os.pathsep.join(["/usr/bin", "/bin"])


def alice(forward=2.0) -> SubmissionResult:
    return SubmissionResult("mlp", "subs/alice/mlp.ipynb", [
        Outcome("test_forward", forward, 2, "passed" if forward == 2 else "failed"),
        Outcome("test_backward", 0, 3, "failed", "wrong sign"),
        Outcome("test_hidden", 1.5, 1.5, "passed", visibility="after_published"),
    ])


def bob() -> SubmissionResult:
    return SubmissionResult("mlp", "course/submitted/bob/mlp/mlp.ipynb", [
        Outcome("test_forward", 0, 2, "timed_out"),
        Outcome("test_backward", 3, 3, "passed"),
        Outcome("test_hidden", 0, 1.5, "failed", visibility="after_published"),
    ])


def carol_unreadable() -> SubmissionResult:
    return SubmissionResult("mlp", "subs/carol/mlp.ipynb", status="unreadable", error="not valid JSON", tests=[
        Outcome(t.name, 0, t.max_score, "error", "not valid JSON") for t in alice().tests])


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A new, empty gradebook, made with `alembic` deliberately missing from PATH."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", NO_ALEMBIC_PATH)
        assert shutil.which("alembic") is None
        export_to_gradebook([], path)
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
                for table in ("assignment", "notebook", "grade_cells", "student", "submitted_assignment",
                              "submitted_notebook", "grade")}


def test_new_gradebook_is_made_with_the_venvs_alembic_and_path_is_restored(template):
    path, path_after = template
    assert path_after == NO_ALEMBIC_PATH
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_scores_match_ours(gradebook):
    results = [alice(), bob(), carol_unreadable()]
    export_to_gradebook(results, gradebook)
    with open_gradebook(gradebook) as gb:
        assert sorted(s.id for s in gb.students) == ["alice", "bob", "carol"]
        assert [c.name for c in gb.find_notebook("mlp", "mlp").grade_cells] == \
            ["test_forward", "test_backward", "test_hidden"]
        for result, student in zip(results, ["alice", "bob", "carol"]):
            submission = gb.find_submission("mlp", student)
            assert (submission.score, submission.max_score) == (result.score, result.max_score)
            assert not submission.needs_manual_grade
            for test in result.tests:
                grade = gb.find_grade(test.name, "mlp", "mlp", student)
                assert (grade.auto_score, grade.max_score, grade.score) == (test.score, test.max_score, test.score)


def test_export_is_idempotent_and_updates_scores(gradebook):
    export_to_gradebook([alice(), bob()], gradebook)
    before = counts(gradebook)
    export_to_gradebook([alice(), bob()], gradebook)
    assert counts(gradebook) == before
    export_to_gradebook([alice(forward=0)], gradebook)
    assert counts(gradebook) == before
    with open_gradebook(gradebook) as gb:
        assert gb.find_submission("mlp", "alice").score == alice(forward=0).score == 1.5
        assert gb.find_submission("mlp", "bob").score == bob().score


def test_a_test_added_later_reaches_existing_submissions(gradebook):
    export_to_gradebook([alice()], gradebook)
    extended = alice()
    extended.tests.append(Outcome("test_new", 1, 1, "passed"))
    export_to_gradebook([extended], gradebook)
    with open_gradebook(gradebook) as gb:
        assert gb.find_submission("mlp", "alice").score == extended.score
        assert gb.find_assignment("mlp").max_score == extended.max_score


def test_gradebook_made_by_nbgrader_before_any_grade_cells(gradebook):
    with open_gradebook(gradebook) as gb:      # what the instructor's course may already hold
        gb.add_assignment("mlp")
        gb.add_student("alice", first_name="Alice")
        with gb.db.no_autoflush:
            gb.add_submission("mlp", "alice")
    export_to_gradebook([alice()], gradebook)
    with open_gradebook(gradebook) as gb:
        assert gb.find_submission("mlp", "alice").score == alice().score
        assert gb.find_student("alice").first_name == "Alice"


def test_a_missing_submission_adds_only_its_student_with_the_rosters_details(gradebook):
    dave = SubmissionResult("", "", status="missing", error="no submission found for dave", student="dave",
                            email="dave@example.edu", lms_id="1004", on_roster=True)
    roster_alice = SubmissionResult("mlp", "subs/alice/mlp.ipynb", alice().tests, student="alice",
                                    email="alice@example.edu", on_roster=True)
    export_to_gradebook([roster_alice, dave], gradebook)
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
        export_to_gradebook([alice(), twin], gradebook)


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
            export_to_gradebook([alice()], path)
    assert text.read_text().startswith("hello") and not (tmp_path / "missing").exists()


def test_read_only_gradebook_fails_with_one_clear_error(gradebook, capfd):
    url = f"sqlite:///file:{gradebook}?mode=ro&uri=true"
    with pytest.raises(GraderError, match="cannot write gradebook .*attempt to write a readonly database$"):
        export_to_gradebook([alice()], url)
    assert "Traceback" not in capfd.readouterr().err


def test_unwritable_gradebook_file(gradebook, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK)   # root ignores file modes
    with pytest.raises(UsageError, match="not writable"):
        export_to_gradebook([alice()], gradebook)


def test_alembic_missing_everywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", NO_ALEMBIC_PATH)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(UsageError, match="alembic"):
        export_to_gradebook([alice()], tmp_path / "gradebook.db")
    assert os.environ["PATH"] == NO_ALEMBIC_PATH and not (tmp_path / "gradebook.db").exists()
