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


# -------------------------------------------------------------------------------------- CI recipes

def grade_process(*args):
    """`grade ARGS` in a process of its own: this one has imported the reference's test_mlp already."""
    return subprocess.run([str(Path(sys.executable).with_name("grade")), *map(str, args)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})


def test_grading_without_the_reference_says_so_loudly_and_in_the_reports(tmp_path):
    """A checkout with only the student bundle (assignments/, no reference/): the hidden tests cannot run."""
    bundle_only = tmp_path / "course"
    shutil.copytree(ROOT / "assignments" / "mlp", bundle_only / "assignments" / "mlp")
    out = tmp_path / "result.json"
    run = grade_process("run", SAMPLE, "--root", bundle_only, "--json", out, "--classroom", tmp_path / "classroom.json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning: only the public tests of mlp ran" in run.stderr and "no reference/ folder" in run.stderr
    assert "public tests only: the hidden tests did not run" in run.stdout
    data = json.loads(out.read_text())
    assert data["public_only"] is True and (data["score"], data["max_score"]) == (40, 40)
    assert {t["visibility"] for t in data["tests"]} == {"visible"}
    classroom = json.loads((tmp_path / "classroom.json").read_text())
    assert classroom["tests"][-1] == {**classroom["tests"][-1], "status": "error",
                                      "message": "public tests only: the hidden tests did not run"}
    merged = CliRunner().invoke(main, ["merge", str(out), "--csv", str(tmp_path / "grades.csv")])
    assert merged.exit_code == 0 and "Warning: only the public tests of mlp ran" in merged.stderr
    assert "mlp: public tests only" in (tmp_path / "grades.csv").read_text()


@pytest.mark.parametrize("threshold, code", [("95", 0), ("95.5", 1), ("95%", 0), ("95.5%", 1), ("0%", 0),
                                             ("100%", 1)])
def test_fail_under_takes_points_or_a_percentage(graded_sample, tmp_path, threshold, code):
    _, data = graded_sample   # 95 of 100
    source = tmp_path / "result.json"
    source.write_text(json.dumps(data))
    assert CliRunner().invoke(main, ["merge", str(source), "--fail-under", threshold]).exit_code == code


@pytest.mark.parametrize("bad", ["sixty", "60%%", "-5", "150%", "nan", "1e400", "%"])
def test_a_bad_fail_under_is_a_usage_error_naming_the_value(graded_sample, tmp_path, bad):
    _, data = graded_sample
    source = tmp_path / "result.json"
    source.write_text(json.dumps(data))
    run = CliRunner().invoke(main, ["merge", str(source), "--fail-under", bad])
    assert run.exit_code == 2 and "Invalid value for '--fail-under'" in run.output and repr(bad) in run.output


def test_the_student_log_shows_public_tests_and_totals_never_a_hidden_test(tmp_path):
    out = tmp_path / "result.json"
    run = invoke("run", SAMPLE, "--student-log", "--json", out, "--fail-under", "90%")
    assert run.exit_code == 0, run.output
    hidden = [t for t in json.loads(out.read_text())["tests"] if t["visibility"] != "visible"]
    failed = next(t for t in hidden if t["status"] == "failed")   # the JSON, for the instructor, has it all
    assert failed["name"] == "test_predict_uses_eval_mode"
    for test in hidden:
        assert test["name"] not in run.output
    assert failed["message"][:40] not in run.output
    hidden_row = next(line for line in run.output.splitlines() if "hidden tests" in line)
    assert f"{sum(t['score'] for t in hidden):g}/{sum(t['max_score'] for t in hidden):g}" in hidden_row
    assert "test_linear_forward" in run.output and "95/100" in run.output


def test_the_student_log_does_not_print_what_pytest_says_about_broken_tests(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(ROOT / "reference" / "mlp", root / "reference" / "mlp")
    tests = root / "reference" / "mlp" / "test_mlp.py"
    tests.write_text(tests.read_text() + "\n\ndef test_hidden_secret_case(student):\n    pass\n")   # no points
    run = grade_process("run", SAMPLE, "--root", root)   # a process of its own, which imports this test file
    assert run.returncode == 2 and "test_hidden_secret_case" in run.stderr   # the instructor sees why
    run = grade_process("run", SAMPLE, "--root", root, "--student-log")
    assert run.returncode == 2 and "could not be run" in run.stderr and "run without --student-log" in run.stderr
    assert "test_hidden_secret_case" not in run.stdout + run.stderr


def test_a_test_file_pytest_cannot_collect_is_a_usage_error_not_ctrl_c(tmp_path):
    """pytest reports a collection error as an interruption of its session: it is still exit 2."""
    root = tmp_path / "course"
    shutil.copytree(ROOT / "reference" / "mlp", root / "reference" / "mlp")
    tests = root / "reference" / "mlp" / "test_mlp.py"
    tests.write_text(tests.read_text() + "\n\ndef test_broken(:\n")
    run = grade_process("run", SAMPLE, "--root", root)
    assert run.returncode == 2 and "could not be run (pytest exit code 2)" in run.stderr
    assert "Incomplete" not in run.stdout + run.stderr   # not reported as a run stopped by Ctrl-C
