"""Lifting the sandbox's limits from inside. A worker is root in nothing: it runs as an uid of no
host account (under a root grader) or as the grader's own uid in a user namespace, with no
capability, `no_new_privs`, and a system call filter; /proc/sys is read-only. Each attack below once
worked against a worker whose root was the grader's uid with every capability in its namespaces.
And graders on one machine: each touches only the cgroups it made."""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from autograder.worker import cgroups, sandbox

from .conftest import MAX_SCORE, ROOT, grade, reference_with
from test_worker import needs_namespaces

ESCAPES = '''
import ctypes, json, os, socket
libc = ctypes.CDLL(None, use_errno=True)


def attempt(result):
    return "done" if result == 0 else os.strerror(ctypes.get_errno())


def write(path, text):
    try:
        with open(path, "w") as f:
            f.write(text)
        return "done"
    except OSError as exc:
        return exc.strerror


os.makedirs("cg", exist_ok=True)
found = {
    # a cgroup namespace of its own, then the pids and memory hierarchies mounted writable, to lift its limits
    "unshare_cgroup": attempt(libc.unshare(0x02000000)),
    "mount_pids": attempt(libc.mount(b"cgroup", b"cg", b"cgroup", 0, b"pids")),
    "mount_memory": attempt(libc.mount(b"cgroup", b"cg", b"cgroup", 0, b"memory")),
    "mount_cgroup2": attempt(libc.mount(b"cgroup2", b"cg", b"cgroup2", 0, None)),
    # a user namespace of its own, where it would be root again
    "unshare_user": attempt(libc.unshare(0x10000000)),
    "setns": attempt(libc.setns(0, 0)),
    # global kernel settings: core_pattern runs a program as root on the host when anything dumps core
    "core_pattern": write("/proc/sys/kernel/core_pattern", "|/tmp/x"),
    "hostname": socket.gethostname(),
    "set_hostname": attempt(libc.sethostname(b"grader", 6)),
    "uid": os.getuid(),
    "capabilities": next(l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")),
}
print("FOUND", json.dumps(found))
'''

REFUSED = "Operation not permitted"


def _found(result) -> dict:
    return json.loads(next(line for line in result.output.splitlines() if line.startswith("FOUND "))[6:])


@needs_namespaces
def test_a_worker_cannot_lift_its_limits_or_reach_the_host_s_kernel_settings(tmp_path):
    result = grade(reference_with(tmp_path, "escapes", prepend=[ESCAPES]))
    assert result.score == MAX_SCORE
    found = _found(result)
    assert {k: found[k] for k in ("unshare_cgroup", "mount_pids", "mount_memory", "mount_cgroup2", "unshare_user",
                                  "setns", "set_hostname")} == dict.fromkeys(
        ("unshare_cgroup", "mount_pids", "mount_memory", "mount_cgroup2", "unshare_user", "setns", "set_hostname"),
        REFUSED)
    assert found["core_pattern"] == "Read-only file system"
    assert found["hostname"] == "worker" != socket.gethostname()
    assert found["capabilities"] == "0000000000000000"


@needs_namespaces
def test_a_root_grader_s_worker_runs_as_no_user_of_the_host(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only a grader started as root gives its workers an uid of their own")
    result = grade(reference_with(tmp_path, "uid", prepend=[ESCAPES]))
    assert _found(result)["uid"] == sandbox.WORKER_ID


HOLDER = """
import os, sys, time
from autograder.worker import cgroups
owner = cgroups.Owner()
group = owner.group("worker-1", {"pids": 8, "memory": 2**30})
print(sorted(set(group.folders.values())), flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not cgroups.available(), reason="no cgroup hierarchy this user may write to")
def test_a_grader_removes_only_the_groups_of_graders_that_are_gone_whatever_their_pid_namespace():
    """Another grader's fork server runs in a PID namespace of its own (its pid means nothing here):
    its groups are kept while it runs; once it is killed, the next server kills what was left in them
    and removes them."""
    command = [sys.executable, "-c", HOLDER]
    if shutil.which("unshare") and os.geteuid() == 0:
        command = ["unshare", "--pid", "--fork", "--mount-proc", *command]
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True)
    worker = subprocess.Popen(["sleep", "600"])
    try:
        folders = json.loads(holder.stdout.readline().replace("'", '"'))
        assert folders and all(os.path.isdir(folder) for folder in folders)
        for folder in folders:                          # a worker of that server's, left running
            with open(os.path.join(folder, "cgroup.procs"), "w") as f:
                f.write(str(worker.pid))
        cgroups.Owner().release()                       # a server starting while the other runs
        assert all(os.path.isdir(folder) for folder in folders) and worker.poll() is None
        os.killpg(holder.pid, signal.SIGKILL)           # the other server is killed, its worker is not
        holder.wait()
        deadline = time.monotonic() + 30                # until the kernel has let go of the dead server's lock
        while any(os.path.exists(folder) for folder in folders) and time.monotonic() < deadline:
            cgroups.Owner().release()
        assert not any(os.path.exists(folder) for folder in folders)
        assert not any(os.path.exists(os.path.dirname(folder)) for folder in folders)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        worker.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()


@pytest.mark.skipif(not cgroups.available(), reason="no cgroup hierarchy this user may write to")
def test_a_grader_never_touches_folders_it_does_not_name_itself_even_unlocked():
    """Another program's cgroup, or an older grader's (named `grade-<pid>-<n>`, with no lock), is not
    this grader's to judge: it stays, and so does what runs in it."""
    other = subprocess.Popen(["sleep", "600"])
    folders = [os.path.join(hierarchy, f"grade-{other.pid}-1") for hierarchy, _ in cgroups.hierarchies().values()]
    try:
        for folder in folders:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "cgroup.procs"), "w") as f:
                f.write(str(other.pid))
        cgroups.Owner().release()
        assert all(os.path.isdir(folder) for folder in folders) and other.poll() is None
    finally:
        other.kill()
        other.wait()
        for folder in folders:
            with contextlib.suppress(OSError):
                os.rmdir(folder)
