"""One result model that every report is written from."""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from autograder import bounds
from autograder.errors import ReportError

STATUSES = ("passed", "failed", "error", "timed_out", "not_implemented")
SUBMISSION_STATUSES = ("graded", "unreadable", "missing")


@dataclass
class TestResult:
    name: str
    score: float
    max_score: float
    status: str
    message: str = ""
    visibility: str = "visible"   # Gradescope's terms: "visible" for public tests, else "after_published"
    duration: float = 0.0

    def __post_init__(self) -> None:
        # Not a type check: a message of the wrong type is left for the report writers to refuse.
        if isinstance(self.message, str):
            self.message = bounds.clip(self.message, bounds.MESSAGE_CHARS)


@dataclass
class SubmissionResult:
    assignment: str
    submission: str
    tests: list[TestResult] = field(default_factory=list)
    status: str = "graded"        # "unreadable": could not be graded at all; "missing": nothing handed in
    error: str = ""               # why, when unreadable or missing
    cell_errors: list[dict[str, str]] = field(default_factory=list)
    output: str = ""              # what the submission printed, truncated
    duration: float = 0.0
    cell_errors_omitted: int = 0  # failing cells past bounds.CELL_ERRORS, counted but not listed
    student: str = ""             # whose, by the class folder's layout; "" when only the path can tell
    name: str = ""                # the student's name, email and LMS id, from the roster
    email: str = ""
    lms_id: str = ""
    on_roster: bool | None = None  # None: graded without a roster
    graded_at: str = ""           # when the grader made this result (ISO 8601, UTC); "" in older results

    def __post_init__(self) -> None:
        """Every field a submission controls is cut to its limit in `bounds`, whoever builds the result."""
        self.assignment = bounds.clip(self.assignment, bounds.NAME_CHARS)
        self.student = bounds.clip(self.student, bounds.NAME_CHARS)
        self.error = bounds.clip(self.error, bounds.ERROR_CHARS)
        self.output = bounds.clip(self.output, bounds.OUTPUT_CHARS)
        kept = self.cell_errors[:bounds.CELL_ERRORS]
        self.cell_errors_omitted += len(self.cell_errors) - len(kept)
        self.cell_errors = [bounds.cell_error(error) for error in kept]

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"], data["max_score"] = self.score, self.max_score
        return data


def now() -> str:
    """The time a result is made, as `graded_at` records it: `grade merge --latest` compares these."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def results_document(results: list[SubmissionResult], incomplete: bool = False) -> dict[str, Any]:
    """The JSON of several results: `incomplete` says a run was interrupted and holds only what it graded."""
    return {"submissions": [r.to_dict() for r in results], "incomplete": incomplete}


def _new_file(folder: Path, name: str) -> tuple[int, str]:
    """A new file beside `name`, created with the mode the user's umask gives (as `open` would), not
    mkstemp's 0600: reports are read by others (a web server, a TA, the CI uploader)."""
    while True:
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and rename, so no reader sees half a file.

    Characters UTF-8 cannot encode (lone surrogates from decoded output) are replaced, not fatal.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _new_file(path.parent, path.name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")
