"""Reports you can trust: every report path is checked before anything is graded, reports are readable
by others (the user's umask, not 0600), and `grade merge` never lets two gradings of one student's
assignment both count."""
import json
import os
import shutil
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.reports import write_classroom, write_csv, write_gradescope, write_junit
from autograder.grading.results import SubmissionResult, results_document, write_json_atomic, write_text_atomic
from autograder.grading.results import TestResult as Outcome   # a class named Test* would be collected by pytest
from cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "submissions" / "mlp" / "correct_functional.ipynb"
T1, T2 = "2025-01-10T09:00:00.000000+00:00", "2025-01-12T17:30:00.000000+00:00"


def invoke(*args):
    return CliRunner(env={"COLUMNS": "200", "GITHUB_ACTIONS": None}).invoke(main, [*map(str, args)])


@pytest.fixture
def one_student(tmp_path):
    folder = tmp_path / "class" / "alice"
    folder.mkdir(parents=True)
    shutil.copy(SAMPLE, folder / "mlp.ipynb")
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    (tmp_path / "a-folder.json").mkdir()
    return tmp_path


BAD_PATHS = [  # (options, the path named, what is wrong)
    (["--json", "blocker/all.json"], "blocker/all.json", "blocker is not a folder"),
    (["--junit", "blocker/deeper/junit.xml"], "blocker/deeper/junit.xml", "blocker is not a folder"),
    (["--feedback", "blocker/feedback"], "blocker/feedback", "blocker is not a folder"),
    (["--gradescope", "blocker"], "blocker", "is a file"),
    (["--csv", "a-folder.json"], "a-folder.json", "is a directory"),
    (["--json", "out/all.json", "--csv", "out/all.json"], "out/all.json", "--json writes there too"),
    (["--json", "all.json", "--classroom", "out/../all.json"], "out/../all.json", "--json writes there too"),
    (["--json", "out/all.json", "--feedback", "out/all.json"], "out/all.json", "--json writes there too"),
    (["--csv", "/proc/grades.csv"], "/proc/grades.csv", "no file can be created in folder /proc"),
]


@pytest.mark.parametrize("options, named, problem", BAD_PATHS)
def test_a_report_that_cannot_be_written_stops_batch_before_any_grading(one_student, options, named, problem):
    tmp = one_student
    args = [tmp / a if not a.startswith(("-", "/")) else a for a in options]
    started = time.monotonic()
    run = invoke("batch", tmp / "class", "--root", ROOT, "-j", "1", *args)
    assert run.exit_code == 2, run.output[-2000:]
    shown = named if named.startswith("/") else str(tmp / named)
    assert shown in run.output and problem in run.output, run.output
    assert "[1/" not in run.output and "summary" not in run.output and "Traceback" not in run.output
    assert not (tmp / "out").exists() and not (tmp / "all.json").exists()
    assert time.monotonic() - started < 10, "nothing should have been graded"


@pytest.mark.parametrize("options, problem", [
    (["--json", "blocker/result.json"], "blocker is not a folder"),
    (["--json", "result.json", "--gradescope", "result.json"], "--json writes there too"),
    (["--gradescope", "/proc/results.json"], "no file can be created in folder /proc"),
])
def test_a_report_that_cannot_be_written_stops_run_before_any_grading(one_student, options, problem):
    tmp = one_student
    args = [tmp / a if not a.startswith(("-", "/")) else a for a in options]
    run = invoke("run", tmp / "class" / "alice" / "mlp.ipynb", "--root", ROOT, *args)
    assert run.exit_code == 2 and problem in run.output, run.output[-2000:]
    assert "test_linear_forward" not in run.output and not (tmp / "result.json").exists()


def result(student="alice", score=5.0, when=T1, **fields):
    return SubmissionResult("mlp", f"class/{student}/mlp.ipynb", [Outcome("test_forward", score, 5, "passed"
                                                                         if score == 5 else "failed")],
                            student=student, graded_at=when, **fields)


def results_file(path, *results, incomplete=False):
    write_json_atomic(path, results_document(list(results), incomplete))
    return path


def merged_rows(path):
    return [(s["student"], s["assignment"], s["score"], s["status"])
            for s in json.loads(path.read_text())["submissions"]]


def test_merge_refuses_a_student_graded_twice_unless_latest_keeps_the_later(tmp_path):
    monday = results_file(tmp_path / "monday.json", result("alice", 0, T1), result("bob", 5, T1))
    friday = results_file(tmp_path / "friday.json", result("alice", 5, T2))
    out = tmp_path / "merged.json"
    run = invoke("merge", monday, friday, "--json", out)
    assert run.exit_code == 2, run.output
    assert f"{monday} and {friday} both hold a result for student 'alice', assignment 'mlp'" in run.output
    assert "--latest" in run.output and not out.exists()
    for order in ((monday, friday), (friday, monday)):   # the time decides, not the order on the command line
        run = invoke("merge", *order, "--latest", "--json", out)
        assert run.exit_code == 0, run.output
        assert merged_rows(out) == [("alice", "mlp", 5, "graded"), ("bob", "mlp", 5, "graded")]


def test_latest_lets_a_late_submission_replace_a_missing_row(tmp_path):
    missing = SubmissionResult("", "", status="missing", error="no submission found for dave", student="dave",
                               graded_at=T1)
    first = results_file(tmp_path / "first.json", result("alice", 5, T1), missing)
    late = results_file(tmp_path / "late.json", result("dave", 0, T2))
    out = tmp_path / "merged.json"
    run = invoke("merge", first, late, "--json", out)
    assert run.exit_code == 2 and "student 'dave', assignment 'mlp'" in run.output, run.output
    assert invoke("merge", first, late, "--latest", "--json", out).exit_code == 0
    assert merged_rows(out) == [("alice", "mlp", 5, "graded"), ("dave", "mlp", 0, "graded")]


def test_latest_needs_times_it_can_order(tmp_path):
    old = results_file(tmp_path / "old.json", result("alice", 5, ""))
    new = results_file(tmp_path / "new.json", result("alice", 0, T2))
    run = invoke("merge", old, new, "--latest", "--json", tmp_path / "out.json")
    assert run.exit_code == 2 and f"{old}: a result for student 'alice' has no valid graded_at" in run.output
    same = results_file(tmp_path / "same.json", result("alice", 5, T2))
    run = invoke("merge", same, new, "--latest", "--json", tmp_path / "out.json")
    assert run.exit_code == 2 and "--latest cannot choose" in run.output, run.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(results_document([result("alice", 5, "last tuesday")])))
    run = invoke("merge", bad, "--json", tmp_path / "out.json")
    assert run.exit_code == 2 and "result.graded_at: 'last tuesday' is not an ISO 8601 time" in run.output


def test_merging_an_interrupted_run_stays_marked_incomplete(tmp_path):
    done = results_file(tmp_path / "shard1.json", result("alice"))
    stopped = results_file(tmp_path / "shard2.json", result("bob"), incomplete=True)
    out, summary = tmp_path / "merged.json", tmp_path / "summary.md"
    run = CliRunner(env={"GITHUB_STEP_SUMMARY": str(summary)}).invoke(
        main, ["merge", str(done), str(stopped), "--json", str(out)])
    assert run.exit_code == 130, run.output
    assert json.loads(out.read_text())["incomplete"] is True
    assert "Incomplete: grading was interrupted" in run.output and "Incomplete: grading was interrupted" in \
        summary.read_text()


@pytest.fixture
def umask():
    def set_to(mask):
        os.umask(mask)
    previous = os.umask(0o022)
    yield set_to
    os.umask(previous)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_reports_get_the_users_umask_not_0600(tmp_path, umask):
    many = [result("alice"), result("bob", 0)]
    write_junit(many, tmp_path / "junit.xml")
    write_csv(many, tmp_path / "grades.csv")
    write_classroom(many, tmp_path / "classroom.json")
    write_gradescope(many[0], tmp_path / "results.json")
    write_text_atomic(tmp_path / "feedback.md", "text")
    assert {path.name: mode(path) for path in tmp_path.iterdir()} == {
        "junit.xml": 0o644, "grades.csv": 0o644, "classroom.json": 0o644, "results.json": 0o644,
        "feedback.md": 0o644}
    umask(0o077)
    write_text_atomic(tmp_path / "private.md", "text")
    assert mode(tmp_path / "private.md") == 0o600
    umask(0o002)
    write_text_atomic(tmp_path / "feedback.md", "replaced")
    assert mode(tmp_path / "feedback.md") == 0o664


def test_every_report_the_cli_writes_is_readable_by_others(tmp_path, umask):
    source = results_file(tmp_path / "in.json", result("alice"), result("bob", 0))
    out = tmp_path / "reports"
    run = invoke("merge", source, "--json", out / "all.json", "--junit", out / "junit.xml", "--csv",
                 out / "grades.csv", "--classroom", out / "classroom.json", "--gradescope", out / "gradescope",
                 "--feedback", out / "feedback")
    assert run.exit_code == 0, run.output
    files = [path for path in out.rglob("*") if path.is_file()]
    assert len(files) == 4 + 2 + 4
    assert {mode(path) for path in files} == {0o644}
    assert {mode(path) for path in out.rglob("*") if path.is_dir()} == {0o755}
