"""A process-count limit per worker, from the cgroup pids controller, where this user may make cgroups.

Namespaces bound what a worker can see, not how many processes it starts: a fork bomb inside its PID
namespace would be stopped only by the time limit, after it has starved the machine. The pids
controller caps the tasks (processes and threads) of a cgroup. Creating one needs write access to a
pids hierarchy: root in a container, or a delegated subtree. Elsewhere there is no limit, and
`grade doctor` says so.
"""
from __future__ import annotations

import os
import signal
import time


def pids_hierarchy() -> str | None:
    """The folder of this process's own pids cgroup if new cgroups can be made in it, else None."""
    try:
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split() for line in f]
        with open("/proc/self/cgroup") as f:
            memberships = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        return None
    for fields in mounts:
        tail = fields[fields.index("-") + 1:]
        fstype, options = tail[0], tail[2].split(",") if len(tail) > 2 else []
        own = None
        if fstype == "cgroup" and "pids" in options:       # v1: a hierarchy of its own
            own = next((path for _, names, path in memberships if "pids" in names.split(",")), None)
        elif fstype == "cgroup2":                           # v2: only if pids is already delegated here
            own = next((path for number, _, path in memberships if number == "0"), None)
        if own is None:
            continue
        folder = os.path.join(fields[4], own.lstrip("/"))
        if fstype == "cgroup2" and "pids" not in _read(os.path.join(folder, "cgroup.subtree_control")).split():
            continue
        if _can_make_groups(folder):
            return folder
    return None


def _can_make_groups(hierarchy: str) -> bool:
    """Whether a limited group can really be made here (write access alone does not say so)."""
    try:
        ProcessGroup.create(hierarchy, f"grade-{os.getpid()}-probe", 1).remove()
        return True
    except OSError:
        return False


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def remove_stale(hierarchy: str) -> None:
    """Remove the groups of fork servers that died without cleaning up (killed, not closed): a group
    is named grade-<fork server's pid>-<n>."""
    for name in os.listdir(hierarchy):
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "grade" and parts[1].isdigit() and not os.path.exists(f"/proc/{parts[1]}"):
            ProcessGroup(os.path.join(hierarchy, name)).remove()


class ProcessGroup:
    """One worker's cgroup: made by the fork server, joined by the worker before anything else runs."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    @classmethod
    def create(cls, hierarchy: str, name: str, max_tasks: int) -> "ProcessGroup":
        group = cls(os.path.join(hierarchy, name))
        os.mkdir(group.folder)
        try:
            with open(os.path.join(group.folder, "pids.max"), "w") as f:
                f.write(str(max_tasks))
        except OSError:
            os.rmdir(group.folder)
            raise
        return group

    def join(self) -> None:
        """Move the calling process in; its children and threads are counted from then on."""
        with open(os.path.join(self.folder, "cgroup.procs"), "w") as f:
            f.write("0")

    def remove(self, seconds: float = 2.0) -> bool:
        """Kill whatever is still in it and remove it; False if it could not be removed in time."""
        deadline = time.monotonic() + seconds
        while True:
            for pid in _read(os.path.join(self.folder, "cgroup.procs")).split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                os.rmdir(self.folder)
                return True
            except FileNotFoundError:
                return True
            except OSError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
