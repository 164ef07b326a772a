"""OS isolation for a freshly forked worker, where Linux allows it without root.

In new user, mount, network and PID namespaces the worker has no network, cannot see the folders the
grader hides (the reference solution and hidden tests), sees only its own processes in /proc, cannot
signal the grader, and takes every process it starts down with it: when the namespace's first
process ends, the kernel kills the rest, however they daemonised. Each step is tried and reported;
a machine that refuses them (containers, AppArmor-restricted user namespaces) still gets the
guarantees that need no OS support.
"""
from __future__ import annotations

import ctypes
import os
import signal

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                       data.encode() if data else None), f"mount {target}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def enter(hidden: list[str]) -> list[str]:
    """Isolate the calling (single-threaded, just forked) process; the protections that took effect.

    With a PID namespace this forks once more: the caller stays behind as a plain reaper that exits
    with its child's status, and only the child returns, as process 1 of the new namespace.
    """
    uid, gid = os.getuid(), os.getgid()
    try:
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID), "unshare")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")
        _mount("none", "/", None, MS_REC | MS_PRIVATE)
    except OSError:
        return []
    active = ["network", "processes"]
    try:
        for path in hidden:
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0555")
        if hidden:
            active.append("files")
    except OSError:
        pass  # a folder that should be hidden is not: claim no file-system protection
    child = os.fork()
    if child:
        _reap(child)
    # Process 1 ignores signals sent from inside its namespace, so a worker could kill its reaper and
    # live on. Tie its life to the reaper's, and leave the reaper's process group.
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    os.setpgid(0, 0)
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        active.remove("processes")
    _lock_mounts(active)
    return active


def _lock_mounts(active: list[str]) -> None:
    """The worker is root in its user namespace and could unmount what hides the reference. Mounts
    inherited into a namespace owned by a further user namespace are locked: they cannot be undone."""
    try:
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", "0 0 1")
        _write("/proc/self/gid_map", "0 0 1")
    except OSError:
        if "files" in active:
            active.remove("files")


def _reap(child: int) -> None:
    """The reaper: hold nothing open, wait for process 1 of the namespace, and end the same way."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)
