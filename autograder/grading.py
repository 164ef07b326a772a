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

from autograder.assignments import Assignment, find_assignment, infer_assignment
from autograder.client import Limits
from autograder.errors import NotebookError, UsageError
from autograder.notebook import read_notebook
from autograder.plugin import GradingPlugin
from autograder.results import SubmissionResult

_PYTEST_FAILED = {
    pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR,
    pytest.ExitCode.NO_TESTS_COLLECTED,
}


def resolve_assignment(path: Path, assignment: str | None, root: Path) -> str:
    """The assignment a submission is graded as: the one asked for, else the one it declares."""
    if assignment:
        return assignment
    try:
        nb = read_notebook(path)
    except NotebookError:
        nb = None
    return infer_assignment(nb, path, root)


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
            "-p", "no:unraisableexception",
            "--rootdir", str(tests.parent), "-c", os.devnull, "--import-mode=importlib", "-p", "autograder.plugin",
            *(["-m", "public"] if public_only else [])]
    started = time.monotonic()
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main(args, plugins=[plugin])
    if code in _PYTEST_FAILED:
        raise UsageError(f"the tests in {tests} could not be run (pytest exit code {int(code)}):\n"
                         f"{output.getvalue()[-3000:]}")
    session = plugin.session
    return SubmissionResult(
        assignment=assignment.name, submission=str(path), tests=list(plugin.results.values()),
        status="unreadable" if plugin.unreadable else "graded",
        error=plugin.unreadable.reason if plugin.unreadable else "",
        cell_errors=session.cell_errors if session else [], output=session.output if session else "",
        duration=round(time.monotonic() - started, 3),
    )


def grade_notebook(path: Path, assignment: str | None = None, root: Path | None = None,
                   limits: Limits | None = None) -> SubmissionResult:
    """Grade one submission against the assignment found under `root` (reference first, else bundle)."""
    root = root or Path.cwd()
    return grade(path, find_assignment(resolve_assignment(path, assignment, root), root), limits)
