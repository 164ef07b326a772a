"""Which assignment a kernel's notebook is, and where its public tests are, seen from inside the kernel.

A kernel does not know its notebook's file for sure. Jupyter (`__session__`, from JPY_SESSION_NAME) and
VS Code (`__vsc_ipynb_file__`) say where it is; otherwise the kernel runs in the notebook's folder (Jupyter
starts it there), whose notebooks say in their metadata which assignment they are. The public tests and
their recorded reference values sit in that folder: the assignment's bundle is where the student works.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.course.bundle import VALUES_FILE
from autograder.errors import NotebookError, UsageError
from autograder.grading.assignments import Assignment
from autograder.grading.notebook import Notebook, assignment_of, read_notebook
from autograder.identifiers import is_assignment_name

NOTEBOOK_HINTS = ("__session__", "__vsc_ipynb_file__")


@dataclass(frozen=True)
class Located:
    assignment: Assignment   # its folder holds the public tests and their reference values
    notebook: Path | None    # the saved notebook this kernel runs, when it can be told
    saved: Notebook | None   # that notebook as saved, else the bundle's stub; None if neither can be read


def locate(namespace: dict[str, Any], cwd: Path) -> Located:
    """The assignment and its public tests for the kernel whose names are `namespace`, running in `cwd`;
    a UsageError saying what is missing, and where, if they cannot be found."""
    notebook = _told_notebook(namespace, cwd)
    folder = notebook.parent if notebook else cwd
    notebooks = [notebook] if notebook else sorted(p for p in cwd.glob("*.ipynb") if p.is_file())
    declared = {path: name for path in notebooks if (name := _declared(path))}
    names = set(declared.values()) or {p.stem.removeprefix("test_") for p in folder.glob("test_*.py")}
    names = {name for name in names if is_assignment_name(name)}
    if not names:
        raise UsageError(f"check() cannot tell which assignment this is: no notebook in {folder} says (in its "
                         "metadata) and no test_<assignment>.py is there. Open your notebook from its assignment's "
                         "folder, the one holding <assignment>.ipynb, test_<assignment>.py and " + VALUES_FILE)
    if len(names) > 1:
        raise UsageError(f"the notebooks in {folder} are for several assignments ({', '.join(sorted(names))}): "
                         "check() cannot tell which one this is. Keep each assignment in its own folder")
    name = names.pop()
    assignment = Assignment(name, folder)
    missing = [path.name for path in (assignment.tests, folder / VALUES_FILE) if not path.is_file()]
    if missing:
        raise UsageError(f"the public tests of {name} are not in {folder}: {' and '.join(missing)} "
                         f"{'is' if len(missing) == 1 else 'are'} missing. They come with the assignment: "
                         "open your notebook in the assignment's folder, or copy them beside it")
    mine = [path for path, declares in declared.items() if declares == name]
    notebook = mine[0] if len(mine) == 1 else notebook
    return Located(assignment, notebook, _readable(notebook) or _readable(assignment.notebook))


def _told_notebook(namespace: dict[str, Any], cwd: Path) -> Path | None:
    """The notebook file Jupyter or VS Code says this kernel runs, if one does and it is there."""
    for told in (*(namespace.get(name) for name in NOTEBOOK_HINTS), os.environ.get("JPY_SESSION_NAME")):
        if isinstance(told, str) and told.endswith(".ipynb") and (cwd / told).is_file():
            return (cwd / told).resolve()
    return None


def _declared(path: Path) -> str | None:
    try:
        return assignment_of(read_notebook(path))
    except NotebookError:
        return None


def _readable(path: Path | None) -> Notebook | None:
    if path is None or not path.is_file():
        return None
    try:
        return read_notebook(path)
    except NotebookError:
        return None

