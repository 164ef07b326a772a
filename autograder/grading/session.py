"""One submission's worker, kept alive across tests and replaced when it dies."""
from __future__ import annotations

from pathlib import Path

from autograder.bounds import cell_error
from autograder.worker.client import Budget, Limits, WorkerClient
from autograder.errors import GraderError, WorkerDied, WorkerError
from autograder.grading.notebook import Cell
from autograder.remote import RemoteObject, manual_seed


class SubmissionSession:
    """Starts the worker on first use; after a worker dies or times out in a test, the next test
    gets a fresh one. A failure while running the notebook itself is final: it would only repeat."""

    def __init__(self, cells: list[Cell], limits: Limits, hide: tuple[Path, ...] = ()) -> None:
        self.cells, self.limits, self.hide = cells, limits, hide
        self.budget = Budget(limits.submission_seconds)
        self.cell_errors: list[dict[str, str]] = []
        self.fatal: GraderError | None = None
        self.output = ""
        self._client: WorkerClient | None = None

    def student(self, request_seconds: float) -> RemoteObject:
        """The submission's namespace in a live worker, with every seed reset to 0."""
        if self.fatal:
            raise self.fatal
        if self._client is None or not self._client.alive:
            self._start()
        try:
            return self._seeded(request_seconds)
        except WorkerDied:  # it died between its last answer and now: one fresh worker, once
            self._start()
            return self._seeded(request_seconds)

    def _seeded(self, request_seconds: float) -> RemoteObject:
        self._client.request_seconds = request_seconds
        manual_seed(self._client.namespace(), 0)
        return self._client.namespace()

    def _start(self) -> None:
        self._retire()
        first_run = not self.cell_errors and not self.output
        try:
            self._client = WorkerClient(self.limits, self.budget, self.hide)
            errors = []
            for cell in self.cells:
                report = self._client.run_cell(cell.label, cell.source)
                if report is not None:
                    errors.append(cell_error({"cell": cell.label, **report}))  # cut as it arrives
        except WorkerError as exc:
            where = f" while running {cell.label}" if self._client is not None else " while starting"
            self.fatal = type(exc)(f"{exc}{where}")
            raise self.fatal from None
        if first_run:
            self.cell_errors = errors

    def _retire(self) -> None:
        if self._client is not None:
            self.output = self.output or self._client.output()
            self._client.cleanup()
            self._client = None

    def close(self) -> None:
        self._retire()
