"""`grade package gradescope`: the zip is built, unpacked into a folder laid out like Gradescope's,
installed by its own setup.sh, and its run_autograder grades real submissions; every results.json is
checked against the fields Gradescope documents, and hidden tests' points stay out of what students see
before grades are published.

setup.sh keeps an environment that is already there, so the test gives it a hard-linked copy of this
test's own environment (torch is not installed again; the copy is a real environment whose files the
workers' sandbox shows): setup.sh then replaces the editable install of the project in it with the
zip's wheel, and pip is told to use no index (PIP_NO_INDEX), so nothing is downloaded.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from autograder.grading import gradescope_run
from sample_grading import ROOT

SAMPLES = ROOT / "examples" / "submissions" / "mlp"
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
INSTALL_SECONDS = 900
GRADE_SECONDS = 600


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:   # another file system: copy
        shutil.copy2(source, target)


@pytest.fixture(scope="module")
def gradescope(tmp_path_factory) -> Path:
    """/autograder as Gradescope lays it out once setup.sh has run: source/ (the zip), venv/, run_autograder."""
    folder = tmp_path_factory.mktemp("gradescope")
    zip_path = folder / "autograder.zip"
    built = CliRunner().invoke(main, ["package", "gradescope", "mlp", "--root", str(ROOT), "--out", str(zip_path)])
    assert built.exit_code == 0, built.output
    root = folder / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    shutil.copytree(sys.prefix, root / "venv", symlinks=True, copy_function=_link_or_copy)
    env = {**os.environ, "AUTOGRADER_DIR": str(root), "PIP_NO_INDEX": "1"}
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root, env=env, capture_output=True,
                           text=True, timeout=INSTALL_SECONDS)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")   # as Gradescope's build does
    return root


def run_autograder(root: Path, files: dict[str, Path | str]) -> dict:
    """Put `files` (name -> a file to copy, or text) in submission/, run run_autograder, read results.json."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
    (root / "submission").mkdir()
    for name, content in files.items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, target)
        else:
            target.write_text(content)
    ran = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, capture_output=True, text=True,
                         env={**os.environ, "AUTOGRADER_DIR": str(root)}, timeout=GRADE_SECONDS)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


def check_documented_fields(data: dict) -> None:
    """The fields Gradescope's autograder specification documents, with their types and values."""
    assert isinstance(data["score"], (int, float)) and isinstance(data["output"], str) and data["output"]
    assert data["visibility"] in VISIBILITIES and data["stdout_visibility"] == "hidden"
    assert data.get("output_format", "text") == "text" and isinstance(data["tests"], list)
    for test in data["tests"]:
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
        assert test["visibility"] in VISIBILITIES
    assert data["score"] == sum(t["score"] for t in data["tests"])


def check_hidden_points_unseen(data: dict) -> None:
    """Hidden tests appear only once published, and what students see at once states no total with them."""
    hidden = [t for t in data["tests"] if t["visibility"] != "visible"]
    visible = [t for t in data["tests"] if t["visibility"] == "visible"]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)
    assert "/100" not in data["output"] and f"{data['score']:g}/" not in data["output"]
    shown = f"visible tests {sum(t['score'] for t in visible):g}/{sum(t['max_score'] for t in visible):g} points"
    assert shown in data["output"]


def test_the_zip_holds_what_gradescope_runs(gradescope):
    source = gradescope / "source"
    assert {p.name for p in source.iterdir()} == {"setup.sh", "run_autograder", "constraints.txt", "reference",
                                                  "dl_autograder-0.1.0-py3-none-any.whl"}
    assert sorted(p.name for p in (source / "reference" / "mlp").iterdir()) == ["mlp.ipynb", "test_mlp.py"]
    assert (source / "constraints.txt").read_text().startswith("torch==2.")
    installed = subprocess.run([str(gradescope / "venv" / "bin" / "python"), "-c",
                                "import autograder, cli; print(autograder.__file__); print(cli.__file__)"],
                               cwd=gradescope, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(path).is_relative_to(gradescope / "venv") for path in installed)   # the wheel, not this checkout


def test_a_correct_notebook_scores_full_marks(gradescope):
    data = run_autograder(gradescope, {"mlp.ipynb": SAMPLES / "correct_functional.ipynb"})
    check_documented_fields(data)
    check_hidden_points_unseen(data)
    assert data["score"] == 100 and {t["status"] for t in data["tests"]} == {"passed"}


def test_a_wrong_notebook_loses_its_points_and_partial_credit_shows(gradescope):
    data = run_autograder(gradescope, {"my_work.ipynb": SAMPLES / "mistake_softmax_before_loss.ipynb"})
    check_documented_fields(data)
    check_hidden_points_unseen(data)
    tests = {t["name"]: t for t in data["tests"]}
    assert data["score"] == 89
    assert (tests["test_digits_accuracy"]["score"], tests["test_digits_accuracy"]["max_score"]) == (5, 10)
    assert "softmax applied before" in tests["test_train_step_updates_like_sgd"]["output"]


def test_an_empty_submission_scores_0_and_says_why(gradescope):
    data = run_autograder(gradescope, {})
    check_documented_fields(data)
    assert (data["score"], data["tests"]) == (0, []) and "the submission is empty" in data["output"]
    data = run_autograder(gradescope, {"mlp.py": "print('my answers')\n"})
    assert data["score"] == 0 and "no notebook (.ipynb) in the submission (found: mlp.py)" in data["output"]


def test_of_two_notebooks_the_assignments_own_is_graded_and_the_other_named(gradescope):
    data = run_autograder(gradescope, {"mlp.ipynb": SAMPLES / "correct_loops.ipynb",
                                       "scratch.ipynb": ROOT / "assignments" / "mlp" / "mlp.ipynb"})
    check_documented_fields(data)
    check_hidden_points_unseen(data)
    assert data["score"] == 100 and data["output"].startswith("Graded mlp.ipynb; not graded: scratch.ipynb.")


def test_a_grader_that_cannot_start_still_leaves_a_result(gradescope, tmp_path):
    (tmp_path / "submission").mkdir()
    ran = subprocess.run(["bash", str(gradescope / "run_autograder")], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "AUTOGRADER_DIR": str(tmp_path)}, timeout=60)   # no venv/ here
    assert ran.returncode == 0
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    check_documented_fields(data)
    assert data["score"] == 0 and "The grader stopped (exit status 127) before grading" in data["output"]


# ---------------------------------------------------------------- the runner in this process: what it chooses

def notebook(folder: Path, name: str, assignment: str | None) -> None:
    metadata = {"autograder": {"assignment": assignment}} if assignment else {}
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    cell = {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], "execution_count": None}
    (folder / name).write_text(json.dumps({"cells": [cell], "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}))


@pytest.mark.parametrize("files, chosen, note", [
    ({"anything.ipynb": None}, "anything.ipynb", ""),
    ({"a.ipynb": "mlp", "mlp.ipynb": None}, "a.ipynb", "Graded a.ipynb; not graded: mlp.ipynb."),
    ({"copy.ipynb": "mlp", "mlp.ipynb": "mlp", "cnn.ipynb": "cnn"}, "mlp.ipynb",
     "Graded mlp.ipynb; not graded: cnn.ipynb, copy.ipynb."),
    ({"mlp.ipynb": None, "notes.ipynb": None, ".ipynb_checkpoints/mlp-checkpoint.ipynb": "mlp"}, "mlp.ipynb",
     "Graded mlp.ipynb; not graded: notes.ipynb."),
    ({"a.ipynb": None, "b.ipynb": None}, None,
     "2 notebooks in the submission (a.ipynb, b.ipynb) and none is clearly the mlp notebook"),
    ({"x/mlp.ipynb": "mlp", "y/mlp.ipynb": "mlp"}, None, "(x/mlp.ipynb, y/mlp.ipynb) and none is clearly"),
])
def test_the_notebook_chosen_among_several(tmp_path, files, chosen, note):
    for name, assignment in files.items():
        notebook(tmp_path, name, assignment)
    choice = gradescope_run.choose_notebook(tmp_path, "mlp")
    assert (choice.notebook and choice.notebook.relative_to(tmp_path).as_posix()) == chosen
    assert note in choice.note and (note or not choice.note)


def test_a_failing_grader_and_an_unreadable_notebook_each_leave_a_result(tmp_path, monkeypatch):
    # an assignment of its own name: this process may have imported another test_mlp.py already
    source = tmp_path / "source" / "reference" / "probe"
    source.mkdir(parents=True)
    shutil.copy(ROOT / "reference" / "mlp" / "mlp.ipynb", source / "probe.ipynb")
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "probe.ipynb").write_text("{not json")
    monkeypatch.setenv("AUTOGRADER_DIR", str(tmp_path))
    (source / "test_probe.py").write_text("def broken(:\n")   # the hidden tests cannot even be collected
    assert gradescope_run.main(["probe"]) == 0
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    check_documented_fields(data)
    assert data["score"] == 0 and data["output"].startswith("The grader failed (UsageError)")
    assert "broken" not in data["output"]   # hidden test source goes to the instructors' stdout only

    shutil.copy(ROOT / "reference" / "mlp" / "test_mlp.py", source / "test_probe.py")
    assert gradescope_run.main(["probe"]) == 0
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    check_documented_fields(data)
    assert data["score"] == 0 and "could not be graded" in data["output"] and "not valid JSON" in data["output"]
