"""Limits on a worker's whole process tree, from cgroups, where this user may make them.

Namespaces bound what a worker can see, not how much it uses: a fork bomb inside its PID namespace
would be stopped only by the time limit, and RLIMIT_AS bounds each process, not the tree (four
processes may each hold nearly the limit). Each worker gets a cgroup of its own in each hierarchy
that can be had: the pids controller caps its tasks (processes and threads), the memory controller
the memory of all of them together. Making cgroups needs write access to a hierarchy: root, in a
container or on a CI runner, or a delegated subtree. Elsewhere `grade doctor` says what is missing.

A grader only ever touches cgroups it made itself. Each fork server makes one folder of its own,
`grade-<random>`, in each hierarchy and holds an exclusive `flock` on it as long as it runs; its
workers' groups are made inside it. A folder is stale, and removed by the next server, only when
that lock can be taken: its owner is gone, whatever PID or mount namespace it ran in. Folders are made
and locked, and stale ones judged, under a lock on the hierarchy itself, so no server judges a folder
another is still making.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import signal
import time
from collections.abc import Iterator

PREFIX = "grade-"
_SERVER_FOLDER = re.compile(r"grade-[0-9a-f]{16}")  # PREFIX and 8 random bytes: what Owner makes, nothing else
# what each controller's limit is written to, in cgroup v1 and v2
LIMIT_FILES = {"pids": ("pids.max", "pids.max"), "memory": ("memory.limit_in_bytes", "memory.max")}


def hierarchies() -> dict[str, tuple[str, bool]]:
    """For each controller: the folder of this process's own cgroup in a hierarchy that has it, and
    whether that hierarchy is cgroup v2. Whether groups can really be made there is found by trying."""
    try:
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split() for line in f]
        with open("/proc/self/cgroup") as f:
            memberships = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        return {}
    found: dict[str, tuple[str, bool]] = {}
    for fields in mounts:
        tail = fields[fields.index("-") + 1:]
        fstype, options = tail[0], tail[2].split(",") if len(tail) > 2 else []
        for controller in LIMIT_FILES:
            if controller in found:
                continue
            if fstype == "cgroup" and controller in options:   # v1: a hierarchy per controller
                own = next((path for _, names, path in memberships if controller in names.split(",")), None)
            elif fstype == "cgroup2":                           # v2: only if the controller is delegated here
                own = next((path for number, _, path in memberships if number == "0"), None)
            else:
                continue
            if own is None:
                continue
            folder = os.path.join(fields[4], own.lstrip("/"))
            if fstype == "cgroup2" and controller not in _read(os.path.join(folder, "cgroup.subtree_control")).split():
                continue
            found[controller] = (folder, fstype == "cgroup2")
    return found


def available() -> list[str]:
    """The controllers a fork server here gets, found by claiming (and releasing) a folder."""
    owner = Owner()
    try:
        return sorted(owner.folders)
    finally:
        owner.release()


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


@contextlib.contextmanager
def _locked(folder: str, blocking: bool = True) -> Iterator[int]:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        yield fd
    finally:
        os.close(fd)


def _empty_and_remove(folder: str, seconds: float = 10.0) -> None:
    """Kill whatever is in `folder` and its subgroups and remove them all, trying for up to `seconds`
    (what is left then is removed with its fork server's folder, or as stale by the next server)."""
    deadline = time.monotonic() + seconds
    for entry in _subgroups(folder):
        _empty_and_remove(entry, max(0.0, deadline - time.monotonic()))
    while True:
        for pid in _read(os.path.join(folder, "cgroup.procs")).split():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(pid), signal.SIGKILL)
        try:
            os.rmdir(folder)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)


def _subgroups(folder: str) -> list[str]:
    try:
        return [entry.path for entry in os.scandir(folder) if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def is_server_folder(name: str) -> bool:
    """Whether `name` is a fork server's folder as Owner names them: any other folder (another program's,
    or another version's) is never judged, however it is named."""
    return _SERVER_FOLDER.fullmatch(name) is not None


def _remove_stale(hierarchy: str) -> None:
    """Remove the folders of fork servers that are gone (killed, not closed): those whose lock is free."""
    with _locked(hierarchy):
        for entry in os.scandir(hierarchy):
            if not is_server_folder(entry.name) or not entry.is_dir(follow_symlinks=False):
                continue
            try:
                with _locked(entry.path, blocking=False):
                    _empty_and_remove(entry.path)
            except OSError:
                pass  # locked: its server runs


class ProcessGroup:
    """One worker's cgroups: made by the fork server, joined by the worker before anything else runs."""

    def __init__(self, folders: dict[str, str]) -> None:
        self.folders = folders  # controller -> folder; several controllers may share one (v2)

    def join(self) -> list[str]:
        """Move the calling process in; its children and threads are counted from then on. The
        controllers whose group it joined."""
        joined = []
        for controller, folder in self.folders.items():
            try:
                _write(os.path.join(folder, "cgroup.procs"), "0")
                joined.append(controller)
            except OSError:
                pass
        return joined

    def remove(self) -> None:
        """Kill whatever is still in it and remove it."""
        for folder in set(self.folders.values()):
            _empty_and_remove(folder)


class Owner:
    """A fork server's own folders, one per hierarchy, locked while it runs."""

    def __init__(self) -> None:
        self.name = PREFIX + secrets.token_hex(8)
        self.folders: dict[str, tuple[str, bool]] = {}  # controller -> (our folder, v2)
        self._locks: dict[str, int] = {}                # our folder -> its locked descriptor
        for controller, (hierarchy, v2) in hierarchies().items():
            folder = os.path.join(hierarchy, self.name)
            if folder not in self._locks and not self._claim(hierarchy, folder, v2):
                continue
            self.folders[controller] = (folder, v2)
        for folder, v2 in set(self.folders.values()):
            if v2:  # let the workers' groups below use the controllers
                with contextlib.suppress(OSError):
                    _write(os.path.join(folder, "cgroup.subtree_control"),
                           " ".join(f"+{c}" for c, (f, _) in self.folders.items() if f == folder))

    def _claim(self, hierarchy: str, folder: str, v2: bool) -> bool:
        try:
            _remove_stale(hierarchy)
            with _locked(hierarchy):
                os.mkdir(folder)
                fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        self._locks[folder] = fd
        return True

    def group(self, name: str, limits: dict[str, int]) -> ProcessGroup:
        """A worker's group under each of our folders, with `limits` (controller -> value) written;
        controllers whose group could not be made are left out."""
        folders: dict[str, str] = {}
        for controller, (parent, v2) in self.folders.items():
            folder = os.path.join(parent, name)
            try:
                if not os.path.isdir(folder):  # v2: one folder for every controller
                    os.mkdir(folder)
                _write(os.path.join(folder, LIMIT_FILES[controller][v2]), str(limits[controller]))
                if controller == "memory":
                    self._no_swap(folder, v2, limits[controller])
                folders[controller] = folder
            except OSError:
                if folder not in folders.values():
                    with contextlib.suppress(OSError):
                        os.rmdir(folder)
        return ProcessGroup(folders)

    @staticmethod
    def _no_swap(folder: str, v2: bool, limit: int) -> None:
        """Memory swapped out is still the worker's: cap memory and swap together where the kernel counts swap."""
        path = os.path.join(folder, "memory.swap.max" if v2 else "memory.memsw.limit_in_bytes")
        if os.path.exists(path):
            _write(path, "0" if v2 else str(limit))

    def release(self) -> None:
        """Remove our folders (every worker's group in them is emptied first) and let go of the locks."""
        for folder, fd in self._locks.items():
            _empty_and_remove(folder)
            os.close(fd)
        self._locks.clear()
