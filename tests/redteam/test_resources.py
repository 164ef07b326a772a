"""Using up time, memory, processes, threads and disk. Each attack is bounded (a few hundred processes or
threads, a few hundred MiB) so the suite is safe to run, except the fork bomb that only runs where the
task limit holds; each must cost only what it attacks, and nothing
it started may outlive the grading."""
import time

import pytest

from autograder.worker.cgroups import available
from autograder.worker.client import Limits

from .conftest import FAST, MAX_SCORE, expect_softmax, grade, reference_with, wait_gone, worker_groups_left

ENDLESS_CELL = '''
while True:
    pass
'''

ENDLESS_CELL_IGNORING_THE_ALARM = '''
import signal
signal.signal(signal.SIGALRM, signal.SIG_IGN)
while True:
    pass
'''

BUSY_CALL = '''
def softmax(logits):
    while True:
        pass
'''

SLEEPING_CALL = '''
import time


def softmax(logits):
    time.sleep(3600)
'''

MEMORY_BOMB = '''
def softmax(logits):
    hog = []
    while True:
        hog.append(bytes(2**30))  # calloc'ed: address space goes fast, time does not
'''

FORK_BOMB = '''
import os, time

# PR_SET_NAME: inherited by its threads and children, the test finds survivors by this name
__import__("ctypes").CDLL(None).prctl(15, {name!r}.encode(), 0, 0, 0)
children = 0
try:
    for _ in range({forks}):
        if os.fork() == 0:
            try:
                time.sleep(600)
            finally:
                os._exit(0)
        children += 1
except OSError as exc:  # the task limit, where the OS sandbox has one
    print("REFUSED", exc)
print("FORKED", children)
'''

THREAD_BOMB = '''
import threading, time

# PR_SET_NAME: inherited by its threads and children, the test finds survivors by this name
__import__("ctypes").CDLL(None).prctl(15, {name!r}.encode(), 0, 0, 0)
started = 0
for _ in range(300):
    try:
        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
    except RuntimeError:  # the address-space limit stops thread stacks too
        break
    started += 1
print("THREADS", started)
'''

DOUBLE_FORK = '''
import os, time

pid = os.fork()
if pid == 0:
    try:
        os.setsid()                 # leave the worker's process group and session
        if os.fork() == 0:          # and be reparented away from the worker
            __import__("ctypes").CDLL(None).prctl(15, {name!r}.encode(), 0, 0, 0)
            os.chdir("/")
            time.sleep(600)
    finally:
        os._exit(0)
os.waitpid(pid, 0)
time.sleep(0.5)                     # the grandchild has opened the file by now
'''

ONE_HUGE_FILE = '''
chunk = b"\\0" * 2**20
written = 0
try:
    with open("fill.bin", "wb", buffering=0) as f:
        for _ in range(200):
            f.write(chunk)
            written += 1
finally:
    print("WROTE_MIB", written)
'''

MANY_FILES = '''
chunk = b"\\0" * 2**20
written = 0
try:
    for i in range(10):
        with open(f"fill{i}.bin", "wb", buffering=0) as f:
            for _ in range(40):
                f.write(chunk)
                written += 1
finally:
    print("WROTE_MIB", written)
'''


def _printed(result, key):
    return int(next(line for line in result.output.splitlines() if line.startswith(key)).split()[1])


def test_an_endless_cell_is_interrupted_and_the_rest_still_runs(tmp_path):
    result = grade(reference_with(tmp_path, "endless_cell", prepend=[ENDLESS_CELL]))
    assert result.score == MAX_SCORE
    assert [e["type"] for e in result.cell_errors] == ["CellTimeout"]


def test_an_endless_cell_that_ignores_the_alarm_is_killed_and_every_test_says_so(tmp_path):
    started = time.monotonic()
    result = grade(reference_with(tmp_path, "endless_cell_no_alarm", prepend=[ENDLESS_CELL_IGNORING_THE_ALARM]))
    assert time.monotonic() - started < FAST.cell_seconds + 5 + 20
    assert result.score == 0 and result.status == "graded"
    assert all(t.status == "timed_out" and "while running cell 1" in t.message for t in result.tests), \
        {t.name: t.message for t in result.tests}


@pytest.mark.parametrize("attack", [pytest.param(BUSY_CALL, id="busy-loop"), pytest.param(SLEEPING_CALL, id="sleep")])
def test_a_call_that_never_returns_times_out_and_the_next_test_gets_a_fresh_worker(tmp_path, attack):
    result = grade(reference_with(tmp_path, "endless_call", softmax=attack))
    expect_softmax(result, "timed_out", f"no answer within {FAST.request_seconds:g} s")


def test_a_memory_bomb_fails_in_the_worker(tmp_path):
    result = grade(reference_with(tmp_path, "memory_bomb", softmax=MEMORY_BOMB))
    expect_softmax(result, ("error",), "MemoryError")


def test_a_bounded_fork_bomb_is_cleaned_up(tmp_path, survivors):
    result = grade(reference_with(tmp_path, "fork_bomb", prepend=[FORK_BOMB.format(name=survivors, forks=200)]))
    assert result.score == MAX_SCORE
    assert _printed(result, "FORKED") > 0
    assert wait_gone(survivors) == [], "forked children outlived the grading"


@pytest.mark.skipif("pids" not in available(), reason="no cgroup pids hierarchy this user may write to")
def test_an_unbounded_fork_bomb_is_stopped_by_the_task_limit(tmp_path, survivors):
    result = grade(reference_with(tmp_path, "unbounded_fork_bomb", prepend=[FORK_BOMB.format(name=survivors, forks=10**5)]))
    assert result.score == MAX_SCORE
    assert 0 < _printed(result, "FORKED") < Limits().max_tasks
    assert "REFUSED" in result.output
    assert wait_gone(survivors) == [], "forked children outlived the grading"
    assert worker_groups_left() == [], "a worker's cgroup was left behind"


MEMORY_TREE = '''
import os, time

# Four processes, each well within the per-process limit, together well over the worker's.
children = []
for _ in range(4):
    holding, held = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            block = b"\\1" * {each}     # written, not just reserved: it counts
            os.write(held, b"x")
            time.sleep(600)
        finally:
            os._exit(0)
    os.close(held)
    children.append((pid, holding))
for pid, holding in children:
    os.read(holding, 1)         # holding its block, or killed (end of file)
alive = [pid for pid, _ in children if os.waitpid(pid, os.WNOHANG) == (0, 0)]
print("ALIVE", len(alive))
'''


@pytest.mark.skipif("memory" not in available(), reason="no cgroup memory hierarchy this user may write to")
def test_memory_is_limited_for_the_worker_s_whole_process_tree(tmp_path):
    """RLIMIT_AS bounds each process: four of them could hold four times the limit. The memory cgroup
    bounds them together; the kernel kills what goes over, and grading goes on."""
    limits = Limits(**{**FAST.__dict__, "memory_bytes": 3 * 2**29, "cell_seconds": 60})
    each = 600 * 2**20
    result = grade(reference_with(tmp_path, "memory_tree", prepend=[MEMORY_TREE.format(each=each)]), limits)
    assert result.score == MAX_SCORE
    assert _printed(result, "ALIVE") * each <= limits.memory_bytes


def test_a_bounded_thread_bomb_is_cleaned_up(tmp_path, survivors):
    result = grade(reference_with(tmp_path, "thread_bomb", prepend=[THREAD_BOMB.format(name=survivors)]))
    assert result.score == MAX_SCORE
    assert _printed(result, "THREADS") > 0
    assert wait_gone(survivors) == [], "the worker outlived the grading"


def test_a_double_forked_setsid_grandchild_does_not_outlive_grading(tmp_path, survivors):
    result = grade(reference_with(tmp_path, "double_fork", prepend=[DOUBLE_FORK.format(name=survivors)]))
    assert result.score == MAX_SCORE
    assert wait_gone(survivors) == [], "a daemonised grandchild outlived the grading"


def test_one_file_is_stopped_at_the_file_size_limit_and_grading_goes_on(tmp_path):
    result = grade(reference_with(tmp_path, "disk_one_file", prepend=[ONE_HUGE_FILE]))
    assert result.score == MAX_SCORE
    [error] = result.cell_errors
    assert error["type"] == "OSError" and "File too large" in error["message"]
    assert _printed(result, "WROTE_MIB") == FAST.file_size_bytes // 2**20


def test_many_files_are_stopped_by_a_quota(tmp_path):
    limits = Limits(**{**FAST.__dict__, "cell_seconds": 30})
    result = grade(reference_with(tmp_path, "disk_many_files", prepend=[MANY_FILES]), limits)
    assert result.score == MAX_SCORE
    assert _printed(result, "WROTE_MIB") <= 256, "400 MiB written in 40 MiB files: no quota on the worker's disk"
