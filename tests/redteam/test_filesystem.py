"""The file system and the network: reading the solution and hidden tests, turning the grader's own file
reads against it, writing where the grader looks, shadowing modules, loading planted files, connecting out.

Attacks that want the solution start from the stub (0 points) and replace its last solution cell with
code that loads the reference's solutions if it can get at them: the score must stay 0.
"""
import os
import pickle
import socket
import stat
import threading
import time

import pytest
import torch

from .conftest import MAX_SCORE, ROOT, grade, reference_with, stub_with

LOAD_SOLUTIONS = '''
import json, os


def load_solutions(text):
    """Run every non-demo code cell of a notebook's JSON text here: the reference's solutions."""
    nb = json.loads(text)
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {{}}).get("nbgrader", {{}}).get("grade_id", "")
        if cell["cell_type"] == "code" and not grade_id.startswith("demo"):
            exec("".join(cell["source"]), globals())
    print("LOADED THE SOLUTIONS")
'''

READ_HIDDEN = LOAD_SOLUTIONS + '''
import importlib.util

ROOT = {root!r}
for path in (f"{{ROOT}}/reference/mlp/test_mlp.py", f"{{ROOT}}/reference/mlp/mlp.ipynb", f"{{ROOT}}/reference"):
    print("HIDDEN" if not os.path.exists(path) or os.path.isdir(path) and not os.listdir(path) else "VISIBLE", path)
try:
    spec = importlib.util.spec_from_file_location("hidden_tests", f"{{ROOT}}/reference/mlp/test_mlp.py")
    hidden_tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hidden_tests)
    print("IMPORTED THE HIDDEN TESTS")
except Exception as exc:
    print("NO HIDDEN TESTS", type(exc).__name__)
try:
    with open(f"{{ROOT}}/reference/mlp/mlp.ipynb") as f:
        load_solutions(f.read())
except Exception as exc:
    print("NO SOLUTIONS", type(exc).__name__)
'''

UNMOUNT_THEN_READ = LOAD_SOLUTIONS + '''
import ctypes

ROOT = {root!r}
libc = ctypes.CDLL(None, use_errno=True)
print("UMOUNT", libc.umount2(f"{{ROOT}}/reference".encode(), 2), ctypes.get_errno())  # MNT_DETACH
with open(f"{{ROOT}}/reference/mlp/mlp.ipynb") as f:
    load_solutions(f.read())
'''

FROM_GIT_OBJECTS = LOAD_SOLUTIONS + '''
import zlib

ROOT = {root!r}


def git_blobs(git):
    for folder, _, files in os.walk(os.path.join(git, "objects")):
        for name in files:
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            if not folder.endswith("pack"):
                try:
                    yield zlib.decompress(data).split(b"\\0", 1)[1]
                except (zlib.error, IndexError):
                    pass
            elif name.endswith(".pack") and len(data) < 64 * 2**20:
                for start in range(len(data) - 1):  # whole objects are plain zlib streams in a pack
                    if data[start] == 0x78 and data[start + 1] in (0x01, 0x5E, 0x9C, 0xDA):
                        try:
                            yield zlib.decompressobj().decompress(data[start:start + 8 * 2**20])
                        except zlib.error:
                            pass


for blob in git_blobs(f"{{ROOT}}/.git"):
    if b"BEGIN SOLUTION" in blob and b'"grade_id": "training"' in blob:
        load_solutions(blob.decode())
        break
'''

OUTPUT_IS_THE_HIDDEN_TESTS = '''
import os
os.unlink("../output.log")
os.symlink({path!r}, "../output.log")
'''

OUTPUT_IS_A_FIFO = '''
import os
os.unlink("../output.log")
os.mkfifo("../output.log")  # the grader opens it for reading when it retires the worker: and waits for a writer
'''

WRITE_OUTSIDE = '''
with open({path!r}, "w") as f:
    f.write("written by the worker")
'''

SHADOWS = '''
import os

PAYLOAD = "import os\\nopen(os.path.join(%r, __name__ + '-' + str(os.getpid())), 'w').close()\\n" % {markers!r}
NAMES = ("conftest.py", "sitecustomize.py", "usercustomize.py", "torch.py", "numpy.py", "pytest.py",
         "autograder.py", "cli.py", "test_mlp.py", "mlp.py", "nbformat.py")
for folder in (os.getcwd(), {beside!r}):
    for name in NAMES:
        try:
            with open(os.path.join(folder, name), "w") as f:
                f.write(PAYLOAD)
        except OSError as exc:
            print("REFUSED", folder, name, exc)
    try:
        with open(os.path.join(folder, "pytest.ini"), "w") as f:
            f.write("[pytest]\\naddopts = -p conftest -p no:autograder.grading.plugin\\n")
    except OSError as exc:
        print("REFUSED", folder, "pytest.ini", exc)
'''

CONNECT = '''
import socket
s = socket.socket(socket.{family})
s.settimeout(2)
try:
    s.connect({address!r})
    s.sendall(b"exfiltrated")
    print("CONNECTED")
except OSError as exc:
    print("NO NETWORK", exc)
'''


def _score_stays_zero(result):
    assert result.score == 0, {t.name: t.status for t in result.tests if t.status == "passed"}
    assert "LOADED THE SOLUTIONS" not in result.output


def test_the_reference_solution_and_hidden_tests_cannot_be_read(tmp_path):
    result = grade(stub_with(tmp_path, "read_hidden", replace={"training": READ_HIDDEN.format(root=str(ROOT))}))
    _score_stays_zero(result)
    assert "VISIBLE" not in result.output and "NO HIDDEN TESTS" in result.output, result.output


def test_unmounting_the_hiding_mount_does_not_reveal_the_solution(tmp_path):
    result = grade(stub_with(tmp_path, "unmount", replace={"training": UNMOUNT_THEN_READ.format(root=str(ROOT))}))
    _score_stays_zero(result)


LOOK_AROUND = '''
import os

cwd = os.getcwd()
for path in {paths!r}:
    if os.path.isdir(path):  # the folders leading to the worker's own scratch folder are on its own tmpfs
        own = {{os.path.relpath(cwd, path).split(os.sep)[0]}} if cwd.startswith(path + os.sep) else set()
        visible = bool(set(os.listdir(path)) - own)
    else:
        visible = os.path.exists(path)
    print("VISIBLE", path, visible)
'''


def test_the_worker_sees_none_of_the_project_or_the_submission_folder(tmp_path):
    paths = [str(ROOT / name) for name in (".git", "reference", "examples", "tests", "assignments", "cli.py")]
    paths += [str(tmp_path), "/run", "/var", "/sys", "/home", "/etc/shadow", "/etc/ssh", "/root/.ssh"]
    result = grade(reference_with(tmp_path, "look_around", prepend=[LOOK_AROUND.format(paths=paths)]))
    assert result.score == MAX_SCORE
    seen = [line.split()[1] for line in result.output.splitlines() if line.startswith("VISIBLE") and line.endswith("True")]
    assert len([line for line in result.output.splitlines() if line.startswith("VISIBLE")]) == len(paths)
    assert seen == [], f"the worker can see {seen}"


def test_the_solution_cannot_be_recovered_from_the_repository_history(tmp_path):
    if not (ROOT / ".git" / "objects").is_dir():
        pytest.skip("not a git checkout: no history to recover the solution from")
    result = grade(stub_with(tmp_path, "git", replace={"training": FROM_GIT_OBJECTS.format(root=str(ROOT))}))
    _score_stays_zero(result)


def test_the_output_file_cannot_be_turned_into_the_hidden_tests(tmp_path):
    hidden = ROOT / "reference" / "mlp" / "test_mlp.py"
    result = grade(reference_with(tmp_path, "output_symlink", prepend=[OUTPUT_IS_THE_HIDDEN_TESTS.format(path=str(hidden))]))
    assert result.score == MAX_SCORE
    assert hidden.read_text()[:60] not in result.output, "the hidden tests ended up in the report"


def _threads_waiting_on_a_fifo() -> bool:
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/wchan") as f:
                if f.read().strip() in ("wait_for_partner", "fifo_open"):
                    return True
        except OSError:
            pass
    return False


def _open_fifos_for_writing(folder):
    for path in folder.rglob("output.log"):
        try:
            if stat.S_ISFIFO(os.stat(path).st_mode):
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass


def test_a_fifo_in_place_of_the_output_file_does_not_hang_the_grader(tmp_path):
    notebook = reference_with(tmp_path, "output_fifo", prepend=[OUTPUT_IS_A_FIFO])
    outcome = {}

    def run():
        try:
            outcome["result"] = grade(notebook)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            outcome["error"] = exc

    grading = threading.Thread(target=run, daemon=True)
    grading.start()
    hung, deadline = False, time.monotonic() + 90
    while grading.is_alive() and time.monotonic() < deadline:
        grading.join(0.2)
        if grading.is_alive() and _threads_waiting_on_a_fifo():
            hung = True
            _open_fifos_for_writing(tmp_path)  # release the grader so the test run goes on
    grading.join(10)
    assert not grading.is_alive(), "the grading thread never finished"
    assert not hung, "the grading process blocked opening a FIFO the worker put in place of its output file"
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].score == MAX_SCORE


def test_the_worker_cannot_write_outside_its_folder(tmp_path):
    outside = tmp_path / "written_by_the_worker.txt"
    result = grade(reference_with(tmp_path, "write_outside", prepend=[WRITE_OUTSIDE.format(path=str(outside))]))
    assert result.score == MAX_SCORE
    assert not outside.exists(), "the worker wrote a file next to the submission"


def test_shadowing_modules_and_config_files_are_never_loaded(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    attack = stub_with(tmp_path, "shadows", prepend=[SHADOWS.format(markers=str(markers), beside=str(tmp_path))])
    first = grade(attack)
    second = grade(stub_with(tmp_path, "after_shadows"))  # the next submission graded from the same folder
    assert first.score == 0 and second.score == 0
    assert not any(t.status == "error" and "conftest" in t.message for t in first.tests + second.tests)
    assert sorted(p.name for p in markers.iterdir()) == [], "a planted module or config file was executed"


def test_the_worker_has_no_network(tmp_path):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    try:
        address = server.getsockname()
        result = grade(reference_with(tmp_path, "tcp", prepend=[CONNECT.format(family="AF_INET", address=address)]))
        assert result.score == MAX_SCORE
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing ever connected
        assert "CONNECTED" not in result.output
    finally:
        server.close()


def test_the_worker_cannot_reach_unix_sockets_on_the_file_system(tmp_path):
    path = tmp_path / "agent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    server.setblocking(False)
    try:
        result = grade(reference_with(tmp_path, "unix", prepend=[CONNECT.format(family="AF_UNIX", address=str(path))]))
        assert result.score == MAX_SCORE
        assert "CONNECTED" not in result.output, "the worker connected to a Unix socket of the grader's machine"
    finally:
        server.close()


class _Marker:
    """Unpickling this runs code: it creates a marker file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return exec, (f"open({str(self.path)!r}, 'w').write('unpickled')",)


def test_pickles_and_checkpoints_next_to_the_submission_are_never_loaded(tmp_path):
    marker = tmp_path / "unpickled.txt"
    for name in ("submission.pkl", "results.pickle"):
        (tmp_path / name).write_bytes(pickle.dumps(_Marker(marker)))
    for name in ("model.pt", "weights.pth"):
        torch.save({"state_dict": _Marker(marker)}, tmp_path / name)
    result = grade(reference_with(tmp_path, "mlp"))
    assert result.score == MAX_SCORE
    assert not marker.exists(), "something unpickled a file planted next to the submission"
