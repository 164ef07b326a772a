"""Shared machinery for the red-team suite.

Attack notebooks are built at test time from the real MLP notebooks (the reference solution scores 100,
the stub 0), so they stay in sync with the assignment: an attack is either a cell put in front, or code
appended to the softmax/cross-entropy cell that redefines `softmax` (nothing else in the notebook uses
it, so exactly one test, `test_softmax`, 5 points, is attacked). Every grading goes through `grade`,
which also checks what must hold whatever the attack: a well-formed result with 18 tests and 100
points, scores only for passed tests, bounded messages and output, JSON-safe, no worker directory and
no open descriptor left behind in the grading process.

Processes an attack starts are found afterwards by a name unique to the test that they carry
(`processes_named`), which works across PID namespaces; anything found is ours and is killed at teardown.
"""
from __future__ import annotations

import contextlib
import csv
import importlib.util
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from autograder.worker import cgroups, launch
from autograder.worker.client import Limits
from autograder.grading.grade import grade_notebook
from autograder.identifiers import SAFE_NAME
from autograder.grading.results import STATUSES, SubmissionResult
from processes import processes_named
from cli import main

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference" / "mlp" / "mlp.ipynb"
STUB = ROOT / "assignments" / "mlp" / "mlp.ipynb"
COMMITTED = Path(__file__).resolve().parent / "notebooks"
FAST = Limits(request_seconds=5, cell_seconds=3, submission_seconds=60)
ATTACKED_CELL = "softmax-cross-entropy"
N_TESTS, MAX_SCORE = 18, 100
MAX_MESSAGE = 20_000
# Names of Python's own exceptions: in a verdict about a notebook they mean the grader tripped over it.
PYTHON_INTERNALS = re.compile(r"\b(AttributeError|TypeError|KeyError|ValueError|IndexError|RecursionError)\b")


def _project_conftest():
    """tests/conftest.py, loaded by path: the name `conftest` is ambiguous once this folder has one."""
    spec = importlib.util.spec_from_file_location("_redteam_project_conftest", ROOT / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_project = _project_conftest()
notebook_variant = _project.notebook_variant
strip_solution_markers = _project.strip_solution_markers
framed, json_value = _project.framed, _project.json_value


# ------------------------------------------------------------------------------ building attacks

def cell_source(grade_id: str, notebook: Path = REFERENCE) -> str:
    """A cell's source by nbgrader grade_id, solution markers removed."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return strip_solution_markers(cell.source)
    raise KeyError(grade_id)


def _code(source: str) -> str:
    return textwrap.dedent(source).strip("\n") + "\n"


def reference_with(tmp_path: Path, name: str, *, softmax: str | None = None, prepend: list[str] = (),
                   replace: dict[str, str] | None = None) -> Path:
    """The correct solution plus an attack: `softmax` is appended to the softmax/cross-entropy cell
    (so it redefines softmax after the correct one), `prepend` cells run before everything."""
    replace = {k: _code(v) for k, v in (replace or {}).items()}
    if softmax is not None:
        replace[ATTACKED_CELL] = cell_source(ATTACKED_CELL) + "\n\n\n" + _code(softmax)
    return notebook_variant(REFERENCE, tmp_path / f"{name}.ipynb", replace=replace,
                            prepend=[_code(p) for p in prepend])


def stub_with(tmp_path: Path, name: str, *, prepend: list[str] = (), replace: dict[str, str] | None = None) -> Path:
    """The untouched stub (every test 0) plus an attack."""
    return notebook_variant(STUB, tmp_path / f"{name}.ipynb", replace={k: _code(v) for k, v in (replace or {}).items()},
                            prepend=[_code(p) for p in prepend])


# The protocol's answer pipe, found from inside the worker, for attacks that write their own answers.
FIND_ANSWER_PIPE = '''
import os, stat


def answer_pipe():
    """The protocol's answer pipe: the one write-only FIFO among this process's descriptors."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                flags = int(info.read().split("flags:")[1].split()[0], 8)
        except (OSError, ValueError, IndexError):
            continue
        if flags & os.O_ACCMODE == os.O_WRONLY:
            return fd
    raise RuntimeError("no answer pipe found")
'''


# ----------------------------------------------------------------------------------------- grading

def _open_fds() -> set[str]:
    """This process's open descriptors, except /proc files: a test's own watcher thread (the FIFO test
    polls /proc/self/task/*/wchan) holds those for an instant, and they are never the grader's."""
    fds = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the descriptor listdir itself used
        if not target.startswith("/proc/"):
            fds.add(f"{fd}->{target}")
    return fds


@contextlib.contextmanager
def private_tempdir(where: Path) -> Iterator[Path]:
    """Point tempfile (and so the grader's per-worker folders) at `where` while grading."""
    where.mkdir(parents=True, exist_ok=True)
    saved, tempfile.tempdir = tempfile.tempdir, str(where)
    try:
        yield where
    finally:
        tempfile.tempdir = saved


def check_result(result: SubmissionResult, limits: Limits = FAST) -> None:
    """What holds for every graded submission, whatever it did."""
    assert isinstance(result, SubmissionResult) and result.assignment == "mlp"
    assert len(result.tests) == N_TESTS and result.max_score == MAX_SCORE, [t.name for t in result.tests]
    for test in result.tests:
        assert test.status in STATUSES, (test.name, test.status)
        assert test.score == (test.max_score if test.status == "passed" else 0), (test.name, test.score)
        assert isinstance(test.message, str) and len(test.message) <= MAX_MESSAGE, (test.name, len(test.message))
    assert len(result.output) <= limits.output_bytes + 100, len(result.output)
    json.loads(json.dumps(result.to_dict(), allow_nan=False))


def grade(path: Path, limits: Limits = FAST, assignment: str | None = "mlp") -> SubmissionResult:
    """Grade in this process with small limits, then check the invariants and that nothing was left behind."""
    scratch = path.parent / f".grader-tmp-{path.stem}"
    with private_tempdir(scratch):
        before = _open_fds()
        result = grade_notebook(path, assignment, ROOT, limits)
        after = _open_fds()
    check_result(result, limits)
    leftovers = [p.name for p in scratch.iterdir()
                 if p.name.startswith("grade-") and not p.name.startswith("grade-zygote-")]
    assert not leftovers, f"the grader left worker folders behind: {leftovers}"
    assert after - before == set(), f"the grading process leaked descriptors: {sorted(after - before)}"
    return result


def tests_by_name(result: SubmissionResult) -> dict:
    return {t.name: t for t in result.tests}


def expect(result: SubmissionResult, failing: dict[str, tuple[str | tuple[str, ...], str]]) -> None:
    """Exactly the `failing` tests score 0, each with its status (or one of several) and a message
    fragment; every other test passed, so the score is what honest work earns."""
    tests = tests_by_name(result)
    for name, (status, fragment) in failing.items():
        test = tests[name]
        statuses = (status,) if isinstance(status, str) else status
        assert test.status in statuses and test.score == 0, (name, test.status, test.message[:500])
        assert fragment in test.message, (name, fragment, test.message[:500])
    others = {n: (t.status, t.message[:200]) for n, t in tests.items() if n not in failing and t.status != "passed"}
    assert not others, f"tests the attack did not target were not graded normally: {others}"
    assert result.score == MAX_SCORE - sum(tests[n].max_score for n in failing)


def expect_softmax(result: SubmissionResult, status: str | tuple[str, ...], fragment: str) -> None:
    """The common case: only test_softmax (5 points) lost, score 95."""
    expect(result, {"test_softmax": (status, fragment)})
    assert result.score == 95


# --------------------------------------------------------------------------------------- processes

def wait_gone(name: str, seconds: float = 60.0) -> list[int]:
    """The processes named `name` still there after waiting up to `seconds` for them to go (a generous
    deadline: on a loaded machine the kernel takes its time tearing down a namespace of many processes)."""
    deadline = time.monotonic() + seconds
    while True:
        left = processes_named(name)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def kill_named(name: str) -> None:
    """Kill what an attack left running: processes carrying this test's own name are ours."""
    for pid in processes_named(name):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def survivors():
    """A name (unique to this test) the attack gives its processes; whatever still has it at teardown is killed."""
    name = "rt" + secrets.token_hex(6)
    yield name
    kill_named(name)


# ----------------------------------------------------------------------------------- the real CLI

# Every report `grade batch` and `grade merge` write, as arguments: each file name is put under a folder.
REPORTS = ("--json", "all.json", "--junit", "junit.xml", "--csv", "grades.csv", "--classroom", "classroom.json",
           "--gradescope", "gradescope", "--feedback", "feedback")
HANG_SECONDS = 120   # a run that takes longer has hung: a hang detector, not a timing requirement
# Not watched in the project: the virtual environment, git's files and caches Python and tools write.
UNWATCHED = {".venv", ".git", "__pycache__", ".pytest_cache", ".hypothesis"}


def report_args(out: Path) -> list[object]:
    return [out / a if not a.startswith("--") else a for a in REPORTS]


def invoke(*args: object):
    """`grade ARGS` through Click's runner, in this process; exceptions are caught and left in the result."""
    return CliRunner().invoke(main, [*map(str, args)])


def no_traceback(run) -> None:
    assert run.exception is None or isinstance(run.exception, SystemExit), repr(run.exception)
    assert "Traceback" not in run.output, run.output[-3000:]


def loaded_from(folder: Path) -> list[str]:
    """Modules this process imported from `folder`: the grader imports test files in-process."""
    return [name for name, module in list(sys.modules.items())
            if isinstance(getattr(module, "__file__", None), str) and Path(module.__file__).is_relative_to(folder)]


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if not p.is_dir()}


def file_states(folder: Path) -> dict[Path, tuple[int, int, int]]:
    """Every file and link under `folder` (not following links) with its type, size and modification time."""
    states = {}
    for parent, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if name not in UNWATCHED]
        for name in files + [name for name in folders if os.path.islink(os.path.join(parent, name))]:
            path = Path(parent, name)
            with contextlib.suppress(FileNotFoundError):
                info = os.lstat(path)
                states[path] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return states


@contextlib.contextmanager
def writes_only_to(*allowed: Path, watched: tuple[Path, ...] = ()) -> Iterator[None]:
    """The block creates, changes or removes nothing in the project or in `watched` but under `allowed`,
    and ends within HANG_SECONDS."""
    folders = (ROOT, *(Path(folder).absolute() for folder in watched))
    allowed = tuple(Path(folder).absolute() for folder in allowed)
    before = {path: state for folder in folders for path, state in file_states(folder).items()}
    started = time.monotonic()
    yield
    elapsed = time.monotonic() - started
    after = {path: state for folder in folders for path, state in file_states(folder).items()}
    touched = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    elsewhere = sorted(str(p) for p in touched if not any(p.is_relative_to(folder) for folder in allowed))
    assert not elsewhere, f"written outside the report and temporary folders: {elsewhere[:20]}"
    assert elapsed < HANG_SECONDS, f"the run took {elapsed:.0f} s: it hung"


def check_reports(out: Path, count: int) -> None:
    """Every report of REPORTS written under `out` and valid (JSON loads, JUnit XML and the CSV parse), one
    Gradescope file and one feedback page per submission, and nothing but reports in the report folder."""
    data = json.loads((out / "all.json").read_text())
    assert len(data["submissions"]) == count
    json.loads((out / "classroom.json").read_text())
    junit = ET.fromstring((out / "junit.xml").read_bytes())
    assert junit.tag in ("testsuites", "testsuite"), junit.tag
    with open(out / "grades.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert len(rows) == 1 + count and all(len(row) == len(rows[0]) for row in rows), rows[:3]
    gradescope = list((out / "gradescope").iterdir())
    assert len(gradescope) == count and all(SAFE_NAME.fullmatch(p.name) for p in gradescope)
    for path in gradescope:
        json.loads(path.read_text())
    feedback = list((out / "feedback").rglob("*.md"))
    assert len(feedback) == count and len(list((out / "feedback").rglob("*.html"))) == count
    for path in feedback:
        assert path.parent.parent == out / "feedback" and SAFE_NAME.fullmatch(path.parent.name)
    assert {p.name for p in out.iterdir()} == {"all.json", "classroom.json", "junit.xml", "grades.csv", "gradescope",
                                               "feedback"}, sorted(p.name for p in out.iterdir())


def grade_command() -> list[str]:
    script = Path(sys.executable).with_name("grade")
    return [str(script)] if script.exists() else [sys.executable, "-c", "import cli; cli.main()"]


def start_grade_cli(args: list[str], tmp: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`grade run ARGS --root ROOT` in a real process of its own session (so a hung one can be stopped)."""
    (tmp / "tmp").mkdir(parents=True, exist_ok=True)
    full_env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(tmp), "TMPDIR": str(tmp / "tmp"),
                "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    return subprocess.Popen([*grade_command(), "run", *map(str, args), "--root", str(ROOT)], cwd=tmp,
                            env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 150) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # our own grader, in its own session
        out, err = proc.communicate()
        err += f"\n[redteam: the grader did not finish within {timeout} s and was killed]"
    return proc.returncode, out, err


# ---------------------------------------------------------------------------------------- warm-up

@pytest.fixture(scope="session", autouse=True)
def warm_grader(tmp_path_factory):
    """Start the fork server, and pay torch's first optimizer step in this process, once, outside any
    test's private temp folder: the first grading costs seconds more than the others."""
    result = grade_notebook(REFERENCE, "mlp", ROOT, FAST)
    assert result.score == MAX_SCORE, [(t.name, t.message[:200]) for t in result.tests if t.status != "passed"]


def worker_groups_left() -> list[str]:
    """Workers' cgroups still there in this process's fork server's folders (each is removed when its
    worker is reaped). Other graders may be running on the machine: their groups are not counted. The
    server's folders are the cgroup folders it holds open (locked)."""
    server = launch._zygote._popen.pid
    folders = set()
    for fd in os.listdir(f"/proc/{server}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{server}/fd/{fd}")
            if cgroups.is_server_folder(os.path.basename(target)):
                folders.add(target)
    assert folders, "the fork server holds no cgroup folder"
    return [entry.path for folder in folders for entry in os.scandir(folder) if entry.is_dir()]
