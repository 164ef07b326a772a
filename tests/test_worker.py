"""The worker process, for real: isolation, limits, and how its failures are reported."""
import os
import signal
import time

import pytest
import torch

from autograder.worker.cgroups import available
from autograder.worker.client import Budget, Limits, WorkerClient
from autograder.errors import StudentCodeError, WorkerDied, WorkerTimeout
from autograder.grading.notebook import Cell
from autograder.remote import vjp
from autograder.grading.session import SubmissionSession

FAST = Limits(cell_seconds=3, request_seconds=5, output_bytes=200)


@pytest.fixture
def worker():
    client = WorkerClient(FAST, Budget(120))
    yield client
    client.cleanup()


@pytest.fixture(scope="module")
def shared_worker():
    """One worker for the tests that leave it alive: starting one costs seconds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADER_SECRET", "must not reach the worker")
        client = WorkerClient(FAST, Budget(300))
    yield client
    client.cleanup()


def run(client, *sources):
    return [client.run_cell(f"cell {i}", s) for i, s in enumerate(sources, start=1)]


def test_a_failing_cell_does_not_stop_the_others(shared_worker):
    reports = run(shared_worker, "x = 1", "1 / 0", "import sys; sys.exit(0)", "y = x + 1")
    assert reports[0] is None and reports[3] is None
    assert reports[1]["type"] == "ZeroDivisionError" and 'File "<cell 2>"' in reports[1]["traceback"]
    assert reports[2]["type"] == "SystemExit"
    assert shared_worker.namespace().y == 2


def test_an_endless_cell_is_interrupted_and_the_rest_still_runs(shared_worker):
    reports = run(shared_worker, "while True:\n    try:\n        pass\n    except Exception:\n        pass", "z = 3")
    assert reports[0]["type"] == "CellTimeout" and reports[1] is None
    assert shared_worker.namespace().z == 3


def test_objects_stay_in_the_worker_and_tensors_come_back(shared_worker):
    run(shared_worker, "import torch\nlayer = torch.nn.Linear(4, 3).double()\nimport os\npid = os.getpid()")
    ns = shared_worker.namespace()
    assert ns.pid != os.getpid()
    layer = ns.layer
    assert layer.remote_type == "Linear"
    x = torch.randn(2, 4, dtype=torch.float64)
    out = layer(x)
    state = layer.state_dict()
    assert torch.allclose(out, x @ state["weight"].T + state["bias"])
    result = vjp(layer, x, grad_output=torch.ones(2, 3, dtype=torch.float64))
    assert torch.allclose(result.param_grads["bias"], torch.full((3,), 2.0, dtype=torch.float64))
    assert torch.allclose(result.input_grads[0], state["weight"].sum(0).expand(2, 4))


def test_student_exceptions_arrive_as_student_code_errors(shared_worker):
    run(shared_worker, "def f():\n    raise NotImplementedError()")
    with pytest.raises(StudentCodeError) as info:
        shared_worker.namespace().f()
    assert info.value.not_implemented
    with pytest.raises(StudentCodeError, match="does not define 'missing'"):
        shared_worker.namespace().missing


def test_a_call_that_never_returns_times_out_and_the_worker_is_stopped(worker):
    run(worker, "import time\ndef slow():\n    time.sleep(60)")
    with pytest.raises(WorkerTimeout, match="no answer within 5 s"):
        worker.namespace().slow()
    assert not worker.alive


def test_a_worker_that_exits_is_reported_as_dead(worker):
    run(worker, "import os\ndef leave():\n    os._exit(0)")
    with pytest.raises(WorkerDied, match="exited with code 0"):
        worker.namespace().leave()


def test_memory_limit_holds(worker):
    run(worker, "import torch\ndef hog():\n    return torch.ones(2**31, dtype=torch.float64).sum()")
    with pytest.raises((StudentCodeError, WorkerDied)):
        worker.namespace().hog()


def test_environment_is_scrubbed_and_cwd_private(shared_worker):
    run(shared_worker, "import os\nenv = dict(os.environ)\ncwd = os.getcwd()")
    env = shared_worker.namespace().env
    assert "GRADER_SECRET" not in env and env["HOME"] == shared_worker.namespace().cwd
    assert shared_worker.namespace().cwd != os.getcwd()


def test_output_is_captured_and_truncated(worker):
    run(worker, "print('hello from the student')\nprint('x' * 10000)")
    output = worker.output()
    assert output.startswith("hello from the student") and output.endswith("[output truncated]")
    assert len(output) < 400


def test_a_session_replaces_a_dead_worker_but_not_a_broken_notebook():
    cells = [Cell("cell 1", "import os\ndef die():\n    os._exit(3)\nvalue = 7")]
    session = SubmissionSession(cells, FAST)
    try:
        with pytest.raises(WorkerDied):
            session.student(5).die()
        assert session.student(5).value == 7
    finally:
        session.close()
    broken = SubmissionSession([Cell("cell 1", "import os\nos._exit(0)")], FAST)
    try:
        with pytest.raises(WorkerDied, match="while running cell 1"):
            broken.student(5)
        with pytest.raises(WorkerDied):
            broken.student(5)
    finally:
        broken.close()


def test_forked_workers_share_no_state():
    first = WorkerClient(FAST, Budget(60))
    try:
        run(first, "import torch, random\ntorch.ones = None\nrandom.seed(99)\nimport os\nos.environ['LEAK'] = '1'")
    finally:
        first.cleanup()
    second = WorkerClient(FAST, Budget(60))
    try:
        run(second, "import torch, os, random\nok = torch.ones(2).sum().item()\nleak = os.environ.get('LEAK')\n"
                    "r = random.random()")
        ns = second.namespace()
        assert ns.ok == 2.0 and ns.leak is None
        import random
        random.seed(0)
        assert ns.r == random.random()  # every worker starts from seed 0
    finally:
        second.cleanup()


def test_a_worker_that_kills_its_parent_does_not_stop_grading():
    client = WorkerClient(FAST, Budget(60))
    try:
        run(client, "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nx = 5")
        assert client.namespace().x == 5
    finally:
        client.cleanup()
    again = WorkerClient(FAST, Budget(60))
    try:
        run(again, "y = 6")
        assert again.namespace().y == 6
    finally:
        again.cleanup()


def _namespaces_allowed() -> bool:
    """Whether this machine lets an unprivileged process create user namespaces (CI images may not)."""
    import subprocess
    import sys

    probe = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nos._exit(libc.unshare(0x10000000) != 0)"
    return subprocess.run([sys.executable, "-c", probe]).returncode == 0


needs_namespaces = pytest.mark.skipif(not _namespaces_allowed(), reason="user namespaces are not allowed here")


def expected_sandbox() -> list[str]:
    """What a forked worker's GRADE_SANDBOX lists here, where namespaces are allowed: everything, but an
    uid of its own only for a root grader, and the cgroup limits only where cgroups can be made."""
    controllers = available()
    return (["network", "processes", "ipc", "files", "root", "disk", "sysctl"] + (["uid"] if os.geteuid() == 0 else [])
            + ["capabilities", "no_new_privs", "seccomp"] + (["memory"] if "memory" in controllers else [])
            + (["tasks"] if "pids" in controllers else []))


@needs_namespaces
def test_sandboxed_worker_has_no_network_no_secrets_and_its_own_processes(tmp_path):
    import socket

    secret = tmp_path / "reference"
    secret.mkdir()
    (secret / "solution.py").write_text("ANSWER = 42")
    listener = socket.create_server(("127.0.0.1", 0))
    client = WorkerClient(FAST, Budget(60), (secret,))
    try:
        run(client, f"""
import os, socket, subprocess
sandbox = os.environ["GRADE_SANDBOX"]
visible = os.listdir({str(secret)!r}) if os.path.exists({str(secret)!r}) else []
try:
    socket.create_connection(("127.0.0.1", {listener.getsockname()[1]}), timeout=2)
    network = "open"
except OSError:
    network = "blocked"
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
subprocess.Popen(["sleep", "600"], start_new_session=True)
""")
        ns = client.namespace()
        assert ns.sandbox.split(",") == expected_sandbox()
        assert ns.visible == [] and ns.network == "blocked" and ns.pids == [1]
    finally:
        client.cleanup()
        listener.close()
    deadline = time.monotonic() + 10  # the kernel tears the namespace down asynchronously
    while subprocess_pids_named("sleep 600") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert subprocess_pids_named("sleep 600") == [], "a process started by the submission outlived its worker"


def subprocess_pids_named(cmdline: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read().replace(b"\0", b" ").strip().decode() == cmdline:
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def test_fresh_interpreter_workers_serve_the_same_requests_without_the_sandbox(monkeypatch):
    """Where no fork server can run, a fresh `python -I -m autograder.worker` does the same job: the
    fallback that machines without user namespaces or fork get."""
    monkeypatch.setenv("GRADE_FRESH_WORKERS", "1")
    client = WorkerClient(Limits(start_seconds=60, cell_seconds=10, request_seconds=10), Budget(90))
    try:
        run(client, "import os, torch\nsandbox = os.environ.get('GRADE_SANDBOX')\nw = torch.arange(6.).reshape(2, 3)")
        ns = client.namespace()
        assert ns.sandbox is None
        assert torch.equal(ns.w, torch.arange(6.).reshape(2, 3))
    finally:
        client.cleanup()
    assert not client.alive


def test_a_worker_killed_by_a_signal_without_a_name_is_reported_dead_by_its_number(monkeypatch):
    """Outside the sandbox (here a fresh interpreter) a worker can die of a real-time signal, which
    signal.Signals has no name for: its death is still reported, by number, not as the grader's error."""
    monkeypatch.setenv("GRADE_FRESH_WORKERS", "1")
    number = signal.SIGRTMIN + 6
    client = WorkerClient(Limits(start_seconds=60, cell_seconds=10, request_seconds=10), Budget(90))
    try:
        with pytest.raises(WorkerDied, match=f"the worker process was killed by signal {number}$"):
            run(client, f"import os, signal\nsignal.signal({number}, signal.SIG_DFL)\nos.kill(os.getpid(), {number})")
    finally:
        client.cleanup()


def test_grading_processes_share_one_fork_server_and_see_only_their_own_workers(tmp_path):
    import subprocess
    import sys

    from autograder.worker import launch

    path = launch.shared_zygote()   # this process's own fork server, as `grade batch` starts it
    assert path is not None
    launch._zygote.wait_ready(60)   # its first answer on the owner's connection says it is ready
    other = launch._Zygote(path)    # a second grading process's connection to it
    output = open(tmp_path / "output", "wb")
    try:
        other.wait_ready(60)
        (tmp_path / "work").mkdir()
        worker = launch._ForkedProcess(other, tmp_path / "work", launch.scrubbed_env(str(tmp_path / "work")), [],
                                       None, FAST, output.fileno())
        assert worker.running()
        with pytest.raises(launch.ZygoteUnavailable, match="not a worker of this connection"):
            launch._zygote.status("kill", worker.pid)   # the owner cannot touch another process's worker
        assert worker.running()
    finally:
        other.close()   # that grading process goes: its workers go with it, the server stays
        output.close()
    deadline = time.monotonic() + 60  # a loaded machine reaps slowly
    while os.path.exists(f"/proc/{worker.pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{worker.pid}"), "a departed connection's worker was left running"
    probe = ("from autograder.worker import launch\n"
             f"launch.use_zygote({path!r})\n"
             "from autograder.worker.client import Budget, Limits, WorkerClient\n"
             "client = WorkerClient(Limits(), Budget(60))\n"
             "client.run_cell('probe', 'import os; sandbox = os.environ.get(\"GRADE_SANDBOX\")')\n"
             "print(launch._zygote.path == " + repr(path) + ", client.namespace().sandbox)\n"
             "client.cleanup()")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    shared, sandbox = out.stdout.split()
    assert shared == "True" and "network" in sandbox


def test_only_the_stub_s_bare_not_implemented_error_means_not_implemented():
    """torch raises NotImplementedError, with a message, for arguments it cannot take (integer labels as
    the scores of cross_entropy): that is a mistake to show, not a function left to implement."""
    from autograder.errors import StudentCodeError

    assert StudentCodeError("NotImplementedError", "", "").not_implemented
    assert not StudentCodeError("NotImplementedError", '"log_softmax_lastdim_kernel_impl" not implemented for '
                                "'Long'", "").not_implemented
    assert not StudentCodeError("ValueError", "", "").not_implemented
