"""A solution cell as the mutation operators see it: its solution regions, its syntax tree, and the text
span of every node, so that a mutation replaces only the characters it changes and the rest of the cell
stays byte for byte as the author wrote it."""
from __future__ import annotations

import ast
import bisect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from autograder.grading.notebook import neutralise_magics

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class Region:
    """Lines `first`..`last` of a cell (1-based, inclusive): those strictly between a pair of markers."""

    first: int
    last: int

    def holds(self, first: int, last: int) -> bool:
        return self.first <= first and last <= self.last


def solution_regions(text: str) -> list[Region]:
    """The regions between `### BEGIN SOLUTION` and `### END SOLUTION` lines; an unclosed one is none."""
    regions, begin = [], None
    for number, line in enumerate(text.split("\n"), start=1):
        marker = line.strip()
        if marker == BEGIN:
            begin = number
        elif marker == END and begin is not None:
            if number > begin + 1:
                regions.append(Region(begin + 1, number - 1))
            begin = None
    return regions


class CellSource:
    """One cell's text, parsed (SyntaxError if it cannot be). The markers are comments, so the cell parses
    as written and line numbers are the notebook's. IPython lines are rewritten line for line before
    parsing; a node on a rewritten line is never mutated, as its columns would not be the cell's."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.regions = solution_regions(text)
        parsed = neutralise_magics(text)
        self.tree = ast.parse(parsed)
        parsed_lines = parsed.split("\n")
        if len(parsed_lines) == len(self.lines):
            self._rewritten = {n for n, (a, b) in enumerate(zip(self.lines, parsed_lines), start=1) if a != b}
        else:  # a cell magic: the whole cell became one call
            self._rewritten = set(range(1, len(self.lines) + 1))
        self._starts = list(itertools.accumulate((len(line) + 1 for line in self.lines), initial=0))

    def line_start(self, line: int) -> int:
        return self._starts[line - 1]

    def line_of(self, offset: int) -> int:
        """The 1-based line a character offset falls on."""
        return bisect.bisect_right(self._starts, offset)

    def offset(self, line: int, column: int) -> int:
        """The character offset of an ast position: a 1-based line and a column in UTF-8 bytes."""
        prefix = self.lines[line - 1].encode("utf-8")[:column]
        return self._starts[line - 1] + len(prefix.decode("utf-8"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def mutable(self, node: ast.AST) -> bool:
        """Whether all of `node` lies inside one solution region, on lines parsed as written."""
        first, last = node.lineno, node.end_lineno
        return (any(region.holds(first, last) for region in self.regions)
                and not any(line in self._rewritten for line in range(first, last + 1)))

    def nodes(self, *kinds: type) -> Iterator:
        """The mutable nodes of these kinds, in the order they start in the text (outer before inner)."""
        found = [node for node in ast.walk(self.tree)
                 if isinstance(node, kinds) and hasattr(node, "end_lineno") and self.mutable(node)]
        return iter(sorted(found, key=lambda node: (node.lineno, node.col_offset)))
