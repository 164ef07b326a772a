"""Grading the mutants as a class is graded: each is a notebook in a temporary folder, graded through
`batch.grade_many` (the pool on every core, sharing one warm fork server), and judged in this process
from its result alone."""
from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder.grading.assignments import Assignment
from autograder.course.audit.mutants import Mutant, write_mutants
from autograder.grading.batch import default_jobs, grade_many
from autograder.checks import names_a_mistake
from autograder.errors import UsageError
from autograder.grading.plugin import CRASHED
from autograder.reports.text import first_line, points
from autograder.grading.results import SubmissionResult, TestResult

OUTCOMES = ("survived", "killed", "timed_out", "crashed")
FEEDBACK_CHARS = 400


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    outcome: str                  # one of OUTCOMES
    score: float
    max_score: float
    killed_by: tuple[str, ...]    # the tests that lost points
    named: bool                   # a message names the mistake (see `names_the_mutant`)
    duration: float
    equivalent: str | None = None  # the author's reason, when declared equivalent
    feedback: str = ""            # what the student is told first: the naming message, else the first lost test's


@dataclass(frozen=True)
class Audit:
    assignment: str
    results: list[MutantResult]
    stale: dict[str, str]         # declared ids that no mutant has any more, with their reasons
    duration: float

    @property
    def equivalents(self) -> list[MutantResult]:
        return [r for r in self.results if r.equivalent is not None]

    @property
    def counted(self) -> list[MutantResult]:
        """The mutants the score counts: all but the declared equivalents."""
        return [r for r in self.results if r.equivalent is None]

    @property
    def survivors(self) -> list[MutantResult]:
        return [r for r in self.counted if r.outcome == "survived"]

    @property
    def killed(self) -> list[MutantResult]:
        return [r for r in self.counted if r.outcome != "survived"]

    @property
    def unnamed(self) -> list[MutantResult]:
        """Killed, but no failure message says what the mistake is (timed out and crashed included)."""
        return [r for r in self.killed if not r.named]

    @property
    def score(self) -> float:
        """The mutation score: the share of counted mutants killed, in percent."""
        return 100.0 * len(self.killed) / len(self.counted) if self.counted else 100.0


# A frame of the traceback the worker sends back, through the student's cells only: `File "<cell 7>", line 4`.
_STUDENT_FRAME = re.compile(r'^  File "<(cell \d+)>", line (\d+)', re.MULTILINE)


def raised_at(message: str) -> tuple[str, int] | None:
    """The cell label and line of the deepest frame in the student's cells of an error's traceback."""
    frames = _STUDENT_FRAME.findall(message)
    return (frames[-1][0], int(frames[-1][1])) if frames else None


def names_the_mutant(test: TestResult, mutant: Mutant) -> bool:
    """Whether a lost test's feedback names the mistake: a failure (or partial credit) whose message holds a diagnosis
    (`checks.names_a_mistake`), or an error raised by the mutated line itself, whose traceback shows the
    student that line."""
    if test.status in ("failed", "partial"):
        return names_a_mistake(test.message)
    if test.status == "error" and not test.message.startswith(CRASHED):
        return raised_at(test.message) in {(f"cell {mutant.index + 1}", line) for line in mutant.lines}
    return False


def judge(mutant: Mutant, result: SubmissionResult, equivalent: str | None = None) -> MutantResult:
    """A mutant's outcome: survived at full marks, else killed, timed out or crashed, and whether a
    failed test named the mistake. Only a plain `killed` can be named."""
    lost = [t for t in result.tests if t.score < t.max_score]
    if result.status == "graded" and not lost:
        outcome = "survived"
    elif any(t.status == "timed_out" for t in lost):
        outcome = "timed_out"
    elif result.status != "graded" or any(t.message.startswith(CRASHED) for t in lost):
        outcome = "crashed"
    else:
        outcome = "killed"
    naming = [t for t in lost if names_the_mutant(t, mutant)] if outcome == "killed" else []
    shown = (naming or lost or [None])[0]
    feedback = f"{shown.name}: {shown.message.strip()[:FEEDBACK_CHARS]}" if shown else result.error[:FEEDBACK_CHARS]
    return MutantResult(mutant, outcome, result.score, result.max_score, tuple(t.name for t in lost), bool(naming),
                        result.duration, equivalent, feedback)


def _check_baseline(assignment: Assignment, root: Path) -> None:
    """The reference must score full marks, or a mutant's lost points say nothing about the mutant."""
    graded, interrupted = grade_many([assignment.notebook], assignment.name, root, 1, lambda result: None)
    if interrupted:
        raise KeyboardInterrupt
    baseline = graded[0]
    failing = [f"{t.name}: {first_line(t.message) or t.status}" for t in baseline.tests if t.score < t.max_score]
    if baseline.status != "graded" or failing:
        raise UsageError(f"the reference notebook of {assignment.name} scores {points(baseline.score)}/"
                         f"{points(baseline.max_score)}; an audit needs it to pass every test:\n"
                         + "\n".join(failing or [baseline.error]))


def run_audit(assignment: Assignment, root: Path, mutants: list[Mutant], declared: dict[str, str],
              stale: dict[str, str], progress: Callable[[SubmissionResult], None]) -> Audit:
    """Grade the reference (it must score full marks), then every mutant, and judge each.

    `declared` maps the ids declared equivalent to their reasons; `stale` are the declarations no mutant
    matches. `progress` is called with each graded mutant's result.
    """
    started = time.monotonic()
    _check_baseline(assignment, root)
    with tempfile.TemporaryDirectory(prefix="grade-audit-") as folder:
        paths = write_mutants(assignment.notebook, mutants, Path(folder))
        graded, interrupted = grade_many(paths, assignment.name, root, default_jobs(), progress)
    if interrupted:  # a part of the mutants says nothing about the tests
        raise KeyboardInterrupt
    results = [judge(mutant, graded[index], declared.get(mutant.id)) for index, mutant in enumerate(mutants)]
    return Audit(assignment.name, results, stale, round(time.monotonic() - started, 3))
