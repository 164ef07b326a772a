"""A mutation audit of one real assignment, timed: mutants, survivors, killed without the mistake named,
the named share, and where the wall time goes. Run from the repository root:

    .venv/bin/python bench/audit.py [mlp|cnn|optimization|lstm|mha] [--markdown PATH] [--json PATH]

It audits through the library functions `grade audit` uses, with the same pool and fork server.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="?", default="mlp")
    parser.add_argument("--markdown", type=Path, help="also write the Markdown report here")
    parser.add_argument("--json", type=Path, help="also write the JSON report here")
    args = parser.parse_args()

    from autograder.worker.launch import start_zygote

    start_zygote()
    from autograder.grading.assignments import find_assignment
    from autograder.course.audit.equivalents import read_equivalents, stale_declarations
    from autograder.course.audit.mutants import mutants_of
    from autograder.course.audit.report import audit_dict, audit_markdown
    from autograder.course.audit.run import run_audit
    from autograder.grading.batch import default_jobs
    from autograder.grading.results import write_json_atomic, write_text_atomic

    print(f"load average {os.getloadavg()[0]:.2f}, {default_jobs()} cores")
    started = time.monotonic()
    target = find_assignment(args.assignment, ROOT, ("reference",))
    mutants = mutants_of(target.notebook)
    generated = time.monotonic() - started
    declared = read_equivalents(target.directory)
    audit = run_audit(target, ROOT, mutants, declared, stale_declarations(declared, {m.id for m in mutants}),
                      lambda result: None)
    wall = time.monotonic() - started

    killed = audit.killed
    durations = sorted(r.duration for r in audit.results)
    print(f"{target.name}: {len(mutants)} mutants from {len({m.cell for m in mutants})} solution cells "
          f"(made in {generated:.2f} s)")
    print("by operator: " + ", ".join(f"{op} {n}" for op, n in Counter(m.operator for m in mutants).most_common()))
    print(f"survived {len(audit.survivors)}, declared equivalent {len(audit.equivalents)}, killed {len(killed)}: "
          f"named {sum(r.named for r in killed)} ({100 * sum(r.named for r in killed) / max(len(killed), 1):.0f} %), "
          f"not named {len(audit.unnamed)} (timed out {sum(r.outcome == 'timed_out' for r in killed)}, "
          f"crashed {sum(r.outcome == 'crashed' for r in killed)}); mutation score {audit.score:.1f} %")
    print("survivors by operator: " + ", ".join(
        f"{op} {n}" for op, n in Counter(r.mutant.operator for r in audit.survivors).most_common()))
    print(f"wall {wall:.1f} s; grading one mutant (inside grade()): median {statistics.median(durations):.2f} s, "
          f"90th percentile {durations[int(0.9 * (len(durations) - 1))]:.2f} s, max {durations[-1]:.2f} s; "
          f"sum {sum(durations):.1f} s, / {default_jobs()} cores = {sum(durations) / default_jobs():.1f} s")
    print("slowest: " + ", ".join(f"{r.mutant.id} {r.duration:.1f} s"
                                  for r in sorted(audit.results, key=lambda r: -r.duration)[:5]))
    if args.markdown:
        write_text_atomic(args.markdown, audit_markdown(audit))
    if args.json:
        write_json_atomic(args.json, audit_dict(audit))


if __name__ == "__main__":
    main()
