"""Where an assignment's notebook and tests live, and which assignment a submission is for.

An assignment is a folder `<source>/<name>/` holding `<name>.ipynb` and `test_<name>.py`; its tests are
imported and run in the grading process. So a name only ever selects one of the folders found here:
a name a submission declares (or a command line asks for) that is not one of them is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.errors import NotebookError, UsageError
from autograder.identifiers import is_assignment_name, known_assignment, shown
from autograder.grading.notebook import Notebook, assignment_of

SOURCES = ("reference", "assignments")  # instructors grade against reference/, students check against the bundle


@dataclass(frozen=True)
class Assignment:
    name: str
    directory: Path

    def __post_init__(self) -> None:
        if not is_assignment_name(self.name):
            raise UsageError(f"{shown(self.name)} is not an assignment name "
                             "(lower-case letters, digits and _, starting with a letter)")

    @property
    def notebook(self) -> Path:
        return self.directory / f"{self.name}.ipynb"

    @property
    def tests(self) -> Path:
        return self.directory / f"test_{self.name}.py"

    @property
    def complete(self) -> bool:
        return self.tests.is_file() and self.notebook.is_file()


def assignments_in(folder: Path) -> dict[str, Assignment]:
    """The assignments whose folders are in `folder`, by name."""
    if not folder.is_dir():
        return {}
    found = (Assignment(d.name, d) for d in sorted(folder.iterdir()) if is_assignment_name(d.name))
    return {a.name: a for a in found if a.complete}


def assignments(root: Path, sources: tuple[str, ...] = SOURCES) -> dict[str, Assignment]:
    """Every assignment under root, by name; where two sources have one, the first source's."""
    found: dict[str, Assignment] = {}
    for source in reversed(sources):
        found.update(assignments_in(root / source))
    return found


def available(root: Path, sources: tuple[str, ...] = SOURCES) -> list[str]:
    return sorted(assignments(root, sources))


def choose(name: object, found: dict[str, Assignment]) -> Assignment:
    """found[name], or a UsageError naming the known assignments: a bad name selects nothing."""
    if known_assignment(name, found) is None:
        raise UsageError(f"unknown assignment {shown(name)} (known: {', '.join(sorted(found)) or 'none'})")
    return found[name]


def find_assignment(name: str, root: Path, sources: tuple[str, ...] = SOURCES) -> Assignment:
    """The assignment called `name` under root; a UsageError naming the known ones if there is none."""
    return choose(name, assignments(root, sources))


def bundles(notebook: Path, root: Path) -> dict[str, Assignment]:
    """The student bundles a self-check can use, by name: the notebook's own folder if it is one
    (it wins), and those in root/assignments."""
    folder = notebook.resolve().parent
    names = (p.stem.removeprefix("test_") for p in sorted(folder.glob("test_*.py")))
    beside = (Assignment(name, folder) for name in names if is_assignment_name(name))
    return {**assignments_in(root / "assignments"), **{a.name: a for a in beside if a.complete}}


def infer_assignment(nb: Notebook | None, path: Path, known: list[str]) -> str:
    """The assignment from the notebook's metadata, else from a file name like `mlp.ipynb`.

    A declared assignment that is not one of `known` makes the submission ungradable (NotebookError);
    a notebook that says nothing and has no such name is a UsageError: only --assignment can tell.
    """
    declared = assignment_of(nb) if nb is not None else None
    if declared:
        if known_assignment(declared, known) is None:
            raise NotebookError(path, f"declares assignment {shown(declared)}, which is not one of the known "
                                      f"assignments ({', '.join(known) or 'none'})")
        return declared
    if path.stem in known:
        return path.stem
    raise UsageError(f"{path}: cannot tell which assignment this notebook is for; pass --assignment")
