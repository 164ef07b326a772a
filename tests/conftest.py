"""Shared fixtures: the project root and notebook variants made from the real reference notebooks."""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from hypothesis import settings

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


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def mlp_reference() -> Path:
    return ROOT / "reference" / "mlp" / "mlp.ipynb"
