"""Reading submissions and building the program a worker runs."""
import json

import nbformat
import pytest

from autograder.errors import NotebookError
from autograder.grading.notebook import build_program, check_assignment, code_cells, neutralise_magics, read_notebook
from conftest import notebook_variant


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("content, reason", [
    ("{not json", "is not valid JSON (line 1"),
    ('{"hello": 1}', "is not a Jupyter notebook"),
    ('{"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}', "uses notebook format 3"),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}',
     "is not a valid notebook"),
    (json.dumps(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("hi")])), "has no code cells"),
])
def test_unreadable_notebooks_say_what_is_wrong(tmp_path, content, reason):
    path = write(tmp_path / "sub.ipynb", content)
    with pytest.raises(NotebookError) as info:
        read_notebook(path)
    assert reason in info.value.reason
    assert str(path) in str(info.value)


def test_non_utf8_and_missing_files(tmp_path):
    path = tmp_path / "latin1.ipynb"
    path.write_bytes(b'{"caf\xe9": 1}')
    with pytest.raises(NotebookError, match="is not UTF-8"):
        read_notebook(path)
    with pytest.raises(NotebookError, match="cannot be read"):
        read_notebook(tmp_path / "missing.ipynb")


def test_wrong_assignment_is_refused(tmp_path, mlp_reference):
    nb = read_notebook(mlp_reference)
    with pytest.raises(NotebookError, match="is a notebook for assignment 'mlp', not 'cnn'"):
        check_assignment(nb, "cnn", mlp_reference)
    check_assignment(nb, "mlp", mlp_reference)


def test_magics_and_shell_escapes_are_neutralised():
    source = "%matplotlib inline\n!pip install torch\nfiles = !ls\nx = 1\n"
    out = neutralise_magics(source)
    compile(out, "<test>", "exec")
    assert "get_ipython().system('pip install torch')" in out and "x = 1" in out
    assert neutralise_magics("y = 2 % 3\n") == "y = 2 % 3\n"


def test_locked_cells_come_from_the_reference_and_demo_cells_are_skipped(tmp_path, mlp_reference):
    reference = read_notebook(mlp_reference)
    submission_path = notebook_variant(mlp_reference, tmp_path / "s.ipynb", replace={
        "setup": "import os\nos.environ['CHEAT'] = '1'",
        "demo-digits": "raise SystemExit('the long training demo must not run at grading time')",
    }, prepend=["helper = 42"])
    program = build_program(read_notebook(submission_path), reference)
    sources = "\n".join(cell.source for cell in program)
    assert "CHEAT" not in sources and "torch.manual_seed(0)" in sources
    assert "SystemExit" not in sources and "load_digits" not in sources
    assert program[0].source == "helper = 42"


def test_deleted_locked_cell_is_restored_first(tmp_path, mlp_reference):
    nb = nbformat.read(mlp_reference, as_version=4)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "setup"]
    path = tmp_path / "no_setup.ipynb"
    nbformat.write(nb, path)
    program = code_cells(read_notebook(path), read_notebook(mlp_reference))
    assert program[0].label == "restored cell setup" and "import torch" in program[0].source


def test_cell_turned_into_markdown_does_not_run(tmp_path, mlp_reference):
    nb = nbformat.read(mlp_reference, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "mlp":
            cell.cell_type = "markdown"
            del cell["outputs"], cell["execution_count"]
    path = tmp_path / "md.ipynb"
    nbformat.write(nb, path)
    program = code_cells(read_notebook(path), read_notebook(mlp_reference))
    assert not any("class MLP" in cell.source for cell in program)


def test_malformed_metadata_is_treated_as_absent(tmp_path, mlp_reference):
    nb = json.loads(mlp_reference.read_text())
    nb["metadata"]["autograder"] = ["mlp"]
    nb["cells"][1]["metadata"]["nbgrader"] = "locked"
    nb["cells"][3]["metadata"]["nbgrader"]["grade_id"] = ["linear-forward"]
    nb["cells"][3]["metadata"]["tags"] = "demo"
    path = write(tmp_path / "odd.ipynb", json.dumps(nb))
    submission = read_notebook(path)
    assert check_assignment(submission, "mlp", path) is None
    program = code_cells(submission, read_notebook(mlp_reference))
    assert any("def linear_forward" in cell.source for cell in program)
