"""Grading a class: find the submissions, take this shard's share, grade them on several cores.

Each grading process is trusted (it is the parent side of its own workers); results cross back as
the plain dicts of the JSON report. A submission that cannot be graded becomes an error row and the
batch goes on.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import GraderError, UsageError
from autograder.launch import shared_zygote, start_zygote, use_zygote
from autograder.results import SubmissionResult

SKIPPED_FOLDERS = {".ipynb_checkpoints", "__pycache__", ".git"}


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

    def take(self, items: list[Path]) -> list[Path]:
        """Every count-th item from position index: deterministic for a sorted list."""
        return items[self.index - 1::self.count]


def find_submissions(folder: Path) -> list[Path]:
    """Every notebook under `folder`, sorted: `<student>/<assignment>.ipynb`, nbgrader's
    `submitted/<student>/<assignment>/*.ipynb`, or a flat folder of notebooks.

    Symbolic links are not followed out of the folder (nor within it): a link named like a notebook,
    and a linked folder with notebooks in it, are listed themselves, so each is reported as what it
    is rather than graded as the student's work or silently left out.
    """
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    found = []
    for parent, folders, files in os.walk(folder):   # never descends into linked folders
        here = Path(parent)
        folders[:] = [name for name in folders if name not in SKIPPED_FOLDERS]
        found += [here / name for name in files if name.endswith(".ipynb")]
        found += [here / name for name in folders
                  if os.path.islink(here / name) and (name.endswith(".ipynb") or _holds_notebooks(here / name))]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _holds_notebooks(folder: Path, depth: int = 3, budget: int = 10_000) -> bool:
    """Whether a notebook lies within `depth` levels of `folder`, looking at no more than `budget`
    entries and following no further links: enough for every layout find_submissions knows."""
    pending = [(folder, depth)]
    while pending and budget > 0:
        current, left = pending.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    budget -= 1
                    if entry.name.endswith(".ipynb"):
                        return True
                    if left > 1 and entry.name not in SKIPPED_FOLDERS and entry.is_dir(follow_symlinks=False):
                        pending.append((Path(entry.path), left - 1))
                    if budget <= 0:
                        break
        except OSError:
            continue
    return False


def _assignment_hint(path: Path, assignment: str | None, root: Path) -> str | None:
    """nbgrader's layout names the assignment by the notebook's folder."""
    if assignment:
        return assignment
    from autograder.assignments import available

    return path.parent.name if path.parent.name in available(root) else None


def grade_one(path: Path, assignment: str | None, root: Path) -> dict:
    """Grade one submission; a submission that cannot be graded at all becomes an unreadable row."""
    from autograder.grading import grade_notebook, unreadable

    name = _assignment_hint(path, assignment, root)
    try:
        return grade_notebook(path, name, root).to_dict()
    except GraderError as exc:
        return unreadable(path, exc, name or "").to_dict()


def grade_many(paths: list[Path], assignment: str | None, root: Path, jobs: int,
               progress: Callable[[SubmissionResult], None]) -> list[SubmissionResult]:
    """Grade every path, `jobs` at a time; results in the order of `paths`. An `assignment` that does
    not exist is a UsageError before anything is graded."""
    from autograder.assignments import find_assignment
    from autograder.reports import result_from_dict

    if assignment:
        find_assignment(assignment, root)

    def collect(results: Iterator[dict]) -> list[SubmissionResult]:
        done = []
        for data in results:
            done.append(result_from_dict(data))
            progress(done[-1])
        return done

    if jobs <= 1 or len(paths) <= 1:
        start_zygote()
        return collect(grade_one(path, assignment, root) for path in paths)
    context = multiprocessing.get_context("spawn")  # a clean interpreter: nothing inherited from this one
    # One fork server, started here, serves the whole pool: it warms up while the pool's processes
    # import, and each extra process costs no second copy of torch's warm state.
    with ProcessPoolExecutor(max_workers=min(jobs, len(paths)), mp_context=context,
                             initializer=use_zygote, initargs=(shared_zygote(),)) as pool:
        return collect(pool.map(grade_one, paths, [assignment] * len(paths), [root] * len(paths)))


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
