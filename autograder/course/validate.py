"""What `grade release` checks before it writes anything: a bundle is only as good as the assignment it
comes from.

- the data files: every declared file is in data/ and every file there is declared (`data.problems`);
- the reference notebook, graded with every test (hidden ones included), scores full marks, and the
  tests' points add up to TOTAL_POINTS;
- every solution region is reached by some test (`reach`): a region no test calls is code whose mistakes
  never cost a point;
- the public tests are deterministic: run twice against the reference, they make the same reference
  calls with the same results, byte for byte. The bundle replays those results by the call's arguments,
  so a test that draws its inputs afresh on each run would find nothing recorded on a student's machine.

Each failure is a UsageError listing every problem found, naming the test, region or file.
"""
from __future__ import annotations

import json
import secrets
import tempfile
from pathlib import Path
from typing import Any

from autograder.course.bundle import Calls, recorded_values
from autograder.course.reach import probed, reached
from autograder.errors import UsageError
from autograder.grading.assignments import Assignment
from autograder.grading.data import DataFiles, declared_data
from autograder.grading.grade import grade
from autograder.grading.notebook import read_notebook
from autograder.reports.text import first_line, points
from autograder.worker import wire

TOTAL_POINTS = 100


def _refuse(assignment: Assignment, problems: list[str]) -> None:
    if problems:
        raise UsageError(f"{assignment.name} cannot be released:\n" + "\n".join(f"  - {p}" for p in problems))


def check_data(assignment: Assignment) -> DataFiles:
    """The assignment's data files, each declared one present and every present one declared."""
    files = declared_data(read_notebook(assignment.notebook), assignment.notebook)
    _refuse(assignment, files.problems())
    return files


def check_reference(assignment: Assignment) -> None:
    """Grade the probed reference with every test: full marks, TOTAL_POINTS in all, every region reached."""
    token = f"probe-{secrets.token_hex(8)}"
    notebook, regions = probed(json.loads(assignment.notebook.read_text(encoding="utf-8")), token)
    with tempfile.TemporaryDirectory(prefix="grade-release-") as folder:
        path = Path(folder) / assignment.notebook.name
        path.write_text(json.dumps(notebook), encoding="utf-8")
        result = grade(path, assignment)
    tests = assignment.tests
    if result.status != "graded":
        _refuse(assignment, [f"the reference notebook {assignment.notebook} cannot be graded: {result.error}"])
    problems = []
    total = sum(t.max_score for t in result.tests)
    if total != TOTAL_POINTS:
        listed = ", ".join(f"{t.name} {points(t.max_score)}" for t in result.tests)
        problems.append(f"the points of the tests in {tests} add up to {points(total)}, not {TOTAL_POINTS} "
                        f"({listed})")
    for test in result.tests:
        if test.status != "passed":
            kind = "public" if test.visibility == "visible" else "hidden"
            problems.append(f"{test.name} ({kind}, in {tests}) fails on the reference notebook "
                            f"{assignment.notebook}: {first_line(test.message) or test.status}")
    seen = reached(result.output, token)
    if seen is None:
        problems.append(f"cannot tell which solution regions of {assignment.notebook} the tests reach: the "
                        "notebook's cells did not all run, or they printed so much that the output was cut")
    else:
        problems += [f"no test in {tests} reaches {region.describe()} of {assignment.notebook}: a mistake "
                     "there would cost no point" for region in regions if region.number not in seen]
    _refuse(assignment, problems)


def check_public_tests(assignment: Assignment) -> dict[str, Any]:
    """Run the public tests twice against the reference; they must pass and record the same calls and
    values both times. The values, by call key, for the bundle."""
    runs: list[dict[str, Calls]] = []
    for _ in range(2):
        record: dict[str, Calls] = {}
        result = grade(assignment.notebook, assignment, public_only=True, record=record)
        _refuse(assignment, [f"{t.name} (public, in {assignment.tests}) fails on the reference notebook "
                             f"{assignment.notebook}: {first_line(t.message) or t.status}"
                             for t in result.tests if t.status != "passed"])
        runs.append(record)
    first, second = runs
    problems = []
    for test in sorted(first.keys() | second.keys()):
        calls, again = first.get(test, {}), second.get(test, {})
        if calls.keys() != again.keys():
            problems.append(f"{test} (public, in {assignment.tests}) calls the reference with other arguments on a "
                            "second run: make its inputs with a seeded torch.Generator or write them out, or the "
                            "values recorded for students match nothing they compute")
            continue
        for key, (function, value) in calls.items():
            if wire.pack(value) != wire.pack(again[key][1]):
                problems.append(f"{test} (public, in {assignment.tests}): reference.{function} returns other "
                                "values on a second run with the same arguments (seed what it draws)")
    _refuse(assignment, problems)
    return recorded_values(first)
