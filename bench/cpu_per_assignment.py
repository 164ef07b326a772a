"""CPU and wall time to grade each assignment's reference notebook (a full-marks submission).

Each grading runs as its own `grade run` process, as a CI job would, and its CPU is read from the
kernel's accounting of the process and everything it started (workers, the fork server):
resource.getrusage(RUSAGE_CHILDREN) taken before and after. Run from the repository root:

    .venv/bin/python bench/cpu_per_assignment.py [--fresh]

--fresh makes workers fresh interpreters instead of forks of the warm fork server, for comparison.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ("mlp", "cnn", "optimization", "lstm", "mha")


def measure(name: str, env: dict[str, str]) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, exit code) of one `grade run` of the reference notebook."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    grade = Path(sys.executable).with_name("grade")
    code = subprocess.run([str(grade), "run", f"reference/{name}/{name}.ipynb"], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="fresh interpreters instead of forked workers")
    args = parser.parse_args()
    env = {**os.environ, "GRADE_FRESH_WORKERS": "1" if args.fresh else "0"}
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores, "
          f"workers: {'fresh interpreters' if args.fresh else 'forked from the fork server'}")
    print(f"{'assignment':<14}{'CPU s':>8}{'wall s':>8}  exit")
    for name in ASSIGNMENTS:
        cpu, wall, code = measure(name, env)
        print(f"{name:<14}{cpu:>8.1f}{wall:>8.1f}  {code}")


if __name__ == "__main__":
    main()
