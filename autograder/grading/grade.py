"""Grading one notebook: run the assignment's tests through pytest with the grading plugin."""
from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from pathlib import Path

import pytest
# A test's first torch.optim step imports torch._dynamo (seconds): pay for it here, while the fork
# server starts, rather than in the middle of a test.
import torch._dynamo  # noqa: F401

from autograder.course.bundle import Calls
from autograder.grading.assignments import Assignment, assignments, choose, infer_assignment
from autograder.course.bundle import VALUES_FILE
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
          public_only: bool = False, record: dict[str, Calls] | None = None) -> SubmissionResult:
    """Grade one submission. Every test gets a result; an unreadable notebook scores 0 on all of them.

    `public_only` runs the public tests alone; `record` collects the reference calls they make, by test. A
    student bundle (no reference/ here) has only the public tests: its result says so.
    """
    return run_tests(GradingPlugin(path, limits, record), str(path), assignment, public_only=public_only)


def run_tests(plugin: GradingPlugin, submission: str, assignment: Assignment, *, public_only: bool = False,
              only: list[str] | None = None, capture: str = "fd") -> SubmissionResult:
    """Run the assignment's tests (`only` these, by name, if given) with `plugin`, which holds the submission,
    and assemble its result; `submission` names it there. `capture` is pytest's output capture method."""
    tests = assignment.tests
    # --tb=no and no:unraisableexception: the plugin reads no tracebacks, and that plugin's two full
    # garbage collections per session cost more than grading a short submission. No plugins installed
    # in the environment are loaded: they cost start-up time and could change how tests are reported.
    targets = [f"{tests}::{name}" for name in only] if only is not None else [str(tests)]
    args = [*targets, "-q", "--tb=no", "--disable-plugin-autoload", "-p", "no:cacheprovider",
            "-p", "no:unraisableexception", "--rootdir", str(tests.parent), "-c", os.devnull,
            "--import-mode=importlib", f"--capture={capture}", "-p", "autograder.grading.plugin",
            *(["-m", "public"] if public_only else [])]
    _forget(tests, unless_it_is_this_file=True)
    started = time.monotonic()
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main(args, plugins=[plugin])
    if plugin.interrupted:   # pytest caught Ctrl-C and closed the worker: pass it on
        raise KeyboardInterrupt
    if code in _PYTEST_FAILED:
        _forget(tests, unless_it_is_this_file=False)
        raise UsageError(f"the tests in {tests} could not be run (pytest exit code {int(code)}):\n"
                         f"{output.getvalue()[-3000:]}")
    session = plugin.session
    return SubmissionResult(
        assignment=assignment.name, submission=submission, tests=list(plugin.results.values()),
        status="unreadable" if plugin.unreadable else "graded",
        error=plugin.unreadable.reason if plugin.unreadable else "",
        cell_errors=session.cell_errors if session else [], output=session.output if session else "",
        duration=round(time.monotonic() - started, 3), graded_at=now(),
        public_only=public_only or is_bundle(assignment),
    )


def _forget(tests: Path, *, unless_it_is_this_file: bool) -> None:
    """Drop the module named like `tests` from sys.modules: pytest's importlib mode reuses a module of that
    name, so a same-named test file of another folder (the reference's test_<name>.py for the bundle's)
    would stand in for this one, and a file that failed to import would leave its half-made module."""
    module = sys.modules.get(tests.stem)
    if module is None:
        return
    same = Path(getattr(module, "__file__", None) or "").resolve() == tests.resolve()
    if not (same and unless_it_is_this_file):
        del sys.modules[tests.stem]


def is_bundle(assignment: Assignment) -> bool:
    """A student bundle: public tests only, replaying recorded reference values (no reference code here)."""
    return (assignment.directory / VALUES_FILE).is_file()


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
