"""The pytest plugin: markers, the `student` and `reference` fixtures, and the scorer.

Scores come only from what this plugin records for each test, never from pytest's exit code: a test
that errors, is skipped or never reports scores 0. `grade` registers a `GradingPlugin` instance
itself; `pytest -p autograder.grading.plugin --submission NB tests.py` does the same from the command line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autograder.course.bundle import VALUES_FILE, RecordedReference, RecordingReference, read_values
from autograder.checks import CheckFailed
from autograder.worker.client import Limits
from autograder.errors import GraderError, NotebookError, StudentCodeError, WorkerDied, WorkerTimeout
from autograder.grading.notebook import assignment_of, check_assignment, code_cells, read_notebook, read_submission
from autograder.grading.reference import load_reference
from autograder.grading.results import TestResult
from autograder.grading.session import SubmissionSession

MARKERS = (
    "points(n): the points a test is worth (required on every graded test)",
    "public: the test ships to students and runs in `grade check`",
    "time_limit(seconds): the per-request time limit for this test's calls into the submission",
)
CRASHED = "your code crashed the worker"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grade", "grading a notebook submission")
    group.addoption("--submission", type=_existing_path, help="the notebook to grade")


def _existing_path(value: str) -> Path:
    path = Path(value)
    if not path.exists():
        raise pytest.UsageError(f"--submission: {value} does not exist")
    return path


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    submission = config.getoption("submission", None)
    if submission is not None and not config.pluginmanager.has_plugin("grading"):
        config.pluginmanager.register(GradingPlugin(submission), "grading")


def _points_of(item: pytest.Item) -> float:
    marker = item.get_closest_marker("points")
    if marker is None or len(marker.args) != 1:
        raise pytest.UsageError(f"{item.nodeid}: every graded test needs @pytest.mark.points(n)")
    points = marker.args[0]
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
        raise pytest.UsageError(f"{item.nodeid}: points must be a positive number, got {points!r}")
    return float(points)


def _time_limit_of(item: pytest.Item, default: float) -> float:
    marker = item.get_closest_marker("time_limit")
    if marker is None:
        return default
    seconds = marker.args[0] if marker.args else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise pytest.UsageError(f"{item.nodeid}: time_limit needs a positive number of seconds, got {seconds!r}")
    return float(seconds)


def _notebook_beside(item: pytest.Item) -> Path:
    """An assignment's notebook sits beside its tests: test_<name>.py goes with <name>.ipynb."""
    tests = Path(item.path)
    return tests.with_name(f"{tests.stem.removeprefix('test_')}.ipynb")


def _secret_folders(item: pytest.Item) -> tuple[Path, ...]:
    """What the worker must not see: the assignment's folder (hidden tests, the solution), and the
    whole reference/ folder when the tests live in it."""
    folder = Path(item.path).resolve().parent
    return (folder.parent,) if folder.parent.name == "reference" else (folder,)


def classify(exc: BaseException) -> tuple[str, str]:
    """(status, message a student can act on) for an exception raised by a test."""
    if isinstance(exc, StudentCodeError):
        if exc.not_implemented:
            return "not_implemented", "not implemented yet (your code raises NotImplementedError)"
        detail = f"\n{exc.traceback}" if exc.traceback else ""
        return "error", f"your code raised {exc}{detail}"
    if isinstance(exc, WorkerTimeout):
        return "timed_out", f"timed out: {exc}"
    if isinstance(exc, WorkerDied):
        return "error", f"{CRASHED}: {exc}"
    if isinstance(exc, NotebookError):
        return "error", f"the notebook could not be graded: {exc.reason}"
    if isinstance(exc, GraderError):
        return "error", str(exc)
    if isinstance(exc, (CheckFailed, AssertionError)):
        return "failed", str(exc) or "an assertion failed"
    if isinstance(exc, pytest.skip.Exception):
        return "error", f"skipped: {exc.msg}"
    return "error", f"{type(exc).__name__}: {exc}"


class GradingPlugin:
    """Runs one submission's tests and records a TestResult for every collected test."""

    def __init__(self, submission: Path, limits: Limits | None = None,
                 record: dict[str, Any] | None = None) -> None:
        self.submission = submission
        self.limits = limits or Limits()
        self.record = record
        self.results: dict[str, TestResult] = {}
        self._durations: dict[str, float] = {}
        self.session: SubmissionSession | None = None
        self.unreadable: NotebookError | None = None
        self.interrupted = False

    def _session_for(self, item: pytest.Item) -> SubmissionSession:
        if self.session is None:
            template = read_notebook(_notebook_beside(item))
            try:
                submission = read_submission(self.submission)
                check_assignment(submission, assignment_of(template), self.submission)
                cells = code_cells(submission, template)
            except NotebookError as exc:
                self.unreadable = exc
                cells = []
            self.session = SubmissionSession(cells, self.limits, _secret_folders(item))
            if self.unreadable:
                self.session.fatal = self.unreadable
        return self.session

    @pytest.hookimpl
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            _points_of(item)
            _time_limit_of(item, self.limits.request_seconds)

    @pytest.fixture
    def student(self, request: pytest.FixtureRequest) -> Any:
        session = self._session_for(request.node)
        return session.student(_time_limit_of(request.node, self.limits.request_seconds))

    @pytest.fixture
    def reference(self, request: pytest.FixtureRequest) -> Any:
        """The reference solution; in a student bundle, the values recorded from it at release."""
        values = Path(request.node.path).parent / VALUES_FILE
        if values.is_file():
            return RecordedReference(read_values(values))
        module = load_reference(_notebook_beside(request.node))
        return module if self.record is None else RecordingReference(module, self.record)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        report = yield
        if call.when == "teardown" and item.nodeid not in self.results:
            self._record(item, "error", "the test did not run")
        self._durations[item.nodeid] = self._durations.get(item.nodeid, 0.0) + report.duration
        if call.when == "teardown":
            self.results[item.nodeid].duration = round(self._durations[item.nodeid], 3)
            return report
        if call.excinfo is not None and item.nodeid not in self.results:
            self._record(item, *classify(call.excinfo.value))
        elif call.when == "call" and report.passed:
            self._record(item, "passed", "")
        return report

    def _record(self, item: pytest.Item, status: str, message: str) -> None:
        points = _points_of(item)
        self.results[item.nodeid] = TestResult(
            name=item.name, score=points if status == "passed" else 0.0, max_score=points, status=status,
            message=message, visibility="visible" if item.get_closest_marker("public") else "after_published",
        )

    def pytest_keyboard_interrupt(self) -> None:
        """Ctrl-C: pytest stops the session (and sessionfinish closes the worker); the grading is void."""
        self.interrupted = True

    def pytest_sessionfinish(self) -> None:
        if self.session is not None:
            self.session.close()
