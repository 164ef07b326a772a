"""A fork server: a warm process that has paid torch's start-up costs once and forks fresh workers.

Importing torch, and the first optimizer step (which imports torch._dynamo), cost seconds; a forked
child inherits them for free. The zygote never runs submission code itself and holds nothing of the
grader's: it is started with `python -I -m autograder.worker.zygote FD`, single-threaded (one torch thread, so
no OpenMP pool exists to break in a child), and only answers grading processes over the listening Unix
socket FD, in a folder only the grader can reach. The first connection is its owner's: when it closes,
the zygote kills every worker and exits. Others (a batch's pool) share it; each may ask only about the
workers it started, and they are killed if it goes. On each connection, once warm:

    -> {"ready": true}

    {"op": "spawn", "cwd", "env", "hide", "disk", "tasks", "memory"} + 3 fds (requests in, answers out, output file) -> {"pid"}
    {"op": "poll" | "wait" | "kill", "pid"}                                   -> {"status"} or {"error"}

`status` is a subprocess-style return code (negative: killed by that signal), or null while running.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import sys

import torch
import torch._dynamo  # noqa: F401  (what the first optimizer step imports: seconds, paid once here)

from autograder.worker import cgroups, sandbox, serve as worker

MAX_MESSAGE = 64 * 1024
_PROTECTION = {"pids": "tasks", "memory": "memory"}  # what a joined cgroup controller gives, by name


def warm_up() -> None:
    """Run once what every worker would otherwise pay for on first use."""
    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    for optimizer in (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                      torch.optim.Adam(model.parameters())):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.randn(5, 4)), torch.tensor([0, 1, 0, 1, 1])).backward()
        optimizer.step()


def _status(raw: int) -> int:
    return -os.WTERMSIG(raw) if os.WIFSIGNALED(raw) else os.WEXITSTATUS(raw)


def _become_worker(fds: list[int], env: dict[str, str], view: sandbox.View, hide: list[str],
                   group: cgroups.ProcessGroup) -> None:
    """In the forked child: its cgroups, own session, the three pipes as fds 0-2, nothing else open,
    the OS sandbox where it can be had (GRADE_SANDBOX lists what took effect), then serve."""
    try:
        limited = [_PROTECTION[controller] for controller in sorted(group.join())]
        os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 4096)
        os.chdir(view.scratch)
        os.environ.clear()
        os.environ.update(env)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        os.environ["GRADE_SANDBOX"] = ",".join(sandbox.enter(view, hide) + limited)
        worker.main()
    finally:
        os._exit(0)


class Zygote:
    def __init__(self) -> None:
        self.children: dict[int, tuple[socket.socket, cgroups.ProcessGroup]] = {}
        self.cgroups = cgroups.Owner()
        self.spawned = 0
        self.root = os.path.abspath("root")  # empty: each worker builds its own file system on it
        os.mkdir(self.root, 0o700)
        self.read_only = sandbox.runtime_paths()

    def serve(self, listening: socket.socket) -> None:
        """Answer every connection until the owner's (the first) closes."""
        selector = selectors.DefaultSelector()
        selector.register(listening, selectors.EVENT_READ)
        owner = None
        while True:
            for key, _ in selector.select():
                if key.fileobj is listening:
                    conn, _ = listening.accept()
                    conn.send(b'{"ready": true}')
                    selector.register(conn, selectors.EVENT_READ)
                    owner = owner or conn
                elif not self.answer(key.fileobj):
                    selector.unregister(key.fileobj)
                    key.fileobj.close()
                    self.drop(None if key.fileobj is owner else key.fileobj)
                    if key.fileobj is owner:
                        return

    def answer(self, conn: socket.socket) -> bool:
        """Answer one request on `conn`; False once it has closed."""
        try:
            message, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 3)
        except OSError:
            return False
        if not message:
            return False
        request = json.loads(message)
        if request["op"] == "spawn":
            reply = {"pid": self.spawn(conn, request, fds)}
        elif self.children.get(request["pid"], (None,))[0] is not conn:
            reply = {"error": f"{request['pid']} is not a worker of this connection"}
        else:
            reply = {"status": self.child_status(request["op"], request["pid"])}
        conn.send(json.dumps(reply).encode())
        return True

    def drop(self, conn: socket.socket | None) -> None:
        """A grading process went away: so do its workers (all of them, None, when it was the owner)."""
        for pid, (started_by, _) in list(self.children.items()):
            if conn is None or started_by is conn:
                self.child_status("kill", pid)

    def spawn(self, conn: socket.socket, request: dict, fds: list[int]) -> int:
        self.spawned += 1
        group = self.cgroups.group(f"worker-{self.spawned}", {"pids": request["tasks"], "memory": request["memory"]})
        pid = os.fork()
        if pid == 0:
            view = sandbox.View(self.root, self.read_only, request["cwd"], request["disk"])
            _become_worker(fds, request["env"], view, request["hide"], group)
        for fd in fds:
            os.close(fd)
        self.children[pid] = (conn, group)
        return pid

    def child_status(self, op: str, pid: int) -> int | None:
        if op == "kill":
            self._kill(pid)
            op = "wait"
        done, raw = os.waitpid(pid, 0 if op == "wait" else os.WNOHANG)
        if done == 0:
            return None
        _, group = self.children.pop(pid)
        group.remove()
        return _status(raw)

    @staticmethod
    def _kill(pid: int) -> None:
        """Its process group, and the process itself in case it is so new it has no group of its own yet."""
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def main() -> None:
    listening = socket.socket(fileno=int(sys.argv[1]))
    warm_up()
    zygote = Zygote()
    zygote.serve(listening)
    zygote.cgroups.release()
    os._exit(0)  # nothing to flush or finalise: tearing down torch's modules costs the grader a second


if __name__ == "__main__":
    main()
