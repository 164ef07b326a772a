"""Late work: submission times from nbgrader's timestamp.txt, a --timestamps CSV and git commits (a real
repository), a late policy applied in every report by the real CLI on real notebooks, and times that
cannot be trusted refused with the file named, before anything is graded."""
import csv
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.errors import UsageError
from autograder.course.lateness import LatePolicy, parse_time
from autograder.grading.results import SubmissionResult
from autograder.grading.results import TestResult as Outcome   # a class named Test* would be collected by pytest
from autograder.course.submission_times import read_timestamps, submission_times
from cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "submissions" / "mlp"
UTC = timezone.utc
DUE = "2025-03-01T23:59:00+00:00"
CUTOFF = "2025-03-05T23:59:00+00:00"


def invoke(*args):
    return CliRunner(env={"COLUMNS": "200", "GITHUB_ACTIONS": None}).invoke(main, [*map(str, args)])


# ------------------------------------------------------------------------------------------ times

@pytest.mark.parametrize("text, expected", [
    ("2025-03-01T23:59:00+01:00", datetime(2025, 3, 1, 22, 59, tzinfo=UTC)),
    ("2025-03-01T23:59Z", datetime(2025, 3, 1, 23, 59, tzinfo=UTC)),
    ("2025-03-01 23:59:00.123456 UTC", datetime(2025, 3, 1, 23, 59, 0, 123456, tzinfo=UTC)),   # nbgrader's
    ("2025-03-01 23:59 Europe/Paris", datetime(2025, 3, 1, 22, 59, tzinfo=UTC)),
    ("2025-07-01 23:59 America/Los_Angeles", datetime(2025, 7, 2, 6, 59, tzinfo=UTC)),
    ("2025-03-01 23:59 -0800", datetime(2025, 3, 2, 7, 59, tzinfo=UTC)),
])
def test_times_are_read_with_their_zone(text, expected):
    assert parse_time(text, "here") == expected


@pytest.mark.parametrize("text, complaint", [
    ("2025-03-01 23:59", "has no time zone"),
    ("2025-03-01", "has no time zone"),
    ("2025-03-01 23:59:00 PST", "unknown time zone 'PST'"),   # an abbreviation names no zone
    ("next friday", "is not a time"),
    ("", "no time given"),
])
def test_a_time_that_cannot_be_trusted_is_refused(text, complaint):
    with pytest.raises(UsageError, match=f"^here: .*{complaint}"):
        parse_time(text, "here")


def test_nbgrader_timestamps_without_a_zone_are_utc_as_nbgrader_reads_them():
    assert parse_time("2025-03-01 23:59:00.5", "f", naive_is_utc=True) == datetime(2025, 3, 1, 23, 59, 0, 500000,
                                                                                  tzinfo=UTC)


def graded(score=90.0):
    return SubmissionResult("mlp", "class/bob/mlp.ipynb", [Outcome("test_a", score, 90, "passed"),
                                                            Outcome("test_b", 0, 10, "failed")])


@pytest.mark.parametrize("late_by, days, score", [
    (timedelta(0), 0, 90), (timedelta(seconds=1), 1, 80), (timedelta(days=1), 1, 80),
    (timedelta(days=1, seconds=1), 2, 70), (timedelta(days=30), 30, 0),
])
def test_each_started_day_costs_the_penalty_and_never_more_than_the_points(late_by, days, score):
    due = parse_time(DUE, "due")
    late = LatePolicy(due, 10).apply(graded(), due + late_by)
    assert (late.days_late, late.score, late.raw_score) == (days, score, 90)
    assert late.penalty == 90 - score and late.submitted_at == (due + late_by).isoformat()


def test_after_the_cutoff_the_score_is_zero():
    policy = LatePolicy(parse_time(DUE, "due"), 5, parse_time(CUTOFF, "cutoff"))
    before = policy.apply(graded(), parse_time("2025-03-05T12:00Z", "t"))
    after = policy.apply(graded(), parse_time("2025-03-06T00:00Z", "t"))
    assert (before.score, before.days_late) == (70, 4)
    assert (after.score, after.penalty, after.days_late) == (0, 90, 5)
    alone = LatePolicy(cutoff=parse_time(CUTOFF, "cutoff")).apply(graded(), parse_time("2025-03-06T00:00Z", "t"))
    assert (alone.score, alone.days_late, alone.due) == (0, 1, "")


def test_a_policy_that_makes_no_sense_is_refused():
    with pytest.raises(UsageError, match="--late-penalty needs --due"):
        LatePolicy(per_day=5)
    with pytest.raises(UsageError, match="--late-cutoff 2025-02-01T00:00:00\\+00:00 is before --due"):
        LatePolicy(parse_time(DUE, "d"), 5, parse_time("2025-02-01T00:00Z", "c"))


@pytest.mark.parametrize("text, complaint", [
    ("student,time\nalice,2025-03-01T10:00Z\n", "line 1: the header must be id,timestamp"),
    ("id,timestamp\nalice,2025-03-01 10:00\n", "line 2: '2025-03-01 10:00' has no time zone"),
    ("id,timestamp\nalice,2025-03-01T10:00Z\nalice,2025-03-02T10:00Z\n", "line 3: id 'alice' is already on line 2"),
    ("id,timestamp\n../bob,2025-03-01T10:00Z\n", "line 2: '../bob' is not a student id"),
    ("id,timestamp\nalice\n", "line 2: 1 values"),
    ("id,timestamp\nalice,2025-03-01T10:00Z\nAlice,2025-03-02T10:00Z\n",
     "line 3: id 'Alice' is already on line 2 \\(as 'alice'\\)"),
    ("id,timestamp\nalice,\"2025-03-01\n", "line 2: not valid CSV"),
    ("", "line 1: the header must be id,timestamp \\(found nothing\\)"),
])
def test_a_timestamps_file_that_cannot_be_trusted_is_refused_naming_the_line(tmp_path, text, complaint):
    path = tmp_path / "times.csv"
    path.write_text(text)
    with pytest.raises(UsageError, match=f"^{path} {complaint}"):
        read_timestamps(path)


# --------------------------------------------------------------------------- a class in git and nbgrader

def git(folder, *args, when=None):
    env = {**os.environ, "GIT_AUTHOR_NAME": "student", "GIT_AUTHOR_EMAIL": "s@example.edu",
           "GIT_COMMITTER_NAME": "student", "GIT_COMMITTER_EMAIL": "s@example.edu"}
    if when:
        env.update(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, env=env)


def nbgrader_class(folder: Path) -> Path:
    """nbgrader's layout in a git repository: alice's timestamp.txt says on time (her commit is later, and
    does not count), bob has only his commit (two days late), carol's time comes from --timestamps."""
    for student, sample in (("alice", "correct_functional"), ("bob", "mistake_gradient_sign"),
                            ("carol", "correct_loops")):
        (folder / "submitted" / student / "mlp").mkdir(parents=True)
        shutil.copy(SAMPLES / f"{sample}.ipynb", folder / "submitted" / student / "mlp" / "mlp.ipynb")
    (folder / "submitted" / "alice" / "mlp" / "timestamp.txt").write_text("2025-03-01 20:00:00.000000 UTC\n")
    git(folder, "init", "-q")
    for student, when in (("alice", "2025-03-09T12:00:00+00:00"), ("bob", "2025-03-03T09:30:00+01:00"),
                          ("carol", "2025-03-01T08:00:00+00:00")):
        git(folder, "add", f"submitted/{student}")
        git(folder, "commit", "-q", "-m", student, when=when)
    return folder


@pytest.fixture(scope="module")
def late_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("late")
    folder = nbgrader_class(base / "class")
    times = base / "times.csv"
    times.write_text("id,timestamp\ncarol,2025-03-06 08:00 Europe/Paris\n")
    out = base / "reports"
    run = invoke("batch", folder, "--root", ROOT, "-j", "2", "--due", DUE, "--late-penalty", 10, "--late-cutoff",
                 CUTOFF, "--timestamps", times, "--json", out / "all.json", "--csv", out / "grades.csv",
                 "--csv-detail", out / "detail.csv", "--canvas", out / "canvas.csv", "--moodle", out / "moodle.csv",
                 "--junit", out / "junit.xml", "--gradescope", out / "gradescope", "--classroom", out / "classroom",
                 "--feedback", out / "feedback", "--fail-under", "50%")
    return run, out


def test_every_submission_time_comes_from_its_best_source(late_class):
    run, out = late_class
    assert run.exit_code == 1, run.output[-3000:]   # carol, after the cutoff, is under --fail-under
    rows = {s["student"]: s for s in json.loads((out / "all.json").read_text())["submissions"]}
    assert {s: (r["submitted_at"], r["days_late"], r["penalty"], r["score"]) for s, r in rows.items()} == {
        "alice": ("2025-03-01T20:00:00+00:00", 0, 0, 100),        # timestamp.txt, not her later commit
        "bob": ("2025-03-03T08:30:00+00:00", 2, 20, 70),          # his commit: 90 less two started days
        "carol": ("2025-03-06T07:00:00+00:00", 5, 100, 0)}        # --timestamps, after the cutoff
    assert {r["due"] for r in rows.values()} == {DUE} and {r["cutoff"] for r in rows.values()} == {CUTOFF}
    assert rows["bob"]["raw_score"] == 90


def test_every_report_shows_the_lateness_and_applies_the_penalty(late_class):
    run, out = late_class
    summary = [line for line in run.stdout.splitlines() if line.startswith("│")]
    assert any("bob" in line and "70/100" in line and "2 days late: -20 points" in line for line in summary)
    assert any("carol" in line and "5 days late, after the cutoff: -100 points" in line for line in summary)
    assert "submitted/bob/mlp/mlp.ipynb mlp 70/100" in run.stderr   # progress, after the penalty too
    grades = {row["student"]: row for row in csv.DictReader((out / "grades.csv").open(newline=""))}
    assert (grades["bob"]["mlp"], grades["bob"]["note"]) == ("70", "mlp: 2 days late: -20 points")
    detail = [row for row in csv.DictReader((out / "detail.csv").open(newline="")) if row["student"] == "bob"]
    assert {(row["days_late"], row["penalty"], row["submitted_at"]) for row in detail} == {
        ("2", "20", "2025-03-03T08:30:00+00:00")}
    canvas = {row[0]: row[5] for row in csv.reader((out / "canvas.csv").open(newline=""))}
    assert (canvas["bob"], canvas["carol"], canvas["alice"]) == ("70", "0", "100")
    moodle = {row["Full name"]: row for row in csv.DictReader((out / "moodle.csv").open(newline=""))}
    assert moodle["bob"]["mlp feedback"] == "2 days late: -20 points"
    suites = {s.get("name").split("/")[-3]: s for s in ET.parse(out / "junit.xml").getroot().findall("testsuite")}
    penalty = suites["bob"].find("testcase[@name='late penalty [-20 points]']/failure")
    assert "submitted 2025-03-03T08:30:00+00:00, due 2025-03-01T23:59:00+00:00" in penalty.text
    gradescope = json.loads((out / "gradescope" / "bob-mlp.json").read_text())
    assert gradescope["score"] == 70 and "Late: 2 days late: -20 points" in gradescope["output"]
    classroom = json.loads((out / "classroom" / "bob-mlp.json").read_text())
    assert sum(t["score"] for t in classroom["tests"]) == 70 and classroom["tests"][-1]["name"] == "late penalty"
    feedback = (out / "feedback" / "bob" / "mlp.md").read_text()
    assert "**Score: 70/100**" in feedback and "Late: 2 days late: -20 points (submitted 2025-03-03" in feedback


def test_a_student_repository_is_graded_late_by_its_commit_time(tmp_path):
    """`grade run` in a student's repository (GitHub Classroom): the notebook's last commit is its time."""
    repo = tmp_path / "mlp-alice"
    repo.mkdir()
    shutil.copy(SAMPLES / "correct_vectorised.ipynb", repo / "mlp.ipynb")
    git(repo, "init", "-q")
    git(repo, "add", "mlp.ipynb")
    git(repo, "commit", "-q", "-m", "done", when="2025-03-02T10:00:00+00:00")
    run = invoke("run", repo / "mlp.ipynb", "--root", ROOT, "--due", DUE, "--late-penalty", "5",
                 "--json", tmp_path / "result.json", "--classroom", tmp_path / "classroom.json")
    assert run.exit_code == 0, run.output[-3000:]
    data = json.loads((tmp_path / "result.json").read_text())
    assert (data["score"], data["days_late"], data["submitted_at"]) == (95, 1, "2025-03-02T10:00:00+00:00")
    assert "late penalty" in run.output and "1 day late: -5 points" in run.output
    assert sum(t["score"] for t in json.loads((tmp_path / "classroom.json").read_text())["tests"]) == 95


# ---------------------------------------------------------------------- refused before anything is graded

def bad_time_class(tmp_path):
    folder = tmp_path / "class"
    (folder / "submitted" / "alice" / "mlp").mkdir(parents=True)
    shutil.copy(SAMPLES / "correct_functional.ipynb", folder / "submitted" / "alice" / "mlp" / "mlp.ipynb")
    return folder


@pytest.mark.parametrize("setup, options, complaint", [
    (lambda f: (f / "submitted/alice/mlp/timestamp.txt").write_text("2025-03-01 20:00:00 PST"),
     ["--due", DUE], "submitted/alice/mlp/timestamp.txt: unknown time zone 'PST'"),
    (lambda f: (f / "submitted/alice/mlp/timestamp.txt").write_text("yesterday"),
     ["--due", DUE], "submitted/alice/mlp/timestamp.txt: 'yesterday' is not a time"),
    (lambda f: (f / "submitted/alice/mlp/timestamp.txt").write_bytes(b"\xff\xfe"),
     ["--due", DUE], "submitted/alice/mlp/timestamp.txt line 1: not UTF-8 text"),
    (lambda f: None, ["--due", DUE],
     "none was found for {f}/submitted/alice/mlp/mlp.ipynb (no timestamp.txt beside it, not in a git repository)"),
    (lambda f: (f.parent / "t.csv").write_text("id,timestamp\nalice,soon\n"), ["--due", DUE, "--timestamps", "T"],
     "t.csv line 2: 'soon' is not a time"),
    (lambda f: None, ["--due", "2025-03-01 23:59"], "--due: '2025-03-01 23:59' has no time zone"),
    (lambda f: None, ["--due", DUE, "--late-cutoff", "2025-02-01T00:00Z"], "--late-cutoff 2025-02-01T00:00:00+00:00"
     " is before --due"),
    (lambda f: None, ["--late-penalty", "5"], "--late-penalty needs --due"),
    (lambda f: (f.parent / "t.csv").write_text("id,timestamp\n"), ["--timestamps", "T"],
     "--timestamps gives submission times for a late policy: add --due or --late-cutoff"),
])
def test_times_that_cannot_be_read_stop_batch_before_grading(tmp_path, setup, options, complaint):
    folder = bad_time_class(tmp_path)
    setup(folder)
    options = [str(tmp_path / "t.csv") if option == "T" else option for option in options]
    run = invoke("batch", folder, "--root", ROOT, "-j", "1", "--json", tmp_path / "all.json", *options)
    assert run.exit_code == 2, run.output[-2000:]
    assert complaint.format(f=folder) in run.output, run.output[-2000:]
    assert "[1/" not in run.output and "Traceback" not in run.output and not (tmp_path / "all.json").exists()


def test_submission_times_ignore_a_repository_above_the_class_folder(tmp_path):
    """The course repository the class folder sits in knows when the instructor committed, not when
    students handed in: only a repository at or below the class folder counts."""
    folder = bad_time_class(tmp_path / "course")
    git(tmp_path / "course", "init", "-q")
    git(tmp_path / "course", "add", ".")
    git(tmp_path / "course", "commit", "-q", "-m", "all", when="2025-03-09T12:00:00+00:00")
    notebook = folder / "submitted" / "alice" / "mlp" / "mlp.ipynb"
    with pytest.raises(UsageError, match="not in a git repository"):
        submission_times([("alice", notebook)], ceiling=folder)
    assert submission_times([("alice", notebook)]) == {notebook: parse_time("2025-03-09T12:00Z", "t")}
