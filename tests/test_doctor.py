"""`grade doctor` reports what a real worker gets on this machine."""
from pathlib import Path

from click.testing import CliRunner

from autograder.cgroups import pids_hierarchy
from autograder.doctor import diagnose
from cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_doctor_probes_a_real_worker():
    checks = {check.name: check for check in diagnose(ROOT)}
    assert set(checks) == {"warm workers", "separate process", "no network", "reference hidden",
                           "own process namespace", "own file system", "disk quota", "process limit", "resource limits"}
    assert checks["separate process"].ok and checks["resource limits"].ok
    assert "as=4294967296" in checks["resource limits"].detail
    assert checks["process limit"].ok == (pids_hierarchy() is not None)
    # the sandbox comes whole or not at all: these hold or fail together
    assert checks["no network"].ok == checks["own process namespace"].ok == checks["reference hidden"].ok \
        == checks["own file system"].ok == checks["disk quota"].ok


def test_doctor_command_prints_the_table():
    result = CliRunner(env={"COLUMNS": "200"}).invoke(main, ["doctor", "--root", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "own process namespace" in result.output and "no network" in result.output
