"""`grade audit`: a tiny assignment built here, audited for real through the CLI; the mutation operators
over generated cells and over every reference notebook; and what counts as naming a mistake."""
from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
import torch
from click.testing import CliRunner
from hypothesis import assume, given
from hypothesis import strategies as st

from autograder import checks
from autograder.course.audit.mutants import Mutant, cell_mutants, mutants_of
from autograder.grading.notebook import read_notebook
from cli import main

ROOT = Path(__file__).resolve().parents[1]
ADD = "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION"
MEAN = ('def mean(x):\n    """The mean of a 1-d tensor."""\n    ### BEGIN SOLUTION\n    total = x.sum(dim=0)\n'
        '    return total / x.shape[0]\n    ### END SOLUTION')
TESTS = '''
import pytest
import torch

from autograder import checks


@pytest.mark.points(50)
def test_add(student):
    assert student.add(0, 0) == 0, "add(0, 0) must be 0"  # weak on purpose: a - b and -(a + b) pass it


@pytest.mark.points(50)
def test_mean(student):
    x = torch.tensor([1.0, 2.0, 6.0])
    checks.assert_close(student.mean(x), torch.tensor(3.0), "mean(x)", mistakes={"the sum, not the mean": x.sum()})
'''
IDS = ["add:3:return-none:1", "add:3:unary-minus:1", "add:3:arithmetic:1", "mean:4:delete:1", "mean:4:dim:1",
       "mean:5:return-none:1", "mean:5:unary-minus:1", "mean:5:arithmetic:1", "mean:5:constant:1"]
SURVIVORS = {"add:3:arithmetic:1", "add:3:unary-minus:1"}
MARKER = re.compile(r"(?m)^[ \t]*### (?:BEGIN|END) SOLUTION[ \t]*$")


def _cell(source: str, grade_id: str, solution: bool) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": not solution,
                                 "schema_version": 3, "solution": solution}
    return cell


def _assignment(root: Path, name: str, tests: str) -> Path:
    """reference/<name>/ under root: an add and a mean cell, and their tests."""
    folder = root / "reference" / name
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(metadata={"autograder": {"assignment": name}})
    nb.cells = [_cell("import torch", "setup", False), _cell(ADD, "add", True), _cell(MEAN, "mean", True)]
    nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / f"test_{name}.py").write_text(tests)
    return root


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return _assignment(tmp_path_factory.mktemp("root"), "tiny", TESTS)


def audit(root: Path, *args: object):
    return CliRunner(env={"COLUMNS": "200"}).invoke(main, ["audit", *map(str, args), "--root", str(root)])


@pytest.fixture(scope="module")
def audited(tiny_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("audit")
    result = audit(tiny_root, "tiny", "--json", out / "audit.json", "--markdown", out / "audit.md")
    return result, json.loads((out / "audit.json").read_text()), (out / "audit.md").read_text()


def test_ids_are_deterministic_and_listed_without_grading(tiny_root):
    first, second = audit(tiny_root, "tiny", "--list"), audit(tiny_root, "tiny", "--list")
    assert first.exit_code == 0 and first.output == second.output
    assert [line.split()[0] for line in first.output.splitlines()] == IDS
    only = audit(tiny_root, "tiny", "--list", "--only", "mean:5:*")
    assert [line.split()[0] for line in only.output.splitlines()] == [i for i in IDS if i.startswith("mean:5:")]


def test_the_weak_tests_mutants_survive_and_fail_the_audit(audited):
    result, data, _ = audited
    assert result.exit_code == 1, result.output
    outcomes = {m["id"]: m for m in data["mutants"]}
    assert list(outcomes) == IDS
    assert {i for i, m in outcomes.items() if m["outcome"] == "survived"} == SURVIVORS
    assert data["summary"] | {"duration": 0} == {
        "mutants": 9, "killed": 7, "named": 5, "survived": 2, "equivalent": 0, "timed_out": 0, "crashed": 0,
        "stale": 0, "score": 77.8, "duration": 0}
    arithmetic = outcomes["add:3:arithmetic:1"]
    assert (arithmetic["cell"], arithmetic["line"], arithmetic["operator"]) == ("add", 3, "arithmetic")
    assert (arithmetic["original"], arithmetic["mutated"]) == ("    return a + b", "    return a - b")
    assert (arithmetic["score"], arithmetic["max_score"], arithmetic["killed_by"]) == (100, 100, [])
    assert "add:3:arithmetic:1" in result.output and "mutation score 77.8%" in result.output


def test_killed_mutants_name_the_tests_and_whether_the_mistake_is_named(audited):
    _, data, _ = audited
    outcomes = {m["id"]: m for m in data["mutants"]}
    raises = outcomes["mean:4:dim:1"]  # x.sum(dim=1) of a 1-d tensor raises in the worker, on the mutated line
    assert (raises["outcome"], raises["killed_by"], raises["named"], raises["score"]) == ("killed", ["test_mean"],
                                                                                         True, 50)
    assert not outcomes["mean:4:delete:1"]["named"]      # NameError for `total`, raised on the next line
    assert outcomes["mean:5:unary-minus:1"]["named"]     # checks: "the sign is flipped"
    assert not outcomes["mean:5:arithmetic:1"]["named"]  # 27 for 3: any two scalars differ by some factor
    assert outcomes["mean:5:return-none:1"]["named"]      # checks: None, "a return statement is missing"
    assert outcomes["add:3:return-none:1"]["named"]      # the test's own message
    assert outcomes["mean:5:unary-minus:1"]["feedback"].startswith("test_mean: ")
    assert "sign is flipped" in outcomes["mean:5:unary-minus:1"]["feedback"]
    assert "got None. Likely mistake: a return statement is missing" in outcomes["mean:5:return-none:1"]["feedback"]
    assert outcomes["add:3:arithmetic:1"]["feedback"] == ""   # survived: nothing was said


def test_markdown_report_shows_the_survivors_diffs(audited):
    _, _, markdown = audited
    assert markdown.startswith("# Mutation audit: tiny\n")
    assert "## Survivors (2)" in markdown and "```diff\n- return a + b\n+ return a - b\n```" in markdown
    assert "## Killed, but no message names the mistake (2)" in markdown
    assert "| mean:4:delete:1 | delete the statement |" in markdown and "| mean:4:dim:1 |" not in markdown
    told = next(line for line in markdown.splitlines() if line.startswith("| mean:5:arithmetic:1 |"))
    assert told.split(" | ")[-1].startswith("test\\_mean: ") and "differ" in told, told   # what the student sees


def test_declared_equivalents_pass_the_audit_and_stale_ones_are_reported(tiny_root, tmp_path):
    declarations = tiny_root / "reference" / "tiny" / "equivalent_mutants.toml"
    declarations.write_text(textwrap.dedent("""\
        [[equivalent]]
        id = "add:3:arithmetic:1"
        reason = "the test adds 0 and 0"

        [[equivalent]]
        id = "add:3:unary-minus:1"
        reason = "-0 == 0"

        [[equivalent]]
        id = "add:9:constant:1"
        reason = "a line that is gone"
        """))
    try:
        result = audit(tiny_root, "tiny", "--only", "add:*", "--json", tmp_path / "audit.json")
        listed = audit(tiny_root, "tiny", "--list")
    finally:
        declarations.unlink()
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "audit.json").read_text())
    assert {m["id"]: m["equivalent"] for m in data["mutants"] if m["equivalent"]} == {
        "add:3:arithmetic:1": "the test adds 0 and 0", "add:3:unary-minus:1": "-0 == 0"}
    assert data["stale"] == [{"id": "add:9:constant:1", "reason": "a line that is gone"}]
    assert data["summary"]["survived"] == 0 and data["summary"]["equivalent"] == 2
    assert "declared equivalent" in result.output and "add:9:constant:1" in result.output
    assert "add:3:arithmetic:1  + → -  (declared equivalent)" in listed.output


@pytest.mark.parametrize("content", ['[[equivalent]]\nid = "add:3:arithmetic:1"\n',
                                     '[[equivalent]]\nid = "a"\nreason = "r"\n[[equivalent]]\nid = "a"\nreason = "s"\n',
                                     'equivalent = "add:3:arithmetic:1"\n', "[[equivalent]\n"])
def test_a_malformed_declaration_file_is_a_usage_error(tiny_root, content):
    declarations = tiny_root / "reference" / "tiny" / "equivalent_mutants.toml"
    declarations.write_text(content)
    try:
        result = audit(tiny_root, "tiny", "--list")
    finally:
        declarations.unlink()
    assert result.exit_code == 2 and "equivalent_mutants.toml" in result.output


def test_a_reference_that_fails_a_test_is_refused_before_any_mutant(tmp_path):
    # Another name: a grading process imports an assignment's tests once, by their module name.
    root = _assignment(tmp_path, "broken", TESTS.replace("student.add(0, 0) == 0", "student.add(0, 0) == 1"))
    result = audit(root, "broken")
    assert result.exit_code == 2
    assert "the reference notebook of broken scores 50/100" in result.output and "add(0, 0) must be 0" in result.output


def test_usage_errors_exit_with_2(tiny_root):
    result = audit(tiny_root, "../tiny", "--list")
    assert result.exit_code == 2 and "unknown assignment '../tiny' (known: tiny)" in result.output
    result = audit(tiny_root, "tiny", "--only", "nothing:*")
    assert result.exit_code == 2 and "no mutant id matches 'nothing:*'" in result.output


# --- the operators ------------------------------------------------------------------------------------

def _check_mutants(text: str, mutants: list[Mutant]) -> None:
    """Each mutant compiles, changes exactly one solution region, and leaves every other character alone."""
    outside, inside = MARKER.split(text)[0::2], MARKER.split(text)[1::2]
    assert len({m.id for m in mutants}) == len(mutants)
    for mutant in mutants:
        compile(mutant.source, mutant.id, "exec")
        pieces = MARKER.split(mutant.source)
        assert pieces[0::2] == outside, mutant.id
        changed = [i for i, (ours, theirs) in enumerate(zip(inside, pieces[1::2])) if ours != theirs]
        assert len(changed) == 1 and len(pieces) == len(MARKER.split(text)), mutant.id
        assert re.fullmatch(rf"{re.escape(mutant.cell)}:{mutant.line}:[a-z-]+:[1-9][0-9]*", mutant.id)


EVERY_OPERATOR = """def step(model, optimizer, X, y, self):
    ### BEGIN SOLUTION
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(X), y, weight=self.weight) * 2.0
    loss.backward()
    h = (X @ self.W).detach()
    ok = X.sum(dim=1) > 0 and y != 1
    with torch.no_grad():
        out = torch.softmax(-h, 1)
        return out.mean()
    ### END SOLUTION
"""


def test_every_operator_makes_its_mutant():
    from autograder.course.audit.operators import OPERATORS

    mutants = cell_mutants(0, "step", EVERY_OPERATOR)
    _check_mutants(EVERY_OPERATOR, mutants)
    assert {m.operator for m in mutants} == set(OPERATORS)
    by_id = {m.id: m.mutated for m in mutants}
    assert by_id["step:9:no-grad:1"] == "    out = torch.softmax(-h, 1)\n    return out.mean()"
    assert by_id["step:5:drop-keyword:1"] == "    loss = F.cross_entropy(model(X), y) * 2.0"
    assert by_id["step:5:swap-args:1"] == "    loss = F.cross_entropy(y, model(X), weight=self.weight) * 2.0"
    assert by_id["step:7:drop-copy:1"] == "    h = (X @ self.W)"
    assert by_id["step:8:boolean:1"] == "    ok = X.sum(dim=1) > 0 or y != 1"
    assert by_id["step:10:dim:1"] == "        out = torch.softmax(-h, 0)"
    assert by_id["step:11:return-type:1"] == "        return out.mean().item()"
    assert by_id["step:3:drop-call:1"] == "    pass"


def _filled(template: str):
    """A template filled from a tuple of generated parts."""
    return lambda parts: template.format(*parts)


_atoms = st.one_of(st.sampled_from(["x", "w", "self.p", "loss", "x[0]", "True", "False", "None"]),
                   st.integers(-3, 3).map(str), st.sampled_from([0.0, 0.5, 1.0, 2.5]).map(repr))
_expressions = st.recursive(_atoms, lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", "@", "<", ">=", "==", "!=", "and", "or"]), inner)
    .map(_filled("({} {} {})")),
    st.tuples(inner, st.sampled_from(["+", "*", "<", "and"]), inner).map(_filled("({}  # + * < and\n {} {})")),
    inner.map("-({})".format),
    st.tuples(inner, st.integers(-2, 2)).map(_filled("({}).sum(dim={})")),
    st.tuples(inner, st.integers(-2, 1)).map(_filled("torch.softmax({}, {})")),
    inner.map("({}).detach().clone()".format),
    st.tuples(inner, inner).map(_filled("f({}, {}, p=self.p)")),
    inner.map("float({})".format),
), max_leaves=5)
_statements = st.one_of(
    _expressions.map("z = {}".format),
    _expressions.map("z += {}  # a comment: + - * /".format),
    st.sampled_from(["model.eval()", "optimizer.zero_grad()", "loss.backward()", "optimizer.step()"]),
    _expressions.map("return {}".format),
    _expressions.map("return ({}).mean()".format),
    st.tuples(_expressions, _expressions).map(_filled("with torch.no_grad():\n    z = {}\n\n    return {}")),
    _expressions.map("if {}:\n    z = 1\nelse:\n    z = 2".format),
)


def _function(name: str, body: list[str], outside: str) -> str:
    inner = textwrap.indent("\n".join(body), "    ")
    return (f'def {name}(x, w, loss, model, optimizer, self):\n    """Doc: + 1."""\n    z = {outside}\n'
            f"    ### BEGIN SOLUTION\n{inner}\n    ### END SOLUTION\n    return z * {outside}\n")


@given(bodies=st.lists(st.lists(_statements, min_size=1, max_size=4), min_size=1, max_size=2),
       outside=_expressions)
def test_every_mutant_compiles_and_changes_one_region_only(bodies, outside):
    text = "\n\n".join(_function(f"f{i}", body, outside) for i, body in enumerate(bodies)) + f"\nTOP = {outside}\n"
    try:
        compile(text, "cell", "exec")
    except SyntaxError:
        assume(False)
    mutants = cell_mutants(0, "cell", text)
    assert mutants and mutants == cell_mutants(0, "cell", text)
    _check_mutants(text, mutants)


@pytest.mark.parametrize("name", ["mlp", "cnn", "optimization", "lstm", "mha"])
def test_reference_notebooks_mutants_change_one_region_only(name):
    notebook = ROOT / "reference" / name / f"{name}.ipynb"
    mutants = mutants_of(notebook)
    assert len(mutants) > 40 and mutants == mutants_of(notebook)
    cells = read_notebook(notebook).cells
    for index in {m.index for m in mutants}:
        _check_mutants(cells[index].source, [m for m in mutants if m.index == index])


# --- what names a mistake -----------------------------------------------------------------------------

def _message(check, *args, **kwargs) -> str:
    with pytest.raises(checks.CheckFailed) as failed:
        check(*args, **kwargs)
    return str(failed.value)


def test_a_diagnosis_or_a_tests_own_message_names_the_mistake():
    x = torch.arange(1.0, 7.0).reshape(2, 3)
    module = torch.nn.Linear(3, 2)
    named = [
        _message(checks.assert_close, x + 1, x, "y", mistakes={"one too many": x + 1}),
        _message(checks.assert_close, -x, x, "y"),
        _message(checks.assert_close, 3 * x, x, "y"),
        _message(checks.assert_shape, x.T, (2, 3), "y"),
        _message(checks.copy_parameters, {"w": torch.zeros(3, 2), "b": torch.zeros(2)}, module),
        "predict gives different answers for the same input: dropout is still active",
        "add(0, 0) must be 0\nassert None == 0",
        _message(checks.expect_tensor, None, "y"),   # None: a return statement is missing
    ]
    reports = [
        _message(checks.assert_close, x + torch.tensor([0.0, 0.0, 1.0]), x, "y"),
        _message(checks.assert_rel_error, x + torch.tensor([0.0, 0.0, 1.0]), x, "y"),
        _message(checks.assert_shape, x, (4, 5), "y"),
        _message(checks.assert_dtype, x, torch.float64, "y"),
        _message(checks.expect_tensor, 3, "y"),
        _message(checks.assert_at_least, 0.5, 0.9, "accuracy"),
        _message(checks.assert_at_most, 0.5, 0.25, "held-out MSE"),
        _message(checks.copy_parameters, {"w": torch.zeros(2, 3)}, module),
        _message(checks.copy_parameters, {"w": torch.zeros(2, 4), "b": torch.zeros(2)}, module),
        "an assertion failed", "assert 1 == 2",
    ]
    assert [checks.names_a_mistake(m) for m in named] == [True] * len(named)
    assert [checks.names_a_mistake(m) for m in reports] == [False] * len(reports)


def test_partial_credit_kills_a_mutant_and_its_own_words_can_name_the_mistake():
    from autograder.course.audit.run import judge
    from autograder.grading.results import SubmissionResult, TestResult

    mutant = Mutant("training:6:drop-call:1", "training", 6, "drop-call", "drop optimizer.step()",
                    "optimizer.step()", "pass", 3, "pass")
    measured = TestResult("test_accuracy", 5, 10, "partial", "accuracy is 0.87; at least 0.93 is needed for "
                                                             "full marks: 50% of the points for reaching 0.85")
    result = SubmissionResult("toy", "m.ipynb", [TestResult("test_forward", 2, 2, "passed"), measured])
    judged = judge(mutant, result)
    assert (judged.outcome, judged.killed_by, judged.score, judged.named) == ("killed", ("test_accuracy",), 7, False)
    told = TestResult("test_accuracy", 5, 10, "partial", "half the points: the learning rate is never used")
    assert judge(mutant, SubmissionResult("toy", "m.ipynb", [told])).named
