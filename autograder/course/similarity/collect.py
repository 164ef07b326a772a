"""The submissions of one assignment to compare: found in a class folder as `grade batch` finds them, read
as grading reads them, and each turned into the code its student wrote.

Which assignment a notebook is for comes from its metadata, else from nbgrader's layout (the folder it
is in) or its file name. A notebook that cannot be read, or is for another assignment, is not compared
and is listed with the reason, so nobody drops out of the report unseen.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from autograder.grading.assignments import assignments_in, choose
from autograder.course.classlist import find_submissions, student_in
from autograder.errors import NotebookError, UsageError
from autograder.identifiers import shown
from autograder.grading.notebook import Notebook, assignment_of, read_submission
from autograder.reports.text import NBGRADER_STEPS
from autograder.course.similarity.code import Code
from autograder.course.similarity.parallel import codes, make_stub


@dataclass(frozen=True)
class Submission:
    """A submission that is compared. `known` ones (earlier years, known solutions) are compared with
    the class only, never with each other."""

    student: str
    label: str     # its path as given on the command line, for people to find it
    known: bool
    code: Code


@dataclass(frozen=True)
class Left:
    """A notebook that is not compared, and why."""

    label: str
    status: str    # "unreadable" or "other assignment"
    reason: str


@dataclass(frozen=True)
class Collection:
    assignment: str
    submissions: list[Submission]
    left: list[Left]
    stub_kgrams: frozenset[int]        # the stub's own code, which never counts as a match
    reference_kgrams: frozenset[int]   # the reference solution's, which counts only against known submissions


@dataclass(frozen=True)
class _Found:
    path: Path
    student: str
    known: bool
    assignment: str | None   # what it says it is for, if anything
    error: str = ""          # why it cannot be read


def collect(folder: Path, known_folders: list[Path], assignment: str | None, root: Path) -> Collection:
    """The class's submissions of one assignment, and those of `known_folders`, ready to compare.

    The assignment is `assignment`, else the one the class's notebooks are for; several, or none that
    tells, is a UsageError, as is a class folder with no notebook or an assignment with no stub.
    """
    stubs = assignments_in(root / "assignments")
    names = set(stubs)
    found = _found(folder, False, names)
    if not found:
        raise UsageError(f"no notebooks found in {folder}")
    for known in known_folders:
        found += _found(known, True, names)
    if assignment:
        chosen = choose(assignment, stubs)
    else:
        chosen = choose(_the_assignment(folder, [f for f in found if not f.known], sorted(stubs)), stubs)
    reference = root / "reference" / chosen.name / chosen.notebook.name
    reference_path = reference if reference.is_file() else None
    left = [Left(str(item.path), "unreadable", item.error) for item in found if item.error]
    left += [Left(str(item.path), "other assignment", f"is a notebook for assignment {shown(item.assignment)}")
             for item in found if not item.error and item.assignment not in (None, chosen.name)]
    wanted = [item for item in found if not item.error and item.assignment in (None, chosen.name)]
    stub = make_stub(chosen.notebook, reference_path)
    submissions = []
    for item, code in zip(wanted, codes([i.path for i in wanted], stub, (chosen.notebook, reference_path))):
        if isinstance(code, str):   # changed since it was first read, or too long to compare
            left.append(Left(str(item.path), "unreadable", code))
        else:
            submissions.append(Submission(item.student, str(item.path), item.known, code))
    left.sort(key=lambda item: item.label)
    return Collection(chosen.name, submissions, left, stub.kgrams, stub.reference_kgrams)


def _found(folder: Path, known: bool, names: set[str]) -> list[_Found]:
    groups = {*NBGRADER_STEPS, *names}
    found = []
    for path in find_submissions(folder):
        relative = path.relative_to(folder)
        student = relative.as_posix() if known else student_in(relative, groups)
        try:
            nb = read_submission(path)
        except NotebookError as exc:
            found.append(_Found(path, student, known, None, exc.reason))
            continue
        found.append(_Found(path, student, known, _declared(nb, path, names)))
    return found


def _declared(nb: Notebook, path: Path, names: set[str]) -> str | None:
    """The assignment the notebook says it is for: its metadata, else nbgrader's folder, else its name."""
    declared = assignment_of(nb)
    if declared:
        return declared
    for hint in (path.parent.name, path.stem):
        if hint in names:
            return hint
    return None


def _the_assignment(folder: Path, found: list[_Found], known: list[str]) -> str:
    counts = Counter(f.assignment for f in found if f.assignment in known)
    if len(counts) == 1:
        return next(iter(counts))
    if not counts:
        raise UsageError(f"cannot tell which assignment the notebooks in {folder} are for "
                         f"(known: {', '.join(known) or 'none'}); pass --assignment")
    listed = ", ".join(f"{name} ({n})" for name, n in sorted(counts.items()))
    raise UsageError(f"{folder} holds notebooks of several assignments: {listed}; pass --assignment")
