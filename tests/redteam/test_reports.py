"""Attacks on what the grader prints and writes: workflow commands and terminal escapes in student text,
and the report files themselves, before, during and after grading. Through `grade run` (Click's runner,
in this process: none of these attacks the grading process itself)."""
import json
import re
import time

from click.testing import CliRunner

from cli import main

from .conftest import N_TESTS, ROOT, kill_named, reference_with, wait_gone

WRONG_SOFTMAX = '''
def softmax(logits):
    return torch.zeros_like(logits)
'''

FLOOD = '''
import sys
line = "\\x1b[2J\\x1b]0;PWNED-TITLE\\x07\\r::error::PWNED-OUTPUT\\n::add-mask::PWNED\\n::set-output name=score::100\\n"
for _ in range(20_000):
    sys.stdout.write(line)
sys.stderr.write("\\x00\\x07\\x08 ::warning::PWNED-STDERR\\n" * 1000)
'''

class_name = "::error::PWNED-TYPE"
COMMANDS_IN_ERRORS = f'''
Evil = type({class_name!r}, (Exception,), {{}})
raise Evil("::error file=x.py::PWNED-CELL\\n::add-mask::PWNED")
'''

COMMANDS_IN_SOFTMAX = f'''
Evil = type({class_name!r}, (Exception,), {{}})


def softmax(logits):
    raise Evil("\\r\\n::error file=x.py,line=1::PWNED-MESSAGE\\n::stop-commands::PWNED\\n::add-mask::PWNED")
'''

FORGE_DURING = '''
import json, os
with open({json_path!r}, "w") as f:
    json.dump({{"assignment": "mlp", "score": 100, "max_score": 100, "forged": True, "tests": []}}, f)
os.symlink({victim!r}, {gradescope!r})
'''

FORGE_AFTER = '''
import json, os, signal, threading, time

# PR_SET_NAME: inherited by its threads and children, the test finds survivors by this name
__import__("ctypes").CDLL(None).prctl(15, {name!r}.encode(), 0, 0, 0)


def _forge():
    while not os.path.exists({json_path!r}):   # wait for the grader's own report, then replace it
        time.sleep(0.05)
    for _ in range(100):
        time.sleep(0.05)
        with open({json_path!r}, "w") as f:
            json.dump({{"assignment": "mlp", "score": 100, "max_score": 100, "forged": True, "tests": []}}, f)


def softmax(logits):
    os.killpg(os.getpgid(0), signal.SIGKILL)       # in the sandbox: kills the reaper, not us
    os._exit = lambda *args: time.sleep(3600)      # survive the worker's own exit
    threading.Thread(target=_forge).start()
    time.sleep(0.5)
    return None
'''

# Erase the lines above and draw a different total: a terminal shows the student's table, not the grader's.
TERMINAL_ESCAPES = '''
raise RuntimeError("\\x1b]0;PWNED-TITLE\\x07" + "\\x1b[1A\\x1b[2K" * 30 + "| total | 100/100 |")
'''

DIRECTORY_AT_THE_REPORT = '''
import os
os.makedirs({json_path!r})
'''


def grade_run(*args, env=None):
    return CliRunner().invoke(main, ["run", *map(str, args), "--root", str(ROOT)], env=env)


def _fences(stdout):
    """Lines outside ::stop-commands::TOKEN ... ::TOKEN:: fences, and the token left open (if any)."""
    token, outside = None, []
    for line in stdout.splitlines():
        stripped = line.strip()
        if token is None:
            opened = re.fullmatch(r"::stop-commands::(\S+)", stripped)
            if opened:
                token = opened.group(1)
            else:
                outside.append(line)
        elif stripped == f"::{token}::":
            token = None
    return outside, token


def test_workflow_commands_and_escapes_in_student_text_stay_fenced(tmp_path):
    notebook = reference_with(tmp_path, "workflow_commands", prepend=[FLOOD, COMMANDS_IN_ERRORS],
                              softmax=COMMANDS_IN_SOFTMAX)
    out = tmp_path / "results.json"
    run = grade_run(notebook, "--json", out, env={"GITHUB_ACTIONS": "true"})
    assert run.exit_code == 0, run.output[-3000:]
    outside, open_token = _fences(run.stdout)
    assert open_token is None, "a fence was opened and never closed"
    assert "PWNED" in run.stdout, "the attack's text should be shown (inside a fence)"
    assert not [line for line in outside if "PWNED" in line or line.strip().startswith("::")], outside
    data = json.loads(out.read_text())
    assert data["score"] == 95
    assert len(data["output"]) < 33_000 and data["output"].endswith("[output truncated]")
    assert [e["type"] for e in data["cell_errors"]] == [class_name]


def test_terminal_escapes_in_student_text_do_not_reach_the_graders_terminal(tmp_path):
    notebook = reference_with(tmp_path, "terminal_escapes", prepend=[TERMINAL_ESCAPES])
    run = grade_run(notebook)
    assert run.exit_code == 0, run.output[-3000:]
    assert "100/100" in run.stdout
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", run.stdout), \
        "control characters from the student reached the grader's terminal"


def test_a_report_forged_during_grading_is_replaced_and_a_symlink_trap_is_not_followed(tmp_path):
    out, gradescope, victim = tmp_path / "results.json", tmp_path / "results_gradescope.json", tmp_path / "victim.txt"
    victim.write_text("untouched")
    notebook = reference_with(tmp_path, "forge_during", softmax=WRONG_SOFTMAX, prepend=[FORGE_DURING.format(
        json_path=str(out), victim=str(victim), gradescope=str(gradescope))])
    run = grade_run(notebook, "--json", out, "--gradescope", gradescope)
    assert run.exit_code == 0, run.output[-3000:]
    data = json.loads(out.read_text())
    assert "forged" not in data and data["score"] == 95 and len(data["tests"]) == N_TESTS
    assert not gradescope.is_symlink() and json.loads(gradescope.read_text())["score"] == 95
    assert victim.read_text() == "untouched"


def test_a_report_cannot_be_forged_after_grading(tmp_path, survivors):
    out = tmp_path / "results.json"
    notebook = reference_with(tmp_path, "forge_after", softmax=FORGE_AFTER.format(name=survivors, json_path=str(out)))
    try:
        run = grade_run(notebook, "--json", out)
        assert run.exit_code == 0, run.output[-3000:]
        time.sleep(1.5)  # what a survivor would need to replace the report
        data = json.loads(out.read_text())
        assert "forged" not in data and data["score"] == 95, "the report was replaced after grading"
        assert wait_gone(survivors) == []
    finally:
        kill_named(survivors)


def test_a_folder_planted_at_the_report_path_does_not_lose_the_report(tmp_path):
    out = tmp_path / "results.json"
    notebook = reference_with(tmp_path, "folder_at_report", prepend=[DIRECTORY_AT_THE_REPORT.format(json_path=str(out))])
    run = grade_run(notebook, "--json", out)
    assert run.exit_code == 0, f"{run.exception!r}\n{run.output[-2000:]}"
    assert json.loads(out.read_text())["score"] == 100
