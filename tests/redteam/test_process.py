"""Leaving early, interrupting, and signalling: the worker itself, its process group, its parent, and the
grading process. The attacked test scores 0, the others are still graded, the grader carries on.

Attacks that aim at the grading process run against a real `grade run` process, never this one, so a
successful attack would show as a failed test rather than a dead test run.
"""
import json
import secrets

import pytest

from .conftest import (
    MAX_SCORE, expect_softmax, finish, grade, reference_with, start_grade_cli, stub_with,
    wait_gone,
)

SYS_EXIT = '''
import sys


def softmax(logits):
    sys.exit(0)
'''

OS_EXIT = '''
import os


def softmax(logits):
    os._exit(0)
'''

INTERRUPT = '''
def softmax(logits):
    raise KeyboardInterrupt
'''

SIGKILL_SELF = '''
import os, signal


def softmax(logits):
    os.kill(os.getpid(), signal.SIGKILL)
    return None
'''

KILL_OWN_GROUP = '''
import os, signal, time

# PR_SET_NAME: inherited by its threads and children, the test finds survivors by this name
__import__("ctypes").CDLL(None).prctl(15, {name!r}.encode(), 0, 0, 0)


def softmax(logits):
    os.killpg(os.getpgid(0), signal.SIGKILL)
    time.sleep(0.5)  # let the grader see any death before the next test (see the report: a race)
    return None
'''

KILL_OWN_GROUP_AND_STAY = KILL_OWN_GROUP + '''

import threading, time

_softmax = softmax


def softmax(logits):
    _softmax(logits)                               # in the sandbox this kills the reaper, not us
    os._exit = lambda *args: time.sleep(3600)      # and the worker's final os._exit no longer ends us
    threading.Thread(target=time.sleep, args=(3600,)).start()
    return None
'''

KILL_PARENT = '''
import os, signal, time


def softmax(logits):
    print("PARENT", os.getppid())
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(0.5)  # let the grader see any death before the next test (see the report: a race)
    return None
'''

KILL_GRADER = '''
import os, signal

TOKEN = {token!r}  # part of the notebook's path, so it is on the grading process's command line


def _cmdline(pid):
    try:
        with open(f"/proc/{{pid}}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _parent(pid):
    try:
        with open(f"/proc/{{pid}}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def softmax(logits):
    me = os.getpid()
    named = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me and TOKEN.encode() in _cmdline(p)]
    chain, pid = [], _parent(me)   # our ancestors, up to the grading process and never beyond it
    while pid > 1 and named and pid not in named:
        chain.append(pid)
        pid = _parent(pid)
    victims = named + (chain if pid in named else [])
    print("VICTIMS", victims)
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError as exc:
            print("REFUSED", pid, exc)
    return None
'''

READ_SECRETS = '''
import os

NAME = "GRADER_SECRET"
hits = [("os.environ", os.environ[NAME])] if NAME in os.environ else []
for entry in os.listdir("/proc"):
    if entry.isdigit() or entry in ("self", "thread-self"):
        for what in ("environ", "cmdline"):
            try:
                with open(f"/proc/{entry}/{what}", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if NAME.encode() in data:
                hits.append((entry, what, data[:4000].decode("utf-8", "replace")))
print("HITS", hits)
'''

OUTPUT_IS_THE_GRADERS_ENVIRON = '''
import os
# The grader reads the worker's output back from ../output.log after the worker is done: make it a
# symlink, and the grading process reads whatever it points to with its own eyes.
os.unlink("../output.log")
os.symlink("/proc/self/environ", "../output.log")
'''


def test_sys_exit_in_a_call_is_an_error_of_that_test(tmp_path):
    result = grade(reference_with(tmp_path, "sys_exit", softmax=SYS_EXIT))
    expect_softmax(result, "error", "your code raised SystemExit")


def test_os_exit_in_a_call_kills_only_that_test(tmp_path):
    result = grade(reference_with(tmp_path, "os_exit", softmax=OS_EXIT))
    expect_softmax(result, "error", "your code crashed the worker: the worker process exited with code 0")


def test_keyboard_interrupt_in_a_call_is_an_error_of_that_test(tmp_path):
    result = grade(reference_with(tmp_path, "interrupt_call", softmax=INTERRUPT))
    expect_softmax(result, "error", "your code raised KeyboardInterrupt")


def test_keyboard_interrupt_in_a_cell_stops_only_that_cell(tmp_path):
    result = grade(reference_with(tmp_path, "interrupt_cell", prepend=["raise KeyboardInterrupt"]))
    assert result.score == MAX_SCORE
    assert [e["type"] for e in result.cell_errors] == ["KeyboardInterrupt"]


def test_sigkill_to_itself_costs_only_that_test(tmp_path):
    result = grade(reference_with(tmp_path, "sigkill_self", softmax=SIGKILL_SELF))
    expect_softmax(result, ("error", "failed"), "")


def test_killing_its_own_process_group_costs_only_that_test_and_leaves_nothing(tmp_path, survivors):
    result = grade(reference_with(tmp_path, "killpg", softmax=KILL_OWN_GROUP.format(name=survivors)))
    expect_softmax(result, ("error", "failed"), "")
    assert wait_gone(survivors) == [], "a worker process outlived its grading"


def test_a_worker_that_kills_its_reaper_does_not_outlive_grading(tmp_path, survivors):
    result = grade(reference_with(tmp_path, "killpg_stay", softmax=KILL_OWN_GROUP_AND_STAY.format(name=survivors)))
    expect_softmax(result, ("error", "failed"), "")
    assert wait_gone(survivors) == [], "a worker process outlived its grading"


# ------------------------------------------------------------- attacks on the grading process itself

@pytest.fixture(scope="module")
def real_graders(tmp_path_factory):
    """One real `grade run` process over the submissions that attack it, the one that hunts the grading
    process down by its command line last (if it succeeded, the other results would be lost as well).
    Returns {notebook stem: (exit code, stdout, stderr, its result dict or None)} and the secret the
    grading process had in its environment."""
    secret = f"redteam-{secrets.token_hex(12)}"
    token = f"hunted-{secrets.token_hex(6)}"
    folder = tmp_path_factory.mktemp(token)
    notebooks = [reference_with(folder, "kill_parent", softmax=KILL_PARENT),
                 stub_with(folder, "read_secrets", prepend=[READ_SECRETS]),
                 reference_with(folder, "output_symlink_environ", prepend=[OUTPUT_IS_THE_GRADERS_ENVIRON]),
                 reference_with(folder, "kill_grader", softmax=KILL_GRADER.format(token=token))]
    out = folder / "results.json"
    code, stdout, stderr = finish(start_grade_cli([*notebooks, "--json", out], folder, {"GRADER_SECRET": secret}))
    data = json.loads(out.read_text()) if out.exists() else {"submissions": []}
    by_stem = {r["submission"].rsplit("/", 1)[-1].removesuffix(".ipynb"): r for r in data["submissions"]}
    return {n.stem: (code, stdout, stderr, by_stem.get(n.stem)) for n in notebooks}, secret


def _graded(real_graders, stem):
    graded, secret = real_graders
    code, stdout, stderr, result = graded[stem]
    assert code == 0 and result is not None, f"the grading process did not finish normally ({code}):\n{stderr[-3000:]}"
    assert f"{result['score']:g}/100" in stdout
    return result, stdout, stderr, secret


def _expect_softmax_only(result):
    tests = {t["name"]: t for t in result["tests"]}
    assert tests["test_softmax"]["score"] == 0
    assert result["score"] == 95, {n: t["message"][:200] for n, t in tests.items() if t["status"] != "passed"}


def test_a_worker_cannot_find_and_kill_the_grading_process(real_graders):
    result, stdout, stderr, _ = _graded(real_graders, "kill_grader")
    _expect_softmax_only(result)
    assert "VICTIMS []" in result["output"], result["output"]  # it could not even see the grading process


def test_killing_its_parent_costs_only_that_test(real_graders):
    result, stdout, stderr, _ = _graded(real_graders, "kill_parent")
    _expect_softmax_only(result)


def test_the_graders_secrets_are_not_visible_to_the_worker(real_graders):
    result, stdout, stderr, secret = _graded(real_graders, "read_secrets")
    assert result["score"] == 0
    assert "HITS []" in result["output"], result["output"][:3000]
    assert secret not in json.dumps(result) and secret not in stdout + stderr


def test_the_output_file_cannot_be_turned_into_the_graders_environment(real_graders):
    result, stdout, stderr, secret = _graded(real_graders, "output_symlink_environ")
    assert result["score"] == MAX_SCORE
    assert secret not in json.dumps(result), "the grader's environment ended up in the report"
