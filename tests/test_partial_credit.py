"""Partial credit from a real convergence test: MLP's held-out accuracy gives half its points to a model
that learns, but not well (softmax applied before the loss: about 0.87), and every report of a real
`grade batch` run, read back, shows the points given."""
import csv
import json
import shutil
import xml.etree.ElementTree as ET

from click.testing import CliRunner

from cli import main
from autograder.reports import read_results
from sample_grading import ROOT

SAMPLE = ROOT / "examples" / "submissions" / "mlp" / "mistake_softmax_before_loss.ipynb"
TEST = "test_digits_accuracy"


def test_a_convergence_test_gives_partial_credit_and_every_report_shows_it(tmp_path):
    folder = tmp_path / "class"
    (folder / "erin").mkdir(parents=True)
    shutil.copy(SAMPLE, folder / "erin" / "mlp.ipynb")
    out = tmp_path / "reports"
    result = CliRunner(env={"COLUMNS": "250"}).invoke(main, [
        "batch", str(folder), "--root", str(ROOT), "--jobs", "1", "--json", str(out / "results.json"),
        "--junit", str(out / "junit.xml"), "--gradescope", str(out / "gradescope"), "--csv", str(out / "grades.csv"),
        "--csv-detail", str(out / "detail.csv"), "--feedback", str(out / "feedback")])
    assert result.exit_code == 0, result.output

    [graded] = read_results(out / "results.json")
    tests = {t.name: t for t in graded.tests}
    accuracy = tests[TEST]
    assert (accuracy.status, accuracy.score, accuracy.max_score) == ("partial", 5, 10)
    assert "held-out accuracy after 10 epochs of Adam (lr=0.01) is 0.87" in accuracy.message
    assert "at least 0.93 is needed for full marks: 50% of the points for reaching 0.85" in accuracy.message
    assert graded.score == 100 - 6 - 5   # the softmax mistake also fails the 6-point training-step test

    case = ET.parse(out / "junit.xml").getroot().find(f"testsuite/testcase[@name='{TEST} [5/10 points]']")
    assert case.find("failure").get("type") == "partial"
    assert case.find("system-out").text == "score: 5/10 points\n"

    [gradescope] = (out / "gradescope").glob("*.json")
    entry = next(t for t in json.loads(gradescope.read_text())["tests"] if t["name"] == TEST)
    assert (entry["score"], entry["max_score"], entry["status"]) == (5, 10, "failed")
    assert entry["visibility"] == "after_published" and entry["output"] == accuracy.message

    possible, row = csv.DictReader((out / "grades.csv").open())
    assert (possible["mlp"], row["student"], row["mlp"]) == ("100", "erin", "89")
    detail = {r["test"]: r for r in csv.DictReader((out / "detail.csv").open())}
    assert (detail[TEST]["test_status"], detail[TEST]["score"], detail[TEST]["max_score"]) == ("partial", "5", "10")

    # A hidden test: the student's feedback shows it only in the hidden tests' total, which counts its 5 points.
    hidden = [t for t in graded.tests if t.visibility != "visible"]
    total = f"hidden tests: {sum(t.score for t in hidden):g}/{sum(t.max_score for t in hidden):g} points"
    feedback = (out / "feedback" / "erin" / "mlp.md").read_text()
    assert total in feedback and TEST not in feedback
    assert "89/100" in result.output   # the summary table
