"""Starting worker processes: forked from a warm zygote when one can run, else a fresh interpreter.

Either way the worker gets the same things: its own session (so its whole process group can be
killed), a private working directory, a scrubbed environment, requests on fd 0, answers on fd 1 and
its output file on fd 2. Only the cost differs: a fork takes milliseconds, a fresh interpreter seconds.
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.worker.limits import Limits


_PASSED_ENV = ("LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def scrubbed_env(home: str) -> dict[str, str]:
    """The environment of every process that runs or forks submission code: no grader secrets, one
    thread, and the few variables numerics need (OpenBLAS settings that keep it from crashing here)."""
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    env.update(PATH=os.defpath, HOME=home, TMPDIR=home, PYTHONHASHSEED="0", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    return env


class WorkerProcess:
    """A running worker: the parent's ends of its pipes, and how to poll and kill it."""

    pid: int
    request_fd: int
    answer_fd: int

    def running(self) -> bool:
        raise NotImplementedError

    def ended(self, seconds: float) -> bool:
        """Whether it ends by itself within `seconds` (a dying worker's reaper needs a moment)."""
        deadline = time.monotonic() + seconds
        while self.running():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def kill(self) -> int | None:
        """Kill its whole process group, reap it, close the pipes; the return code if known."""
        raise NotImplementedError


_fresh_pids: set[int] = set()   # fresh interpreters running now: nothing else ends them if this process goes


def kill_fresh_workers() -> None:
    """Kill every fresh-interpreter worker of this process at once (it is being stopped). Workers forked
    by a zygote need nothing: the zygote kills them when this process's connection to it closes."""
    for pid in list(_fresh_pids):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class _FreshProcess(WorkerProcess):
    def __init__(self, cwd: Path, env: dict[str, str], output_fd: int) -> None:
        self._popen = subprocess.Popen(
            [sys.executable, "-I", "-m", "autograder.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=output_fd, cwd=cwd, env=env, start_new_session=True, close_fds=True)
        self.pid = self._popen.pid
        _fresh_pids.add(self.pid)
        self.request_fd, self.answer_fd = self._popen.stdin.fileno(), self._popen.stdout.fileno()

    def running(self) -> bool:
        if self._popen.poll() is None:
            return True
        _fresh_pids.discard(self.pid)   # reaped: its number may be another process's soon
        return False

    def kill(self) -> int | None:
        if self._popen.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        code = self._popen.wait()
        _fresh_pids.discard(self.pid)
        self._popen.stdin.close()
        self._popen.stdout.close()
        return code


class ZygoteUnavailable(Exception):
    """The fork server could not be started or stopped answering."""


class _Zygote:
    """A connection to a fork server (see autograder/worker/zygote.py). The process that starts one owns it:
    the server ends when its owner's connection closes. Other grading processes (a batch's pool) may
    connect to the same server by its socket's path and share it. It is started without waiting for
    it, so that it warms up while the grading process does its own imports."""

    def __init__(self, path: str | None = None) -> None:
        self._popen = self._home = None
        if path is None:
            self._home = tempfile.TemporaryDirectory(prefix="grade-zygote-")
            path = os.path.join(self._home.name, "socket")
            listening = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            listening.bind(path)
            listening.listen(64)
            self._popen = subprocess.Popen(
                [sys.executable, "-I", "-m", "autograder.worker.zygote", str(listening.fileno())],
                pass_fds=[listening.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, cwd=self._home.name, env=scrubbed_env(self._home.name),
                start_new_session=True)
            listening.close()
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock.connect(path)
        self._ready = False

    def wait_ready(self, start_seconds: float) -> None:
        if self._ready:
            return
        self._sock.settimeout(start_seconds)
        if self._receive() != {"ready": True}:
            raise ZygoteUnavailable("the fork server did not start")
        self._sock.settimeout(30)
        self._ready = True

    def _receive(self) -> dict:
        try:
            data = self._sock.recv(65536)
        except OSError as exc:
            raise ZygoteUnavailable(f"the fork server stopped answering ({exc})") from None
        if not data:
            raise ZygoteUnavailable("the fork server has exited")
        return json.loads(data)

    def _ask(self, message: dict, fds: list[int] = ()) -> dict:
        try:
            socket.send_fds(self._sock, [json.dumps(message).encode()], list(fds))
        except OSError as exc:
            raise ZygoteUnavailable(f"the fork server stopped answering ({exc})") from None
        return self._receive()

    def spawn(self, cwd: Path, env: dict[str, str], hide: list[str], limits: Limits, fds: list[int]) -> int:
        request = {"op": "spawn", "cwd": str(cwd), "env": env, "hide": hide, "disk": limits.disk_bytes,
                   "tasks": limits.max_tasks, "memory": limits.memory_bytes}
        return int(self._ask(request, fds)["pid"])

    def status(self, op: str, pid: int) -> int | None:
        reply = self._ask({"op": op, "pid": pid})
        if "error" in reply:
            raise ZygoteUnavailable(f"the fork server refused: {reply['error']}")
        return reply["status"]

    def close(self) -> None:
        self._sock.close()
        if self._popen is None:
            return
        try:
            self._popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._popen.pid, signal.SIGKILL)
            self._popen.wait()
        self._home.cleanup()


class _ForkedProcess(WorkerProcess):
    def __init__(self, zygote: _Zygote, cwd: Path, env: dict[str, str], hide: list[str], limits: Limits,
                 output_fd: int) -> None:
        request_read, self.request_fd = os.pipe()
        self.answer_fd, answer_write = os.pipe()
        try:
            self.pid = zygote.spawn(cwd, env, hide, limits, [request_read, answer_write, output_fd])
        except ZygoteUnavailable:
            os.close(self.request_fd)
            os.close(self.answer_fd)
            raise
        finally:
            os.close(request_read)
            os.close(answer_write)
        self._zygote, self._code, self._closed = zygote, None, False

    def running(self) -> bool:
        if self._code is not None:
            return False
        try:
            self._code = self._zygote.status("poll", self.pid)
            return self._code is None
        except ZygoteUnavailable:  # the worker killed the zygote and now belongs to init
            try:
                os.kill(self.pid, 0)
                return True
            except ProcessLookupError:
                return False

    def kill(self) -> int | None:
        if self._code is None:
            try:
                self._code = self._zygote.status("kill", self.pid)
            except ZygoteUnavailable:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if not self._closed:
            os.close(self.request_fd)
            os.close(self.answer_fd)
            self._closed = True
        return self._code


_zygote: _Zygote | None = None
_zygote_failed = False


def start_zygote() -> None:
    """Start the fork server now, in the background, unless workers are to be fresh interpreters or
    one is already running; the first launch() waits for it. Call it before heavy imports."""
    global _zygote, _zygote_failed
    if os.environ.get("GRADE_FRESH_WORKERS") == "1" or _zygote_failed or _zygote is not None:
        return
    try:
        _zygote = _Zygote()
        atexit.register(_shutdown)
    except OSError:
        _zygote_failed = True  # cannot run here: fresh interpreters from now on


def shared_zygote() -> str | None:
    """The socket path of this process's fork server (started if need be), for other grading
    processes to share; None where none can run."""
    start_zygote()
    return _zygote.path if _zygote is not None else None


def use_zygote(path: str | None) -> None:
    """Fork workers from the server at `path`, another process's, instead of starting one here (each
    process of `grade batch`'s pool); start one here if that cannot be done."""
    global _zygote
    if path is not None and os.environ.get("GRADE_FRESH_WORKERS") != "1" and _zygote is None:
        try:
            _zygote = _Zygote(path)
            atexit.register(_shutdown)
        except OSError:
            pass
    start_zygote()


def launch(cwd: Path, env: dict[str, str], output_fd: int, limits: Limits, hide: list[str] = ()) -> WorkerProcess:
    """A new worker, forked from the zygote (started on first use) unless it cannot run here; a forked
    worker is also sandboxed where the OS allows (see sandbox.py): `cwd` becomes a tmpfs of
    `limits.disk_bytes`, at most `limits.max_tasks` tasks and `limits.memory_bytes` of memory are
    used by it and all it starts (cgroups.py), and the `hide`
    folders are hidden even if its own root cannot be built."""
    global _zygote_failed
    start_zygote()
    if _zygote is None or os.environ.get("GRADE_FRESH_WORKERS") == "1":
        return _FreshProcess(cwd, env, output_fd)
    try:
        _zygote.wait_ready(limits.start_seconds)
    except (ZygoteUnavailable, OSError):
        _shutdown()
        _zygote_failed = True  # it could not start here: fresh interpreters from now on
        return _FreshProcess(cwd, env, output_fd)
    try:
        return _ForkedProcess(_zygote, cwd, env, [str(p) for p in hide], limits, output_fd)
    except (ZygoteUnavailable, OSError):
        _shutdown()  # it died (a worker may have killed it): the next launch starts a new one
        return _FreshProcess(cwd, env, output_fd)


def _shutdown() -> None:
    global _zygote
    if _zygote is not None:
        zygote, _zygote = _zygote, None
        zygote.close()
