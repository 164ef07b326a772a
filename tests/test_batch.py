"""Grading a class end to end: layouts, shards, merge, every report format, and the gradebook."""
import csv
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.grading.batch import Shard
from autograder.course.classlist import find_submissions
from autograder.errors import UsageError
from cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "submissions"
CLASS = {  # path in the class folder -> (sample it copies, expected score)
    "alice/mlp.ipynb": ("mlp/correct_functional.ipynb", 100),
    "bob/mlp.ipynb": ("mlp/mistake_gradient_sign.ipynb", 90),
    "submitted/carol/mlp/mlp.ipynb": ("mlp/mistake_predict_in_train_mode.ipynb", 95),
    "erin/cnn.ipynb": ("cnn/correct_unfold_modulelist.ipynb", 100),
    "erin/optimization.ipynb": ("optimization/correct_alternative.ipynb", 100),
    "erin/lstm.ipynb": ("lstm/correct_fused_matmul.ipynb", 100),
    "erin/mha.ipynb": ("mha/correct_einsum.ipynb", 100),
}


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    for target, (sample, _) in CLASS.items():
        (folder / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / sample, folder / target)
    (folder / "dave").mkdir()
    (folder / "dave" / "mlp.ipynb").write_text("{ this is not json")
    (folder / "alice" / ".ipynb_checkpoints").mkdir()
    shutil.copy(SAMPLES / "mlp" / "correct_functional.ipynb", folder / "alice" / ".ipynb_checkpoints" / "mlp.ipynb")
    return folder


def batch(*args, env=None):
    runner = CliRunner(env={"COLUMNS": "200", **(env or {})})
    return runner.invoke(main, ["batch", *map(str, args), "--root", str(ROOT)])


def without_timings(data):
    for submission in data["submissions"]:
        submission["duration"] = submission["graded_at"] = 0
        for test in submission["tests"]:
            test["duration"] = 0
    return data


@pytest.fixture(scope="module")
def shards(class_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    codes = [batch(class_folder, "--shard", f"{i}/2", "-j", "2", "--json", out / f"shard{i}.json").exit_code
             for i in (1, 2)]
    return out, codes


def test_shards_split_the_class_deterministically(class_folder, shards):
    out, codes = shards
    names = [[Path(s["submission"]).relative_to(class_folder).as_posix()
              for s in json.loads((out / f"shard{i}.json").read_text())["submissions"]] for i in (1, 2)]
    assert sorted(names[0] + names[1]) == sorted([*CLASS, "dave/mlp.ipynb"])
    assert not set(names[0]) & set(names[1])
    assert 3 in codes  # the shard holding dave's broken notebook says so


def test_merge_writes_every_report(class_folder, shards, tmp_path):
    out, _ = shards
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    reports = tmp_path / "reports"
    result = CliRunner(env={"COLUMNS": "200", "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}).invoke(
        main, ["merge", str(out / "shard1.json"), str(out / "shard2.json"), "--json", str(reports / "all.json"),
               "--junit", str(reports / "junit.xml"), "--gradescope", str(reports / "gradescope"),
               "--csv", str(reports / "grades.csv"), "--classroom", str(reports / "classroom.json"),
               "--feedback", str(reports / "feedback")])
    assert result.exit_code == 3, result.output  # dave's notebook is unreadable

    data = json.loads((reports / "all.json").read_text())
    scores = {Path(s["submission"]).relative_to(class_folder).as_posix(): s["score"] for s in data["submissions"]}
    assert scores == {**{k: v for k, (_, v) in CLASS.items()}, "dave/mlp.ipynb": 0}
    dave = next(s for s in data["submissions"] if "dave" in s["submission"])
    assert dave["status"] == "unreadable" and "is not valid JSON" in dave["error"]

    suites = ET.parse(reports / "junit.xml").getroot().findall("testsuite")
    assert len(suites) == len(CLASS) + 1
    bob = next(s for s in suites if "bob" in s.get("name"))
    failures = [case for case in bob.findall("testcase") if case.find("failure") is not None]
    assert len(failures) == 1 and "sign is flipped" in failures[0].find("failure").get("message")

    gradescope = sorted((reports / "gradescope").glob("*.json"))
    assert len(gradescope) == len(CLASS) + 1
    for path in gradescope:
        report = json.loads(path.read_text())
        assert {"score", "tests", "execution_time"} <= report.keys()
        for test in report["tests"]:
            assert {"score", "max_score", "name", "visibility"} <= test.keys()
            assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")

    rows = list(csv.DictReader((reports / "grades.csv").open()))
    assert {row["student"]: float(row["score"]) for row in rows if row["assignment"] == "mlp"} == {
        "alice": 100, "bob": 90, "carol": 95, "dave": 0}

    classroom = json.loads((reports / "classroom.json").read_text())
    assert classroom["version"] == 1 and classroom["status"] == "error"

    feedback = (reports / "feedback" / "bob" / "mlp.md").read_text()
    assert "sign is flipped" in feedback and "test_gradient_step" not in feedback  # hidden tests stay hidden

    text = summary.read_text()
    assert text.startswith("# earlier step\n") and "bob" in text
    assert "::error file=" in result.output and "::stop-commands::" in result.output


def test_regrading_gives_identical_json_apart_from_timings(class_folder, shards, tmp_path):
    out, _ = shards
    again = tmp_path / "again.json"
    batch(class_folder, "--shard", "1/2", "-j", "1", "--json", again)
    first = json.loads((out / "shard1.json").read_text())
    assert without_timings(json.loads(again.read_text())) == without_timings(first)


def test_export_writes_a_real_nbgrader_gradebook(class_folder, shards, tmp_path):
    from nbgrader.api import Gradebook

    out, _ = shards
    db = tmp_path / "gradebook.db"
    for _ in range(2):  # exporting twice changes nothing
        result = CliRunner().invoke(main, ["export", "--gradebook", str(db), str(out / "shard1.json"),
                                           str(out / "shard2.json")])
        assert result.exit_code == 0, result.output
    with Gradebook(f"sqlite:///{db}") as gb:
        assert gb.find_submission("mlp", "bob").score == 90
        assert gb.find_submission("mlp", "carol").score == 95
        assert gb.find_submission("lstm", "erin").score == 100


def test_find_submissions_and_shard_parsing(class_folder):
    found = [p.relative_to(class_folder).as_posix() for p in find_submissions(class_folder)]
    assert found == sorted(found) and ".ipynb_checkpoints/mlp.ipynb" not in " ".join(found)
    assert Shard.parse("2/3").take(list(range(7))) == [1, 4]
    for bad in ("0/2", "3/2", "x", "1-2"):
        with pytest.raises(UsageError, match="--shard"):
            Shard.parse(bad)


def test_bad_shard_is_a_usage_error(class_folder):
    result = batch(class_folder, "--shard", "5/2")
    assert result.exit_code == 2 and "--shard 5/2" in result.output
