"""The code a student wrote in a notebook, and its fingerprints, with the stub's own code taken out.

A student's code is every code cell of the submission except those the stub owns (read-only and
demonstration cells, by their nbgrader grade_id: grading runs the stub's version of those anyway).
Cells the student added, split or merged are theirs. Within those cells, a line that is one of the
stub's own lines in its solution cells (a function's `def` line, `raise NotImplementedError()`, a
docstring) is not the student's; and a fingerprint that the stub's code also has is dropped, wherever
the student put that code. So the stub alone, or a notebook the student never filled in, has no
fingerprints at all.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

from autograder.grading.notebook import Notebook, NotebookCell, is_demo
from autograder.course.similarity.tokens import STATEMENT_END, Names, Token, bound_names, defined_names, squeezed, units
from autograder.course.similarity.winnow import K, kgram_hashes, winnow

MAX_CODE_CHARS = 64 * 1024   # of student code in one submission: about 1,600 lines, eight times these assignments' own


@dataclass(frozen=True)
class Cell:
    """A cell of student code as the report shows it."""

    label: str
    source: str


@dataclass(frozen=True)
class Unit:
    """A run of normalised tokens from one cell, fingerprinted on its own."""

    cell: int
    tokens: tuple[Token, ...]

    def hashes(self) -> list[int]:
        return kgram_hashes([t.text for t in self.tokens])

    def span(self, position: int) -> tuple[int, int]:
        """The characters of the cell that the k-gram at `position` covers."""
        return self.tokens[position].start, self.tokens[position + K - 1].end


@dataclass(frozen=True)
class Code:
    """A submission's code: its cells, their units and the fingerprints that count."""

    cells: tuple[Cell, ...]
    units: tuple[Unit, ...]
    fingerprints: frozenset[int]


def _grade_id(cell: NotebookCell) -> str | None:
    section = cell.metadata.get("nbgrader")
    grade_id = section.get("grade_id") if isinstance(section, dict) else None
    return grade_id if isinstance(grade_id, str) else None


def _owned_by_stub(cell: NotebookCell) -> bool:
    section = cell.metadata.get("nbgrader")
    return is_demo(cell) or isinstance(section, dict) and section.get("locked") is True


class Stub:
    """The stub of an assignment, as every submission of it is read against; with the reference solution,
    the k-grams of its code too (`reference_kgrams`)."""

    def __init__(self, stub: Notebook, reference: Notebook | None = None) -> None:
        code = [c for c in stub.cells if c.cell_type == "code"]
        self.owned = {_grade_id(c) for c in code if _grade_id(c) and _owned_by_stub(c)}
        sources = [c.source for c in code]
        self.kept = defined_names(sources)
        self.names = bound_names(sources, self.kept)
        self.lines: set[tuple[str, ...]] = {
            _key(line) for c in code if not _owned_by_stub(c)
            for tokens in units(c.source, self.names) for line in _by_line(tokens, c.source) if _key(line)}
        self.kgrams = _kgrams([units(source, self.names) for source in sources])
        self.reference_kgrams: frozenset[int] = frozenset()
        if reference is not None:
            theirs = [c.source for c in reference.cells if c.cell_type == "code"]
            names = self._names_of(theirs)
            self.reference_kgrams = _kgrams([self._units(source, names) for source in theirs]) - self.kgrams

    def student_cells(self, submission: Notebook) -> list[Cell]:
        return [Cell(f"cell {index}", cell.source) for index, cell in enumerate(submission.cells, start=1)
                if cell.cell_type == "code" and _grade_id(cell) not in self.owned and cell.source.strip()]

    def code_of(self, submission: Notebook) -> Code:
        """The student's code and its fingerprints, the stub's taken out. ValueError if it is too long."""
        cells = self.student_cells(submission)
        size = sum(len(c.source) for c in cells)
        if size > MAX_CODE_CHARS:
            raise ValueError(f"has {size} characters of code, over the limit of {MAX_CODE_CHARS} for comparing")
        names = self._names_of([c.source for c in cells])
        found: list[Unit] = []
        fingerprints: set[int] = set()
        for index, cell in enumerate(cells):
            for tokens in self._units(cell.source, names):
                unit = Unit(index, tuple(tokens))
                found.append(unit)
                hashes = unit.hashes()
                fingerprints.update(hashes[p] for p in winnow(hashes))
        return Code(tuple(cells), tuple(found), frozenset(fingerprints - self.kgrams))

    def _names_of(self, sources: list[str]) -> Names:
        """The names the sources bind, and those the stub binds: both are the student's to rename."""
        names = bound_names(sources, self.kept)
        return Names(names.bound | self.names.bound, names.attributes | self.names.attributes, self.kept)

    def _units(self, source: str, names: Names) -> list[list[Token]]:
        """The cell's units without the stub's own lines."""
        kept = (squeezed([t for line in _by_line(tokens, source) if _key(line) not in self.lines for t in line])
                for tokens in units(source, names))
        return [tokens for tokens in kept if tokens]


def _kgrams(cells: list[list[list[Token]]]) -> frozenset[int]:
    """Every k-gram of the cells' units."""
    return frozenset(h for found in cells for tokens in found for h in kgram_hashes([t.text for t in tokens]))


def _line_starts(source: str) -> list[int]:
    starts, position = [], 0
    for line in source.split("\n"):
        starts.append(position)
        position += len(line) + 1
    return starts


def _by_line(tokens: list[Token], source: str) -> list[list[Token]]:
    """The tokens grouped by the line they start on, in order."""
    starts = _line_starts(source)
    lines: list[list[Token]] = []
    current = -1
    for token in tokens:
        line = bisect.bisect_right(starts, token.start) - 1
        if line != current or not lines:
            lines.append([])
            current = line
        lines[-1].append(token)
    return lines


def _key(line: list[Token]) -> tuple[str, ...]:
    return tuple(t.text for t in line if t.text != STATEMENT_END)


