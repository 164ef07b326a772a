"""The exceptions a grading run can raise, kept small so callers can tell the cases apart."""
from __future__ import annotations


class GraderError(Exception):
    """Base of every error the grader reports to a user."""


class UsageError(GraderError):
    """The command was asked for something that cannot be done (unknown assignment, bad test file)."""


class ReportError(GraderError):
    """A report could not be written where it was asked for."""


class NotebookError(GraderError):
    """The submission cannot be read as a notebook for this assignment."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


class WorkerError(GraderError):
    """The worker running the submission did not answer properly."""


class WorkerTimeout(WorkerError):
    """The worker did not answer within its time limit and was stopped."""


class WorkerDied(WorkerError):
    """The worker process ended while it was supposed to answer."""


class ProtocolError(WorkerError):
    """The worker answered with something that is not valid wire data; it is stopped."""


class StudentCodeError(Exception):
    """The submission's code raised an exception inside the worker."""

    def __init__(self, type_name: str, message: str, traceback: str) -> None:
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name, self.message, self.traceback = type_name, message, traceback

    @property
    def not_implemented(self) -> bool:
        """The stub's own bare `raise NotImplementedError()`, not one raised by a library (torch raises
        NotImplementedError, with a message, for arguments it cannot handle: that is a mistake to show)."""
        return self.type_name == "NotImplementedError" and not self.message.strip()
