"""How much of what a submission produced the grader keeps: every size limit on submission text.

A submission chooses the text of its exceptions (type names included), what it prints, how many cells it
has and how many of them fail, and a worker may forge its answers outright. The result model
(`results.py`) cuts every field to these limits when it is built, so one submission's share of any
report is bounded and no renderer is ever handed an unbounded string. A cut is marked with how much
was dropped.
"""
from __future__ import annotations

MESSAGE_CHARS = 4_000           # a test's message (a check's verdict, or the student's exception)
ERROR_CHARS = 4_000             # why a notebook could not be graded; an error `grade` prints
OUTPUT_CHARS = 40_000           # printed output (the worker's capture is cut to Limits.output_bytes first)
NAME_CHARS = 200                # a type name, a cell label, an assignment's name
CELL_MESSAGE_CHARS = 2_000      # a failing cell's exception message
CELL_TRACEBACK_CHARS = 2_000    # a failing cell's traceback
CELL_ERRORS = 50                # failing cells listed; the others are only counted
TODO_NAMES = 100                # functions a self-check lists as still to write; the others are counted
CALLED_NAMES = 256              # torch functions an observed call reports it used (names of NAME_CHARS)
MAX_CELLS = 1_000               # cells in one notebook (each is a round trip to the worker)
CELL_SOURCE_CHARS = 2**20       # one cell's source: the longest string the wire carries

CELL_ERROR_FIELDS = {"cell": NAME_CHARS, "type": NAME_CHARS, "message": CELL_MESSAGE_CHARS,
                     "traceback": CELL_TRACEBACK_CHARS}

_MARK = "… [truncated, {} more characters]"


def clip(text: str, limit: int) -> str:
    """`text` if it has at most `limit` characters, else its start and a mark saying how many were cut.

    The result never exceeds `limit` (for any limit of at least 64), so clipping twice changes nothing.
    """
    if len(text) <= limit:
        return text
    keep = max(limit - len(_MARK.format(len(text))), 0)
    return text[:keep] + _MARK.format(len(text) - keep)


def cell_error(error: dict[str, str]) -> dict[str, str]:
    """A failing cell's report with only the known fields, each cut to its limit."""
    return {key: clip(value, CELL_ERROR_FIELDS[key]) for key, value in error.items() if key in CELL_ERROR_FIELDS}

