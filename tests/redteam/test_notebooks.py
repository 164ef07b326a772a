"""Malformed and doctored notebook files. Small broken files are committed under notebooks/; the large
ones and the doctored copies of the reference are made at test time.

What must hold: a notebook that cannot be graded is reported as such, with a reason, every test 0 and
the run goes on (status "unreadable", exit code 3); a doctored one is graded on what it really contains.
"""
import json
import shutil

import nbformat
import pytest
from click.testing import CliRunner

from cli import main

from .conftest import (
    COMMITTED, MAX_SCORE, PYTHON_INTERNALS, REFERENCE, ROOT, STUB, check_result, expect, grade, notebook_variant,
)


def _doctored(tmp_path, name, change):
    """A copy of the reference (solution markers kept: they are comments) changed by `change(nb)`."""
    nb = nbformat.read(REFERENCE, as_version=4)
    change(nb)
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _unreadable(result, reason):
    assert result.status == "unreadable" and reason in result.error, (result.status, result.error)
    assert result.score == 0
    assert all(t.status == "error" and t.message.startswith("the notebook could not be graded") and reason in t.message
               for t in result.tests), {t.name: t.message for t in result.tests}


@pytest.mark.parametrize("name, reason", [
    ("invalid_json", "is not valid JSON"),
    ("nbformat3", "uses notebook format 3; open and save it in a current Jupyter"),
    ("non_utf8", "is not UTF-8 text"),
    ("source_is_a_list_of_numbers", "is not a valid notebook: cell 2 has no text source"),
])
def test_unreadable_files_are_reported_with_a_reason(tmp_path, name, reason):
    path = tmp_path / "mlp.ipynb"
    shutil.copy(COMMITTED / f"{name}.ipynb", path)
    _unreadable(grade(path), reason)


@pytest.mark.parametrize("name", [
    "nbgrader_metadata_is_a_string",
    "autograder_metadata_is_a_list",
    "grade_id_is_a_list",
])
def test_malformed_metadata_is_a_clear_verdict_not_a_python_error(tmp_path, name):
    """Malformed metadata counts as absent: the notebook (a stub with linear_forward written) earns
    exactly what its code earns, and no test shows a Python error from the grader."""
    path = tmp_path / "mlp.ipynb"
    shutil.copy(COMMITTED / f"{name}.ipynb", path)
    result = grade(path, assignment=None)  # as `grade run` does without --assignment
    assert result.status == "graded" and result.score == 5
    assert {t.name for t in result.tests if t.status == "passed"} == {"test_linear_forward"}
    assert not [t.message for t in result.tests if PYTHON_INTERNALS.search(t.message)], result.tests[0].message
    if result.status == "unreadable":
        assert not PYTHON_INTERNALS.search(result.error), result.error


def test_one_malformed_notebook_does_not_lose_the_whole_runs_report(tmp_path):
    good, bad, out = tmp_path / "good" / "mlp.ipynb", tmp_path / "bad" / "mlp.ipynb", tmp_path / "results.json"
    for path, source in ((good, REFERENCE), (bad, COMMITTED / "autograder_metadata_is_a_list.ipynb")):
        path.parent.mkdir()
        shutil.copy(source, path)
    run = CliRunner().invoke(main, ["run", str(good), str(bad), "--json", str(out), "--root", str(ROOT)])
    assert run.exit_code in (0, 3), f"{run.exception!r}\n{run.output[-2000:]}"
    scores = [s["score"] for s in json.loads(out.read_text())["submissions"]]
    assert scores == [MAX_SCORE, 5]  # the bad one is a stub with linear_forward written


def test_deeply_nested_json_is_unreadable(tmp_path):
    path = tmp_path / "mlp.ipynb"
    path.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ' + "[" * 100_000 + "]" * 100_000 + "}")
    _unreadable(grade(path), "is not valid JSON (nested too deeply)")


def test_a_notebook_with_a_100_mb_output_is_refused_before_it_is_parsed(tmp_path):
    def big_output(nb):
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * (100 * 2**20))]
    result = grade(_doctored(tmp_path, "big_output", big_output))
    _unreadable(result, "over the 64 MiB limit (clear the outputs and save again)")


def test_deleted_locked_cells_are_restored(tmp_path):
    def delete(nb):
        nb.cells = [c for c in nb.cells if _grade_id(c) not in ("setup", "demo-regression", "demo-digits")]
    result = grade(_doctored(tmp_path, "deleted", delete))
    assert result.score == MAX_SCORE and not result.cell_errors


def test_retyped_cells_count_for_what_they_now_are(tmp_path):
    """The locked setup cell retyped to markdown is restored; a solution retyped to raw is simply missing."""
    def retype(nb):
        for i, cell in enumerate(nb.cells):
            if _grade_id(cell) == "setup":
                nb.cells[i] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
            elif _grade_id(cell) == "linear-forward":
                nb.cells[i] = nbformat.v4.new_raw_cell(cell.source, metadata=cell.metadata)
    result = grade(_doctored(tmp_path, "retyped", retype))
    expect(result, {"test_linear_forward": ("error", "the notebook does not define 'linear_forward'"),
                    "test_mse_gradients_match_finite_differences": ("failed", "name 'linear_forward' is not defined")})
    assert result.score == 85


def test_duplicated_cell_ids_change_nothing(tmp_path):
    nb = json.loads(REFERENCE.read_text())
    for cell in nb["cells"]:
        cell["id"] = "same-id"  # written as JSON: nbformat would repair the ids on write
    path = tmp_path / "duplicated_ids.ipynb"
    path.write_text(json.dumps(nb))
    result = grade(path)
    assert result.score == MAX_SCORE


def test_an_edited_locked_cell_runs_as_the_reference_wrote_it(tmp_path):
    path = notebook_variant(REFERENCE, tmp_path / "edited_locked.ipynb", replace={
        "setup": "import os\nos._exit(0)",
        "demo-regression": "import os\nos._exit(0)",
    })
    result = grade(path)
    assert result.score == MAX_SCORE and not result.cell_errors


def test_the_untouched_stub_scores_zero_with_every_test_not_implemented(tmp_path):
    path = tmp_path / "mlp.ipynb"
    shutil.copy(STUB, path)
    result = grade(path)
    check_result(result)
    assert result.score == 0 and result.status == "graded"
    assert {t.status for t in result.tests} == {"not_implemented"}, {t.name: t.message[:100] for t in result.tests}
