"""What one submission may use: the one place every limit is set."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Wall-clock limits are enforced by the grader (client.py), memory, CPU and file size by rlimits in
    each of the worker's processes, disk by the OS sandbox where it holds (sandbox.py), and tasks and
    memory for the worker and everything it starts by cgroups where they can be made (cgroups.py)."""

    start_seconds: float = 60.0         # interpreter start and imports
    cell_seconds: float = 30.0          # one notebook cell
    request_seconds: float = 60.0       # one request from a test
    submission_seconds: float = 600.0   # everything for one submission, across worker restarts
    memory_bytes: int = 4 * 2**30       # per process, and for the worker's whole process tree
    file_size_bytes: int = 64 * 2**20
    disk_bytes: int = 128 * 2**20       # everything the worker writes, in all
    max_tasks: int = 128                # processes and threads the worker may have at once
    output_bytes: int = 32 * 2**10
