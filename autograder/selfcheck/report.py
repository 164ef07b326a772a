"""What a self-check prints, from a terminal or a notebook alike: the public tests' table, what is still
to write (by name and cell, hidden-tested parts included: the public score says nothing of them), and
the points."""
from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from autograder.bounds import NAME_CHARS, TODO_NAMES, clip
from autograder.grading.results import SubmissionResult
from autograder.reports.terminal import Terminal, submission_view
from autograder.selfcheck.todo import Todo


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, ..."""
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def todo_lines(heading: str, todo: Sequence[Todo]) -> list[str]:
    """`heading`, then one line per code cell: `  MLP.__init__, MLP.forward (the 11th code cell)`. The names
    come from the notebook: each is cut to a name's length, and at most TODO_NAMES are listed."""
    if not todo:
        return []
    lines = [heading]
    for cell, group in groupby(todo[:TODO_NAMES], key=lambda t: t.cell):
        where = f" (the {ordinal(cell)} code cell)" if cell else ""
        lines.append(f"  {', '.join(clip(t.name, NAME_CHARS) for t in group)}{where}")
    if len(todo) > TODO_NAMES:
        lines.append(f"  … and {len(todo) - TODO_NAMES} more")
    return lines


def show(out: Terminal, result: SubmissionResult, todo: list[Todo], undefined: Sequence[Todo] = (),
         part: str | None = None) -> None:
    """The table, the regions still raising NotImplementedError, the names a kernel lacks, the points."""
    out.print(submission_view(result))
    tests = f"Public tests of {part!r}" if part else "Public tests"
    out.line("\n".join([*todo_lines("Not implemented yet (still raising NotImplementedError):", todo),
                        *todo_lines("Not defined in this kernel yet (run their cells):", undefined),
                        f"{tests}: {result.score:g}/{result.max_score:g} points. "
                        "Hidden tests will also run when your work is graded."]))
