"""`from autograder import check; check()` in a real Jupyter kernel (nbclient), as a student runs it."""
import json
import os
import re
import sys

import nbformat
import pytest
from click.testing import CliRunner
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from cli import main
from test_selfcheck import PUBLICLY_TESTED, solution_cell, student_folder

CHECK = "from autograder import check; check()"
INSTRUCTOR_ONLY = ("nbgrader", "nbformat", "nbconvert", "nbclient")
KERNEL = "grade-selfcheck-test"


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    """A kernelspec for this interpreter, in a folder of its own: the machine's own kernelspecs may start
    another Python, one without this project installed."""
    folder = tmp_path_factory.mktemp("kernels")
    (folder / KERNEL).mkdir()
    (folder / KERNEL / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "grade self-check test", "language": "python"}))
    return folder


def execute(nb, folder, kernels, **env) -> None:
    """Run every cell in a fresh kernel started in `folder`, as Jupyter does; cells may raise (a stub's
    demonstration cells do), which the outputs record."""
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    client = NotebookClient(nb, km=manager, timeout=600, startup_timeout=300, allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.execute(env={**os.environ, **env})


def printed(cell) -> str:
    """What a cell showed: its printed text and rich's displays, as plain text without colours."""
    assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    parts = [o.text if o.output_type == "stream" else o.data.get("text/plain", "") for o in cell.outputs]
    return re.sub(r"\x1b\[[0-9;]*m", "", "".join(parts))


def from_the_table_on(text: str) -> list[str]:
    """The table (its title left out: it names the notebook as given) and every line after it."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return lines[next(i for i, line in enumerate(lines) if line.startswith("┏")):]


def test_check_in_a_kernel_prints_what_grade_check_prints(tmp_path, kernels):
    notebook = student_folder(tmp_path, PUBLICLY_TESTED)
    nb = nbformat.read(notebook, as_version=4)
    nb.cells += [nbformat.v4.new_code_cell("import sys\nbefore = set(sys.modules)"),
                 nbformat.v4.new_code_cell(CHECK),
                 nbformat.v4.new_code_cell("print(sorted(m for m in set(sys.modules) - before\n"
                                           f"             if m.partition('.')[0] in {INSTRUCTOR_ONLY}))")]
    execute(nb, notebook.parent, kernels)
    shown = printed(nb.cells[-2])
    assert shown.splitlines()[0].strip() == "mlp.ipynb  (mlp)"
    assert re.search(r"│ test_linear_forward +│ +5/5 │ passed │", shown)
    assert re.search(r"│ test_mlp_shapes +│ +10/10 │ passed │", shown)
    assert re.search(r"│ total +│ +40/40 │", shown)
    assert "Not implemented yet (still raising NotImplementedError):\n" \
           "  gradient_step (the 5th code cell)\n" \
           "  collapse_linear (the 7th code cell)\n" \
           "  relu_grad, sigmoid_grad, tanh_grad (the 9th code cell)\n" \
           "  train_step, train, predict (the 12th code cell)\n" \
           "Public tests: 40/40 points. Hidden tests will also run when your work is graded." in shown
    assert printed(nb.cells[-1]).strip() == "[]"   # the check imported none of the instructor's tools
    in_terminal = CliRunner().invoke(main, ["check", str(notebook)])
    assert in_terminal.exit_code == 0, in_terminal.output
    assert from_the_table_on(shown) == from_the_table_on(in_terminal.output)


def test_the_kernels_definitions_win_over_the_saved_notebook(tmp_path, kernels):
    saved = student_folder(tmp_path, ["linear-forward", "activations"], name="mine.ipynb")
    nb = nbformat.read(saved, as_version=4)
    for cell in nb.cells:   # edited and run, never saved
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "mse-loss":
            cell.source = solution_cell("mse-loss")
    nb.cells += [nbformat.v4.new_code_cell("def relu(z):\n    return z.abs()  # (N, C)"),
                 nbformat.v4.new_code_cell(CHECK)]
    execute(nb, tmp_path, kernels, JPY_SESSION_NAME=str(saved))   # Jupyter names the notebook's file
    shown = printed(nb.cells[-1])
    assert shown.splitlines()[0].strip() == "mine.ipynb  (mlp)"
    assert re.search(r"│ test_mse_loss +│ +5/5 │ passed +│", shown)       # the saved file still raises
    assert re.search(r"│ test_activations +│ +0/5 │ failed +│ relu\(z\)", shown)   # the saved file is right
    todo = shown[shown.index("Not implemented yet"):shown.index("Public tests:")]
    assert "  mse_gradients (the 4th code cell)\n" in todo
    assert "mse_loss" not in todo and "linear_forward" not in todo and "relu," not in todo
