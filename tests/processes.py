"""Finding processes a test's attack or run started, whatever PID namespace they are in."""
from __future__ import annotations

from pathlib import Path


def processes_named(name: str) -> list[int]:
    """Processes (host PIDs) with a thread named `name`. Workers see none of the grader's files, so
    what a test starts marks itself by name (PR_SET_NAME) for the test to find."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any((task / "comm").read_text().strip() == name for task in (proc / "task").iterdir()):
                found.append(int(proc.name))
        except OSError:
            continue
    return found
