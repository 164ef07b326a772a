"""Reading and fingerprinting a class's notebooks on all cores: the slow part of comparing a large class.

Each process of the pool reads the stub (and reference) itself and then the notebooks it is given, by
path; only the resulting code comes back. Nothing here runs submission code: the processes tokenize and
parse it, as the parent would.
"""
from __future__ import annotations

import os
import signal
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from autograder.errors import NotebookError
from autograder.grading.notebook import read_notebook, read_submission
from autograder.course.similarity.code import Code, Stub

SERIAL_BELOW = 40   # notebooks: fewer are read in this process, as starting a pool would cost more

_stub: Stub | None = None


def make_stub(stub: Path, reference: Path | None) -> Stub:
    return Stub(read_notebook(stub), read_notebook(reference) if reference is not None else None)


def code_of(stub: Stub, path: Path) -> Code | str:
    """The code of the notebook at `path`, or why it cannot be compared."""
    try:
        return stub.code_of(read_submission(path))
    except NotebookError as exc:
        return exc.reason
    except ValueError as exc:
        return str(exc)


def _start(stub: Path, reference: Path | None) -> None:
    global _stub
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is for the process that owns the pool
    _stub = make_stub(stub, reference)


def _code_in_pool(path: Path) -> Code | str:
    assert _stub is not None
    return code_of(_stub, path)


def codes(paths: list[Path], stub: Stub, made_from: tuple[Path, Path | None]) -> list[Code | str]:
    """code_of each path, in order, on as many cores as this process may use; `made_from` are the stub's
    and reference's notebooks, for the pool's processes to read."""
    jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if jobs < 2 or len(paths) < SERIAL_BELOW:
        return [code_of(stub, path) for path in paths]
    with ProcessPoolExecutor(jobs, initializer=_start, initargs=made_from) as pool:
        try:
            return list(pool.map(_code_in_pool, paths, chunksize=8))
        except KeyboardInterrupt:   # stop at once: what is under way finishes, nothing more starts
            pool.shutdown(wait=False, cancel_futures=True)
            raise
