"""The grader's side of a worker: start it, ask it things, and settle every time limit in one place."""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from autograder.worker import wire
from autograder.errors import ProtocolError, WorkerDied, WorkerTimeout
from autograder.worker.launch import launch, scrubbed_env
from autograder.worker.limits import Limits
from autograder.remote import Channel


class Budget:
    """The wall-clock time a submission has left, shared by every worker started for it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def deadline(self, seconds: float) -> tuple[float, float]:
        """(deadline, the limit that applies), or WorkerTimeout if nothing is left."""
        remaining = self.ends - time.monotonic()
        if remaining <= 0:
            raise WorkerTimeout(f"the submission used up its time budget of {self.seconds:g} s")
        limit = min(seconds, remaining)
        return time.monotonic() + limit, limit


def _copy_data(files: tuple[Path, ...], folder: Path) -> Path:
    """The assignment's public data files, copied into the worker's folder as `data/`: its own copies (which
    the sandbox shows read-only), never a path into the instructor's folder, where the hidden files are."""
    folder.mkdir()
    for source in files:
        shutil.copyfile(source, folder / source.name)
        (folder / source.name).chmod(0o444)
    return folder


class WorkerClient(Channel):
    """One worker process running one submission. Handles it returns become proxies bound to it."""

    stale = "this student object belongs to a worker that has been replaced"

    def __init__(self, limits: Limits, budget: Budget, hide: tuple[Path, ...] = (),
                 data: tuple[Path, ...] = ()) -> None:
        self.limits, self.budget = limits, budget
        self.request_seconds = limits.request_seconds
        self._dir = tempfile.TemporaryDirectory(prefix="grade-")
        # An unlinked file: the worker writes to it through its descriptor, but has no path by which to
        # swap it for a symlink or a FIFO before the grader reads it back.
        self._output = tempfile.TemporaryFile()
        work = Path(self._dir.name) / "work"
        work.mkdir()
        shown = _copy_data(data, work / "data") if data else None
        self._proc = launch(work, scrubbed_env(str(work)), self._output.fileno(), limits, list(hide), shown)
        self.request({"op": "limits", "limits": {"memory": limits.memory_bytes,
                                                 "cpu": int(limits.submission_seconds) + 1,
                                                 "file_size": limits.file_size_bytes}},
                     timeout=limits.start_seconds)

    def run_cell(self, label: str, source: str) -> dict[str, str] | None:
        """Run one cell; its error (type, message, traceback), or None. A cell that overruns is
        interrupted inside the worker first, so the cells after it still run."""
        report = self.request({"op": "run_cell", "label": label, "source": source,
                               "timeout": self.limits.cell_seconds}, timeout=self.limits.cell_seconds + 5)
        if report is None or type(report) is dict and report.keys() == {"type", "message", "traceback"} \
                and all(type(v) is str for v in report.values()):
            return report
        self.close()
        raise ProtocolError("the worker sent a malformed cell report; it was stopped")

    def request(self, message: dict[str, Any], timeout: float | None = None) -> Any:
        deadline, limit = self.budget.deadline(timeout or self.request_seconds)
        if not self._proc.running():
            raise WorkerDied(self._death_reason())
        try:
            wire.write_message(self._proc.request_fd, wire.pack(message, self._to_handle))
            reply = wire.read_message(self._proc.answer_fd, self._from_handle, deadline)
        except wire.ChannelTimeout:
            self.close()
            raise WorkerTimeout(f"no answer within {limit:g} s; the worker was stopped") from None
        except (wire.ChannelClosed, BrokenPipeError):
            raise WorkerDied(self._death_reason()) from None
        except wire.WireError as exc:
            self.close()
            raise ProtocolError(f"the worker sent invalid data ({exc}); it was stopped") from None
        try:
            return self._answer(reply)
        except ProtocolError:
            self.close()
            raise ProtocolError("the worker sent a malformed answer; it was stopped") from None

    def _death_reason(self) -> str:
        self._proc.ended(2.0)
        code = self._proc.kill()
        if code is None:
            return "the worker process ended"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:   # real-time signals but the first and last have no name
                name = f"signal {-code}"
            hint = {"SIGKILL": " (often: out of memory)", "SIGXCPU": " (CPU time limit)",
                    "SIGXFSZ": " (file size limit)", "SIGSEGV": " (crashed)"}.get(name, "")
            return f"the worker process was killed by {name}{hint}"
        return f"the worker process exited with code {code}"

    @property
    def alive(self) -> bool:
        return self._proc.running()

    def output(self) -> str:
        """What the submission printed, cut to the output limit."""
        limit = self.limits.output_bytes
        data = os.pread(self._output.fileno(), limit + 1, 0)
        text = data[:limit].decode("utf-8", "replace")
        return text + ("\n[output truncated]" if len(data) > limit else "")

    def close(self) -> None:
        self._proc.kill()

    def cleanup(self) -> None:
        self.close()
        self._output.close()
        self._dir.cleanup()
