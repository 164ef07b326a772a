"""Fuzzing the grading path with Hypothesis: hostile notebook files, and hostile answers written to the
protocol pipe by a submission, graded for real through `grade` (Click's runner in this process, real
workers).

Nothing here expects a particular verdict. What must hold for every input: the command ends with exit code
0, 1 or 3 as documented (never 2, the usage error, for a bad file; never an uncaught exception or a
traceback); every report asked for is written and parses; a submission that could not be read scores 0
with a reason; every test that did not pass scores 0 with a message; nothing is written outside the report
folder and the temporary folder the grader was given, nothing is imported from the submission's folder,
and no run hangs.

Notebook files are mutations of the real MLP notebooks (the stub, the reference and the example
submissions): keys of the notebook, of its metadata, of the assignment it declares, of its kernelspec, of
its cells and of their nbgrader metadata given values of the wrong type, huge, null, lists or nested
objects, or removed; cells duplicated, dropped, reordered, far too many, their ids duplicated or removed;
numbers and nesting JSON allows but Python cannot read; and raw bytes that are not JSON or not UTF-8. Most
mutations make the notebook unreadable, which costs no worker; those that leave it readable are graded.
"""
from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from autograder.bounds import MAX_CELLS
from autograder.grading.results import STATUSES

from .conftest import (
    ATTACKED_CELL, FIND_ANSWER_PIPE, PYTHON_INTERNALS, REFERENCE, ROOT, STUB, cell_source, check_reports, framed,
    invoke, json_value, loaded_from, no_traceback, notebook_variant, private_tempdir, report_args, writes_only_to,
)

FUZZ = settings(settings.get_profile("project"), max_examples=40,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# Each example grades the reference for real: a few, and a failure is reported as found, not shrunk.
WIRE = settings(FUZZ, max_examples=8, phases=[Phase.explicit, Phase.reuse, Phase.generate])
ERROR_REASON = 400   # why a notebook is unreadable, besides its path: values quoted in it are cut short

# ------------------------------------------------------------------------------- hostile notebooks

SAMPLES = [json.loads(path.read_text(encoding="utf-8"))
           for path in (STUB, REFERENCE, *sorted((ROOT / "examples" / "submissions" / "mlp").glob("*.ipynb")))]
STUB_BYTES = STUB.read_bytes()
GRADE_IDS = [cell["metadata"]["nbgrader"]["grade_id"] for cell in SAMPLES[0]["cells"] if "nbgrader" in cell["metadata"]]

# JSON json.dumps does not write: a number too long for Python to read, nesting too deep for it, a number
# that reads as infinity, a key twice. Generated values hold a marker, replaced by the fragment once dumped.
RAW_JSON = ["9" * 5000, "[" * 50_000 + "]" * 50_000, "1e999", '{"a": 1, "a": [2]}']
raw_json = st.sampled_from(range(len(RAW_JSON))).map(lambda i: f"\x00raw{i}\x00")
scalars = (st.none() | st.booleans() | st.integers() | st.sampled_from([2**63, -2**63 - 1, 10**300, 10**4000])
           | st.floats() | st.text(max_size=30) | st.sampled_from(["", "\ud800", "\x00", "x" * 10_000]) | raw_json)
hostile = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)

# Values near the right ones, by key: the right type, wrong ones, and the names the grader looks for.
FLAGS = [True, False, "true", 1, None, [True]]
NEAR: dict[str, list] = {
    "nbformat": [4, 3, 5, "4", 4.0, True, None, [4]],
    "nbformat_minor": [5, 0, -1, "5", None, 4.5],
    "cell_type": ["code", "markdown", "raw", "Code", "heading", "", None, ["code"]],
    "source": ["", "x = 1\n", ["x = 1\n", "y = 2\n"], ["x = 1\n", 2], [None], 7, None, {"text": "x"},
               "print('\ud800\x1b[2J')\n%magic \ud800\n", "\ud800 = 1"],
    "metadata": [{}, None, [], "metadata"],
    "assignment": ["mlp", "cnn", "", "MLP", "../mlp", "mlp\x00", None, 1, ["mlp"], {"name": "mlp"}],
    "grade_id": [*GRADE_IDS, "", None, 1, ["setup"], {"id": "setup"}],
    "locked": FLAGS, "solution": FLAGS, "grade": FLAGS, "deletable": FLAGS, "editable": FLAGS,
    "points": [0, 5, -1, 1e308, "5", None, 10**30, [5]],
    "tags": [["demo"], "demo", ["demo", 1], [], None, [["demo"]], {"demo": True}],
    "id": ["mlp-01", "", None, 1, "x" * 1000],
    "outputs": [[], None, "text", [{"output_type": "error", "ename": "E" * 1000, "evalue": None, "traceback": [1]}],
                [{"output_type": "stream", "name": "stdout", "text": 5}]],
    "execution_count": [None, 1, -1, "1", 10**30],
}


def value_for(key: object) -> st.SearchStrategy:
    return st.sampled_from(NEAR[key]) | hostile if key in NEAR else hostile


CELL = -1   # in a location: the cell chosen for this mutation
LOCATIONS = {
    "notebook": (), "metadata": ("metadata",), "declaration": ("metadata", "autograder"),
    "kernelspec": ("metadata", "kernelspec"), "cell": ("cells", CELL), "cell metadata": ("cells", CELL, "metadata"),
    "nbgrader": ("cells", CELL, "metadata", "nbgrader"),
}
KEYS = {
    "notebook": ["cells", "metadata", "nbformat", "nbformat_minor", "worksheets"],
    "metadata": ["autograder", "kernelspec", "language_info", "nbgrader"],
    "declaration": ["assignment"],
    "kernelspec": ["name", "display_name", "language"],
    "cell": ["cell_type", "source", "metadata", "outputs", "execution_count", "id", "attachments"],
    "cell metadata": ["nbgrader", "tags", "deletable", "editable"],
    "nbgrader": ["grade_id", "locked", "solution", "grade", "points", "schema_version"],
}


def locate(root: dict, path: tuple, index: int) -> tuple[object, object] | None:
    """(container, key) of the value at `path` under root["notebook"], or None where an earlier mutation
    left something else on the way."""
    parent, key = root, "notebook"
    for step in path:
        node = parent[key]
        if step == CELL:
            if not isinstance(node, list) or not node:
                return None
            step = index % len(node)
        elif not isinstance(node, dict) or step not in node:
            return None
        parent, key = node, step
    return parent, key


def _cells(nb: object) -> list | None:
    return nb["cells"] if isinstance(nb, dict) and isinstance(nb.get("cells"), list) and nb["cells"] else None


def duplicate(cells: list, i: int) -> None:
    cells.insert(i, copy.deepcopy(cells[i]))


def drop(cells: list, i: int) -> None:
    del cells[i]


def reverse(cells: list, i: int) -> None:
    cells.reverse()


def same_ids(cells: list, i: int) -> None:
    for cell in cells:
        if isinstance(cell, dict):
            cell["id"] = "same"


def no_ids(cells: list, i: int) -> None:
    for cell in cells:
        if isinstance(cell, dict):
            cell.pop("id", None)


def too_many(cells: list, i: int) -> None:
    cells[:] = [cells[i]] * (MAX_CELLS + 1)


def no_cells(cells: list, i: int) -> None:
    cells.clear()


CELL_OPERATIONS = [duplicate, drop, reverse, same_ids, no_ids, too_many, no_cells]


def dumped(nb: object) -> bytes:
    text = json.dumps(nb, indent=1)
    for i, fragment in enumerate(RAW_JSON):
        text = text.replace(json.dumps(f"\x00raw{i}\x00"), fragment)
    return text.encode()


@st.composite
def mutated_notebooks(draw) -> bytes:
    """A real MLP notebook with one to three keys retyped, removed or replaced, or its cells rearranged."""
    root = {"notebook": copy.deepcopy(draw(st.sampled_from(SAMPLES)))}
    for _ in range(draw(st.integers(1, 3))):
        operation = draw(st.sampled_from(["set", "set", "remove", "replace", "cells"]))
        index = draw(st.integers(0, 40))
        if operation == "cells":
            cells = _cells(root["notebook"])
            if cells is not None:
                draw(st.sampled_from(CELL_OPERATIONS))(cells, index % len(cells))
            continue
        where = draw(st.sampled_from(sorted(LOCATIONS)))
        found = locate(root, LOCATIONS[where], index)
        if found is None:
            continue
        parent, key = found
        if operation == "replace":
            parent[key] = draw(value_for(key))
            continue
        node = parent[key]
        if isinstance(node, dict):
            name = draw(st.sampled_from(KEYS[where]) | st.text(max_size=8))
            if operation == "remove":
                node.pop(name, None)
            else:
                node[name] = draw(value_for(name))
    return dumped(root["notebook"])


def _splice(at_and_bytes: tuple[int, bytes]) -> bytes:
    at, inserted = at_and_bytes
    return STUB_BYTES[:at] + inserted + STUB_BYTES[at:]


raw_files = st.one_of(
    st.binary(max_size=300),
    st.integers(0, len(STUB_BYTES)).map(lambda n: STUB_BYTES[:n]),                       # cut short
    st.tuples(st.integers(0, len(STUB_BYTES)), st.binary(min_size=1, max_size=8)).map(_splice),
    st.sampled_from([
        b"", b"\x00" * 64, b"null", b"[]", b"4", b'"notebook"', b'{"nbformat": 4}', b'{"nbformat": 4, "cells": {}}',
        b"\xef\xbb\xbf" + STUB_BYTES,                                                    # a byte-order mark
        STUB_BYTES.decode("utf-8").encode("utf-16"),
        STUB_BYTES.decode("utf-8").encode("latin-1", "replace"),                        # not UTF-8
    ]),
)
notebook_files = mutated_notebooks() | raw_files


def rows_of(data: dict) -> list[dict]:
    return data["submissions"] if "submissions" in data else [data]


def check_rows(rows: list[dict], exit_code: int, fail_under: float | None = None) -> None:
    """What holds for every row of a JSON report, and the exit code the rows call for."""
    for row in rows:
        assert row["status"] in ("graded", "unreadable"), row["status"]
        for test in row["tests"]:
            assert test["status"] in STATUSES, test
            if test["status"] == "partial":
                assert 0 < test["score"] < test["max_score"], test
            else:
                assert test["score"] == (test["max_score"] if test["status"] == "passed" else 0), test
            assert test["status"] == "passed" or test["message"].strip(), f"no message for {test['name']}"
        assert row["score"] == sum(t["score"] for t in row["tests"]) and 0 <= row["score"] <= row["max_score"]
        if row["status"] == "unreadable":
            assert row["score"] == 0 and row["error"].strip(), row
            assert not PYTHON_INTERNALS.search(row["error"]), row["error"]
            assert len(row["error"]) <= len(row["submission"]) + ERROR_REASON, row["error"][:1000]
    unreadable = any(row["status"] == "unreadable" for row in rows)
    under = fail_under is not None and any(row["score"] < fail_under for row in rows)
    assert exit_code == (3 if unreadable else 1 if under else 0), (exit_code, [r["status"] for r in rows])


def graded_by_cli(tmp_path: Path, command: str, write, *extra: object) -> tuple[object, list[dict]]:
    """`grade run` or `grade batch` on one notebook named mlp.ipynb (so one it cannot read is still an MLP
    submission), every report the command writes asked for, the grader's temporary files in a folder of its
    own; checks what holds whatever the notebook was, and returns the run and the rows of its JSON report."""
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    classroom, out, scratch = base / "class", base / "reports", base / "tmp"
    classroom.mkdir()
    write(classroom / "mlp.ipynb")
    with private_tempdir(scratch), writes_only_to(out, scratch, watched=(base,)):
        if command == "run":
            run = invoke("run", classroom / "mlp.ipynb", "--root", ROOT, "--json", out / "run.json",
                         "--gradescope", out / "results.json", *extra)
        else:
            run = invoke("batch", classroom, "--root", ROOT, "-j", "1", *report_args(out), *extra)
    no_traceback(run)
    assert run.exit_code in (0, 1, 3), run.output[-2000:]
    if command == "run":
        assert {p.name for p in out.iterdir()} == {"run.json", "results.json"}
        data = json.loads((out / "run.json").read_text())
        json.loads((out / "results.json").read_text())
    else:
        check_reports(out, 1)
        data = json.loads((out / "all.json").read_text())
    left = [p.name for p in scratch.iterdir() if not p.name.startswith("grade-zygote-")]
    assert not left, f"the grader left temporary files behind: {left}"
    assert loaded_from(base) == []
    return run, rows_of(data)


@FUZZ
@given(notebook_files, st.sampled_from(["run", "batch"]))
@example(b'{"nbformat": 1' + b"0" * 4000 + b', "cells": []}', "run")   # the whole number was quoted in the error
def test_any_notebook_file_is_graded_or_reported_in_every_report(tmp_path, data, command):
    run, rows = graded_by_cli(tmp_path, command, lambda path: path.write_bytes(data))
    assert len(rows) == 1
    check_rows(rows, run.exit_code)


# ----------------------------------------------------------------------- hostile answers on the wire

# Appended to the softmax cell of the reference (nothing else calls softmax): when test_softmax calls it,
# the worker writes the forged bytes to its answer pipe, then either answers for real (what was forged is
# read first; if it was a well-formed answer, every answer after it comes one late, which costs the
# submission only its own tests) or ends (the grader reads what was forged, then the end of the pipe).
# Either way the grader never waits for bytes that do not come: forged frames are complete, raw bytes end.
FORGE = '''
_correct = softmax


def softmax(logits):
    os.write(answer_pipe(), {forged!r})
    {then}
'''
THEN = {"answer": "return _correct(logits)", "exit": "os._exit(0)"}

wire_text = st.text(max_size=30) | st.sampled_from(["NotImplementedError", "AssertionError", "x" * 5000])
answers = json_value.map(lambda value: framed({"$": "dict", "items": [["ok", True], ["value", value]]}, []))
errors = st.tuples(wire_text, wire_text, wire_text).map(lambda e: framed({"$": "dict", "items": [
    ["ok", False], ["error", {"$": "dict", "items": [["type", e[0]], ["message", e[1]], ["traceback", e[2]]]}]]}, []))
any_frames = st.builds(framed, json_value, st.lists(st.binary(max_size=64), max_size=3))
forgeries = (st.tuples(st.lists(answers | errors | any_frames, min_size=1, max_size=3).map(b"".join),
                       st.sampled_from(sorted(THEN)))
             | st.tuples(st.binary(max_size=300), st.just("exit")))


@WIRE
@given(forgeries)
@example((b"\x00\x00\x01\x00{", "exit"))                # the pipe ends in the middle of a header
def test_whatever_a_worker_forges_on_its_answer_pipe_the_test_it_answers_scores_nothing(tmp_path, forgery):
    forged, then = forgery
    attack = cell_source(ATTACKED_CELL) + FIND_ANSWER_PIPE + FORGE.format(forged=forged, then=THEN[then])

    def write(path: Path) -> None:
        notebook_variant(REFERENCE, path, replace={ATTACKED_CELL: attack})

    run, rows = graded_by_cli(tmp_path, "run", write, "--fail-under", 100)
    check_rows(rows, run.exit_code, fail_under=100)
    (row,) = rows
    assert row["status"] == "graded" and row["max_score"] == 100
    softmax = next(t for t in row["tests"] if t["name"] == "test_softmax")
    assert softmax["score"] == 0 and softmax["message"].strip(), softmax
