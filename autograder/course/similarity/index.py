"""Which submissions share code, found through an inverted index rather than by comparing every pair.

The index maps each fingerprint to the submissions that have it; a submission's shared code with all
the others is summed along the lists of its own fingerprints, so pairs that share nothing cost nothing.

A score is the share of the smaller submission's own code that the other also has. Between two students
of the class, the reference solution's code is not theirs to share (it is what the assignment leads to:
independently written short functions look like it), and code that many of the class have (a fingerprint
in more than `common_limit` submissions) weighs that limit over how many have it. The denominator is at
least `MIN_EVIDENCE`: a line or two, however alike, cannot make a high score. Against earlier years'
submissions and known solutions (`known`), every fingerprint counts fully: a class that copied a known
solution wholesale shows up against it, however many copied it.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.5                # pairs scoring this or more are flagged: see docs/similarity.md
CALIBRATED_INDEPENDENT = 0.25  # the most that pairs of independently written samples score (docs/similarity.md)
CALIBRATED_COPIES = 0.85       # the least that disguised copies of them score
MIN_EVIDENCE = 20     # fingerprints: the least code that can score 1, about ten lines
COMMON_MIN = 10       # a fingerprint in more of the class's submissions than this many ...
COMMON_SHARE = 0.1    # ... and than this share of them is common code, and counts for less


@dataclass(frozen=True)
class Entry:
    """What the index needs of a submission: whose it is, whether it is known (not of this class), and
    its fingerprints."""

    student: str
    known: bool
    fingerprints: frozenset[int]


@dataclass(frozen=True)
class Pair:
    first: int       # positions in the entries; `first` is always of the class
    second: int
    shared: float    # the weight of the fingerprints the two share
    score: float

    @property
    def flagged(self) -> bool:
        return self.score >= THRESHOLD


def common_limit(class_size: int) -> int:
    """How many of the class's submissions may have a fingerprint before it is common code."""
    return max(COMMON_MIN, math.ceil(COMMON_SHARE * class_size))


def weights(entries: Sequence[Entry]) -> dict[int, float]:
    """Each fingerprint's weight in the class: 1, or for common code limit / (how many have it)."""
    counts = Counter(f for e in entries if not e.known for f in e.fingerprints)
    limit = common_limit(sum(not e.known for e in entries))
    return {f: min(1.0, limit / n) for f, n in counts.items()}


def score(shared: float, first: int, second: int) -> float:
    """The shared weight over the smaller submission's number of fingerprints (at least MIN_EVIDENCE)."""
    return min(1.0, shared / max(min(first, second), MIN_EVIDENCE))


def similar_pairs(entries: Sequence[Entry], canonical: frozenset[int] = frozenset()) -> list[Pair]:
    """Every pair that shares a fingerprint, best first. Pairs of known submissions are never formed,
    nor pairs of one student's own notebooks. Between two of the class, `canonical` fingerprints (the
    reference solution's) do not count."""
    entries = list(entries)
    ours_only = [e if e.known else Entry(e.student, e.known, e.fingerprints - canonical) for e in entries]
    weight = weights(ours_only)
    ours = [i for i, e in enumerate(entries) if not e.known]
    theirs = [i for i, e in enumerate(entries) if e.known]
    sizes = np.array([len(e.fingerprints) for e in ours_only], dtype=float)
    full_sizes = np.array([len(e.fingerprints) for e in entries], dtype=float)
    class_index, known_index = _postings(ours_only, ours), _postings(entries, theirs)
    numbers: dict[str, int] = {}
    students = np.array([numbers.setdefault(e.student, len(numbers)) for e in entries])
    pairs: list[Pair] = []
    for first in ours:
        shared = _shared(ours_only[first].fingerprints, class_index, weight, len(entries))
        shared[: first + 1] = 0   # each pair of the class once
        shared[students == students[first]] = 0
        pairs += _pairs(first, shared, sizes)
        pairs += _pairs(first, _shared(entries[first].fingerprints, known_index, {}, len(entries)), full_sizes)
    pairs.sort(key=lambda p: (-p.score, -p.shared, p.first, p.second))
    return pairs


def _postings(entries: Sequence[Entry], members: list[int]) -> dict[int, np.ndarray]:
    """The inverted index of these submissions: fingerprint -> their positions."""
    lists: dict[int, list[int]] = defaultdict(list)
    for position in members:
        for f in entries[position].fingerprints:
            lists[f].append(position)
    return {f: np.array(positions, dtype=np.intp) for f, positions in lists.items()}


def _shared(fingerprints: frozenset[int], index: dict[int, np.ndarray], weight: dict[int, float],
            size: int) -> np.ndarray:
    """The weight each submission in the index shares with these fingerprints (1 each without weights)."""
    found = [(index[f], weight.get(f, 1.0)) for f in fingerprints if f in index]
    if not found:
        return np.zeros(size)
    positions = np.concatenate([p for p, _ in found])
    each = np.repeat([w for _, w in found], [len(p) for p, _ in found])
    return np.bincount(positions, weights=each, minlength=size)


def _pairs(first: int, shared: np.ndarray, sizes: np.ndarray) -> list[Pair]:
    others = np.flatnonzero(shared)
    smaller = np.maximum(np.minimum(sizes[first], sizes[others]), MIN_EVIDENCE)
    scores = np.minimum(shared[others] / smaller, 1.0)
    return [Pair(first, int(o), float(s), float(v)) for o, s, v in zip(others, shared[others], scores)]
