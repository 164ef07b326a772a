"""Which protections a worker really gets on this machine, found by asking one."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from types import SimpleNamespace
from pathlib import Path

from autograder.worker import launch, sandbox
from autograder.worker.client import Budget, Limits, WorkerClient

_PROBE = """
import os, resource, socket
sandbox = os.environ.get("GRADE_SANDBOX", "").split(",")
hidden_visible = [path for path in HIDDEN if os.path.exists(path) and os.listdir(path)]
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=2).close()
    network = "reached the grader's test port"
except OSError as exc:
    network = f"blocked ({exc.strerror or exc})"
pid, ppid = os.getpid(), os.getppid()
project_visible = [e for e in (os.listdir(PROJECT) if os.path.isdir(PROJECT) else [])
                   if os.path.join(PROJECT, e) not in RUNTIME]
root_writable = os.access("/", os.W_OK)
scratch = os.statvfs(".")
scratch_bytes = scratch.f_blocks * scratch.f_frsize
limits = {name: resource.getrlimit(getattr(resource, name))[0]
          for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_CORE")}
uid = os.getuid()
own_user_namespace = open("/proc/self/uid_map").read().split() != ["0", "0", "4294967295"]
hostname = socket.gethostname()
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
capabilities, no_new_privs, seccomp = (int(status[k].strip(), 16) for k in ("CapEff", "NoNewPrivs", "Seccomp"))
sysctl_writable = os.access("/proc/sys/kernel/core_pattern", os.W_OK)
libc = __import__("ctypes").CDLL(None, use_errno=True)
unshare_refused = libc.unshare(0x02000000) != 0  # a new cgroup namespace: where the pids limit could be undone
"""

_PROBED = ("sandbox", "network", "limits", "hidden_visible", "pid", "ppid", "project_visible", "root_writable",
           "scratch_bytes", "uid", "own_user_namespace", "hostname", "capabilities", "no_new_privs", "seccomp",
           "sysctl_writable", "unshare_refused")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def diagnose(root: Path) -> list[Check]:
    """Start a worker as grading would, probe it from inside, and say what held."""
    hidden = [(root / "reference").resolve()] if (root / "reference").is_dir() else []
    listener = socket.create_server(("127.0.0.1", 0))
    limits = Limits()
    client = WorkerClient(limits, Budget(120), tuple(hidden))
    try:
        source = _PROBE.replace("HIDDEN", repr([str(p.resolve()) for p in hidden])).replace(
            "PORT", str(listener.getsockname()[1])).replace("PROJECT", repr(str(root.resolve()))).replace(
            "RUNTIME", repr(sandbox.runtime_paths()))
        error = client.run_cell("probe", source)
        if error:
            return [Check("worker", False, f"the probe failed: {error['type']}: {error['message']}")]
        remote = client.namespace()
        probe = SimpleNamespace(**{name: getattr(remote, name) for name in _PROBED})
    finally:
        client.cleanup()
        listener.close()
    return _checks(probe, hidden, limits)


def _checks(probe: SimpleNamespace, hidden: list[Path], limits: Limits) -> list[Check]:
    active, network, rlimits = probe.sandbox, probe.network, probe.limits
    hidden_visible, pid, ppid = probe.hidden_visible, probe.pid, probe.ppid
    project_visible, root_writable, scratch_bytes = probe.project_visible, probe.root_writable, probe.scratch_bytes
    warm = launch._zygote is not None
    # a user namespace maps the worker to the grader's own uid: only root can do otherwise
    host_uid = os.getuid() if probe.own_user_namespace else probe.uid
    own_root = "root" in active and not project_visible and not root_writable
    return [
        Check("warm workers", warm, "forked from a fork server that has imported torch" if warm
              else "fresh interpreters: a fork server could not run (slower, same isolation)"),
        Check("separate process", True, "submission code never runs in the grading process"),
        Check("no network", network.startswith("blocked") and "network" in active, network),
        Check("reference hidden", not hidden_visible and ("files" in active or not hidden),
              "no reference/ folder here" if not hidden else
              ("reference/ and hidden tests are invisible to workers" if not hidden_visible
               else f"workers can read {', '.join(hidden_visible)}")),
        Check("own process namespace", "processes" in active and pid == 1,
              "workers see only their own processes, cannot signal the grader, and everything they "
              "start dies with them" if pid == 1 else
              f"workers share the machine's process table (pid {pid}, parent {ppid})"),
        Check("own file system", own_root,
              "workers see the system, Python and the engine read-only, and nothing of the project" if own_root else
              f"workers see the grader's file system{' (writable)' if root_writable else ''}"
              f"{', the project folder included' if project_visible else ''}"),
        Check("disk quota", "disk" in active and scratch_bytes <= limits.disk_bytes,
              f"workers may write {scratch_bytes / 2**20:.0f} MiB in all" if "disk" in active else
              "only the size of each file is limited"),
        Check("unprivileged user", host_uid not in (0, os.getuid()),
              f"workers run as uid {host_uid}, no account of this machine" if host_uid not in (0, os.getuid())
              else f"workers run as uid {host_uid}, the grader's own{' (root)' if host_uid == 0 else ''}: "
              "only a grader started as root can give them an uid of their own"),
        Check("own hostname, IPC and cgroup view", "ipc" in active and probe.hostname == "worker",
              "workers have their own UTS, IPC and cgroup namespaces" if "ipc" in active
              else "workers share the machine's hostname, System V IPC and cgroup view"),
        Check("kernel settings read-only", not probe.sysctl_writable,
              "/proc/sys is read-only in workers" if not probe.sysctl_writable
              else "workers can write /proc/sys/kernel/core_pattern"),
        Check("no privileges", probe.capabilities == 0 and probe.no_new_privs == 1,
              "workers hold no capability and can gain none (no_new_privs)" if probe.capabilities == 0
              else f"workers hold capabilities {probe.capabilities:#x}"),
        Check("system call filter", probe.seccomp == 2 and probe.unshare_refused,
              "seccomp refuses mount, unshare, setns, namespace clones, ptrace, bpf and the like"
              if probe.seccomp == 2 else "none: workers may make namespaces and mounts of their own"),
        Check("process limit", "tasks" in active,
              f"at most {limits.max_tasks} processes and threads per worker (cgroup pids controller)"
              if "tasks" in active else "none: this user cannot make cgroups, so a fork bomb is stopped only "
              "by the time limit"),
        Check("memory limit", "memory" in active,
              f"{limits.memory_bytes / 2**30:g} GiB for each worker and all it starts (cgroup memory controller)"
              if "memory" in active else f"only per process ({limits.memory_bytes / 2**30:g} GiB of address space "
              "each): this user cannot make memory cgroups"),
        Check("resource limits", all(v > 0 for k, v in rlimits.items() if k != "RLIMIT_CORE"),
              ", ".join(f"{k.removeprefix('RLIMIT_').lower()}={v}" for k, v in rlimits.items())),
    ]
