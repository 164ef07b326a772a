"""A student's self-check: `grade check` and `autograder.check()` on real bundles and notebooks.

The in-notebook check is run here in-process, on a namespace made by running a notebook's cells the way a
kernel does (each cell's text kept in linecache, so its functions' source can be read); a real Jupyter
kernel runs it in test_selfcheck_kernel.py.
"""
import json
import linecache
import random
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from autograder.errors import StudentCodeError
from autograder.grading.assignments import Assignment, available
from autograder.grading.grade import grade
from autograder.grading.notebook import code_cells, read_notebook, read_submission
from autograder.remote import RemoteObject, observe, vjp
from autograder.selfcheck.channel import LocalChannel
from autograder.selfcheck.kernel import check, self_check
from autograder.selfcheck.report import ordinal
from autograder.selfcheck.todo import Todo, unimplemented
from autograder.worker.wire import WireError
from cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "submissions" / "mlp"
PUBLICLY_TESTED = ["linear-forward", "mse-loss", "mse-gradients", "activations", "softmax-cross-entropy", "mlp"]


def solution_cell(grade_id: str) -> str:
    """A reference solution cell's code, without its markers."""
    cells = json.loads((ROOT / "reference" / "mlp" / "mlp.ipynb").read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
    return "".join(line for line in source.splitlines(True) if "SOLUTION" not in line)


def student_folder(tmp_path: Path, fill: list[str] = (), extra: list[str] = (), name: str = "mlp.ipynb") -> Path:
    """The MLP bundle as a student has it, its stub saved with the cells `fill` solved and `extra` code
    cells added at the end: the notebook's path."""
    folder = tmp_path / "mlp"
    shutil.copytree(ROOT / "assignments" / "mlp", folder, dirs_exist_ok=True)
    nb = json.loads((folder / "mlp.ipynb").read_text())
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in fill:
            cell["source"] = solution_cell(grade_id)
    nb["cells"] += [{"cell_type": "code", "execution_count": None, "id": f"extra-{i}", "metadata": {},
                     "outputs": [], "source": source} for i, source in enumerate(extra)]
    (folder / name).write_text(json.dumps(nb, indent=1))
    return folder / name


def run_cell(namespace: dict, source: str, filename: str) -> None:
    """Run a cell as IPython does: its text kept in linecache, where `inspect` finds its functions' source."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)


def run_cells(notebook: Path) -> dict:
    """A kernel's namespace after running the notebook's cells (demonstrations skipped, as when graded)."""
    namespace = {"__name__": "__main__"}
    template = read_notebook(ROOT / "assignments" / "mlp" / "mlp.ipynb")
    for index, cell in enumerate(code_cells(read_submission(notebook), template)):
        run_cell(namespace, cell.source, f"<{notebook} {index}>")
    return namespace


def rows(result) -> dict[str, tuple[str, float, str]]:
    return {t.name: (t.status, t.score, t.message.splitlines()[0] if t.message else "") for t in result.tests}


def test_grade_check_lists_every_region_still_to_write_hidden_tested_ones_too(tmp_path):
    notebook = student_folder(tmp_path, PUBLICLY_TESTED)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["check", str(notebook)])
    assert result.exit_code == 0, result.output
    assert "Public tests: 40/40 points" in result.output
    assert "Not implemented yet (still raising NotImplementedError):\n" \
           "  gradient_step (the 5th code cell)\n" \
           "  collapse_linear (the 7th code cell)\n" \
           "  relu_grad, sigmoid_grad, tanh_grad (the 9th code cell)\n" \
           "  train_step, train, predict (the 12th code cell)\n" in result.output


def test_the_definition_that_runs_last_counts(tmp_path):
    notebook = student_folder(tmp_path, ["mlp"], extra=[
        solution_cell("gradient-step"),                                                   # done in a new cell
        "def relu_grad(z):\n    raise NotImplementedError('my own: not for complex z')\n",  # a message: the student's
        "class MLP:\n    def forward(self, x):\n        raise NotImplementedError\n",     # MLP redefined, unfinished
        "softmax = torch.softmax\n",                                                       # not a stub any more
    ])
    todo = unimplemented(read_notebook(notebook))
    names = [t.name for t in todo]
    assert "gradient_step" not in names and "relu_grad" not in names and "softmax" not in names
    assert Todo("MLP.forward", 16) in todo and "MLP.__init__" not in names
    assert Todo("sigmoid_grad", 9) in todo and Todo("linear_forward", 2) in todo


def test_ordinals_read_as_english():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th", "112th"]


@pytest.mark.parametrize("sample", ["correct_loops", "mistake_gradient_sign", "mistake_sigmoid_exponent_sign",
                                    "mistake_swapped_in_out", "stub", "raises"])
def test_the_in_notebook_check_gives_the_workers_verdicts(tmp_path, sample):
    """The same test file, through the worker and through the kernel's own namespace: the same results."""
    notebook = tmp_path / "mlp" / "mine.ipynb"
    if sample == "raises":
        student_folder(tmp_path, PUBLICLY_TESTED, extra=["def softmax(logits):\n    return logits.softmax(dim=5)\n"],
                       name=notebook.name)
    else:
        student_folder(tmp_path)
        shutil.copy(SAMPLES / f"{sample}.ipynb" if sample != "stub" else notebook.with_name("mlp.ipynb"), notebook)
    bundle = Assignment("mlp", notebook.parent)
    in_worker = grade(notebook, bundle, public_only=True)
    in_kernel = self_check(run_cells(notebook), notebook.parent).result
    assert rows(in_kernel) == rows(in_worker)
    assert (in_kernel.score, in_kernel.max_score) == (in_worker.score, in_worker.max_score)


def test_the_kernels_definitions_count_not_the_saved_file(tmp_path):
    notebook = student_folder(tmp_path, ["linear-forward"])
    namespace = run_cells(notebook)
    run_cell(namespace, solution_cell("mse-loss"), "<run, never saved>")
    run_cell(namespace, "def linear_forward(X, w, b):\n    return X @ w\n", "<run, never saved 2>")
    done = self_check(namespace, notebook.parent)
    assert rows(done.result)["test_mse_loss"][:2] == ("passed", 5)
    assert rows(done.result)["test_linear_forward"][0] == "failed"
    assert Todo("mse_gradients", 4) in done.todo and "mse_loss" not in [t.name for t in done.todo]


def test_a_region_whose_cell_was_not_run_is_named(tmp_path):
    notebook = student_folder(tmp_path, PUBLICLY_TESTED)
    namespace = run_cells(notebook)
    del namespace["softmax"], namespace["MLP"]
    done = self_check(namespace, notebook.parent)
    assert done.undefined == [Todo("softmax", 10), Todo("MLP", 11)]
    assert rows(done.result)["test_softmax"][0] == "error"


def test_check_of_one_part_runs_the_tests_that_call_it(tmp_path, monkeypatch, capsys):
    notebook = student_folder(tmp_path, ["linear-forward", "mse-loss"])
    namespace = run_cells(notebook)
    monkeypatch.chdir(notebook.parent)
    by_name = self_check(namespace, notebook.parent, "linear_forward")
    assert [t.name for t in by_name.result.tests] == ["test_linear_forward",
                                                      "test_mse_gradients_match_finite_differences"]
    assert [t.name for t in by_name.todo] == ["mse_gradients"]   # what those tests call, still to write
    called = self_check(namespace, notebook.parent, "sigmoid")
    assert [t.name for t in called.result.tests] == ["test_activations"]
    assert [t.name for t in called.todo] == ["relu", "sigmoid", "tanh"]
    check("MLP.forward", namespace)
    out = capsys.readouterr().out
    assert "test_mlp_shapes" in out and "test_linear_forward" not in out
    assert "MLP.__init__, MLP.forward (the 11th code cell)" in out and "Public tests of 'MLP.forward': 0/10" in out
    check("gradient_step", namespace)
    check("attention", namespace)
    err = capsys.readouterr().err
    assert "no public test is about gradient_step: only the hidden tests check it" in err
    assert "no public test is about 'attention'; they test MLP, linear_forward, mse_gradients" in err


def test_check_names_the_missing_files_when_run_elsewhere(tmp_path, monkeypatch, capsys):
    elsewhere = tmp_path / "downloads"
    elsewhere.mkdir()
    shutil.copy(ROOT / "assignments" / "mlp" / "mlp.ipynb", elsewhere / "mlp.ipynb")
    monkeypatch.chdir(elsewhere)
    check(namespace={})
    err = capsys.readouterr().err
    assert "the public tests of mlp are not in" in err and "test_mlp.py and reference_values.wire are missing" in err
    (elsewhere / "mlp.ipynb").unlink()
    check(namespace={})
    assert "cannot tell which assignment this is" in capsys.readouterr().err


def test_the_notebook_jupyter_names_is_the_one_checked(tmp_path):
    mine = student_folder(tmp_path, ["linear-forward"], extra=["x = 1"], name="mine.ipynb")
    namespace = run_cells(mine)
    namespace["__session__"] = str(mine)   # what Jupyter tells a kernel (JPY_SESSION_NAME)
    done = self_check(namespace, tmp_path)
    assert done.result.submission == "mine.ipynb" and Todo("mse_loss", 3) in done.todo
    del namespace["__session__"]           # two notebooks of the assignment here: which one is unknown
    assert Todo("mse_loss", None) in self_check(namespace, mine.parent).todo


def test_check_leaves_the_kernels_threads_and_random_state_as_it_found_them(tmp_path):
    notebook = student_folder(tmp_path, ["linear-forward"])
    namespace = run_cells(notebook)
    threads = torch.get_num_threads()
    torch.manual_seed(1234)
    random.seed(99)
    expected = torch.rand(3), random.random()
    torch.manual_seed(1234)
    random.seed(99)
    self_check(namespace, notebook.parent, "linear_forward")
    assert torch.equal(torch.rand(3), expected[0]) and random.random() == expected[1]
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize("name", available(ROOT, ("reference",)))
def test_every_public_test_file_runs_unchanged_in_a_kernel(tmp_path, monkeypatch, name):
    """The reference solution, run as a kernel runs it beside the bundle (in the notebook's folder, where
    `data/` is): full marks on the public tests."""
    folder = tmp_path / name
    shutil.copytree(ROOT / "assignments" / name, folder)
    shutil.copy(ROOT / "reference" / name / f"{name}.ipynb", folder / f"{name}.ipynb")
    monkeypatch.chdir(folder)
    namespace = {"__name__": "__main__"}
    solution = read_notebook(folder / f"{name}.ipynb")
    for index, cell in enumerate(code_cells(solution, solution)):
        run_cell(namespace, cell.source, f"<{name} {index}>")
    done = self_check(namespace, folder)
    assert done.result.score == done.result.max_score > 0, \
        [(t.name, t.status, t.message) for t in done.result.tests if t.status != "passed"]
    assert done.todo == [] and done.undefined == []


def test_the_local_channel_copies_values_as_the_wire_does():
    namespace = {}
    exec("import torch\n"
         "kept = torch.zeros(3)\n"
         "def same(x):\n    return x\n"
         "def pair(x):\n    return (x, [x])\n"
         "def kept_tensor():\n    return kept\n"
         "def scale(x):\n    x.mul_(2)\n    return x.sum()\n"
         "def todo():\n    raise NotImplementedError()\n"
         "def layer():\n    return torch.nn.Linear(2, 3)\n", namespace)
    student = LocalChannel(namespace).namespace()
    sent = torch.ones(2)
    back = student.same(sent)
    assert torch.equal(back, sent) and back is not sent
    assert isinstance(student.pair(sent), tuple) and isinstance(student.pair(sent)[1], list)
    student.kept_tensor().add_(5)
    assert torch.equal(namespace["kept"], torch.zeros(3))   # a returned tensor is a copy
    assert observe(student.scale, sent).changed == ["argument 1"] and torch.equal(sent, torch.ones(2))
    model = student.layer()
    assert isinstance(model, RemoteObject) and model(torch.ones(4, 2)).shape == (4, 3)
    assert set(vjp(model, torch.ones(4, 2)).param_grads) == {"weight", "bias"}
    with pytest.raises(StudentCodeError) as raised:
        student.todo()
    assert raised.value.not_implemented
    with pytest.raises(WireError):
        student.same(torch.nn.Linear(2, 3))   # a grader-side object never crosses
