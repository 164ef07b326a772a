"""Where an assignment's notebook and tests live, and which assignment a submission is for."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.errors import UsageError
from autograder.notebook import Notebook, assignment_of

SOURCES = ("reference", "assignments")  # instructors grade against reference/, students check against the bundle


@dataclass(frozen=True)
class Assignment:
    name: str
    directory: Path

    @property
    def notebook(self) -> Path:
        return self.directory / f"{self.name}.ipynb"

    @property
    def tests(self) -> Path:
        return self.directory / f"test_{self.name}.py"


def available(root: Path, sources: tuple[str, ...] = SOURCES) -> list[str]:
    return sorted({p.parent.name for source in sources for p in (root / source).glob("*/test_*.py")
                   if p.name == f"test_{p.parent.name}.py"})


def find_assignment(name: str, root: Path, sources: tuple[str, ...] = SOURCES) -> Assignment:
    for source in sources:
        assignment = Assignment(name, root / source / name)
        if assignment.tests.is_file() and assignment.notebook.is_file():
            return assignment
    known = ", ".join(available(root, sources)) or "none"
    raise UsageError(f"unknown assignment {name!r} under {root} (known: {known})")


def find_bundle(notebook: Path, name: str, root: Path) -> Assignment:
    """The student bundle for a self-check: the notebook's own folder if it is one, else root/assignments."""
    beside = Assignment(name, notebook.resolve().parent)
    if beside.tests.is_file() and beside.notebook.is_file():
        return beside
    return find_assignment(name, root, ("assignments",))


def infer_assignment(nb: Notebook | None, path: Path, root: Path) -> str:
    """The assignment from the notebook's metadata, else from a file name like `mlp.ipynb`."""
    declared = assignment_of(nb) if nb is not None else None
    if declared:
        return declared
    if path.stem in available(root):
        return path.stem
    raise UsageError(f"{path}: cannot tell which assignment this notebook is for; pass --assignment")
