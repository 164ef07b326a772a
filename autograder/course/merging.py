"""Merging results from several files (shards, or runs on different days) into one class's results.

Shards of one run never share a student. A student's result for an assignment in two files means two
runs graded it, and which one counts is the instructor's call: it is refused, unless `latest` says the
one graded last (by `graded_at`) wins. A missing row made without --assignment stands for every
assignment of its student. Within one file, rows are kept as that run wrote them.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from itertools import combinations

from autograder.errors import UsageError
from autograder.identifiers import shown
from autograder.reports import ResultsFile, student_of
from autograder.reports.reading import graded_at
from autograder.grading.results import SubmissionResult

Key = tuple[str, str | None]   # (student, assignment); None: every assignment (a missing row that names none)


def _key(result: SubmissionResult) -> Key:
    every = result.status == "missing" and not result.assignment
    return student_of(result), None if every else result.assignment


def _when(loaded: ResultsFile, key: Key) -> datetime:
    """When `loaded` last graded `key`."""
    try:
        return max(graded_at(r) for r in loaded.results if _key(r) == key)
    except ValueError:
        raise UsageError(f"{loaded.path}: a result for student {shown(key[0])} has no valid graded_at, "
                         "so --latest cannot tell when it was graded") from None


def merge_results(files: list[ResultsFile], latest: bool = False) -> list[SubmissionResult]:
    """Every result of every file, sorted by student then submission. A student and assignment held by
    two files is a UsageError naming both, unless `latest` keeps the one graded last."""
    held: dict[str, list[tuple[int, Key]]] = defaultdict(list)
    for index, loaded in enumerate(files):
        for key in dict.fromkeys(map(_key, loaded.results)):
            held[key[0]].append((index, key))
    dropped: set[tuple[int, Key]] = set()
    for entries in held.values():
        for (first, one), (second, other) in combinations(entries, 2):
            if first == second or (None not in (one[1], other[1]) and one[1] != other[1]):
                continue
            what = f"student {shown(one[0])}, assignment {shown(one[1] or other[1] or '')}"
            if not latest:
                raise UsageError(f"{files[first].path} and {files[second].path} both hold a result for {what}; "
                                 "merge only one of them, or pass --latest to keep the one graded last")
            earlier, later = _when(files[first], one), _when(files[second], other)
            if earlier == later:
                raise UsageError(f"{files[first].path} and {files[second].path} both graded {what} at "
                                 f"{earlier.isoformat()}: --latest cannot choose")
            dropped.add((first, one) if earlier < later else (second, other))
    merged = [result for index, loaded in enumerate(files) for result in loaded.results
              if (index, _key(result)) not in dropped]
    return sorted(merged, key=lambda r: (student_of(r), r.submission))
