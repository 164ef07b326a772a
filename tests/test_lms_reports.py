"""Gradebooks an LMS imports, each read back with the csv module the way that LMS documents its import:
the gradebook CSV (a row per student, a column per assignment, a "Points Possible" row), its per-test
detail, Canvas's gradebook CSV and Moodle's grade import; and GitHub Classroom's result per submission."""
import csv
import json
import re
from dataclasses import replace

import pytest
from click.testing import CliRunner

from autograder.reports import canvas_csv, detail_csv, gradebook_csv, moodle_csv
from autograder.grading.results import SubmissionResult, results_document, write_json_atomic
from autograder.grading.results import TestResult as Outcome   # a class named Test* would be collected by pytest
from cli import main

DUE, LATE = "2025-03-01T23:59:00+00:00", "2025-03-03T09:30:00+00:00"


def result(student, assignment="mlp", scores=(2, 3), **fields):
    tests = [Outcome("test_forward", scores[0], 2, "passed" if scores[0] == 2 else "failed", "forward is off"),
             Outcome("test_hidden", scores[1], 3, "passed" if scores[1] == 3 else "failed", "SECRET",
                     visibility="after_published")]
    roster = {"alice": ("Alice Liddell", "alice@example.edu", "1001"), "bob": ("Bob Smith", "bob@example.edu", "1002"),
              "dave": ("Dave Bowman", "dave@example.edu", "1004")}.get(student, ("", "", ""))
    name, email, lms_id = roster
    return SubmissionResult(assignment, f"class/{student}/{assignment}.ipynb", tests, student=student, name=name,
                            email=email, lms_id=lms_id, on_roster=bool(name), **fields)


def late_bob():
    return result("bob", scores=(2, 0), submitted_at=LATE, due=DUE, days_late=2, penalty=1)


def missing_dave():
    return SubmissionResult("", "", status="missing", error="no submission found for dave", student="dave",
                            name="Dave Bowman", email="dave@example.edu", lms_id="1004", on_roster=True)


def hostile_erin():
    return replace(result("erin", "cnn", (0, 3)), student="=HYPERLINK(1)", name="@SUM(A1)")


def the_class():
    return [result("alice"), result("alice", "cnn", (0, 3)), late_bob(), missing_dave(), hostile_erin()]


def read_rows(text):
    return list(csv.reader(text.splitlines()))


# --------------------------------------------------------------------------------- gradebook CSV

def test_the_gradebook_csv_has_a_row_per_student_and_a_column_per_assignment():
    header, possible, *rows = read_rows(gradebook_csv(the_class()))
    assert header == ["student", "name", "email", "lms_id", "cnn", "mlp", "note"]
    assert possible == ["Points Possible", "", "", "", "5", "5", ""]
    students = {row[0]: dict(zip(header, row)) for row in rows}
    assert list(students) == ["alice", "bob", "dave", "'=HYPERLINK(1)"]   # one row each, in order
    assert (students["alice"]["mlp"], students["alice"]["cnn"], students["alice"]["note"]) == ("5", "3", "")
    assert (students["bob"]["mlp"], students["bob"]["cnn"]) == ("1", "")   # 2 points less the 1-point penalty
    assert students["bob"]["note"] == "mlp: 2 days late: -1 points"
    dave = students["dave"]   # a missing row without an assignment counts for every assignment
    assert (dave["mlp"], dave["cnn"], dave["email"]) == ("0", "0", "dave@example.edu")
    assert dave["note"] == "cnn: no submission found for dave; mlp: no submission found for dave"
    assert students["'=HYPERLINK(1)"]["name"] == "'@SUM(A1)"   # no cell can become a formula


def test_the_detail_csv_has_a_row_per_student_and_test_with_lateness():
    rows = list(csv.DictReader(detail_csv(the_class()).splitlines()))
    assert [(r["student"], r["assignment"], r["test"]) for r in rows[:2]] == [
        ("alice", "mlp", "test_forward"), ("alice", "mlp", "test_hidden")]
    bob = [r for r in rows if r["student"] == "bob"]
    assert [(r["test"], r["test_status"], r["score"], r["max_score"]) for r in bob] == [
        ("test_forward", "passed", "2", "2"), ("test_hidden", "failed", "0", "3")]
    assert {(r["submitted_at"], r["days_late"], r["penalty"], r["note"]) for r in bob} == {
        (LATE, "2", "1", "2 days late: -1 points")}
    (dave,) = [r for r in rows if r["student"] == "dave"]
    assert (dave["status"], dave["test"], dave["note"]) == ("missing", "", "no submission found for dave")


def test_two_submissions_for_one_cell_leave_it_empty_and_say_why():
    twin = replace(result("alice", scores=(0, 0)), submission="other/alice/mlp.ipynb")
    rows = [result("alice"), twin, late_bob()]
    why = "2 submissions (class/alice/mlp.ipynb, other/alice/mlp.ipynb): the cell is left empty, grade one of them"
    _, _, alice, bob = read_rows(gradebook_csv(rows))
    assert (alice[4], alice[5], bob[4]) == ("", f"mlp: {why}", "1")   # the grader does not pick one
    _, _, students = canvas_import(canvas_csv(rows))
    assert students[("ID", "1001")] == {("mlp", None): ""}   # Canvas leaves an empty cell as it was
    _, users = moodle_import(moodle_csv(rows))
    assert (users["alice@example.edu"]["mlp"], users["alice@example.edu"]["mlp feedback"]) == ("", why)


# -------------------------------------------------------------------------------------- Canvas

def canvas_title_and_id(header):
    """Canvas's Assignment.title_and_id: `Name (id)` is matched by id, anything else by title."""
    match = re.fullmatch(r"(.*)\s\((\d+)\)", header)
    return (match.group(1), match.group(2)) if match else (header, None)


def canvas_import(text):
    """The student rows and assignments as Canvas's gradebook importer reads them: the header must start
    Student, ID, and have SIS User ID, SIS Login ID and Section before the assignments; a row whose first
    cell says Points Possible gives the points; a student is found by ID, else SIS Login ID, else name."""
    header, *rows = read_rows(text)
    assert "Student" in header[0] and "ID" in header[1]
    assert re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3])
    assert "Section" in header[4]
    assignments = [canvas_title_and_id(h) for h in header[5:]]
    possible, students = None, {}
    for row in rows:
        if "Points Possible" in row[0]:
            possible = dict(zip(assignments, row[5:]))
            continue
        key = ("ID", row[1]) if row[1] else ("SIS Login ID", row[3]) if row[3] else ("name", row[0])
        students[key] = dict(zip(assignments, row[5:]))
    return assignments, possible, students


def test_canvas_reads_students_by_their_canvas_id_and_assignments_by_theirs():
    assignments, possible, students = canvas_import(canvas_csv(the_class(), {"mlp": "4242"}))
    assert assignments == [("cnn", None), ("mlp", "4242")]
    assert possible == {("cnn", None): "5", ("mlp", "4242"): "5"}
    assert students[("ID", "1001")] == {("cnn", None): "3", ("mlp", "4242"): "5"}
    assert students[("ID", "1002")][("mlp", "4242")] == "1"
    assert students[("ID", "1004")] == {("cnn", None): "0", ("mlp", "4242"): "0"}
    assert students[("name", "'@SUM(A1)")][("cnn", None)] == "3"   # no LMS id: Canvas can only try the name
    for row in students.values():
        assert all(float(score) >= 0 for score in row.values() if score)


def test_canvas_matches_by_login_when_the_roster_has_no_canvas_id():
    _, _, students = canvas_import(canvas_csv([replace(result("alice"), lms_id="")]))
    assert students == {("SIS Login ID", "alice@example.edu"): {("mlp", None): "5"}}


# -------------------------------------------------------------------------------------- Moodle

def moodle_import(text, identify_by="Email address"):
    """Moodle's CSV grade import: one column is mapped to a user field (here the email) to find each
    user; each other column is mapped to a grade item, or to the feedback of one."""
    header, *rows = read_rows(text)
    users = {}
    for row in rows:
        cells = dict(zip(header, row))
        user = cells.pop(identify_by)
        assert user not in users, f"two rows for {user}"
        users[user] = cells
    return header, users


def test_moodle_finds_users_by_email_and_takes_grades_and_feedback():
    header, users = moodle_import(moodle_csv(the_class()))
    assert header == ["Full name", "Email address", "ID number", "cnn", "cnn feedback", "mlp", "mlp feedback"]
    assert (users["alice@example.edu"]["mlp"], users["alice@example.edu"]["cnn"]) == ("5", "3")
    assert (users["bob@example.edu"]["mlp"], users["bob@example.edu"]["mlp feedback"]) == \
        ("1", "2 days late: -1 points")
    assert users["dave@example.edu"]["mlp feedback"] == "no submission found for dave"
    _, by_number = moodle_import(moodle_csv(the_class()), identify_by="ID number")
    assert by_number["1002"]["mlp"] == "1"
    for user in users.values():
        assert all(float(user[a]) >= 0 for a in ("cnn", "mlp") if user[a])


# ----------------------------------------------------------------------- the real CLI, one classroom each

def test_merge_writes_every_lms_report_and_a_classroom_result_per_submission(tmp_path):
    source = tmp_path / "all.json"
    write_json_atomic(source, results_document(the_class()))
    out = tmp_path / "reports"
    run = CliRunner().invoke(main, ["merge", str(source), "--csv", str(out / "grades.csv"),
                                    "--csv-detail", str(out / "detail.csv"), "--canvas", str(out / "canvas.csv"),
                                    "--canvas-id", "mlp=4242", "--moodle", str(out / "moodle.csv"),
                                    "--classroom", str(out / "classroom")])
    assert run.exit_code == 0, run.output
    written = read_rows((out / "grades.csv").read_text(encoding="utf-8"))
    assert written[:2] == read_rows(gradebook_csv(the_class()))[:2]
    assert sorted(written[2:]) == sorted(read_rows(gradebook_csv(the_class()))[2:])   # merge sorts by student
    assert canvas_import((out / "canvas.csv").read_text(encoding="utf-8"))[0] == [("cnn", None), ("mlp", "4242")]
    files = sorted(p.name for p in (out / "classroom").iterdir())
    assert len(files) == len(the_class())
    bob = json.loads((out / "classroom" / "bob-mlp.json").read_text())
    assert bob["max_score"] == 5 and sum(t["score"] for t in bob["tests"]) == late_bob().score == 1
    assert [t["name"] for t in bob["tests"]] == ["test_forward", "hidden tests", "late penalty"]
    assert "SECRET" not in json.dumps(bob) and "alice" not in json.dumps(bob)


@pytest.mark.parametrize("value", ["mlp", "mlp=", "mlp=12a", "MLP=1", "mlp=١٢"])
def test_a_malformed_canvas_id_is_a_usage_error(tmp_path, value):
    source = tmp_path / "all.json"
    write_json_atomic(source, results_document([result("alice")]))
    run = CliRunner().invoke(main, ["merge", str(source), "--canvas", str(tmp_path / "c.csv"), "--canvas-id", value])
    assert run.exit_code == 2 and f"--canvas-id {value!r}: expected ASSIGNMENT=ID" in run.output
    assert not (tmp_path / "c.csv").exists()
