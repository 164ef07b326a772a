"""`grade doctor` reports what a real worker gets on this machine."""
import os
from pathlib import Path

from click.testing import CliRunner

from autograder.worker.cgroups import available
from autograder.worker.doctor import diagnose
from cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_doctor_probes_a_real_worker():
    checks = {check.name: check for check in diagnose(ROOT)}
    assert list(checks) == ["warm workers", "separate process", "no network", "reference hidden",
                            "own process namespace", "own file system", "disk quota", "unprivileged user",
                            "own hostname, IPC and cgroup view", "kernel settings read-only", "no privileges",
                            "system call filter", "process limit", "memory limit", "resource limits"]
    assert checks["separate process"].ok and checks["resource limits"].ok
    assert "as=4294967296" in checks["resource limits"].detail
    assert checks["process limit"].ok == ("pids" in available())
    assert checks["memory limit"].ok == ("memory" in available())
    # the sandbox comes whole or not at all: these hold or fail together
    sandboxed = checks["no network"].ok
    assert all(checks[name].ok == sandboxed for name in (
        "own process namespace", "reference hidden", "own file system", "disk quota", "own hostname, IPC and cgroup view",
        "kernel settings read-only", "no privileges", "system call filter"))
    assert checks["unprivileged user"].ok == (sandboxed and os.geteuid() == 0)


def test_doctor_command_prints_the_table():
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["doctor", "--root", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "own process namespace" in result.output and "no network" in result.output
