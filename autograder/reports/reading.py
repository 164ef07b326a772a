"""Reading results back from JSON (shards to merge, results to export): validated field by field."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from autograder.grading.results import STATUSES, SUBMISSION_STATUSES, SubmissionResult, TestResult

VISIBILITIES = ("visible", "after_published")


_TEST_SCHEMA: dict[str, type] = {"name": str, "score": float, "max_score": float, "status": str,
                                 "message": str, "visibility": str, "duration": float}
_RESULT_SCHEMA: dict[str, type] = {"assignment": str, "submission": str, "tests": list, "status": str,
                                   "error": str, "cell_errors": list, "output": str, "duration": float,
                                   "cell_errors_omitted": int, "student": str, "name": str, "email": str,
                                   "lms_id": str, "on_roster": bool, "graded_at": str}
_DERIVED = ("score", "max_score")   # written by to_dict, recomputed from the tests


def _typed(value: Any, kind: type, where: str) -> Any:
    if kind is bool:   # true, false, or null for "not asked"
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"{where}: expected true, false or null, got {value!r:.80}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where}: expected a finite number, got {value!r:.80}")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{where}: expected a count, got {value!r:.80}")
        return value
    if not isinstance(value, kind):
        raise ValueError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _fields(data: Any, schema: dict[str, type], required: tuple[str, ...], where: str,
            derived: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(schema) - set(derived))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(map(repr, missing))}")
    return {key: _typed(data[key], kind, f"{where}.{key}") for key, kind in schema.items() if key in data}


def _one_of(value: str, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise ValueError(f"{where}: {value!r} is not one of {', '.join(allowed)}")


def _test_from_dict(data: Any, where: str) -> TestResult:
    test = TestResult(**_fields(data, _TEST_SCHEMA, ("name", "score", "max_score", "status"), where))
    _one_of(test.status, STATUSES, f"{where}.status")
    _one_of(test.visibility, VISIBILITIES, f"{where}.visibility")
    if not 0 <= test.score <= test.max_score:
        raise ValueError(f"{where}: score {test.score:g} is outside 0..max_score {test.max_score:g}")
    return test


def _cell_error(data: Any, where: str) -> dict[str, str]:
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"{where}: expected an object of strings")
    return data


def result_from_dict(data: Any) -> SubmissionResult:
    """The inverse of SubmissionResult.to_dict, for merging results written by separate runs (shards).

    Input is a file, so it is validated field by field; a ValueError names the offending field.
    """
    fields = _fields(data, _RESULT_SCHEMA, ("assignment", "submission", "tests"), "result", _DERIVED)
    fields["tests"] = [_test_from_dict(t, f"result.tests[{i}]") for i, t in enumerate(fields["tests"])]
    fields["cell_errors"] = [_cell_error(e, f"result.cell_errors[{i}]")
                             for i, e in enumerate(fields.get("cell_errors", []))]
    result = SubmissionResult(**fields)
    _one_of(result.status, SUBMISSION_STATUSES, "result.status")
    if result.status == "missing" and result.tests:
        raise ValueError("result.tests: a missing submission has no tests")
    if result.graded_at:
        graded_at(result, "result.graded_at")
    for key in _DERIVED:
        if key in data and not math.isclose(_typed(data[key], float, f"result.{key}"), getattr(result, key),
                                            abs_tol=1e-9):
            raise ValueError(f"result.{key}: {data[key]!r} does not match its tests ({getattr(result, key):g})")
    return result


def graded_at(result: SubmissionResult, where: str = "graded_at") -> datetime:
    """When a result was made, as a time that compares with others: an ISO 8601 time with its time zone."""
    try:
        when = datetime.fromisoformat(result.graded_at)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ValueError(f"{where}: {result.graded_at!r:.80} is not an ISO 8601 time with a time zone")
    return when


@dataclass(frozen=True)
class ResultsFile:
    path: Path
    results: list[SubmissionResult]
    incomplete: bool   # written by a run that was interrupted


def read_results_file(path: Path) -> ResultsFile:
    """A JSON file `grade run --json` or a batch wrote: one result, or {"submissions": [...], "incomplete": ...}."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        several = isinstance(data, dict) and "submissions" in data
        items = data["submissions"] if several else [data]
        if not isinstance(items, list):
            raise ValueError("'submissions' is not a list")
        incomplete = data.get("incomplete", False) if several else False
        if not isinstance(incomplete, bool):
            raise ValueError(f"'incomplete': expected true or false, got {incomplete!r:.80}")
        return ResultsFile(Path(path), [result_from_dict(item) for item in items], incomplete)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    except RecursionError:
        raise ValueError(f"{path}: nested too deeply") from None


def read_results(path: Path) -> list[SubmissionResult]:
    """The results in a JSON file (see read_results_file)."""
    return read_results_file(path).results
