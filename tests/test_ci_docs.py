"""The example workflows in docs/examples are valid YAML and call `grade` only with options it has."""
import re
import shlex
from pathlib import Path

import pytest
import yaml

from cli import main

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / "docs" / "examples").glob("*.yml"))


def grade_commands(workflow: Path) -> list[list[str]]:
    """Every `.venv/bin/grade ...` a workflow runs, as arguments (up to `||`, `|`, `;` or the line's end)."""
    steps = [step for job in yaml.safe_load(workflow.read_text())["jobs"].values() for step in job["steps"]]
    found = []
    for step in steps:
        for match in re.finditer(r"\.venv/bin/grade ([^|;\n]+)", step.get("run", "")):
            found.append(shlex.split(match.group(1)))
    return found


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_every_grade_command_in_a_workflow_exists(workflow):
    commands = grade_commands(workflow)
    assert commands, f"{workflow.name} runs no grade command"
    for args in commands:
        command = main.commands[args[0]]
        known = {option for param in command.params for option in param.opts}
        unknown = [arg for arg in args[1:] if arg.startswith("--") and arg not in known]
        assert not unknown, f"{workflow.name}: grade {args[0]} has no {unknown}"


def test_the_hidden_tests_never_reach_a_students_repository():
    student = yaml.safe_load((ROOT / "docs" / "examples" / "student-check.yml").read_text())
    steps = [step for job in student["jobs"].values() for step in job["steps"]]
    assert "secrets." not in str(student)   # nothing a student's changed workflow could print
    assert not [step for step in steps if "repository" in step.get("with", {}) or "ssh-key" in step.get("with", {})]
    assert all("--student-log" in args for args in grade_commands(ROOT / "docs" / "examples" / "student-check.yml"))
