"""Reading results back from JSON (shards to merge, results to export): validated field by field."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from autograder.results import STATUSES, SubmissionResult, TestResult

VISIBILITIES = ("visible", "after_published")


_TEST_SCHEMA: dict[str, type] = {"name": str, "score": float, "max_score": float, "status": str,
                                 "message": str, "visibility": str, "duration": float}
_RESULT_SCHEMA: dict[str, type] = {"assignment": str, "submission": str, "tests": list, "status": str,
                                   "error": str, "cell_errors": list, "output": str, "duration": float,
                                   "cell_errors_omitted": int}
_DERIVED = ("score", "max_score")   # written by to_dict, recomputed from the tests


def _typed(value: Any, kind: type, where: str) -> Any:
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
    _one_of(result.status, ("graded", "unreadable"), "result.status")
    for key in _DERIVED:
        if key in data and not math.isclose(_typed(data[key], float, f"result.{key}"), getattr(result, key),
                                            abs_tol=1e-9):
            raise ValueError(f"result.{key}: {data[key]!r} does not match its tests ({getattr(result, key):g})")
    return result


def read_results(path: Path) -> list[SubmissionResult]:
    """Results from a JSON file `grade run --json` wrote: one result, or {"submissions": [...]}."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        items = data["submissions"] if isinstance(data, dict) and "submissions" in data else [data]
        if not isinstance(items, list):
            raise ValueError("'submissions' is not a list")
        return [result_from_dict(item) for item in items]
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    except RecursionError:
        raise ValueError(f"{path}: nested too deeply") from None
