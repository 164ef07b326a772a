"""The report writers, checked by reading every format back with a real parser."""
import csv
import json
import os
import re
from pathlib import Path
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from autograder import reports
from autograder.reports import (
    append_step_summary, classroom_result, feedback_html, feedback_markdown, github_annotations,
    gradescope_result, markdown_summary, read_results, result_from_dict, student_of, write_classroom, write_csv,
    write_detail_csv, write_gradescope, write_junit,
)
from autograder.grading.results import SubmissionResult, write_json_atomic, write_text_atomic
from autograder.grading.results import TestResult as Outcome   # a class named Test* would be collected by pytest

HOSTILE = "::error::owned\nsecond line | pipe <script>alert(1)</script> 100%"
SECRET = "SECRET-MESSAGE expected 42"


def graded() -> SubmissionResult:
    return SubmissionResult(
        assignment="mlp", submission="subs/alice/mlp.ipynb", duration=1.234,
        output="printed \x1b[31mred\x1b[0m \x07 and \x00 done\n",
        cell_errors=[{"cell": "cell-3", "type": "ValueError", "message": "bad shape\nmore"}],
        tests=[
            Outcome("test_forward", 2, 2, "passed", duration=0.5),
            Outcome("test_backward", 0, 3, "failed", HOSTILE, duration=0.25),
            Outcome("test_train", 0, 1, "timed_out", "no answer within 10 s"),
            Outcome("test_predict", 0, 2, "not_implemented", "NotImplementedError"),
            Outcome("test_init", 0, 1, "error", "ValueError: \x1b[31m boom \x00"),
            Outcome("test_hidden_ok", 4, 4, "passed", visibility="after_published"),
            Outcome("test_secret_case", 0, 5, "failed", SECRET, visibility="after_published"),
        ])


def unreadable() -> SubmissionResult:
    reason = "subs/bob/mlp.ipynb: is not valid JSON"
    return SubmissionResult(
        assignment="mlp", submission="subs/bob/mlp.ipynb", status="unreadable", error=reason,
        tests=[Outcome("test_forward", 0, 2, "error", reason),
               Outcome("test_secret_case", 0, 5, "error", reason, visibility="after_published")])


def missing() -> SubmissionResult:
    return SubmissionResult("mlp", "", status="missing", error="no submission found for dave", student="dave",
                            name="Dave Bowman", on_roster=True, graded_at="2025-01-10T09:00:00+00:00")


def perfect() -> SubmissionResult:
    return SubmissionResult("mlp", "subs/carol/mlp.ipynb", [Outcome("test_forward", 2, 2, "passed"),
                                                            Outcome("test_hidden_ok", 4, 4, "passed",
                                                                       visibility="after_published")])


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------------------------------ JUnit

def junit_schema():
    """The Jenkins xUnit plugin's junit-10.xsd, which Jenkins validates reports against."""
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(Path(__file__).with_name("junit-10.xsd"))))


def assert_valid_junit(path):
    from lxml import etree

    schema = junit_schema()
    assert schema.validate(etree.parse(str(path))), schema.error_log


def test_junit_has_one_suite_per_submission_with_counts_and_points(tmp_path):
    path = tmp_path / "junit.xml"
    write_junit([graded(), unreadable()], path)
    assert_valid_junit(path)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("9", "4", "3")
    alice, bob = root.findall("testsuite")
    assert alice.get("name") == "subs/alice/mlp.ipynb" and alice.get("time") == "1.234"
    counts = (alice.get("tests"), alice.get("failures"), alice.get("errors"), alice.get("skipped"))
    assert counts == ("7", "4", "1", "0")
    cases = {c.get("name"): c for c in alice.findall("testcase")}
    assert {c.get("classname") for c in cases.values()} == {"mlp.alice"}
    forward = cases["test_forward [2/2 points]"]   # GitLab shows a case's name: the points are in it
    assert forward.find("failure") is None and forward.get("time") == "0.500"
    assert forward.find("system-out").text == "score: 2/2 points\n"
    for name, tag in [("test_backward [0/3 points]", "failure"), ("test_train [0/1 points]", "failure"),
                      ("test_predict [0/2 points]", "failure"), ("test_init [0/1 points]", "error")]:
        assert cases[name].find(tag) is not None, name
    failure = cases["test_backward [0/3 points]"].find("failure")
    assert failure.get("message") == "::error::owned" and failure.text == HOSTILE
    assert cases["test_predict [0/2 points]"].find("failure").get("type") == "not_implemented"
    assert cases["test_backward [0/3 points]"].find("properties") is None   # the schema has none in a case
    props = {p.get("name"): p.get("value") for p in alice.find("properties")}
    assert (props["student"], props["score"], props["max_score"], props["penalty"]) == ("alice", "6", "18", "0")
    assert [e.tag for e in bob.iter("error")] == ["error", "error"]
    assert "not valid JSON" in bob.find("system-err").text


def test_junit_is_valid_for_every_kind_of_row_and_says_when_a_run_is_incomplete(tmp_path):
    path = tmp_path / "junit.xml"
    late = replace(perfect(), student="erin", submitted_at="2025-03-03T09:30:00+00:00",
                   due="2025-03-01T23:59:00+00:00", days_late=2, penalty=2)
    write_junit([graded(), unreadable(), missing(), late], path, incomplete=True)
    assert_valid_junit(path)
    root = ET.parse(path).getroot()
    assert root.get("skipped") is None   # not an attribute junit-10.xsd allows on <testsuites>
    first, *suites = root.findall("testsuite")
    assert first.get("name") == "grading run"
    assert "Incomplete: grading was interrupted" in first.find("testcase/error").get("message")
    assert (root.get("tests"), root.get("errors")) == ("14", "4")
    erin = suites[-1]
    penalty = erin.find("testcase[@name='late penalty [-2 points]']/failure")
    assert penalty.get("type") == "late" and "2 days late: -2 points (submitted 2025-03-03T09:30" in penalty.text
    props = {p.get("name"): p.get("value") for p in erin.find("properties")}
    assert (props["score"], props["raw_score"], props["penalty"], props["days_late"]) == ("4", "6", "2", "2")
    assert (erin.get("tests"), erin.get("failures")) == ("3", "1")
    write_junit([perfect()], path)
    assert "grading run" not in path.read_text()


def test_junit_spells_out_characters_xml_forbids(tmp_path):
    path = tmp_path / "junit.xml"
    write_junit([graded()], path)
    raw = path.read_text(encoding="utf-8")
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", raw)
    out = ET.parse(path).getroot().find("testsuite/system-out").text
    assert out == "printed \\x1b[31mred\\x1b[0m \\x07 and \\x00 done\n"


# ------------------------------------------------------------------------------------- Gradescope

def check_gradescope_fields(data):
    assert isinstance(data["score"], (int, float)) and isinstance(data["execution_time"], (int, float))
    assert isinstance(data["output"], str) and data["output"]
    assert data["visibility"] == "visible" and data["stdout_visibility"] == "hidden"
    for number, test in enumerate(data["tests"], start=1):
        assert test.keys() >= {"score", "max_score", "name", "number", "output", "tags", "visibility"}
        assert test["number"] == str(number) and test["tags"] == []
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert 0 <= test["score"] <= test["max_score"]


def test_gradescope_results_json(tmp_path):
    path = tmp_path / "results.json"
    write_gradescope(graded(), path)
    data = json.loads(path.read_text())
    check_gradescope_fields(data)
    assert data["score"] == 6 and data["execution_time"] == 1.234
    assert "visible tests 2/9 points, 1 of 5 passed" in data["output"] and "2 hidden test(s)" in data["output"]
    assert "cell-3 raised ValueError: bad shape" in data["output"] and data["output_format"] == "text"
    assert "18" not in data["output"] and "4/9" not in data["output"]   # no total that counts the hidden tests
    tests = {t["name"]: t for t in data["tests"]}
    assert tests["test_backward"]["output"] == HOSTILE and tests["test_backward"]["status"] == "failed"
    assert tests["test_secret_case"]["visibility"] == "after_published"
    assert tests["test_forward"]["visibility"] == "visible"


def test_gradescope_is_written_for_an_unreadable_notebook(tmp_path):
    path = tmp_path / "results.json"
    write_gradescope(unreadable(), path)
    data = json.loads(path.read_text())
    check_gradescope_fields(data)
    assert data["score"] == 0 and "could not be graded" in data["output"] and "not valid JSON" in data["output"]
    empty = replace(unreadable(), tests=[])
    assert gradescope_result(empty)["tests"] == [] and "not valid JSON" in gradescope_result(empty)["output"]


# --------------------------------------------------------------------------------------- Markdown

def table_rows(text):
    return [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]


def test_markdown_summary_table_and_failures():
    weird = replace(perfect(), submission="subs/a|b\nc/mlp.ipynb")
    text = markdown_summary([graded(), unreadable(), weird])
    rows = table_rows(text)
    assert len(rows) == 4      # header + one per submission
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 7 for row in rows)
    assert "| 6/18 | graded |  |" in rows[1]
    assert "| 0/7 | unreadable | subs/bob/mlp.ipynb: is not valid JSON |" in rows[2]
    assert text.count("<details>") == text.count("</details>") == 2   # the perfect submission has none
    assert "test\\_backward" in text and "test\\_train" in text and "test\\_predict" in text
    assert "test\\_forward" not in text.split("<details>", 1)[1].split("</details>")[0]   # passed: not listed
    assert "secret" not in text and "SECRET" not in text
    assert "<script>" not in text and "second line" not in text      # first line of a message only
    assert "cannot be graded" in text and "not valid JSON" in text


def test_markdown_summary_is_cut_at_whole_blocks():
    many = [replace(graded(), submission=f"subs/s{i}/mlp.ipynb") for i in range(300)]
    full = markdown_summary(many)
    assert len(full.encode()) > 20_000 and "Summary cut" not in full
    assert markdown_summary(many, limit=len(full.encode())) == full
    cut = markdown_summary(many, limit=20_000)
    assert len(cut.encode()) <= 20_000 and cut.rstrip().endswith("has every result.")
    assert cut.count("<details>") == cut.count("</details>")
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 7 for row in table_rows(cut))


def test_markdown_summary_default_cap_is_one_mebibyte():
    huge = replace(graded(), submission="x" * 600_000 + "/mlp.ipynb")
    text = markdown_summary([huge, huge])
    assert len(text.encode()) <= 1024 * 1024 and "Summary cut" in text


def test_step_summary_appends_only_when_github_says_where(tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step output\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    append_step_summary([graded()])
    text = summary.read_text()
    assert text.startswith("earlier step output\n## Grading results")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    monkeypatch.chdir(tmp_path)
    append_step_summary([graded()])
    assert summary.read_text() == text and sorted(p.name for p in tmp_path.iterdir()) == ["summary.md"]


# ---------------------------------------------------------------------------- GitHub annotations

def unescape(text):
    for code, char in [("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")]:
        text = text.replace(code, char)
    return text


def parse_annotation(line):
    assert "\n" not in line and "\r" not in line
    match = re.fullmatch(r"::error ([^:]*)::(.*)", line)
    assert match, line
    props = dict(item.split("=", 1) for item in match.group(1).split(","))
    return {k: unescape(v) for k, v in props.items()}, unescape(match.group(2))


def test_annotations_one_per_visible_failing_test():
    lines = github_annotations([graded(), unreadable(), perfect()])
    parsed = [parse_annotation(line) for line in lines]
    titles = [props["title"] for props, _ in parsed]
    assert titles == ["test_backward", "test_train", "test_init", "cannot be graded"]
    assert parsed[0] == ({"file": "subs/alice/mlp.ipynb", "title": "test_backward"}, HOSTILE)
    assert parsed[3][1] == "subs/bob/mlp.ipynb: is not valid JSON"
    assert not any("secret" in line.lower() for line in lines)


def test_annotation_properties_escape_separators():
    result = SubmissionResult("mlp", "a,b:c%/mlp.ipynb", [Outcome("test_x[1,2]", 0, 1, "failed", "m")])
    (line,) = github_annotations([result])
    assert line == "::error file=a%2Cb%3Ac%25/mlp.ipynb,title=test_x[1%2C2]::m"
    assert parse_annotation(line)[0] == {"file": "a,b:c%/mlp.ipynb", "title": "test_x[1,2]"}


# ------------------------------------------------------------------------------ GitHub Classroom

def test_classroom_result_hides_hidden_tests_and_sums_to_the_score(tmp_path):
    path = tmp_path / "classroom.json"
    write_classroom([graded()], path)
    data = json.loads(path.read_text())
    assert (data["version"], data["status"], data["max_score"]) == (1, "fail", 18)
    assert sum(t["score"] for t in data["tests"]) == graded().score
    tests = {t["name"]: t for t in data["tests"]}
    assert set(tests) == {"test_forward", "test_backward", "test_train", "test_predict", "test_init", "hidden tests"}
    assert [tests[n]["status"] for n in ("test_forward", "test_backward", "test_train", "test_predict", "test_init")] \
        == ["pass", "fail", "error", "fail", "error"]
    hidden = tests["hidden tests"]
    assert (hidden["status"], hidden["score"], hidden["max_score"], hidden["message"]) == \
        ("fail", 4, 9, "hidden tests: 4/9 points")
    assert tests["test_forward"] == {"name": "test_forward", "status": "pass", "score": 2, "max_score": 2,
                                     "message": "", "test_code": "", "filename": "", "line_no": 0, "duration": 500}
    assert "SECRET" not in path.read_text() and "secret" not in path.read_text()


def test_classroom_status():
    assert classroom_result([perfect()])["status"] == "pass"
    assert classroom_result([perfect(), unreadable()])["status"] == "error"
    names = [t["name"] for t in classroom_result([perfect(), graded()])["tests"]]
    assert names[0] == "subs/carol/mlp.ipynb: test_forward" and "subs/alice/mlp.ipynb: hidden tests" in names


# -------------------------------------------------------------------------------------- feedback

class TextOnly(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_feedback_shows_only_visible_tests():
    for text in (feedback_markdown(graded()), feedback_html(graded())):
        assert "test_secret_case" not in text and "test_hidden_ok" not in text and "SECRET" not in text
        assert "hidden tests: 4/9 points" in text and "6/18" in text
    text = feedback_markdown(graded())
    assert "test\\_backward" in text and "Cell cell-3 raised ValueError: bad shape" in text


def test_feedback_html_escapes_student_text():
    page = feedback_html(graded())
    parser = TextOnly()
    parser.feed(page)
    assert "script" not in parser.tags and set(parser.tags) <= {"html", "head", "meta", "title", "body", "h1", "p",
                                                                 "strong", "ul", "li", "table", "tr", "th", "td", "pre"}
    assert any(HOSTILE in chunk for chunk in parser.text)


def test_feedback_markdown_keeps_messages_inside_their_fence():
    message = "before\n```\n# not a heading\n````"
    result = SubmissionResult("mlp", "alice/mlp.ipynb", [Outcome("test_x", 0, 1, "failed", message)])
    text = feedback_markdown(result)
    assert "`````text\n" + message + "\n`````\n" in text


def test_feedback_for_an_unreadable_notebook():
    text = feedback_markdown(unreadable())
    assert "could not be graded" in text and "not valid JSON" in text and "hidden tests: 0/5 points" in text
    assert "could not be graded" in feedback_html(unreadable())


# ------------------------------------------------------------------------------------ student_of

@pytest.mark.parametrize("submission, student", [
    ("subs/alice/mlp.ipynb", "alice"),
    ("course/submitted/alice/mlp/mlp.ipynb", "alice"),
    ("course/submitted/alice/mlp/notebook.ipynb", "alice"),
    ("autograded/bob/other-name/mlp.ipynb", "bob"),
    ("alice/mlp/mlp.ipynb", "alice"),
    ("examples/submissions/mlp/mistake_gradient_sign.ipynb", "mistake_gradient_sign"),
    ("subs/carol.ipynb", "carol"),
    ("carol.ipynb", "carol"),
    ("mlp.ipynb", "mlp"),
])
def test_student_of(submission, student):
    assert student_of(SubmissionResult("mlp", submission)) == student


# ----------------------------------------------------------------------------- reading JSON back

def test_result_round_trips_through_json():
    for result in (graded(), unreadable(), perfect(), missing(), replace(perfect(), on_roster=False)):
        assert result_from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_every_format_shows_a_missing_submission_for_what_it_is(tmp_path):
    rows = [perfect(), missing(), replace(graded(), student="erin", on_roster=False)]
    text = markdown_summary(rows)
    assert "| dave |  | mlp | 0/0 | missing | no submission found for dave |" in text
    assert "| erin | subs/alice/mlp.ipynb | mlp | 6/18 | graded | not on the roster |" in text
    assert "<summary>dave: no submission</summary>" in text
    props, message = parse_annotation(github_annotations([missing()])[0])
    assert props == {"file": "dave", "title": "no submission"} and message == "no submission found for dave"
    assert classroom_result([perfect(), missing()])["status"] == "fail"
    assert "Nothing was graded" in feedback_markdown(missing()) and "Nothing was graded" in feedback_html(missing())
    assert gradescope_result(missing())["tests"] == []
    assert "no submission found" in gradescope_result(missing())["output"]
    write_junit(rows, tmp_path / "junit.xml")
    suite = ET.parse(tmp_path / "junit.xml").getroot().findall("testsuite")[1]
    assert (suite.get("name"), suite.get("tests"), suite.get("skipped")) == ("dave", "1", "1")


def test_the_terminal_shows_a_missing_submission(capsys):
    from autograder.reports.terminal import Terminal, submission_view, summary_view

    Terminal().print(submission_view(missing()))
    Terminal().print(summary_view([missing(), replace(perfect(), on_roster=False)]))
    printed = capsys.readouterr().out
    assert "nothing to grade" in printed and "no submission found for dave" in printed
    assert "not on the roster" in printed


def test_markdown_summary_says_when_a_run_is_incomplete():
    text = markdown_summary([perfect()], incomplete=True)
    assert text.index("Incomplete: grading was interrupted") < text.index("| student |")
    assert "Incomplete" not in markdown_summary([perfect()])


def test_read_results_accepts_both_shapes_the_cli_writes(tmp_path):
    one, many = tmp_path / "one.json", tmp_path / "many.json"
    write_json_atomic(one, graded().to_dict())
    write_json_atomic(many, {"submissions": [graded().to_dict(), unreadable().to_dict()]})
    assert read_results(one) == [graded()]
    assert read_results(many) == [graded(), unreadable()]
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(ValueError, match="bad.json"):
        read_results(tmp_path / "bad.json")


def broken(change):
    data = graded().to_dict()
    change(data)
    return data


@pytest.mark.parametrize("change, complaint", [
    (lambda d: d.pop("assignment"), r"result: missing field\(s\) 'assignment'"),
    (lambda d: d.update(extra=1), r"result: unknown field\(s\) 'extra'"),
    (lambda d: d.update(status="done"), "result.status: 'done' is not one of graded, unreadable"),
    (lambda d: d.update(tests={}), "result.tests: expected list, got dict"),
    (lambda d: d["tests"][1].update(score="3"), r"result.tests\[1\].score: expected a finite number"),
    (lambda d: d["tests"][1].update(score=True), r"result.tests\[1\].score: expected a finite number"),
    (lambda d: d["tests"][1].update(max_score=float("nan")), r"result.tests\[1\].max_score"),
    (lambda d: d["tests"][0].update(score=5), r"result.tests\[0\]: score 5 is outside 0..max_score 2"),
    (lambda d: d["tests"][2].update(status="skipped"), r"result.tests\[2\].status: 'skipped' is not one of"),
    (lambda d: d["tests"][2].update(visibility="hidden"), r"result.tests\[2\].visibility"),
    (lambda d: d["tests"][3].pop("name"), r"result.tests\[3\]: missing field\(s\) 'name'"),
    (lambda d: d["tests"][1].update(status="partial"), r"result.tests\[1\]: a partial score is more than 0"),
    (lambda d: d["tests"][0].update(status="partial"), r"result.tests\[0\]: a partial score is more than 0"),
    (lambda d: d["cell_errors"].append(["x"]), r"result.cell_errors\[1\]: expected an object of strings"),
    (lambda d: d.update(score=99), "result.score: 99 does not match its tests"),
    (lambda d: d.update(status="missing"), "result.tests: a missing submission has no tests"),
    (lambda d: d.update(on_roster="yes"), "result.on_roster: expected true, false or null"),
    (lambda d: d.update(graded_at="2025-01-10 09:00"), "result.graded_at: '2025-01-10 09:00' is not an ISO 8601"),
    (lambda d: d.update(student=["alice"]), "result.student: expected str"),
])
def test_result_from_dict_names_what_is_wrong(change, complaint):
    with pytest.raises(ValueError, match=complaint):
        result_from_dict(broken(change))


def test_result_from_dict_rejects_non_objects():
    with pytest.raises(ValueError, match="result: expected an object, got list"):
        result_from_dict([])


def test_text_reports_spell_out_control_characters():
    texts = [markdown_summary([graded()]), feedback_markdown(graded()), feedback_html(graded()),
             *github_annotations([graded()])]
    for text in texts:
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", text)
    assert "\\x1b[31m boom \\x00" in feedback_markdown(graded())


# ---------------------------------------------------------------------------------- atomic writes

def write_all(folder):
    write_junit([graded(), unreadable()], folder / "junit.xml")
    write_gradescope(unreadable(), folder / "results.json")
    write_csv([graded(), unreadable()], folder / "grades.csv")
    write_classroom([graded()], folder / "classroom.json")


def test_writers_leave_no_temporary_files(tmp_path):
    write_all(tmp_path / "out")
    write_all(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == \
        ["classroom.json", "grades.csv", "junit.xml", "results.json"]


def test_a_failed_write_keeps_the_old_report(tmp_path, monkeypatch):
    write_all(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    for write in (lambda: write_junit([perfect()], tmp_path / "junit.xml"),
                  lambda: write_gradescope(perfect(), tmp_path / "results.json"),
                  lambda: write_csv([perfect()], tmp_path / "grades.csv"),
                  lambda: write_classroom([perfect()], tmp_path / "classroom.json")):
        with pytest.raises(KeyboardInterrupt):
            write()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_write_failing_midway_keeps_the_old_report(tmp_path):
    path = tmp_path / "results.json"
    write_gradescope(graded(), path)
    before = path.read_bytes()
    bad = replace(graded(), tests=[Outcome("test_x", 0, 1, "failed", message=object())])
    with pytest.raises(TypeError):
        write_gradescope(bad, path)
    assert path.read_bytes() == before and leftovers(tmp_path) == []


def test_text_writer_survives_unencodable_characters(tmp_path):
    path = tmp_path / "out.md"
    write_text_atomic(path, "lone \ud800 surrogate")
    assert path.read_text(encoding="utf-8") == "lone ? surrogate"


def test_points_are_written_as_people_write_them():
    assert [reports.points(x) for x in (2.0, 0.1 + 0.2, 1.5, 1234567.0, 0)] == ["2", "0.3", "1.5", "1234567", "0"]


# --------------------------------------------------------------------------------- partial credit

def test_every_report_shows_the_points_partial_credit_gave(tmp_path, capsys):
    from autograder.reports.terminal import Terminal, submission_view

    message = "held-out accuracy is 0.8719; at least 0.93 is needed for full marks: 50% of the points for reaching 0.85"
    result = SubmissionResult("mlp", "subs/erin/mlp.ipynb", [Outcome("test_forward", 2, 2, "passed"),
                                                             Outcome("test_accuracy", 5, 10, "partial", message)])
    assert result.score == 7 and result_from_dict(result.to_dict()) == result

    write_junit([result], tmp_path / "junit.xml")
    case = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite/testcase[@name='test_accuracy [5/10 points]']")
    assert case.find("failure").get("type") == "partial" and case.find("failure").text == message
    assert case.find("system-out").text == "score: 5/10 points\n"

    test = {t["name"]: t for t in gradescope_result(result)["tests"]}["test_accuracy"]
    assert (test["score"], test["max_score"], test["status"], test["output"]) == (5, 10, "failed", message)

    write_csv([result], tmp_path / "grades.csv")
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert rows[0]["mlp"] == "12" and rows[1]["mlp"] == "7"   # points possible, then erin's
    write_detail_csv([result], tmp_path / "detail.csv")
    tests = {row["test"]: row for row in csv.DictReader((tmp_path / "detail.csv").open())}
    assert (tests["test_accuracy"]["test_status"], tests["test_accuracy"]["score"]) == ("partial", "5")

    markdown = feedback_markdown(result)
    assert "| test\\_accuracy | 5/10 | partial |" in markdown and message in markdown
    assert "<td>5/10</td><td>partial</td>" in feedback_html(result)

    classroom = classroom_result([result])
    assert classroom["status"] == "fail" and classroom["tests"][1]["score"] == 5
    assert [parse_annotation(line)[0]["title"] for line in github_annotations([result])] == ["test_accuracy"]

    Terminal().print(submission_view(result))
    printed = capsys.readouterr().out
    assert "5/10" in printed and "partial" in printed and "7/12" in printed
