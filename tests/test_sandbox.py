"""The OS sandbox itself, entered in a forked child of the test process: what holds when the new root
can be built, and what still holds when it cannot; and the per-worker cgroups."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import cgroups, sandbox
from test_worker import needs_namespaces

ROOT = Path(__file__).resolve().parents[1]


def _enter_and_look(view: sandbox.View, hidden: list[str], paths: list[str], write_to: tuple[str, ...] = ()) -> dict:
    """Fork, enter the sandbox, and report from inside which protections hold, which paths exist, and
    whether a file can be created in each folder of `write_to`."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            os.chdir(view.scratch)
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
            os.write(write, json.dumps({"active": active, "seen": seen, "pid": os.getpid(),
                                        "written": written}).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        report = json.loads(f.read())
    os.waitpid(pid, 0)
    return report


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
    assert report["active"] == ["network", "processes", "files", "root", "disk"] and report["pid"] == 1
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
    assert report["active"] == ["network", "processes", "files"] and report["pid"] == 1
    assert report["seen"] == {str(secret): False, str(ROOT / ".git"): (ROOT / ".git").exists()}


@pytest.mark.skipif(cgroups.pids_hierarchy() is None, reason="no cgroup pids hierarchy this user may write to")
def test_groups_left_by_a_killed_fork_server_are_removed_by_the_next():
    hierarchy = cgroups.pids_hierarchy()
    dead = subprocess.Popen(["true"])
    dead.wait()                                  # a fork server's pid that no longer runs
    group = cgroups.ProcessGroup.create(hierarchy, f"grade-{dead.pid}-1", 8)
    survivor = subprocess.Popen([sys.executable, "-c", f"open({group.folder + '/cgroup.procs'!r}, 'w').write('0')\n"
                                                       "import time; time.sleep(60)"])
    deadline = time.monotonic() + 10
    while not open(group.folder + "/cgroup.procs").read().split() and time.monotonic() < deadline:
        time.sleep(0.05)
    live = cgroups.ProcessGroup.create(hierarchy, f"grade-{os.getpid()}-1", 8)   # a running server's: kept
    try:
        cgroups.remove_stale(hierarchy)
        assert not os.path.exists(group.folder) and os.path.exists(live.folder)
        assert survivor.wait(timeout=5) == -9
    finally:
        live.remove()
        survivor.kill()
