"""How fast `grade similar` is on a large class, and whether it finds the copies planted in it.

A class of N students is generated in a temporary folder. Each student's solution cells are drawn one by
one from the samples and the reference solution of the assignment (so pairs share a cell or two by chance,
as independently written short functions do), with every variable renamed, and each student adds two to
four cells of their own: a function of random statements over a small vocabulary of tensor operations, as
students add helpers and exploration. The last students copy another student whole, renamed and with the
functions of each cell reversed. Then `grade similar --json --html` runs on it as a separate process (wall
and CPU time, peak memory), and the same work is timed step by step in this process.

    .venv/bin/python bench/similar.py [--students 500] [--copies 25] [--assignment mlp] [--seed 0]
"""
from __future__ import annotations

import argparse
import ast
import itertools
import json
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.course.similarity.collect import collect  # noqa: E402
from autograder.course.similarity.html import report_html  # noqa: E402
from autograder.course.similarity.index import Entry, similar_pairs  # noqa: E402
from autograder.course.similarity.report import build_report  # noqa: E402


def _source(cell: dict) -> str:
    text = cell["source"]
    return "".join(text) if isinstance(text, list) else text


def _solution_ids(nb: dict) -> list[str]:
    return [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"]
            if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution")]


def _renamed(text: str, tag: str) -> str:
    """Every parameter and assigned name of the cell renamed (a call's keywords stay as they are)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    bound = {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)} | {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound.discard("self")
    places = [(n.lineno, n.col_offset, n.id) for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in bound]
    places += [(n.lineno, n.col_offset, n.arg) for n in ast.walk(tree) if isinstance(n, ast.arg) and n.arg in bound]
    lines = text.split("\n")
    for row, col, name in sorted(places, reverse=True):
        lines[row - 1] = lines[row - 1][:col] + f"{name}_{tag}" + lines[row - 1][col + len(name):]
    return "\n".join(lines)


def _reversed_functions(text: str) -> str:
    blocks = [b.strip("\n") for b in re.split(r"\n(?=def |class |@)", text) if b.strip()]
    return "\n\n\n".join(reversed(blocks)) + "\n"


_CALLS = ["torch.exp", "torch.log", "torch.sqrt", "torch.tanh", "torch.relu", "torch.sigmoid", "torch.abs",
          "torch.mean", "torch.sum", "torch.max", "torch.softmax", "torch.cumsum", "torch.flatten", "torch.sign"]
_METHODS = ["sum", "mean", "max", "min", "view", "reshape", "transpose", "clamp", "pow", "exp", "norm", "detach"]
_OPERATORS = ["+", "-", "*", "/", "@"]


def _own_cell(rng: random.Random, tag: str) -> str:
    """A helper function of random statements: code only this student wrote."""
    names = ["x"]
    lines = [f"def helper_{tag}(x):"]
    for n in range(rng.randint(4, 10)):
        a, b = rng.choice(names), rng.choice(names)
        kind = rng.randrange(3)
        if kind == 0:
            expression = f"{rng.choice(_CALLS)}({a}) {rng.choice(_OPERATORS)} {b}"
        elif kind == 1:
            method, operator = rng.choice(_METHODS), rng.choice(_OPERATORS)
            expression = f"{a}.{method}(dim={rng.randint(-1, 1)}) {operator} {rng.random():.2f}"
        else:
            expression = f"({a} {rng.choice(_OPERATORS)} {b}).{rng.choice(_METHODS)}()"
        names.append(f"t{n}")
        lines.append(f"    t{n} = {expression}")
    lines.append(f"    return {names[-1]}")
    return "\n".join(lines) + "\n"


def _code_cell(text: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": text}


def make_class(folder: Path, assignment: str, students: int, copies: int, rng: random.Random) -> list[tuple[str, str]]:
    """Write the class; return the planted (original, copy) pairs."""
    sources = sorted((ROOT / "examples" / "submissions" / assignment).glob("*.ipynb"))
    sources.append(ROOT / "reference" / assignment / f"{assignment}.ipynb")
    notebooks = [json.loads(p.read_text()) for p in sources]
    ids = _solution_ids(notebooks[0])
    cells = {grade_id: [_source(c) for nb in notebooks for c in nb["cells"]
                        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id] for grade_id in ids}
    template = json.loads((ROOT / "assignments" / assignment / f"{assignment}.ipynb").read_text())
    names = [f"s{i:04d}" for i in range(students)]
    chosen: dict[str, dict[str, str]] = {}
    own: dict[str, list[str]] = {}
    planted = []
    for index, name in enumerate(names):
        if index >= students - copies:
            original = rng.choice(names[:students - copies])
            chosen[name] = {g: _reversed_functions(_renamed(t, f"c{index}")) for g, t in chosen[original].items()}
            own[name] = [_renamed(text, f"c{index}") for text in own[original]]
            planted.append((original, name))
        else:
            chosen[name] = {g: _renamed(rng.choice(cells[g]), f"v{index}") for g in ids}
            own[name] = [_own_cell(rng, f"{index}_{n}") for n in range(rng.randint(2, 4))]
        nb = json.loads(json.dumps(template))
        for cell in nb["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in chosen[name]:
                cell["source"] = chosen[name][grade_id]
        nb["cells"] += [_code_cell(text) for text in own[name]]
        (folder / name).mkdir(parents=True)
        (folder / name / f"{assignment}.ipynb").write_text(json.dumps(nb))
    return planted


def run_command(folder: Path, out: Path) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "grade"), "similar", str(folder), "--root", str(ROOT),
                           "--json", str(out / "similar.json"), "--html", str(out / "similar.html")],
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"grade similar failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return {"wall": wall, "cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
            "peak_mb": after.ru_maxrss / 1024, "html_mb": (out / "similar.html").stat().st_size / 2**20}


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the pool's processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_steps(folder: Path, assignment: str) -> tuple[dict[str, tuple[float, float]], dict[str, int], list, list]:
    """Each step's (wall, CPU) seconds in this process, the counts, the pairs and the submissions."""
    steps: dict[str, tuple[float, float]] = {}
    clock = (time.perf_counter(), _cpu())

    def lap(step: str) -> None:
        nonlocal clock
        now = (time.perf_counter(), _cpu())
        steps[step] = (now[0] - clock[0], now[1] - clock[1])
        clock = now

    collection = collect(folder, [], assignment, ROOT)
    lap("read and fingerprint")
    subs = collection.submissions
    pairs = similar_pairs([Entry(s.student, s.known, s.code.fingerprints) for s in subs],
                          collection.reference_kgrams)
    lap("index and score")
    report = build_report(collection, 20)
    lap("scoring again, and evidence for the top 20")
    report_html(report)
    lap("HTML")
    fingerprints = [len(s.code.fingerprints) for s in subs]
    counts = {"submissions": len(subs), "all pairs": len(subs) * (len(subs) - 1) // 2,
              "pairs sharing a fingerprint": len(pairs), "flagged": sum(p.flagged for p in pairs),
              "fingerprints per submission (median)": sorted(fingerprints)[len(fingerprints) // 2]}
    return steps, counts, pairs, subs


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--copies", type=int, default=25, help="students who copy another (the last ones)")
    parser.add_argument("--assignment", default="mlp")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="similar-bench-"))
    try:
        started = time.perf_counter()
        planted = make_class(work / "class", args.assignment, args.students, args.copies, random.Random(args.seed))
        print(f"class: {args.students} {args.assignment} submissions, {len(planted)} of them copies "
              f"(generated in {time.perf_counter() - started:.1f} s); load average {_load()}")
        command = run_command(work / "class", work)
        print(f"grade similar, whole command: {command['wall']:.2f} s wall, {command['cpu']:.2f} s CPU, "
              f"peak RSS {command['peak_mb']:.0f} MB, HTML report {command['html_mb']:.1f} MB")
        steps, counts, pairs, subs = run_steps(work / "class", args.assignment)
        print("in this process, wall / CPU seconds (the pool's processes included):")
        for step, (wall, cpu) in steps.items():
            print(f"  {step}: {wall:.2f} / {cpu:.2f}")
        for what, n in counts.items():
            print(f"  {what}: {n}")
        rank = {(subs[p.first].student, subs[p.second].student): r for r, p in enumerate(pairs, start=1)}
        score = {(subs[p.first].student, subs[p.second].student): p.score for p in pairs}
        found = [tuple(sorted(pair)) for pair in planted]
        flagged_planted = sum(score.get(pair, 0) >= 0.5 for pair in found)
        planted_ranks = sorted(rank.get(pair, len(pairs) + 1) for pair in found)
        best_other = max((s for pair, s in score.items() if pair not in set(found)), default=0.0)
        print(f"  planted copies flagged: {flagged_planted} of {len(found)}; their ranks: "
              f"{planted_ranks[0]}..{planted_ranks[-1]}; lowest planted score "
              f"{min(score.get(pair, 0) for pair in found):.2f}, highest other pair {best_other:.2f}")
        by_pairs = list(itertools.islice(sorted(score.values(), reverse=True), len(found), len(found) + 3))
        print(f"  the scores just below the planted copies: {', '.join(f'{s:.2f}' for s in by_pairs)}")
        print(f"load average at the end {_load()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
