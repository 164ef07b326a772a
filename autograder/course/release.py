"""Making the student bundle from the reference notebooks, with nbgrader's own preprocessors."""
from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.grading.assignments import Assignment
from autograder.course.bundle import VALUES_FILE, public_tests_source, write_values
from autograder.errors import UsageError
from autograder.grading.grade import grade


def make_stub(reference: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The reference with every solution region replaced by `raise NotImplementedError()`."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions, LockCells

    nb = nbformat.from_dict(reference)
    for preprocessor in (ClearSolutions(enforce_metadata=True), ClearHiddenTests(), ClearOutput(), LockCells()):
        nb, _ = preprocessor.preprocess(nb, {})
    return nb


def release_assignment(assignment: Assignment, out: Path) -> Path:
    """Write one assignment's bundle to out/<name>/: the stub, the public tests and their reference values.

    The public tests are run against the reference notebook first; they must all pass, and every
    reference call they make is recorded for replay in the bundle.
    """
    record: dict = {}
    result = grade(assignment.notebook, assignment, public_only=True, record=record)
    failing = [f"{t.name}: {t.message.splitlines()[0] if t.message else t.status}"
               for t in result.tests if t.status != "passed"]
    if failing:
        raise UsageError(f"public tests of {assignment.name} fail on the reference notebook:\n" + "\n".join(failing))
    folder = out / assignment.name
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(make_stub(nbformat.read(assignment.notebook, as_version=4)), folder / assignment.notebook.name)
    (folder / assignment.tests.name).write_text(
        public_tests_source(assignment.tests.read_text(encoding="utf-8"), assignment.tests), encoding="utf-8")
    write_values(record, folder / VALUES_FILE)
    return folder
