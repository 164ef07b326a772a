"""Shared fixtures: the project root and notebook variants made from the real reference notebooks."""
from __future__ import annotations

import copy
import json
import struct
from pathlib import Path

import nbformat
import pytest
from hypothesis import settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]

# Generated inputs are the same on every run (a failure in CI reproduces here), with no example
# database left in the checkout and no per-example deadline (grading a notebook takes a while).
settings.register_profile("project", derandomize=True, database=None, deadline=None)
settings.load_profile("project")


def strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def notebook_variant(reference: Path, target: Path, *, replace: dict[str, str] | None = None,
                     prepend: list[str] | None = None) -> Path:
    """A submission made from a reference: cells replaced by grade_id, extra code cells put first."""
    nb = copy.deepcopy(nbformat.read(reference, as_version=4))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_solution_markers(cell.source)
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if replace and grade_id in replace:
                cell.source = replace[grade_id]
    for source in reversed(prepend or []):
        nb.cells.insert(0, nbformat.v4.new_code_cell(source))
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


# ------------------------------------------------------------------ wire messages, as a worker could write them

def framed(body, buffers: list[bytes]) -> bytes:
    """One wire message: its length, a JSON header naming `buffers` by length, then the buffers."""
    header = json.dumps({"body": body, "buffers": [len(b) for b in buffers]}).encode()
    return struct.pack(">I", len(header)) + header + b"".join(buffers)


# JSON trees in the wire's shapes: plain values and tagged objects of every tag, well-formed or not.
json_scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
tags = st.sampled_from(["tuple", "dict", "tensor", "ndarray", "handle", "float", "other"])
json_value = st.recursive(json_scalar | st.builds(lambda tag: {"$": tag}, tags), lambda inner: (
    st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["$", "items", "dtype", "shape", "buffer", "id", "type", "value"]), inner,
                      max_size=5)
    | st.fixed_dictionaries({"$": tags, "dtype": inner | st.sampled_from(["float32", "int64"]),
                             "shape": st.lists(st.integers(-1, 2**64) | inner, max_size=17), "buffer": inner})
), max_leaves=30)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def mlp_reference() -> Path:
    return ROOT / "reference" / "mlp" / "mlp.ipynb"
