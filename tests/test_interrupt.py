"""Ctrl-C during `grade batch`: a real `grade` process gets SIGINT once its progress log shows a first
finished submission, while another submission's cell is still sleeping. It must stop within seconds,
kill that worker, write every report with what was graded, marked incomplete, and exit 130."""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from processes import processes_named

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "submissions" / "mlp" / "correct_functional.ipynb"
STOPPED_WITHIN = 20     # seconds from SIGINT to exit; the sleeping cell alone would take 25 (its limit is 30)
START_DEADLINE = 300    # seconds for a first submission to finish on a loaded machine

SLEEPER = '''
import ctypes, time
ctypes.CDLL(None).prctl(15, {name!r}.encode(), 0, 0, 0)   # PR_SET_NAME: found from outside by this name
time.sleep(25)
'''


def until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def marker():
    name = "gi" + secrets.token_hex(6)
    yield name
    for pid in processes_named(name):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("jobs", ["2", "1"])   # a pool of grading processes, and grading in the process itself
def test_ctrl_c_stops_batch_and_writes_what_was_graded(tmp_path, marker, jobs):
    folder = tmp_path / "class"
    (folder / "alice").mkdir(parents=True)
    shutil.copy(SAMPLE, folder / "alice" / "mlp.ipynb")
    slow = nbformat.read(SAMPLE, as_version=4)
    slow.cells.insert(0, nbformat.v4.new_code_cell(SLEEPER.format(name=marker), id="sleeper"))
    (folder / "bob").mkdir()
    nbformat.write(slow, folder / "bob" / "mlp.ipynb")
    out = tmp_path / "reports"
    grade = Path(sys.executable).with_name("grade")
    proc = subprocess.Popen([str(grade), "batch", str(folder), "--root", str(ROOT), "-j", jobs,
                             "--json", str(out / "all.json"), "--csv", str(out / "grades.csv")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    log: list[str] = []

    def read_log() -> None:
        for line in proc.stderr:
            log.append(line)

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        assert until(lambda: any(line.startswith("[1/2]") for line in log) and processes_named(marker),
                     START_DEADLINE), "".join(log)[-3000:]
        proc.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        stdout = proc.communicate(timeout=STOPPED_WITHIN)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    assert proc.returncode == 130, stdout[-3000:] + "".join(log)[-3000:]
    assert time.monotonic() - interrupted < STOPPED_WITHIN
    assert until(lambda: not processes_named(marker), 10), "bob's worker outlived the run"
    assert "[1/2] alice/mlp.ipynb mlp 100/100\n" in log and "Traceback" not in stdout + "".join(log)
    assert "Incomplete: grading was interrupted" in stdout
    data = json.loads((out / "all.json").read_text())
    assert data["incomplete"] is True
    assert [(s["student"], s["status"], s["score"]) for s in data["submissions"]] == [("alice", "graded", 100)]
    assert (out / "grades.csv").read_text().count("\n") == 3   # the header, points possible and alice
