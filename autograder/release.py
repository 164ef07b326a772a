"""Making the student bundle from the reference notebooks, with nbgrader's own preprocessors."""
from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.assignments import Assignment


def make_stub(reference: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The reference with every solution region replaced by `raise NotImplementedError()`."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions, LockCells

    nb = nbformat.from_dict(reference)
    for preprocessor in (ClearSolutions(enforce_metadata=True), ClearHiddenTests(), ClearOutput(), LockCells()):
        nb, _ = preprocessor.preprocess(nb, {})
    return nb


def release_assignment(assignment: Assignment, out: Path) -> Path:
    """Write the stub of one assignment to out/<name>/<name>.ipynb; returns its path."""
    stub = make_stub(nbformat.read(assignment.notebook, as_version=4))
    target = out / assignment.name / assignment.notebook.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(stub, target)
    return target
