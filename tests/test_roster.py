"""A class graded with a roster, through the real CLI on real notebooks: every student on the roster and
every student folder gets a row in every report (graded, unreadable or missing), a submission from
someone not on the roster is graded and flagged, and a roster that cannot be trusted is refused."""
import csv
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.course.classlist import class_rows
from autograder.errors import UsageError
from autograder.course.roster import read_roster
from cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "submissions" / "mlp"
ROSTER = ("id,name,email,lms_id\nalice,Alice Liddell,alice@example.edu,1001\nbob,Bob Smith,bob@example.edu,1002\n"
          "carol,Carol Danvers,,1003\ndave,Dave Bowman,dave@example.edu,\nfrank,Frank Poole,,\n")
REPORTS = ("--json", "all.json", "--junit", "junit.xml", "--csv", "grades.csv", "--classroom", "classroom.json",
           "--gradescope", "gradescope", "--feedback", "feedback")
EXPECTED = {  # student -> (status, score, note)
    "alice": ("graded", 100, ""),
    "bob": ("missing", 0, "no notebook found (found: mlp.py, notes/readme.txt)"),
    "carol": ("unreadable", 0, "is not valid JSON"),
    "dave": ("missing", 0, "no submission found for dave"),
    "erin": ("graded", 90, "not on the roster"),
    "frank": ("missing", 0, "no submission found for frank"),
}


def invoke(*args, env=None):
    """The real command in this process, output not a terminal and COLUMNS unset, as in a CI log."""
    runner = CliRunner(env={"COLUMNS": None, "FORCE_COLOR": None, "GITHUB_ACTIONS": None, **(env or {})})
    root = ["--root", str(ROOT)] if args[0] in ("batch", "run") else []
    return runner.invoke(main, [*map(str, args), *root])


def make_class(folder: Path) -> Path:
    """alice and erin hand in notebooks (erin is not on the roster), carol a broken one, bob only a script
    and a note, frank an empty folder; dave, on the roster, has no folder at all."""
    for student, sample in (("alice", "correct_functional"), ("erin", "mistake_gradient_sign")):
        (folder / student).mkdir(parents=True)
        shutil.copy(SAMPLES / f"{sample}.ipynb", folder / student / "mlp.ipynb")
    (folder / "carol").mkdir()
    (folder / "carol" / "mlp.ipynb").write_text("{ this is not json")
    (folder / "bob" / "notes").mkdir(parents=True)
    (folder / "bob" / "mlp.py").write_text("print('my mlp')\n")
    (folder / "bob" / "notes" / "readme.txt").write_text("see mlp.py\n")
    (folder / "frank").mkdir()
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("roster")
    folder = make_class(base / "class")
    roster = base / "students.csv"
    roster.write_text(ROSTER)
    out = base / "reports"
    run = invoke("batch", folder, "--roster", roster, "-j", "1", *[out / a if not a.startswith("--") else a
                                                                     for a in REPORTS])
    return run, out, folder


def test_every_student_gets_a_row_with_their_status(graded):
    run, out, folder = graded
    assert run.exit_code == 3, run.output[-3000:]   # carol's notebook cannot be read
    data = json.loads((out / "all.json").read_text())
    assert data["incomplete"] is False
    rows = {s["student"]: s for s in data["submissions"]}
    assert [s["student"] for s in data["submissions"]] == sorted(EXPECTED)
    for student, (status, score, note) in EXPECTED.items():
        row = rows[student]
        assert (row["status"], row["score"]) == (status, score), row
        assert row["on_roster"] is (student != "erin")
        assert row["graded_at"].endswith("+00:00")
        if status != "graded":
            assert note in row["error"], row
    assert rows["alice"]["name"] == "Alice Liddell" and rows["alice"]["lms_id"] == "1001"
    assert rows["erin"]["name"] == "" and rows["erin"]["max_score"] == 100
    assert rows["dave"]["submission"] == "" and rows["dave"]["tests"] == [] and rows["dave"]["max_score"] == 0
    assert rows["frank"]["submission"] == str(folder / "frank")


def test_the_csv_junit_and_classroom_reports_hold_every_row(graded):
    _, out, _ = graded
    csv_rows = {row["student"]: row for row in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}
    assert set(csv_rows) == set(EXPECTED)
    for student, (status, score, note) in EXPECTED.items():
        assert (csv_rows[student]["status"], float(csv_rows[student]["score"])) == (status, score)
        assert note in csv_rows[student]["note"]
    assert (csv_rows["bob"]["name"], csv_rows["bob"]["email"]) == ("Bob Smith", "bob@example.edu")

    root = ET.parse(out / "junit.xml").getroot()
    suites = {next(p.get("value") for p in s.find("properties") if p.get("name") == "student"): s
              for s in root.findall("testsuite")}
    assert set(suites) == set(EXPECTED)
    dave = suites["dave"]
    assert (dave.get("tests"), dave.get("skipped")) == ("1", "1")
    assert dave.find("testcase/skipped").get("message") == "no submission found for dave"
    assert root.get("skipped") == "3"

    assert json.loads((out / "classroom.json").read_text())["status"] == "error"


def test_per_student_reports_exist_for_missing_students_too(graded):
    _, out, _ = graded
    assert len(list((out / "gradescope").iterdir())) == len(EXPECTED)
    dave = json.loads((out / "gradescope" / "dave-unknown.json").read_text())
    assert dave["score"] == 0 and dave["tests"] == [] and "no submission found for dave" in dave["output"]
    feedback = (out / "feedback" / "bob" / "unknown.md").read_text()
    assert "Nothing was graded" in feedback and "mlp.py" in feedback
    assert "no submission found for frank" in (out / "feedback" / "frank" / "unknown.html").read_text()


def test_a_ci_log_gets_full_width_tables_and_a_line_per_finished_submission(graded):
    run, _, folder = graded
    table = [line for line in run.stdout.splitlines() if line.startswith("│")]
    assert len(table) == len(EXPECTED) and max(map(len, table)) > 80
    for student, (status, _, note) in EXPECTED.items():
        line = next(line for line in table if line.startswith(f"│ {student} "))
        assert status in line and note in line    # nothing cut or folded onto a second line
    assert str(folder / "alice" / "mlp.ipynb") in run.stdout
    log = [line for line in run.stderr.splitlines() if line.startswith("[")]
    assert log == ["[1/3] alice/mlp.ipynb mlp 100/100", "[2/3] carol/mlp.ipynb mlp 0/100 unreadable",
                   "[3/3] erin/mlp.ipynb mlp 90/100"]


def test_the_markdown_summary_has_every_row(graded, tmp_path):
    _, out, _ = graded
    summary = tmp_path / "summary.md"
    run = invoke("merge", out / "all.json", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert run.exit_code == 3, run.output[-2000:]
    text = summary.read_text()
    assert "| dave |  |  | 0/0 | missing | no submission found for dave |" in text
    assert "not on the roster" in text and "Incomplete" not in text


def test_without_a_roster_every_student_folder_is_a_row(tmp_path):
    folder = tmp_path / "class"
    (folder / "carol").mkdir(parents=True)
    (folder / "carol" / "mlp.ipynb").write_text("{ this is not json")
    (folder / "bob").mkdir()
    (folder / "bob" / "mlp.py").write_text("print('my mlp')\n")
    (folder / "dave").mkdir()
    run = invoke("batch", folder, "-j", "1", "--json", tmp_path / "all.json")
    assert run.exit_code == 3, run.output[-2000:]
    rows = {s["student"]: s for s in json.loads((tmp_path / "all.json").read_text())["submissions"]}
    expected = {"bob": ("missing", "no notebook found (found: mlp.py)"), "carol": ("unreadable", "is not valid JSON"),
                "dave": ("missing", "no submission found for dave")}
    assert set(rows) == set(expected)
    for name, (status, reason) in expected.items():
        assert rows[name]["status"] == status and reason in rows[name]["error"], rows[name]
    assert all(row["on_roster"] is None for row in rows.values())


def test_students_are_found_in_every_layout_batch_grades(tmp_path):
    """`<student>/...`, nbgrader's `submitted/<student>/<assignment>/`, a flat folder, and a folder per
    assignment of `<student>.ipynb`: the same student whichever layout, and empty folders in each."""
    folder = tmp_path / "class"
    for path in ("alice/mlp.ipynb", "submitted/bob/mlp/mlp.ipynb", "carol.ipynb", "mlp/dave.ipynb",
                 "cnn/erin/cnn.ipynb"):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text("{}")
    for empty in ("frank", "submitted/gina", "mlp/hal"):
        (folder / empty).mkdir(parents=True)
    rows = class_rows(folder, ["mlp", "cnn"])
    assert [(row.student, row.submission is not None) for row in rows] == [
        ("alice", True), ("bob", True), ("carol", True), ("dave", True), ("erin", True), ("frank", False),
        ("gina", False), ("hal", False)]


@pytest.mark.parametrize("text, complaint", [
    ("", "is empty: a roster needs a header row with an 'id' column"),
    ("name,email\nAlice,a@example.edu\n", "line 1: no 'id' column"),
    ("id,e-mail\nalice,a@example.edu\n", "line 1: unknown column 'e-mail'"),
    ("id,name\nalice,Alice\nbob,Bob\nalice,Alice again\n", "line 4: id 'alice' is already on line 2"),
    ("id\nalice\nAlice\n", "line 3: id 'Alice' is already on line 2 (as 'alice')"),
    ("id\nalice\n../../etc\n", "line 3: '../../etc' is not a student id"),
    ("id\nalice smith\n", "line 2: 'alice smith' is not a student id"),
    ("id,name\nalice\n", "line 2: 1 values, but the header names 2 columns"),
    ('id,name\nalice,"Alice\n', "line 2: not valid CSV"),
    ("id\n", "lists no students, only a header"),
])
def test_a_roster_that_cannot_be_trusted_is_a_usage_error_naming_the_file_and_line(tmp_path, text, complaint):
    folder = make_class(tmp_path / "class")
    roster = tmp_path / "students.csv"
    roster.write_text(text)
    run = invoke("batch", folder, "--roster", roster, "--json", tmp_path / "all.json")
    assert run.exit_code == 2, run.output[-2000:]
    assert f"{roster}" in run.output and complaint in run.output
    assert "Traceback" not in run.output and "[1/" not in run.output and not (tmp_path / "all.json").exists()


def test_a_roster_written_by_a_spreadsheet_is_read(tmp_path):
    roster = tmp_path / "students.csv"
    roster.write_bytes("\ufeffID , Name\r\n alice , Alice Liddell \r\n\r\nbob,\"Smith, Bob\"\r\n".encode())
    assert {s.id: s.name for s in read_roster(roster).values()} == {"alice": "Alice Liddell", "bob": "Smith, Bob"}
    roster.write_bytes(b"id\nalice\n\xff\n")
    with pytest.raises(UsageError, match="line 3: not UTF-8 text"):
        read_roster(roster)


def test_an_empty_class_folder_is_a_usage_error_for_batch_and_run(tmp_path):
    empty = tmp_path / "class"
    empty.mkdir()
    (empty / "README.txt").write_text("nothing handed in yet")
    for command in ("batch", "run"):
        run = invoke(command, empty)
        assert run.exit_code == 2, (command, run.output)
        assert f"Error: no notebooks found in {empty}" in run.output
