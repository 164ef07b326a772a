"""OS isolation for a freshly forked worker, where Linux allows it.

In new mount, network, PID, UTS, IPC and cgroup namespaces the worker has no network, sees only its
own processes in /proc, cannot signal the grader, shares no hostname, System V IPC or view of the
cgroup tree with the host, and takes every process it starts down with it: when the namespace's
first process ends, the kernel kills the rest, however they daemonised.

Its file system is built from an allow-list rather than the grader's with holes cut in it: an empty
root holding, read-only and at their usual paths, the system folders, the few files of /etc that
programs need, the Python installation and the engine's own package; a few harmless devices; a fresh
/proc whose /proc/sys is read-only; and one writable folder, its own, on a size-limited tmpfs that is
also /tmp. The project (reference solutions, hidden tests, .git, other submissions, report paths,
sockets) is simply not there. The folders named to be hidden are also covered on the grader's file
system, so they stay hidden if the new root cannot be built.

The worker is never the grader's root: a root grader's worker becomes an uid of no host account, and
everyone's worker then gives up every privilege and the system calls that could undo all this
(lockdown.py).

Each step is tried and reported; a machine that refuses them (containers, AppArmor-restricted user
namespaces) still gets the guarantees that need no OS support.
"""
from __future__ import annotations

import ctypes
import os
import platform
import re
import select
import signal
import sys
from dataclasses import dataclass

from autograder.worker import lockdown

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x02000000, 0x04000000, 0x08000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC
WORKER_ID = 2**31 - 3  # the uid and gid a worker of a root grader runs as: no account of the host's
HOSTNAME = b"worker"
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 0x1, 0x2, 0x4, 0x8, 0x20
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE = 0x400, 0x800, 0x1000, 0x4000, 0x40000
MS_RELATIME, MS_STRICTATIME = 0x200000, 0x1000000
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41}.get(platform.machine())

SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Of /etc only what the dynamic linker, time zones and user lookups read: the rest (ssh keys, shadow,
# service credentials) may be readable by the grading user, and so by a worker.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/nsswitch.conf",
             "/etc/passwd", "/etc/group", "/etc/hosts")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class View:
    """What a worker's file system holds besides the system: its scratch folder and that folder's size."""

    root: str                       # an empty folder of the grader's to build the new root on
    read_only: tuple[str, ...]      # folders and files shown read-only at their own paths
    scratch: str                    # the worker's folder: cwd, HOME and TMPDIR
    scratch_bytes: int


def runtime_paths() -> tuple[str, ...]:
    """What a worker of this interpreter needs to see: the system's folders, a few files of /etc,
    Python's installation and the engine's package."""
    import autograder

    paths = [*SYSTEM_FOLDERS, *ETC_FILES, sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix,
             os.path.dirname(os.path.abspath(autograder.__file__))]
    kept: list[str] = []
    for path in sorted({os.path.abspath(p) for p in paths if os.path.lexists(p)}):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return tuple(kept)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode() if source else None, target.encode(), fstype.encode() if fstype else None,
                       flags, data.encode() if data else None), f"mount {target}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def enter(view: View, hidden: list[str]) -> list[str]:
    """Isolate the calling (single-threaded, just forked) process; the protections that took effect.

    With a PID namespace this forks once more: the caller stays behind as a plain reaper that exits
    with its child's status, and only the child returns, as process 1 of the new namespace.

    Started by root (a CI runner, a container), the namespaces belong to the host's user namespace
    and the worker then becomes WORKER_ID, an uid of no host account: it owns nothing outside its own
    folder. Started by anyone else, a user namespace is needed to make the others, and the worker's
    root there is the grader's own uid.
    """
    uid, gid = os.getuid(), os.getgid()
    # root without the capability to make namespaces (some containers) may still make a user namespace
    privileged = os.geteuid() == 0 and _libc.unshare(NAMESPACES) == 0
    try:
        if not privileged:
            _check(_libc.unshare(NAMESPACES | CLONE_NEWUSER), "unshare")
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"0 {uid} 1")
            _write("/proc/self/gid_map", f"0 {gid} 1")
        _mount("none", "/", None, MS_REC | MS_PRIVATE)
    except OSError:
        return []
    active = ["network", "processes", "ipc"]
    _libc.sethostname(HOSTNAME, len(HOSTNAME))
    try:
        for path in hidden:
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0555")
        if hidden:
            active.append("files")
    except OSError:
        pass  # a folder that should be hidden is not: claim no file-system protection
    owner = WORKER_ID if privileged else None
    try:
        _build_root(view, hidden, owner)
        new_root = True
    except OSError:
        new_root = False
    reaper_gone, reaper_alive = os.pipe()
    child = os.fork()
    if child:
        os.close(reaper_gone)
        _reap(child)
    os.close(reaper_alive)
    # Process 1 ignores signals sent from inside its namespace, so a worker could kill its reaper and
    # live on. Tie its life to the reaper's, and leave the reaper's process group.
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    os.setpgid(0, 0)
    if new_root:
        # /proc can only be mounted while the grader's own /proc is still in sight: before the switch.
        new_root = _mount_proc(view.root + "/proc") and _switch_root(view)
    if new_root:
        active += ["files", "root", "disk"] if "files" not in active else ["root", "disk"]
    elif not _mount_proc("/proc"):
        active.remove("processes")
    if "processes" in active:
        active.append("sysctl")
    if privileged:
        if not new_root:
            os.chown(view.scratch, WORKER_ID, WORKER_ID)
        lockdown.drop_bounding_set()
        os.setgroups([])
        os.setresgid(WORKER_ID, WORKER_ID, WORKER_ID)
        os.setresuid(WORKER_ID, WORKER_ID, WORKER_ID)
        active.append("uid")
    else:
        _lock_mounts(active)
    # A change of credentials clears the parent-death signal: set it again, then make sure the
    # reaper did not go in between (its end of the pipe closes with it).
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    if select.select([reaper_gone], [], [], 0)[0]:
        os._exit(1)
    os.close(reaper_gone)
    return active + lockdown.lock_down()


def _build_root(view: View, hidden: list[str], owner: int | None) -> None:
    """Assemble the worker's root under view.root (in this mount namespace only), read-only but for
    its scratch folder and /tmp, which are one size-limited tmpfs (its folder given to `owner`)."""
    if SYS_PIVOT_ROOT is None:
        raise OSError(0, f"no known pivot_root system call on {platform.machine()}")
    root = view.root
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    # One tmpfs holds all the worker may write. It is /tmp, mounted first so that shown folders under
    # /tmp (a project checked out there) are bound on top of it; the scratch folder is inside it, or,
    # when the grader's scratch folders are not under /tmp, a second view of it at the same path.
    scratch, tmp = root + view.scratch, root + "/tmp"
    os.makedirs(tmp)
    _mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, f"size={view.scratch_bytes},nr_inodes=16384,mode=1777")
    for path in view.read_only:
        if os.path.islink(path) and os.path.dirname(path) == "/":
            os.symlink(os.readlink(path), root + path)  # /lib -> usr/lib on merged-/usr systems
        elif os.path.exists(path):
            _bind(path, root + path)
    for device in DEVICES:
        if os.path.exists(device):
            _bind(device, root + device)
    os.makedirs(scratch, exist_ok=True)
    if not view.scratch.startswith("/tmp/"):
        _mount(tmp, scratch, None, MS_BIND)
    if owner is not None:
        os.chown(scratch, owner, owner)
    os.makedirs(root + "/proc", exist_ok=True)
    for path in hidden:
        if os.path.isdir(root + path):  # a hidden folder inside a shown one
            _mount("tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0555")
    for mount_point in _mounts_under(root):
        if mount_point not in (scratch, tmp):
            _remount_read_only(mount_point)


def _bind(source: str, target: str) -> None:
    """Show `source` (a folder with what is mounted inside it, or a file) at `target`."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | MS_REC)


def _mounts_under(root: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [_unescape(line.split()[4]) for line in f]
    return [p for p in points if p == root or p.startswith(root + "/")]


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _remount_read_only(path: str) -> None:
    """Flags the mount had in the grader's namespace are locked in ours: a remount must repeat them."""
    flags = os.statvfs(path).f_flag
    keep = MS_REMOUNT | MS_BIND | MS_RDONLY | (flags & (os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC))
    if flags & os.ST_NOATIME:
        keep |= MS_NOATIME
    elif flags & os.ST_RELATIME:
        keep |= MS_RELATIME
    else:
        keep |= MS_STRICTATIME
    if flags & os.ST_NODIRATIME:
        keep |= MS_NODIRATIME
    _mount(None, path, None, keep)


def _mount_proc(path: str) -> bool:
    """A /proc of the worker's own PID namespace, with /proc/sys (the kernel's global settings, such
    as core_pattern) read-only whoever the worker is."""
    try:
        _mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        _mount(path + "/sys", path + "/sys", None, MS_BIND | MS_REC)
        _mount(None, path + "/sys", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        return True
    except OSError:
        return False


def _switch_root(view: View) -> bool:
    """Make the new root `/` and drop the old one from the namespace entirely: unlike chroot, nothing
    is left to climb back out to."""
    try:
        os.chdir(view.root)
        _check(_libc.syscall(SYS_PIVOT_ROOT, b".", b"."), "pivot_root")
        _check(_libc.umount2(b".", MNT_DETACH), "umount")
        os.chdir(view.scratch)
        return True
    except OSError:
        return False


def _lock_mounts(active: list[str]) -> None:
    """The worker is root in its user namespace and could unmount what hides the reference or remount
    its root writable. Mounts inherited into a namespace owned by a further user namespace are locked:
    they cannot be undone, and their read-only flag cannot be cleared."""
    try:
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", "0 0 1")
        _write("/proc/self/gid_map", "0 0 1")
    except OSError:
        for protection in ("files", "root", "disk"):
            if protection in active:
                active.remove(protection)


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
