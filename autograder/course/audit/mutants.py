"""Mutants of a reference notebook: one change in one solution region each, with an id that stays the
same from run to run (`<cell grade_id>:<line>:<operator>:<n>`), written as a notebook to be graded."""
from __future__ import annotations

import copy
import fnmatch
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.course.audit.cells import CellSource
from autograder.course.audit.operators import OPERATORS
from autograder.errors import UsageError
from autograder.identifiers import shown
from autograder.grading.notebook import neutralise_magics, read_notebook


@dataclass(frozen=True)
class Mutant:
    id: str
    cell: str           # the cell's nbgrader grade_id
    line: int           # in the cell, 1-based, marker lines counted: the line number Jupyter shows
    operator: str
    description: str
    original: str       # the cell's lines the change touches, as the author wrote them
    mutated: str        # those lines in the mutant
    index: int          # the cell's position in the notebook
    source: str         # the whole mutated cell

    @property
    def lines(self) -> range:
        """The lines of the mutated cell that hold the change."""
        return range(self.line, self.line + max(1, self.mutated.count("\n") + 1))


def _compiles(text: str) -> bool:
    try:
        compile(neutralise_magics(text), "<mutant>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def cell_mutants(index: int, grade_id: str, text: str) -> list[Mutant]:
    """Every mutant of one cell that compiles and differs from it, in text order; of two operators
    that make the same mutant only the first (in OPERATORS) is kept."""
    try:
        cell = CellSource(text)
    except SyntaxError:
        return []  # the reference itself cannot run: its grading says so
    seen, found = {text}, []
    for operator, propose in OPERATORS.items():
        for change in propose(cell):
            mutated = text[:change.start] + change.text + text[change.end:]
            if mutated not in seen and _compiles(mutated):
                seen.add(mutated)
                found.append((operator, change, mutated))
    found.sort(key=lambda item: item[1].start)  # stable: on one spot, operators keep their order
    numbers: Counter[tuple[int, str]] = Counter()
    mutants = []
    for operator, change, mutated in found:
        first, last = cell.line_of(change.start), cell.line_of(change.end)
        grown = change.text.count("\n") - text[change.start:change.end].count("\n")
        numbers[first, operator] += 1
        mutants.append(Mutant(
            id=f"{grade_id}:{first}:{operator}:{numbers[first, operator]}", cell=grade_id, line=first,
            operator=operator, description=change.description, original="\n".join(cell.lines[first - 1:last]),
            mutated="\n".join(mutated.split("\n")[first - 1:last + grown]), index=index, source=mutated))
    return mutants


def mutants_of(notebook: Path) -> list[Mutant]:
    """The mutants of every solution cell (nbgrader `solution: true`, with a grade_id), in notebook order."""
    nb = read_notebook(notebook)
    mutants: list[Mutant] = []
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        nbgrader = cell.metadata.get("nbgrader")
        if cell.cell_type != "code" or not isinstance(nbgrader, dict) or nbgrader.get("solution") is not True:
            continue
        grade_id = nbgrader.get("grade_id")
        if not isinstance(grade_id, str) or not grade_id:
            continue
        if grade_id in seen:
            raise UsageError(f"{notebook}: two solution cells have the grade_id {shown(grade_id)}")
        seen.add(grade_id)
        mutants += cell_mutants(index, grade_id, cell.source)
    return mutants


def select(mutants: list[Mutant], pattern: str | None) -> list[Mutant]:
    """The mutants whose id matches the glob `pattern` (all of them without one); none is a UsageError."""
    if pattern is None:
        return mutants
    chosen = [m for m in mutants if fnmatch.fnmatchcase(m.id, pattern)]
    if not chosen:
        raise UsageError(f"no mutant id matches {shown(pattern)} (grade audit ASSIGNMENT --list shows them)")
    return chosen


def mutant_notebook(reference: dict[str, Any], mutant: Mutant) -> dict[str, Any]:
    """The reference notebook (as read from JSON) with the mutant's cell in place of its own."""
    nb = copy.copy(reference)
    nb["cells"] = list(reference["cells"])
    nb["cells"][mutant.index] = {**reference["cells"][mutant.index], "source": mutant.source}
    return nb


def write_mutants(notebook: Path, mutants: list[Mutant], folder: Path) -> list[Path]:
    """One notebook per mutant in `folder`, in the order given."""
    reference = json.loads(notebook.read_text(encoding="utf-8"))
    paths = []
    for number, mutant in enumerate(mutants, start=1):
        path = folder / f"mutant-{number:05d}.ipynb"
        path.write_text(json.dumps(mutant_notebook(reference, mutant)), encoding="utf-8")
        paths.append(path)
    return paths
