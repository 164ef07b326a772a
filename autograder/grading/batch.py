"""Grading a class: take this shard's share of its rows, grade the submissions on several cores.

Each grading process is trusted (it is the parent side of its own workers); results cross back as
the plain dicts of the JSON report. A submission that cannot be graded becomes an error row and the
batch goes on. Ctrl-C stops the run within seconds and keeps what was graded: the pool's processes
ignore it, and the process that owns the pool kills them, and with them their workers.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.course.classlist import Row, on_roster
from autograder.errors import GraderError, UsageError
from autograder.worker.launch import kill_fresh_workers, shared_zygote, start_zygote, use_zygote
from autograder.grading.results import SubmissionResult
from autograder.course.roster import Student


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (1-based), as CI matrices, Slurm arrays and indexed Jobs number them."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> "Shard":
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise UsageError(f"--shard must look like i/N (for example 2/4), got {text!r}") from None
        if not 1 <= index <= count:
            raise UsageError(f"--shard {text}: i must be between 1 and N")
        return cls(index, count)

    def take(self, items: list) -> list:
        """Every count-th item from position index: deterministic for a sorted list."""
        return items[self.index - 1::self.count]

    def share(self, rows: list[Row]) -> list[Row]:
        """This shard's students (every count-th, in sorted order) with all their rows: a student is in
        one shard only, so merged shards never hold the same student twice."""
        mine = set(self.take(sorted({row.student for row in rows})))
        return [row for row in rows if row.student in mine]


@dataclass(frozen=True)
class ClassRun:
    results: list[SubmissionResult]
    incomplete: bool = False   # Ctrl-C stopped it: only what was graded before


def _assignment_hint(path: Path, assignment: str | None, root: Path) -> str | None:
    """nbgrader's layout names the assignment by the notebook's folder."""
    if assignment:
        return assignment
    from autograder.grading.assignments import available

    return path.parent.name if path.parent.name in available(root) else None


def grade_one(path: Path, assignment: str | None, root: Path) -> dict:
    """Grade one submission; a submission that cannot be graded at all becomes an unreadable row."""
    from autograder.grading.grade import grade_notebook, unreadable

    name = _assignment_hint(path, assignment, root)
    try:
        return grade_notebook(path, name, root).to_dict()
    except GraderError as exc:
        return unreadable(path, exc, name or "").to_dict()


def _grade_task(task: tuple[int, Path, str | None, Path]) -> tuple[int, dict]:
    index, *job = task
    return index, grade_one(*job)


def _stop(signum: int, frame: Any) -> None:
    """SIGTERM, from the process that owns the pool: end now. Workers forked by the shared zygote die
    with this process's connection to it; fresh interpreters are killed here."""
    kill_fresh_workers()
    os._exit(128 + signum)


def _pool_process(zygote: str | None) -> None:
    """Set up one of the pool's grading processes: Ctrl-C is for its owner to act on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop)
    use_zygote(zygote)


@contextlib.contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Processes started in here begin with Ctrl-C ignored (a terminal sends it to them all), before
    they could run any of their own code."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def grade_many(paths: list[Path], assignment: str | None, root: Path, jobs: int,
               progress: Callable[[SubmissionResult], None]) -> tuple[dict[int, SubmissionResult], bool]:
    """Grade every path, `jobs` at a time, calling `progress` as each finishes: the results by position
    in `paths`, and whether Ctrl-C stopped the run first (then only those finished are there). An
    `assignment` that does not exist is a UsageError before anything is graded."""
    from autograder.grading.assignments import find_assignment
    from autograder.reports import result_from_dict

    if assignment:
        find_assignment(assignment, root)
    done: dict[int, SubmissionResult] = {}

    def record(index: int, data: dict) -> None:
        done[index] = result_from_dict(data)
        progress(done[index])

    tasks = [(index, path, assignment, root) for index, path in enumerate(paths)]
    if not tasks:
        return done, False
    try:
        if jobs <= 1 or len(paths) <= 1:
            start_zygote()
            for task in tasks:
                record(*_grade_task(task))
            return done, False
        context = multiprocessing.get_context("spawn")  # a clean interpreter: nothing inherited from this one
        # One fork server, started here, serves the whole pool: it warms up while the pool's processes
        # import, and each extra process costs no second copy of torch's warm state.
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(paths)), mp_context=context,
                                   initializer=_pool_process, initargs=(shared_zygote(),))
        try:
            with _ctrl_c_ignored():   # the pool starts its processes as tasks are submitted
                futures = [pool.submit(_grade_task, task) for task in tasks]
            for future in as_completed(futures):
                record(*future.result())
        except BaseException:   # Ctrl-C: the pool's processes are ended now, their workers with them
            pool.shutdown(wait=False, cancel_futures=True)
            for process in multiprocessing.active_children():
                process.terminate()
            raise
        finally:
            pool.shutdown()
    except KeyboardInterrupt:
        return done, True
    return done, False


def grade_class(rows: list[Row], assignment: str | None, root: Path, jobs: int,
                roster: Mapping[str, Student] | None,
                progress: Callable[[SubmissionResult], None]) -> ClassRun:
    """Every row's result, in the order of `rows`: submissions graded (see grade_many), students with
    none as missing rows, each marked with its student and, with a roster, their details."""
    todo = [row.submission for row in rows if row.submission is not None]
    done, incomplete = grade_many(todo, assignment, root, jobs, progress)
    results, position = [], 0
    for row in rows:
        if row.submission is None:
            result = row.missing(assignment)
        else:
            result, position = done.get(position), position + 1
        if result is not None:
            results.append(on_roster(result, row.student, roster))
    return ClassRun(results, incomplete)


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
