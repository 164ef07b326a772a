"""`autograder.check()`: the public tests, run from inside a student's notebook against the kernel's own
definitions (whatever the saved file says), printed as `grade check` prints them.

The tests talk to the kernel through the same `student` proxy as in grading, over an in-process channel
(`channel`): a test file runs unchanged in both places. The tests run on one thread and reseed before
each test, as in a worker; the kernel's threads and random state are restored after.
"""
from __future__ import annotations

import contextlib
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.errors import UsageError
from autograder.grading.results import SubmissionResult
from autograder.reports.terminal import Terminal
from autograder.selfcheck.channel import KernelSession
from autograder.selfcheck.locate import Located, locate
from autograder.selfcheck.parts import called_names, tests_of
from autograder.selfcheck.report import show
from autograder.selfcheck.todo import Todo, regions, unimplemented_in


@dataclass(frozen=True)
class SelfCheck:
    result: SubmissionResult   # the public tests (of the part asked for)
    todo: list[Todo]           # regions still raising NotImplementedError
    undefined: list[Todo]      # regions the kernel has not defined at all (their cells not run)


def check(part: str | None = None, namespace: dict[str, Any] | None = None) -> None:
    """Run the public tests of the assignment whose folder this kernel runs in (of `part` only, if given)
    against `namespace` (the kernel's own names) and print the results; a usage problem is printed too."""
    namespace = kernel_namespace() if namespace is None else namespace
    try:
        done = self_check(namespace, Path.cwd(), part)
    except UsageError as exc:
        Terminal(stderr=True).line(f"Error: {exc}")
        return
    show(Terminal(), done.result, done.todo, done.undefined, part)


def self_check(namespace: dict[str, Any], cwd: Path, part: str | None = None) -> SelfCheck:
    """The public tests run against `namespace`, and what it still lacks; a UsageError if the assignment's
    public tests cannot be found from `cwd` or no test is about `part`."""
    if part is not None and (not isinstance(part, str) or not part.strip()):
        raise UsageError('check(part) takes the name of a function or class, e.g. check("mse_loss")')
    part = part.strip() if part else None
    located = locate(namespace, cwd)
    calls = _public_calls(located)
    where = regions(located.saved) if located.saved else {}
    only = None if part is None else _tests_of(part, calls, {name.partition(".")[0] for name in where})
    result = _run(located, namespace, only)
    if only is not None:
        wanted = {part.partition(".")[0], *(name for test in only for name in calls[test])}
        where = {name: cell for name, cell in where.items() if name.partition(".")[0] in wanted}
    todo, undefined = unimplemented_in(namespace, where if located.notebook else dict.fromkeys(where))
    return SelfCheck(result, todo, undefined)


def kernel_namespace() -> dict[str, Any]:
    """The names the student's cells define: IPython's user namespace in a kernel, else `__main__`'s."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell.user_ns if shell is not None else vars(sys.modules["__main__"])


def _public_calls(located: Located) -> dict[str, set[str]]:
    tests = located.assignment.tests
    try:
        return called_names(tests.read_text(encoding="utf-8"), tests)
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise UsageError(f"{tests} cannot be read ({exc}): ask for a new copy of the assignment") from None


def _tests_of(part: str, calls: dict[str, set[str]], defined: set[str]) -> list[str]:
    """The public tests about `part`; a UsageError saying what they are about if none is (`defined`: the
    names of the notebook's solution cells)."""
    chosen = tests_of(part, calls)
    if not chosen and part.partition(".")[0] in defined:
        raise UsageError(f"no public test is about {part}: only the hidden tests check it, when your work is graded")
    if not chosen:
        names = sorted({name for names in calls.values() for name in names} & defined or
                       {name for names in calls.values() for name in names})
        raise UsageError(f"no public test is about {part!r}; they test {', '.join(names)}")
    return chosen


def _run(located: Located, namespace: dict[str, Any], only: list[str] | None) -> SubmissionResult:
    from autograder.grading.grade import run_tests   # imports pytest and torch: only when a check runs
    from autograder.grading.plugin import GradingPlugin

    plugin = GradingPlugin(None, session=KernelSession(namespace))
    label = located.notebook.name if located.notebook else "this notebook"
    with _as_in_a_worker():
        # pytest captures output at the sys level: the kernel's own file descriptors stay its own.
        return run_tests(plugin, label, located.assignment, public_only=True, only=only, capture="sys")


@contextlib.contextmanager
def _as_in_a_worker() -> Iterator[None]:
    """The tests run as in a worker, on one thread (torch's threads fight over a busy machine's cores: a
    test can take several times as long), and each reseeds the generators; after the check, the
    student's session goes on with its own threads and random state, as if no check had run."""
    import numpy as np
    import torch

    threads, states = torch.get_num_threads(), (random.getstate(), np.random.get_state(), torch.get_rng_state())
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
