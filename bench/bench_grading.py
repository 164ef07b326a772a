"""Grading speed and memory: `grade batch` against `nbgrader autograde` on the same generated class.

One run builds a class from the sample submissions and the reference notebooks in a temporary folder,
grades it with `grade batch -j N`, autogrades (a share of) the same notebooks in a real nbgrader course,
then measures a cold `grade run` against `python -c "import torch"`, the per-submission overhead of a
warm grading process, and the memory of the zygote and its workers. See bench/README.md.

    .venv/bin/python bench/bench_grading.py --quick
    .venv/bin/python bench/bench_grading.py --assignments mlp --per-assignment 100
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSIGNMENTS = ("mlp", "cnn", "optimization", "lstm", "mha")
MB = 2**20
console = Console(width=140)

# A few training steps, so a worker's memory is read after torch's autograd and optimizers have run.
EXERCISE = """
import torch
_model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
_opt = torch.optim.Adam(_model.parameters())
for _ in range(5):
    _opt.zero_grad()
    torch.nn.functional.cross_entropy(_model(torch.randn(256, 64)), torch.randint(0, 10, (256,))).backward()
    _opt.step()
"""


# -------------------------------------------------------------------------------------------- memory

def smaps_rollup(pid: int) -> dict[str, int]:
    """/proc/<pid>/smaps_rollup in bytes: Pss charges each shared page to its sharers in equal parts."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1]) * 1024
    return fields


def memory_of(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (private pages: what the process adds to the machine) in MB."""
    fields = smaps_rollup(pid)
    private = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {"rss": fields["Rss"] / MB, "pss": fields["Pss"] / MB, "uss": private / MB}


def rss_pss(pid: int) -> tuple[float, float] | None:
    """(RSS, PSS) in MB, or None once the process is gone."""
    try:
        fields = smaps_rollup(pid)
    except OSError:
        return None
    return fields["Rss"] / MB, fields["Pss"] / MB


@dataclass
class Peaks:
    rss: float = 0.0        # sum of RSS over the whole process tree (counts shared pages once per process)
    pss: float = 0.0        # sum of PSS over the whole process tree (shared pages split fairly)
    slot_pss: float = 0.0   # the largest subtree under one direct child: a grading process, or the zygote and workers


class TreeSampler:
    """Samples a process tree's memory every `interval` seconds in a thread, keeping the peaks.
    Each process is read once per sample: reading smaps of a torch process costs milliseconds."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.root, self.interval, self.peaks = pid, interval, Peaks()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            slots: dict[int, float] = defaultdict(float)
            rss = pss = 0.0
            for pid, slot in self._tree().items():
                usage = rss_pss(pid)
                if usage is not None:
                    rss, pss = rss + usage[0], pss + usage[1]
                    slots[slot] += usage[1]
            slots.pop(self.root, None)
            self.peaks.rss, self.peaks.pss = max(self.peaks.rss, rss), max(self.peaks.pss, pss)
            self.peaks.slot_pss = max([self.peaks.slot_pss, *slots.values()])

    def _tree(self) -> dict[int, int]:
        """Every process of the tree, mapped to the root's child it descends from (the root to itself)."""
        parents = {p.pid: p.info["ppid"] for p in psutil.process_iter(["ppid"])}
        slot_of = {self.root: self.root}
        changed = True
        while changed:
            changed = False
            for pid, parent in parents.items():
                if pid not in slot_of and parent in slot_of:
                    slot_of[pid] = pid if parent == self.root else slot_of[parent]
                    changed = True
        return slot_of


# ----------------------------------------------------------------------------------------- processes

@dataclass
class Measured:
    wall: float
    returncode: int
    peaks: Peaks
    lines: list[tuple[float, str]]   # (seconds since start, line) of the merged stdout and stderr


def run_measured(command: list[str], cwd: Path, env: dict[str, str]) -> Measured:
    """Run a command to the end, timestamping every output line as it arrives and sampling memory."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, errors="replace")
    lines = []
    with TreeSampler(process.pid) as sampler:
        for line in process.stdout:
            lines.append((time.perf_counter() - started, line.rstrip("\n")))
        code = process.wait()
    return Measured(time.perf_counter() - started, code, sampler.peaks, lines)


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def base_env(scratch: Path) -> dict[str, str]:
    """The venv's tools first on PATH (nbgrader runs alembic), Jupyter and IPython state kept in scratch."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
               JUPYTER_CONFIG_DIR=str(scratch / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(scratch / "jupyter-run"),
               JUPYTER_DATA_DIR=str(scratch / "jupyter-data"), IPYTHONDIR=str(scratch / "ipython"), COLUMNS="200")
    env.pop("GRADE_FRESH_WORKERS", None)
    return env


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def code_version() -> str:
    """The commit measured: the repository changes under other people's hands."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


# ----------------------------------------------------------------------------------------- the class

@dataclass(frozen=True)
class Submission:
    student: str
    assignment: str


def samples(name: str) -> list[Path]:
    """A correct variant and common mistakes from examples/, plus the reference solution itself."""
    examples = sorted((ROOT / "examples" / "submissions" / name).glob("*.ipynb"))
    return examples + [ROOT / "reference" / name / f"{name}.ipynb"]


def build_class(folder: Path, names: list[str], per_assignment: int) -> list[Submission]:
    """`<student>/<name>.ipynb` for `per_assignment` students per assignment, cycling through the samples."""
    made = []
    for name in names:
        pool = samples(name)
        for index in range(per_assignment):
            sample = pool[index % len(pool)]
            student = f"student{index:03d}"
            (folder / student).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sample, folder / student / f"{name}.ipynb")
            made.append(Submission(student, name))
    return made


def spread(items: list[Submission], count: int) -> list[Submission]:
    """`count` items evenly spaced over the list, so a share of the class keeps its mix of samples."""
    count = min(count, len(items))
    return [items[index * len(items) // count] for index in range(count)]


# --------------------------------------------------------------------------------------- grade batch

@dataclass
class Side:
    """One tool's figures: wall time and peaks of its runs, seconds per submission."""

    wall: float = 0.0
    peaks: Peaks = field(default_factory=Peaks)
    seconds: dict[tuple[str, str], float] = field(default_factory=dict)   # (student, assignment) -> s
    notes: list[str] = field(default_factory=list)

    def add_peaks(self, peaks: Peaks) -> None:
        for key, value in asdict(peaks).items():
            setattr(self.peaks, key, max(getattr(self.peaks, key), value))


def grade_batch(class_dir: Path, scratch: Path, jobs: int) -> Side:
    """`grade batch CLASS -j N --json`: seconds per submission are the `duration` of each result."""
    out = scratch / "batch.json"
    measured = run_measured([str(BIN / "grade"), "batch", str(class_dir), "-j", str(jobs), "--json", str(out),
                             "--root", str(ROOT)], scratch, base_env(scratch))
    side = Side(wall=measured.wall, peaks=measured.peaks)
    results = json.loads(out.read_text())["submissions"]
    for result in results:
        path = Path(result["submission"])
        side.seconds[(path.parent.name, result["assignment"])] = result["duration"]
    full = sum(r["score"] == r["max_score"] for r in results)
    side.notes.append(f"grade batch exit code {measured.returncode}; {full} of {len(results)} at full marks, "
                      f"{sum(r['status'] != 'graded' for r in results)} unreadable")
    return side


# ------------------------------------------------------------------------------------------ nbgrader

STUDENT_START = re.compile(r"Creating/updating student with ID '([^']+)'")


def nbgrader_env(scratch: Path) -> dict[str, str]:
    """Our env, plus a python3 kernelspec running the venv's python when the venv does not provide one."""
    env = base_env(scratch)
    listing = subprocess.run([str(BIN / "jupyter"), "kernelspec", "list", "--json"], env=env,
                             capture_output=True, text=True, check=True)
    spec = json.loads(listing.stdout)["kernelspecs"].get("python3")
    command = spec["spec"]["argv"][0] if spec else ""
    if command in ("python", "python3") or Path(command).parent == BIN:  # jupyter_client maps "python" to its own
        return env
    prefix = scratch / "kernel"
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", str(prefix)], env=env,
                   capture_output=True, check=True)
    env["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
    return env


def make_course(course: Path, names: list[str], env: dict[str, str]) -> float:
    """A course whose source/ holds our reference notebooks, released with `generate_assignment`."""
    course.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\nc.CourseDirectory.course_id = 'bench'\n")
    for name in names:
        (course / "source" / name).mkdir(parents=True)
        shutil.copyfile(ROOT / "reference" / name / f"{name}.ipynb", course / "source" / name / f"{name}.ipynb")
    return timed([str(BIN / "nbgrader"), "generate_assignment", "*", "--force"], course, env)


def submission_spans(lines: list[tuple[float, str]]) -> dict[str, float]:
    """Seconds per student from nbgrader's log: from 'Creating/updating student' to its last line."""
    spans, current, start, last = {}, None, 0.0, 0.0
    for stamp, line in lines:
        match = STUDENT_START.search(line)
        if match:
            if current is not None:
                spans[current] = last - start
            current, start = match.group(1), stamp
        last = stamp
    if current is not None:
        spans[current] = last - start
    return spans


def autograde(class_dir: Path, chosen: list[Submission], names: list[str], scratch: Path) -> Side:
    """`nbgrader autograde <name> --create` per assignment on the chosen notebooks, in a real course."""
    env = nbgrader_env(scratch)
    course = scratch / "course"
    side = Side()
    seconds = make_course(course, names, env)
    side.notes.append(f"nbgrader generate_assignment (all assignments, one call): {seconds:.1f} s")
    for name in names:
        mine = [s for s in chosen if s.assignment == name]
        if not mine:
            continue
        for sub in mine:
            target = course / "submitted" / sub.student / name
            target.mkdir(parents=True)
            shutil.copyfile(class_dir / sub.student / f"{name}.ipynb", target / f"{name}.ipynb")
        measured = run_measured([str(BIN / "nbgrader"), "autograde", name, "--create"], course, env)
        side.wall += measured.wall
        side.add_peaks(measured.peaks)
        for student, seconds in submission_spans(measured.lines).items():
            side.seconds[(student, name)] = seconds
        graded = len(list((course / "autograded").glob(f"*/{name}/{name}.ipynb")))
        side.notes.append(f"nbgrader autograde {name}: exit code {measured.returncode}, {graded}/{len(mine)} "
                          f"notebooks autograded, {measured.wall:.1f} s")
    return side


# ---------------------------------------------------------------------------------------- cold start

@dataclass
class Cold:
    import_torch: list[float] = field(default_factory=list)
    default: list[float] = field(default_factory=list)
    fresh: list[float] = field(default_factory=list)
    result: dict = field(default_factory=dict)   # the JSON of the last default run


def cold_runs(notebook: Path, scratch: Path, repeat: int) -> Cold:
    """Interleaved, so a change in the machine's load hits all three alike."""
    cold, env = Cold(), base_env(scratch)
    out = scratch / "cold.json"
    command = [str(BIN / "grade"), "run", str(notebook), "--root", str(ROOT), "--json", str(out)]
    for _ in range(repeat):
        cold.import_torch.append(timed([sys.executable, "-c", "import torch"], scratch, env))
        cold.default.append(timed(command, scratch, env))
        cold.result = json.loads(out.read_text())
        cold.fresh.append(timed(command, scratch, dict(env, GRADE_FRESH_WORKERS="1")))
    return cold


def import_costs(notebook: Path, scratch: Path) -> list[tuple[str, float]]:
    """Seconds of module execution per top-level package in a `grade run`, from `python -X importtime`."""
    done = subprocess.run([sys.executable, "-X", "importtime", str(BIN / "grade"), "run", str(notebook), "--root",
                           str(ROOT)], cwd=scratch, env=base_env(scratch), capture_output=True, text=True)
    own: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[0].strip().isdigit():
            own[parts[2].strip().split(".")[0]] += int(parts[0]) / 1e6
    return sorted(own.items(), key=lambda item: -item[1])


# ----------------------------------------------------------------------------------------- warm pool

@dataclass
class Warm:
    stub: list[float] = field(default_factory=list)         # seconds per grading of the stub
    stub_first_test: list[float] = field(default_factory=list)
    stub_tests: list[float] = field(default_factory=list)   # sum of the stub's test durations
    solved: list[float] = field(default_factory=list)       # the reference notebook graded as a submission
    per_test: dict[str, list[float]] = field(default_factory=dict)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)
    gc_collect: float = 0.0                                 # one gc.collect() in the warm process
    gc_objects: int = 0
    stub_frozen: list[float] = field(default_factory=list)  # the same, after gc.freeze()
    solved_frozen: list[float] = field(default_factory=list)


def warm_pool(name: str, runs: int, profile: bool) -> Warm:
    """Many gradings in this one process, as a grading process of `grade batch` does them."""
    from autograder.grading.grade import grade_notebook

    stub = ROOT / "assignments" / name / f"{name}.ipynb"
    solved = ROOT / "reference" / name / f"{name}.ipynb"
    warm = Warm()
    grade_notebook(solved, name, ROOT)   # pays the imports, the zygote and the first optimizer step
    for _ in range(runs):
        result = grade_notebook(stub, name, ROOT)
        warm.stub.append(result.duration)
        warm.stub_first_test.append(result.tests[0].duration)
        warm.stub_tests.append(sum(t.duration for t in result.tests))
        result = grade_notebook(solved, name, ROOT)
        warm.solved.append(result.duration)
        for test in result.tests:
            warm.per_test.setdefault(test.name, []).append(test.duration)
    if profile:
        profile_stub(lambda: grade_notebook(stub, name, ROOT), runs)
    warm.memory = worker_memory(solved)
    frozen_runs(warm, lambda notebook: grade_notebook(notebook, name, ROOT).duration, stub, solved, runs)
    return warm


def frozen_runs(warm: Warm, grade_once: Callable[[Path], float], stub: Path, solved: Path, runs: int) -> None:
    """What-if, not what `grade` does: pytest runs gc.collect() at the end of every session, and a warm
    process holds torch's objects; after gc.freeze() a collection skips them. Irreversible, so last."""
    warm.gc_objects = len(gc.get_objects())
    started = time.perf_counter()
    gc.collect()
    warm.gc_collect = time.perf_counter() - started
    gc.freeze()
    for _ in range(runs):
        warm.stub_frozen.append(grade_once(stub))
        warm.solved_frozen.append(grade_once(solved))


def profile_stub(grade_once: Callable[[], object], runs: int) -> None:
    """Where a warm grading of the stub spends its time (cProfile, cumulative)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        grade_once()
    profiler.disable()
    console.rule(f"cProfile of {runs} warm gradings of the stub (cumulative)")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(30)


@contextlib.contextmanager
def fresh_workers(enabled: bool) -> Iterator[None]:
    previous = os.environ.get("GRADE_FRESH_WORKERS")
    os.environ["GRADE_FRESH_WORKERS"] = "1" if enabled else "0"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("GRADE_FRESH_WORKERS")
        else:
            os.environ["GRADE_FRESH_WORKERS"] = previous


def worker_memory(notebook: Path) -> dict[str, dict[str, float]]:
    """The zygote alone and beside a forked worker (and the sandbox's reaper between them, if any), and a
    fresh worker; workers are read after running the notebook's program and a few training steps."""
    from autograder.worker.client import Budget, Limits, WorkerClient
    from autograder.grading.notebook import Cell, code_cells, read_notebook

    nb = read_notebook(notebook)
    cells = code_cells(nb, nb) + [Cell("exercise", EXERCISE)]
    me = psutil.Process()
    zygote = next(p for p in me.children() if "autograder.worker.zygote" in " ".join(p.cmdline()))
    memory = {"grading process (this one)": memory_of(me.pid), "zygote, alone": memory_of(zygote.pid)}
    for label, fresh in (("forked worker", False), ("fresh worker", True)):
        with fresh_workers(fresh):
            client = WorkerClient(Limits(), Budget(600.0))
        try:
            for cell in cells:
                client.run_cell(cell.label, cell.source)
            if fresh:
                worker = next(p for p in me.children() if "autograder.worker" in " ".join(p.cmdline()))
            else:  # in a PID namespace the zygote's child is a reaper and the worker its child: the leaf
                worker = next(p for p in zygote.children(recursive=True) if not p.children())
            memory[label] = memory_of(worker.pid)
            if not fresh and worker.ppid() != zygote.pid:
                memory["its sandbox's PID-namespace reaper"] = memory_of(worker.ppid())
            if not fresh:
                memory["zygote, beside its forked worker"] = memory_of(zygote.pid)
        finally:
            client.cleanup()
    return memory


# -------------------------------------------------------------------------------------------- report

def describe(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def ratio(slow: list[float], fast: list[float]) -> str:
    if not slow or not fast:
        return "-"
    return f"{statistics.median(slow) / statistics.median(fast):.1f}x"


def comparison_table(ours: Side, theirs: Side, names: list[str], chosen: list[Submission]) -> Table:
    table = Table(title="seconds per submission: median (min-max)")
    for column in ("assignment", "ours n", "grade batch", "ours on nbgrader's share", "nbgrader n",
                   "nbgrader autograde", "nbgrader / ours (same notebooks)"):
        table.add_column(column, justify="left" if column == "assignment" else "right")
    for name in names + ["all"]:
        keys = {(s.student, s.assignment) for s in chosen if name in ("all", s.assignment)}
        mine = [v for (_, a), v in ours.seconds.items() if name in ("all", a)]
        shared = [ours.seconds[k] for k in keys if k in ours.seconds]
        nb = [theirs.seconds[k] for k in keys if k in theirs.seconds]
        table.add_row(name, str(len(mine)), describe(mine), describe(shared), str(len(nb)), describe(nb),
                      ratio(nb, shared))
    return table


def totals_table(ours: Side, theirs: Side) -> Table:
    table = Table(title="whole runs")
    for column in ("tool", "submissions", "total wall s", "wall s / submission", "peak sum RSS MB",
                   "peak sum PSS MB", "peak PSS of one grading slot MB"):
        table.add_column(column, justify="left" if column == "tool" else "right")
    for label, side in (("grade batch", ours), ("nbgrader autograde", theirs)):
        n = len(side.seconds)
        table.add_row(label, str(n), f"{side.wall:.1f}", f"{side.wall / n:.2f}" if n else "-", f"{side.peaks.rss:.0f}",
                      f"{side.peaks.pss:.0f}", f"{side.peaks.slot_pss:.0f}" if label == "grade batch" else "-")
    if ours.seconds and theirs.seconds:
        per_submission = (theirs.wall / len(theirs.seconds)) / (ours.wall / len(ours.seconds))
        table.add_row("nbgrader / grade batch", "", "", f"{per_submission:.1f}x", "", "", "")
    return table


def cold_table(cold: Cold, warm: Warm) -> Table:
    checks = statistics.median(warm.solved)
    torch_s = statistics.median(cold.import_torch)
    table = Table(title="cold start, seconds: median (min-max)")
    table.add_column("what")
    table.add_column("seconds", justify="right")
    table.add_column("/ (import torch + checks)", justify="right")
    bound = torch_s + checks
    for label, values in (('python -c "import torch"', cold.import_torch),
                          ("grade run, zygote (default)", cold.default),
                          ("grade run, GRADE_FRESH_WORKERS=1", cold.fresh)):
        table.add_row(label, describe(values), f"{statistics.median(values) / bound:.2f}")
    table.add_row("checks: the same notebook graded in a warm process", f"{checks:.2f}", "")
    return table


def cold_breakdown(cold: Cold) -> str:
    result = cold.result
    slowest = sorted(result["tests"], key=lambda t: -t["duration"])[:2]
    inside = ", ".join(f"{t['name']} {t['duration']:.2f} s" for t in slowest)
    outside = cold.default[-1] - result["duration"]
    return (f"last default cold run: {cold.default[-1]:.2f} s wall = {result['duration']:.2f} s in grade() "
            f"(slowest tests: {inside}; the first test starts the zygote) + {outside:.2f} s interpreter start, "
            "imports and exit")


def warm_table(warm: Warm, name: str) -> Table:
    table = Table(title=f"warm grading process, {name}, {len(warm.stub)} runs each: seconds, median (min-max)")
    table.add_column("what")
    table.add_column("seconds", justify="right")
    table.add_row("stub (every test not implemented): whole grading = per-submission overhead", describe(warm.stub))
    table.add_row("  of which the first test (forks the worker, runs the cells)", describe(warm.stub_first_test))
    table.add_row("  of which all tests", describe(warm.stub_tests))
    table.add_row("  outside the tests (pytest start, collection, reports, teardown)",
                  describe([a - b for a, b in zip(warm.stub, warm.stub_tests)]))
    table.add_row("reference notebook graded as a submission", describe(warm.solved))
    slow = sorted(warm.per_test.items(), key=lambda item: -statistics.median(item[1]))
    for test, values in slow[:4]:
        table.add_row(f"  {test}", describe(values))
    table.add_row("  sum of its test medians", f"{sum(statistics.median(v) for v in warm.per_test.values()):.2f}")
    table.add_row(f"one gc.collect() in this process ({warm.gc_objects} objects tracked)", f"{warm.gc_collect:.2f}")
    table.add_row("what-if, after gc.freeze(): stub", describe(warm.stub_frozen))
    table.add_row("what-if, after gc.freeze(): reference notebook", describe(warm.solved_frozen))
    return table


def memory_table(memory: dict[str, dict[str, float]]) -> Table:
    table = Table(title="resident memory, MB (smaps_rollup)")
    for column in ("process", "RSS", "PSS", "USS (private)"):
        table.add_column(column, justify="left" if column == "process" else "right")
    for label, values in memory.items():
        table.add_row(label, f"{values['rss']:.0f}", f"{values['pss']:.0f}", f"{values['uss']:.0f}")
    return table


def imports_table(costs: list[tuple[str, float]]) -> Table:
    table = Table(title="cold grade run: import time by top-level package (own time, -X importtime)")
    table.add_column("package")
    table.add_column("seconds", justify="right")
    for package, seconds in costs[:12]:
        table.add_row(package, f"{seconds:.2f}")
    table.add_row("all imports", f"{sum(s for _, s in costs):.2f}")
    return table


# ---------------------------------------------------------------------------------------------- main

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignments", nargs="+", choices=ASSIGNMENTS, default=list(ASSIGNMENTS))
    parser.add_argument("--per-assignment", type=int, default=20, help="students per assignment (default 20)")
    parser.add_argument("--nbgrader-per-assignment", type=int,
                        help="of those, how many nbgrader autogrades (default: 20 in all, spread over the assignments)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="grade batch -j (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="cold runs of each kind (default 3)")
    parser.add_argument("--warm-runs", type=int, default=20, help="warm gradings of the stub and the reference")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of warm stub gradings")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5 MLP submissions, all of them through nbgrader, 1 cold run, 5 warm runs")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    if args.quick:
        args.assignments, args.per_assignment, args.repeat, args.warm_runs = ["mlp"], 5, 1, 5
    if args.nbgrader_per_assignment is None:
        args.nbgrader_per_assignment = min(args.per_assignment, max(1, 20 // len(args.assignments)))
    return args


def main() -> None:
    args = parse_args()
    cpus = len(os.sched_getaffinity(0))
    console.print(f"{cpus} cores, {psutil.virtual_memory().total / 2**30:.1f} GB; code at {code_version()}; "
                  f"at start: {load()}")
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        scratch = Path(tmp)
        class_dir = scratch / "class"
        subs = build_class(class_dir, args.assignments, args.per_assignment)
        chosen = [s for name in args.assignments for s in
                  spread([s for s in subs if s.assignment == name], args.nbgrader_per_assignment)]
        console.print(f"class: {len(subs)} submissions ({', '.join(args.assignments)}); nbgrader gets {len(chosen)}")
        ours = grade_batch(class_dir, scratch, args.jobs)
        console.print(f"grade batch done ({ours.wall:.1f} s); {load()}")
        theirs = autograde(class_dir, chosen, args.assignments, scratch)
        console.print(f"nbgrader done ({theirs.wall:.1f} s); {load()}")
        notebook = ROOT / "reference" / "mlp" / "mlp.ipynb"
        cold = cold_runs(notebook, scratch, args.repeat)
        costs = import_costs(notebook, scratch)
        console.print(f"cold runs done; {load()}")
        warm = warm_pool("mlp", args.warm_runs, args.profile)
        console.print(f"warm runs done; {load()}")
    for note in ours.notes + theirs.notes:
        console.print(note)
    for table in (comparison_table(ours, theirs, args.assignments, chosen), totals_table(ours, theirs),
                  cold_table(cold, warm), warm_table(warm, "mlp"), memory_table(warm.memory), imports_table(costs)):
        console.print(table)
    console.print(cold_breakdown(cold))
    console.print(f"at end: {load()}")
    if args.json:
        args.json.write_text(json.dumps(figures(args, ours, theirs, cold, warm, costs), indent=1))


def figures(args: argparse.Namespace, ours: Side, theirs: Side, cold: Cold, warm: Warm,
            costs: list[tuple[str, float]]) -> dict:
    def side(s: Side) -> dict:
        return {"wall": s.wall, "peaks": asdict(s.peaks), "notes": s.notes,
                "seconds": {f"{student}/{name}": v for (student, name), v in s.seconds.items()}}

    return {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "grade_batch": side(ours), "nbgrader": side(theirs),
            "cold": asdict(cold), "warm": asdict(warm), "import_costs": costs}


if __name__ == "__main__":
    main()
