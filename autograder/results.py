"""One result model that every report is written from."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autograder import bounds
from autograder.errors import ReportError

STATUSES = ("passed", "failed", "error", "timed_out", "not_implemented")


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
    status: str = "graded"        # or "unreadable": the notebook could not be graded at all
    error: str = ""               # why, when unreadable
    cell_errors: list[dict[str, str]] = field(default_factory=list)
    output: str = ""              # what the submission printed, truncated
    duration: float = 0.0
    cell_errors_omitted: int = 0  # failing cells past bounds.CELL_ERRORS, counted but not listed

    def __post_init__(self) -> None:
        """Every field a submission controls is cut to its limit in `bounds`, whoever builds the result."""
        self.assignment = bounds.clip(self.assignment, bounds.NAME_CHARS)
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


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and rename, so no reader sees half a file.

    Characters UTF-8 cannot encode (lone surrogates from decoded output) are replaced, not fatal.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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
