"""The names of per-submission report files: made from who the student is and the assignment, both
read from what a submission controls, so they go through `identifiers` and stay distinct."""
from __future__ import annotations

from collections import defaultdict

from autograder.identifiers import file_stem, unique_stems
from autograder.reports.text import student_of
from autograder.grading.results import SubmissionResult


def _assignment(result: SubmissionResult) -> str:
    return file_stem(result.assignment or "unknown")


def gradescope_names(results: list[SubmissionResult]) -> list[str]:
    """One file name per result in the Gradescope folder: `<student>-<assignment>.json`, all different."""
    stems = [file_stem(f"{file_stem(student_of(r))}-{_assignment(r)}") for r in results]
    return [f"{stem}.json" for stem in unique_stems(stems, [r.submission for r in results])]


def feedback_names(results: list[SubmissionResult]) -> list[tuple[str, str]]:
    """(student folder, file stem) per result in the feedback folder: `<student>/<assignment>`, all
    different (two submissions of one student for one assignment get distinct stems)."""
    folders = [file_stem(student_of(r)) for r in results]
    stems = [_assignment(r) for r in results]
    by_folder: dict[str, list[int]] = defaultdict(list)
    for index, folder in enumerate(folders):
        by_folder[folder.casefold()].append(index)
    for indices in by_folder.values():
        unique = unique_stems([stems[i] for i in indices], [results[i].submission for i in indices])
        for index, stem in zip(indices, unique):
            stems[index] = stem
    return list(zip(folders, stems))
