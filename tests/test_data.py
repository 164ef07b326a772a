"""An assignment's data files: the declaration in its notebook, what a test may open, and the public files in
a worker's data/ folder whichever way the worker was started (the sandbox is tested in tests/redteam)."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.errors import UsageError
from autograder.grading.data import DataFiles, declared_data
from autograder.grading.grade import grade_notebook
from autograder.grading.notebook import Notebook
from test_release_validation import assignment


def declared(data: object) -> DataFiles:
    return declared_data(Notebook([], {"autograder": {"assignment": "a", "data": data}}), Path("/course/a/a.ipynb"))


def test_a_notebook_without_a_declaration_has_no_data():
    assert declared_data(Notebook([], {"autograder": {"assignment": "a"}}), Path("a.ipynb")) == DataFiles(
        Path("a.ipynb"))


@pytest.mark.parametrize("data, fragment", [
    (["x.npy"], "must be an object with the lists"),
    ({"public": ["x.npy"], "secret": ["y.npy"]}, "must be an object with the lists"),
    ({"public": "x.npy"}, "autograder.data.public must be a list of file names"),
    ({"hidden": ["sub/y.npy"]}, "'sub/y.npy' is not a plain file name in data/"),
    ({"hidden": [".hidden"]}, "'.hidden' is not a plain file name"),
    ({"public": [3]}, "3 is not a plain file name"),
])
def test_a_malformed_declaration_is_a_usage_error_naming_the_notebook(data, fragment):
    with pytest.raises(UsageError, match="/course/a/a.ipynb: metadata autograder.data") as raised:
        declared(data)
    assert fragment in str(raised.value)


def test_a_test_opens_only_declared_files_and_a_public_test_only_public_ones():
    files = declared({"public": ["x.npy"], "hidden": ["labels.npy"]})
    assert files.for_test("x.npy", "test_open", public_test=True) == Path("/course/a/data/x.npy")
    assert files.for_test("labels.npy", "test_hidden", public_test=False) == Path("/course/a/data/labels.npy")
    with pytest.raises(UsageError, match="test_open is a public test but opens the hidden file data/labels.npy"):
        files.for_test("labels.npy", "test_open", public_test=True)
    with pytest.raises(UsageError, match=r"test_hidden opens data/'\.\./a\.ipynb', which .* does not declare"):
        files.for_test("../a.ipynb", "test_hidden", public_test=False)


def test_a_link_in_the_data_folder_is_a_problem(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.npy").symlink_to("/etc/hostname")
    files = DataFiles(tmp_path / "a.ipynb", public=("x.npy",))
    assert files.problems() == [f"{tmp_path}/data/x.npy is not a regular file (a link or a folder)"]


def test_a_fresh_interpreter_worker_also_finds_the_public_data_in_its_folder(tmp_path, monkeypatch):
    folder = assignment(tmp_path, "tiny_fresh")
    monkeypatch.setenv("GRADE_FRESH_WORKERS", "1")
    result = grade_notebook(folder / "tiny_fresh.ipynb", "tiny_fresh", tmp_path)
    assert (result.score, result.cell_errors) == (100, []), [t.message for t in result.tests]
