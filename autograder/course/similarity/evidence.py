"""The evidence for a pair: which stretches of one submission's code match which stretches of the other's.

Every k-gram (not only the fingerprints) of the two is compared, so a match covers all of the code the
two share, not only the sampled points. Runs of k-grams that follow each other in both make one match;
the longest matches are kept first and none overlaps another, so each piece of code is in at most one
match (greedy string tiling). Only the reported pairs are looked at this closely.
"""
from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass

from autograder.course.similarity.code import Code
from autograder.course.similarity.tokens import STATEMENT_END
from autograder.course.similarity.winnow import K

MAX_PLACES = 8       # places in the other submission that one k-gram is matched with (repetitive code)
MAX_RUNS = 20_000    # runs of matching k-grams looked at for one pair (code repeating itself)
MAX_MATCHES = 200    # matches kept for one pair


@dataclass(frozen=True)
class Side:
    """One side of a match: characters `start`..`end` of cell `cell` (an index into Code.cells)."""

    cell: int
    start: int
    end: int

    def lines(self, code: Code) -> tuple[int, int]:
        """The first and last line (1-based) of the cell that the match covers."""
        source = code.cells[self.cell].source
        return source.count("\n", 0, self.start) + 1, source.count("\n", 0, max(self.end - 1, self.start)) + 1

    def code_lines(self, code: Code) -> set[tuple[int, int]]:
        """(cell, line) of each line of the match that holds code, not only a comment or nothing."""
        first, last = self.lines(code)
        text = code.cells[self.cell].source.split("\n")
        return {(self.cell, n) for n in range(first, last + 1) if is_code_line(text[n - 1])}


def is_code_line(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


@dataclass(frozen=True)
class Match:
    first: Side
    second: Side


@dataclass(frozen=True)
class _Run:
    unit_a: int
    start_a: int
    unit_b: int
    start_b: int
    length: int   # k-grams

    def tokens_a(self) -> tuple[int, int]:
        return self.start_a, self.start_a + self.length + K - 1

    def tokens_b(self) -> tuple[int, int]:
        return self.start_b, self.start_b + self.length + K - 1


def matches(a: Code, b: Code, ignored: frozenset[int]) -> list[Match]:
    """The matching stretches of `a` and `b`, in the order they come in `a`; k-grams in `ignored` (the
    stub's) never match."""
    places: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for unit_index, unit in enumerate(b.units):
        for position, h in enumerate(unit.hashes()):
            if h not in ignored and len(places[h]) < MAX_PLACES:
                places[h].append((unit_index, position))
    runs: list[_Run] = []
    for unit_index, unit in enumerate(a.units):
        open_runs: dict[tuple[int, int], int] = {}   # (unit of b, next position there) -> index in runs
        for position, h in enumerate(unit.hashes()):
            following: dict[tuple[int, int], int] = {}
            for place in places.get(h, ()):
                index = open_runs.get(place)
                if index is None and len(runs) == MAX_RUNS:
                    continue
                if index is None:
                    index = len(runs)
                    runs.append(_Run(unit_index, position, place[0], place[1], 0))
                run = runs[index]
                runs[index] = _Run(run.unit_a, run.start_a, run.unit_b, run.start_b, run.length + 1)
                following[(place[0], place[1] + 1)] = index
            open_runs = following
    kept = _tiled(runs)
    return [Match(_side(a, r.unit_a, *r.tokens_a()), _side(b, r.unit_b, *r.tokens_b())) for r in kept]


def _tiled(runs: list[_Run]) -> list[_Run]:
    """The longest runs first, each taken only if it overlaps no run already taken, on either side."""
    taken_a: dict[int, list[tuple[int, int]]] = defaultdict(list)
    taken_b: dict[int, list[tuple[int, int]]] = defaultdict(list)
    kept: list[_Run] = []
    for run in sorted(runs, key=lambda r: (-r.length, r.unit_a, r.start_a, r.unit_b, r.start_b)):
        if len(kept) == MAX_MATCHES:
            break
        if _overlaps(taken_a[run.unit_a], run.tokens_a()) or _overlaps(taken_b[run.unit_b], run.tokens_b()):
            continue
        bisect.insort(taken_a[run.unit_a], run.tokens_a())
        bisect.insort(taken_b[run.unit_b], run.tokens_b())
        kept.append(run)
    return sorted(kept, key=lambda r: (r.unit_a, r.start_a))


def _overlaps(taken: list[tuple[int, int]], span: tuple[int, int]) -> bool:
    """Whether [start, end) overlaps one of the sorted, disjoint spans taken."""
    start, end = span
    at = bisect.bisect_right(taken, (start, end))
    return any(s < end and start < e for s, e in taken[max(at - 1, 0):at + 1])


def _side(code: Code, unit_index: int, first: int, end: int) -> Side:
    """The characters from the first token to the last, leaving out line ends at either side (a line
    end's token begins after the line's comment)."""
    tokens = code.units[unit_index].tokens
    while end - first > 1 and tokens[end - 1].text == STATEMENT_END:
        end -= 1
    while end - first > 1 and tokens[first].text == STATEMENT_END:
        first += 1
    return Side(code.units[unit_index].cell, tokens[first].start, tokens[end - 1].end)
