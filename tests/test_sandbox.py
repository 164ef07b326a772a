"""The OS sandbox itself, entered in a forked child of the test process: what holds when the new root
can be built, what still holds when it cannot, what holds when the grader is not root; and the system
call filter."""
import ctypes
import errno
import json
import os
import platform
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from autograder.worker import lockdown, sandbox
from test_worker import needs_namespaces

ROOT = Path(__file__).resolve().parents[1]
PR_SET_DUMPABLE = 4


def _enter_and_look(view: sandbox.View, hidden: list[str], paths: list[str], write_to: tuple[str, ...] = (),
                    as_uid: int | None = None) -> dict:
    """Fork, enter the sandbox (as `as_uid`, if given, rather than the test's own uid), and report from
    inside which protections hold, which paths exist, whether a file can be created in each folder of
    `write_to`, and who the worker is."""
    read, write = os.pipe()
    done_read, done_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            os.close(done_write)
            os.chdir(view.scratch)
            if as_uid is not None:
                os.setgroups([])
                os.setresgid(as_uid, as_uid, as_uid)
                os.setresuid(as_uid, as_uid, as_uid)
                ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # as a process started by that user is
            active = sandbox.enter(view, hidden)
            seen = {path: os.path.exists(path) and (not os.path.isdir(path) or bool(os.listdir(path)))
                    for path in paths}
            written = {}
            for folder in write_to if "root" in active else ():  # never write into the real /usr
                try:
                    open(os.path.join(folder, "written.txt"), "x").close()
                    written[folder] = "ok"
                except OSError as exc:
                    written[folder] = exc.strerror
            os.write(write, json.dumps({"active": active, "seen": seen, "pid": os.getpid(), "written": written,
                                        "who": _who()}).encode() + b"\n")
            os.read(done_read, 1)  # stay, so the test can see who this process is from outside
        finally:
            os._exit(0)
    os.close(write)
    os.close(done_read)
    with os.fdopen(read) as f:
        report = json.loads(f.readline())
        report["who"]["host_uid"] = _host_uid(pid)
    os.close(done_write)
    os.waitpid(pid, 0)
    return report


def _host_uid(pid: int) -> int:
    """The uid of the process `pid` entered the sandbox as, as this (the host's) user namespace sees it:
    from inside, a nested user namespace only shows its parent's view."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        children = f.read().split()
    worker = children[0] if children else pid  # with a PID namespace, `pid` stays behind as the reaper
    with open(f"/proc/{worker}/status") as f:
        return int(next(line for line in f if line.startswith("Uid:")).split()[1])


def _who() -> dict:
    """The caller's hostname, privileges, and what becomes of attempts to undo
    the sandbox."""
    import socket

    libc = ctypes.CDLL(None, use_errno=True)
    with open("/proc/self/status") as f:
        status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)

    def refused(result: int) -> str:
        return "ok" if result == 0 else os.strerror(ctypes.get_errno())

    try:
        open("/proc/sys/kernel/core_pattern", "w").close()
        sysctl = "ok"
    except OSError as exc:
        sysctl = exc.strerror
    return {"hostname": socket.gethostname(), "capabilities": status["CapEff"],
            "bounding": status["CapBnd"], "no_new_privs": status["NoNewPrivs"], "seccomp": status["Seccomp"],
            "sysctl": sysctl, "unshare": refused(libc.unshare(sandbox.CLONE_NEWCGROUP)),
            "mount": refused(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))}


LOCKED_DOWN = {"capabilities": "0000000000000000", "bounding": "0000000000000000", "no_new_privs": "1",
               "seccomp": "2", "sysctl": "Read-only file system", "unshare": "Operation not permitted",
               "mount": "Operation not permitted", "hostname": "worker"}


@needs_namespaces
def test_the_new_root_shows_only_the_runtime_and_a_bounded_scratch_folder(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "work").mkdir()
    secret = tmp_path / "reference"
    secret.mkdir()
    (secret / "solution.py").write_text("ANSWER = 42")
    shown = tmp_path / "venv"  # a shown folder under /tmp, as when the project is checked out there
    shown.mkdir()
    (shown / "module.py").write_text("")
    view = sandbox.View(str(tmp_path / "root"), (*sandbox.runtime_paths(), str(shown)), str(tmp_path / "work"), 2**20)
    paths = [str(secret), str(ROOT / ".git"), "/usr/lib", sandbox.__file__, str(shown / "module.py"), "/etc/passwd",
             "/etc/shadow"]
    report = _enter_and_look(view, [str(secret)], paths, write_to=(".", "/tmp", str(shown), "/usr"))
    assert report["active"] == ["network", "processes", "ipc", "files", "root", "disk", "sysctl"] + _uid() + [
        "capabilities", "no_new_privs", "seccomp"] and report["pid"] == 1
    assert report["seen"] == {str(secret): False, str(ROOT / ".git"): False, "/usr/lib": True,
                              sandbox.__file__: True, str(shown / "module.py"): True, "/etc/passwd": True,
                              "/etc/shadow": False}
    assert report["written"] == {".": "ok", "/tmp": "ok", str(shown): "Read-only file system",
                                 "/usr": "Read-only file system"}
    assert not (tmp_path / "work" / "written.txt").exists() and not (shown / "written.txt").exists()


@needs_namespaces
def test_without_a_new_root_the_hidden_folders_are_still_hidden(tmp_path):
    (tmp_path / "work").mkdir()
    secret = tmp_path / "reference"
    secret.mkdir()
    (secret / "solution.py").write_text("ANSWER = 42")
    view = sandbox.View(str(tmp_path / "no-such-folder"), sandbox.runtime_paths(), str(tmp_path / "work"), 2**20)
    report = _enter_and_look(view, [str(secret)], [str(secret), str(ROOT / ".git")])
    assert report["active"] == ["network", "processes", "ipc", "files", "sysctl"] + _uid() + [
        "capabilities", "no_new_privs", "seccomp"] and report["pid"] == 1
    assert report["seen"] == {str(secret): False, str(ROOT / ".git"): (ROOT / ".git").exists()}
    assert {k: report["who"][k] for k in LOCKED_DOWN} == LOCKED_DOWN


def _uid() -> list[str]:
    return ["uid"] if os.geteuid() == 0 else []


@needs_namespaces
def test_a_root_grader_s_worker_is_no_user_of_the_host_and_holds_no_privilege(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only a grader started as root gives its workers an uid of their own")
    (tmp_path / "root").mkdir()
    (tmp_path / "work").mkdir()
    view = sandbox.View(str(tmp_path / "root"), sandbox.runtime_paths(), str(tmp_path / "work"), 2**20)
    report = _enter_and_look(view, [], [], write_to=("."))
    who = report["who"]
    assert who["host_uid"] == sandbox.WORKER_ID and report["written"] == {".": "ok"}
    with pytest.raises(KeyError):
        pwd.getpwuid(sandbox.WORKER_ID)
    assert {k: who[k] for k in LOCKED_DOWN} == LOCKED_DOWN


@needs_namespaces
def test_an_ordinary_user_s_worker_gets_the_same_sandbox_in_a_user_namespace_of_its_own(tmp_path_factory):
    """The grader as an ordinary user (here: the test forks and becomes one): the worker's root in its
    user namespace is that user, and everything else holds as for root."""
    nobody = 65534
    if os.geteuid() == 0:  # a folder that user can reach: pytest's own are the test user's alone
        tmp_path = Path(tempfile.mkdtemp())
        os.chmod(tmp_path, 0o755)
    else:
        tmp_path, nobody = tmp_path_factory.mktemp("user"), os.getuid()
    for folder in ("root", "work", "shown"):
        (tmp_path / folder).mkdir()
        os.chown(tmp_path / folder, nobody, nobody)
    view = sandbox.View(str(tmp_path / "root"), ("/usr", str(tmp_path / "shown")), str(tmp_path / "work"), 2**20)
    try:
        report = _enter_and_look(view, [], ["/usr/lib"], write_to=(".", "/usr"), as_uid=nobody)
    finally:
        shutil.rmtree(tmp_path)
    who = report["who"]
    assert report["active"] == ["network", "processes", "ipc", "files", "root", "disk", "sysctl", "capabilities",
                                "no_new_privs", "seccomp"]
    assert who["host_uid"] == nobody and report["written"] == {".": "ok", "/usr": "Read-only file system"}
    assert {k: who[k] for k in LOCKED_DOWN} == LOCKED_DOWN


@pytest.mark.skipif(lockdown.filter_program(platform.machine()) is None, reason="no system call table for this machine")
def test_the_filter_refuses_what_could_undo_the_sandbox_and_lets_workers_compute():
    """In a forked child: after lock_down, no namespace, mount or ptrace, however asked for; threads,
    forks and subprocesses (clone without namespace flags, clone3 falling back to it) still work."""
    probe = textwrap.dedent("""
        import ctypes, json, os, subprocess, sys, threading
        from autograder.worker import lockdown
        libc = ctypes.CDLL(None, use_errno=True)
        def errno(result):
            return 0 if result == 0 else ctypes.get_errno()
        done = lockdown.lock_down()
        thread = threading.Thread(target=lambda: None); thread.start(); thread.join()
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        forked = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        child = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True).stdout
        clone_flags = 0x10000000 | 17  # CLONE_NEWUSER | SIGCHLD
        CLONE = 56 if os.uname().machine == "x86_64" else 220
        print(json.dumps({
            "done": done, "thread": True, "forked": forked, "subprocess": child.strip(),
            "unshare": errno(libc.unshare(0x02000000)), "setns": errno(libc.setns(0, 0)),
            "mount": errno(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
            "umount": errno(libc.umount2(b"/tmp", 2)),
            "clone_namespace": errno(libc.syscall(CLONE, clone_flags, 0, 0, 0, 0)),
            "clone3": errno(libc.syscall(435, 0, 0)),
            "ptrace": errno(libc.ptrace(16, os.getppid(), 0, 0)),
        }))
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    report = json.loads(out.stdout)
    assert report["done"] == ["capabilities", "no_new_privs", "seccomp"]
    assert report["forked"] == 7 and report["subprocess"] == "42" and report["thread"]
    refused = ("unshare", "setns", "mount", "umount", "clone_namespace", "ptrace")
    assert {k: report[k] for k in refused} == dict.fromkeys(refused, errno.EPERM)
    assert report["clone3"] == errno.ENOSYS
