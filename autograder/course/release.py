"""Making the student bundle from the reference notebooks, with nbgrader's own preprocessors.

A release is made in two steps: `prepare_release` validates the assignment (validate.py) and builds the
bundle in memory; `write_bundle` writes it to a folder beside the old one and swaps them, so a refused
or failed release leaves nothing half-written.
"""
from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from autograder.course.bundle import VALUES_FILE, public_tests_source, write_values
from autograder.course.validate import check_data, check_public_tests, check_reference
from autograder.grading import data
from autograder.grading.assignments import Assignment


@dataclass(frozen=True)
class Bundle:
    """What a student receives for one assignment."""

    assignment: Assignment
    stub: nbformat.NotebookNode
    tests: str                      # the public tests' source
    values: dict[str, Any]          # the reference values they replay, by call key
    data: tuple[Path, ...]          # the public data files


def make_stub(reference: nbformat.NotebookNode, files: data.DataFiles) -> nbformat.NotebookNode:
    """The reference with every solution region replaced by `raise NotImplementedError()`, declaring
    only the public data files."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions, LockCells

    nb = nbformat.from_dict(reference)
    for preprocessor in (ClearSolutions(enforce_metadata=True), ClearHiddenTests(), ClearOutput(), LockCells()):
        nb, _ = preprocessor.preprocess(nb, {})
    if files.hidden:
        nb.metadata["autograder"]["data"] = {"public": list(files.public)}
    return nb


def prepare_release(assignment: Assignment) -> Bundle:
    """The assignment validated (a UsageError lists what is wrong) and its bundle built, nothing written."""
    files = check_data(assignment)
    check_reference(assignment)
    values = check_public_tests(assignment)
    stub = make_stub(nbformat.read(assignment.notebook, as_version=4), files)
    tests = public_tests_source(assignment.tests.read_text(encoding="utf-8"), assignment.tests)
    return Bundle(assignment, stub, tests, values, files.public_files())


def write_bundle(bundle: Bundle, out: Path) -> Path:
    """Write the bundle to out/<name>/, replacing what was there only once all of it is written."""
    name, token = bundle.assignment.name, secrets.token_hex(4)
    staging, old, folder = out / f".{name}-new-{token}", out / f".{name}-old-{token}", out / name
    out.mkdir(parents=True, exist_ok=True)
    staging.mkdir()
    try:
        nbformat.write(bundle.stub, staging / bundle.assignment.notebook.name)
        (staging / bundle.assignment.tests.name).write_text(bundle.tests, encoding="utf-8")
        write_values(bundle.values, staging / VALUES_FILE)
        if bundle.data:
            (staging / data.FOLDER).mkdir()
            for source in bundle.data:
                shutil.copyfile(source, staging / data.FOLDER / source.name)
    except BaseException:
        shutil.rmtree(staging)
        raise
    if folder.exists():
        folder.replace(old)
    staging.replace(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder
