"""Grading one notebook: run the assignment's tests through pytest with the grading plugin."""
from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
# A test's first torch.optim step imports torch._dynamo (seconds): pay for it here, while the fork
# server starts, rather than in the middle of a test.
import torch._dynamo  # noqa: F401

from autograder.grading.assignments import Assignment, assignments, choose, infer_assignment
from autograder.worker.client import Limits
from autograder.errors import GraderError, NotebookError, UsageError
from autograder.grading.notebook import read_submission
from autograder.grading.plugin import GradingPlugin
from autograder.grading.results import SubmissionResult, now

_PYTEST_FAILED = {
    pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR,
    pytest.ExitCode.NO_TESTS_COLLECTED,
}


def resolve_assignment(path: Path, known: list[str]) -> str:
    """The assignment a submission declares (which must be one of `known`), else the one its file name
    says. A notebook that cannot be read and whose name says nothing is a NotebookError: there is
    nothing to grade it as."""
    try:
        nb = read_submission(path)
    except NotebookError:
        if path.stem in known:
            return path.stem
        raise
    return infer_assignment(nb, path, known)


def assignment_for(path: Path, assignment: str | None,
                   found: dict[str, Assignment]) -> Assignment | NotebookError:
    """What a submission is graded as: the `assignment` asked for, else what it says it is. A
    submission that cannot say is the NotebookError to report it with; an `assignment` that is not
    one of `found`, or nothing that tells, is a UsageError."""
    if assignment:
        return choose(assignment, found)
    try:
        return found[resolve_assignment(path, sorted(found))]
    except NotebookError as exc:
        return exc


def unreadable(path: Path, error: GraderError, assignment: str = "") -> SubmissionResult:
    """The result of a submission that could not be graded at all: no tests, the reason."""
    return SubmissionResult(assignment=assignment, submission=str(path), status="unreadable", error=str(error),
                            graded_at=now())


def grade(path: Path, assignment: Assignment, limits: Limits | None = None, *,
          public_only: bool = False, record: dict[str, Any] | None = None) -> SubmissionResult:
    """Grade one submission. Every test gets a result; an unreadable notebook scores 0 on all of them.

    `public_only` runs the public tests alone; `record` collects the reference values they use.
    """
    tests = assignment.tests
    plugin = GradingPlugin(path, limits, record)
    # --tb=no and no:unraisableexception: the plugin reads no tracebacks, and that plugin's two full
    # garbage collections per session cost more than grading a short submission. No plugins installed
    # in the environment are loaded: they cost start-up time and could change how tests are reported.
    args = [str(tests), "-q", "--tb=no", "--disable-plugin-autoload", "-p", "no:cacheprovider",
            "-p", "no:unraisableexception", "--rootdir", str(tests.parent), "-c", os.devnull,
            "--import-mode=importlib", "-p", "autograder.grading.plugin",
            *(["-m", "public"] if public_only else [])]
    started = time.monotonic()
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main(args, plugins=[plugin])
    if plugin.interrupted:   # pytest caught Ctrl-C and closed the worker: pass it on
        raise KeyboardInterrupt
    if code in _PYTEST_FAILED:
        raise UsageError(f"the tests in {tests} could not be run (pytest exit code {int(code)}):\n"
                         f"{output.getvalue()[-3000:]}")
    session = plugin.session
    return SubmissionResult(
        assignment=assignment.name, submission=str(path), tests=list(plugin.results.values()),
        status="unreadable" if plugin.unreadable else "graded",
        error=plugin.unreadable.reason if plugin.unreadable else "",
        cell_errors=session.cell_errors if session else [], output=session.output if session else "",
        duration=round(time.monotonic() - started, 3), graded_at=now(),
    )


def grade_notebook(path: Path, assignment: str | None = None, root: Path | None = None,
                   limits: Limits | None = None) -> SubmissionResult:
    """Grade one submission against the assignment found under `root` (reference first, else bundle).

    A submission that cannot be read or declares an assignment that does not exist is an unreadable
    result; an `assignment` asked for that does not exist, or no way to tell, is a UsageError.
    """
    return grade_as(path, assignment_for(path, assignment, assignments(root or Path.cwd())), limits)


def grade_as(path: Path, target: Assignment | NotebookError, limits: Limits | None = None) -> SubmissionResult:
    """Grade a submission as what assignment_for found: an assignment, or the reason it has none."""
    return unreadable(path, target) if isinstance(target, NotebookError) else grade(path, target, limits)
