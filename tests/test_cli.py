"""The `grade` command: exit codes, the JSON result, and error messages, through Click and a real process."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from conftest import notebook_variant

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference" / "mlp" / "mlp.ipynb"
SAMPLE = ROOT / "examples" / "submissions" / "mlp" / "mistake_predict_in_train_mode.ipynb"


def invoke(*args):
    return CliRunner().invoke(main, [*map(str, args), "--root", str(ROOT)], catch_exceptions=False)


@pytest.fixture(scope="module")
def graded_sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "result.json"
    result = invoke("run", SAMPLE, "--json", out, "--fail-under", 96)
    return result, json.loads(out.read_text())


def test_run_writes_the_canonical_json(graded_sample):
    _, data = graded_sample
    assert data["assignment"] == "mlp" and data["submission"].endswith(SAMPLE.name)
    assert (data["score"], data["max_score"], data["status"]) == (95, 100, "graded")
    test = {t["name"]: t for t in data["tests"]}["test_predict_uses_eval_mode"]
    assert test.keys() >= {"name", "score", "max_score", "status", "message", "visibility"}
    assert (test["score"], test["status"], test["visibility"]) == (0, "failed", "after_published")
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_published"}


def test_fail_under_exits_with_1_and_prints_the_table(graded_sample):
    result, _ = graded_sample
    assert result.exit_code == 1
    assert "test_predict_uses_eval_mode" in result.output and "95/100" in result.output


@pytest.mark.parametrize("content, reason", [
    ("{oops", "is not valid JSON"),
    ('{"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}', "uses notebook format 3"),
])
def test_unreadable_submission_exits_with_3_and_still_writes_json(tmp_path, content, reason):
    notebook = tmp_path / "mlp.ipynb"
    notebook.write_text(content)
    out = tmp_path / "result.json"
    result = invoke("run", notebook, "--json", out)
    assert result.exit_code == 3
    assert reason in result.output
    data = json.loads(out.read_text())
    assert data["status"] == "unreadable" and reason in data["error"]
    assert (data["score"], data["max_score"]) == (0, 100)
    assert all(t["status"] == "error" and reason in t["message"] for t in data["tests"])


def test_wrong_assignment_is_unreadable(tmp_path):
    result = invoke("run", REFERENCE, "--assignment", "mlp")
    assert result.exit_code == 0
    nb = json.loads(REFERENCE.read_text())
    nb["metadata"]["autograder"]["assignment"] = "cnn"
    other = tmp_path / "other.ipynb"
    other.write_text(json.dumps(nb))
    result = invoke("run", other, "--assignment", "mlp")
    assert result.exit_code == 3 and "is a notebook for assignment 'cnn', not 'mlp'" in result.output


def test_usage_errors_exit_with_2(tmp_path):
    assert invoke("run", tmp_path / "missing.ipynb").exit_code == 2
    result = invoke("run", SAMPLE, "--assignment", "nope")
    assert result.exit_code == 2 and "unknown assignment 'nope'" in result.output and "mlp" in result.output
    unnamed = tmp_path / "homework.ipynb"
    nb = json.loads(REFERENCE.read_text())
    del nb["metadata"]["autograder"]
    unnamed.write_text(json.dumps(nb))
    result = invoke("run", unnamed)
    assert result.exit_code == 2 and "pass --assignment" in result.output
    assert invoke("run", tmp_path).exit_code == 2  # a folder with no notebooks


def test_tests_that_cannot_be_collected_are_a_usage_error_not_an_interruption(tmp_path):
    # a name of its own: this process may have imported another test_mlp.py already
    broken = tmp_path / "reference" / "uncollectable"
    broken.mkdir(parents=True)
    shutil.copy(REFERENCE, broken / "uncollectable.ipynb")
    (broken / "test_uncollectable.py").write_text("def broken(:\n")
    result = CliRunner().invoke(main, ["run", str(SAMPLE), "--assignment", "uncollectable", "--root", str(tmp_path)])
    assert result.exit_code == 2 and "could not be run" in result.output and "interrupted" not in result.output


def test_a_report_that_cannot_be_written_is_a_usage_error_naming_it(tmp_path):
    notebook = tmp_path / "mlp.ipynb"
    notebook.write_text("{oops")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    result = invoke("run", notebook, "--json", blocker / "result.json")
    assert result.exit_code == 2
    assert f"cannot write {blocker / 'result.json'}" in result.output and "Traceback" not in result.output
    good = tmp_path / "result.json"
    assert invoke("run", notebook, "--json", good).exit_code == 3
    result = CliRunner().invoke(main, ["merge", str(good), "--junit", str(blocker / "junit.xml")])
    assert result.exit_code == 2 and f"cannot write {blocker / 'junit.xml'}" in result.output
    assert not result.exception or isinstance(result.exception, SystemExit)


def test_a_real_grade_process_grades_a_folder(tmp_path):
    folder = tmp_path / "class"
    notebook_variant(REFERENCE, folder / "alice.ipynb")
    (folder / "bob.ipynb").write_text("not a notebook")
    out = tmp_path / "results.json"
    grade = Path(sys.executable).with_name("grade")
    proc = subprocess.run([str(grade), "run", str(folder), "--assignment", "mlp", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 3, proc.stderr
    data = json.loads(out.read_text())
    scores = {Path(s["submission"]).name: (s["score"], s["status"]) for s in data["submissions"]}
    assert scores == {"alice.ipynb": (100, "graded"), "bob.ipynb": (0, "unreadable")}
    assert "summary" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr
