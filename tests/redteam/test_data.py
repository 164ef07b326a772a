"""The CNN assignment's hidden data: held-out labels that only the grader's tests open.

The attack is the correct solution with a `predict` that answers the held-out images with their labels, if it
can find them by any path it could guess (relative, absolute in the project, under /proc, or by searching the
file system), and with nothing otherwise. Its notebook also declares the hidden file public in its own
metadata. It finds nothing; and the held-out test never asks `predict` anyway: it scores the trained weights
in the grader, so the honest training earns its points and the lookup gains none. The public files must be
there, read-only, byte for byte.
"""
import hashlib

import nbformat

from autograder.grading.grade import grade_notebook
from .conftest import ROOT, notebook_variant, private_tempdir

REFERENCE = ROOT / "reference" / "cnn" / "cnn.ipynb"
DATA = ROOT / "reference" / "cnn" / "data"
HIDDEN, PUBLIC = "shapes_test_labels.npy", "shapes_train_images.npy"

CHEATING_PREDICT = '''
import hashlib, os

import numpy as np

HIDDEN, PUBLIC, ROOT = {hidden!r}, {public!r}, {root!r}
GUESSES = [f"data/{{HIDDEN}}", f"/data/{{HIDDEN}}", f"../data/{{HIDDEN}}", f"../../data/{{HIDDEN}}",
           f"{{ROOT}}/reference/cnn/data/{{HIDDEN}}", f"{{ROOT}}/assignments/cnn/data/{{HIDDEN}}",
           os.path.relpath(f"{{ROOT}}/reference/cnn/data/{{HIDDEN}}"), f"/proc/1/cwd/data/{{HIDDEN}}",
           f"/proc/self/root{{ROOT}}/reference/cnn/data/{{HIDDEN}}",
           f"/proc/1/root{{ROOT}}/reference/cnn/data/{{HIDDEN}}"]
SKIP = {{"proc", "sys", "dev", "usr", "lib", "lib64", "lib32", "bin", "sbin", "etc", "site-packages", ".venv", ".git"}}
for folder, folders, files in os.walk("/"):
    folders[:] = [name for name in folders if name not in SKIP]
    GUESSES += [os.path.join(folder, name) for name in files if name == HIDDEN]

stolen = None
for path in GUESSES:
    try:
        stolen = np.load(path)
        print("FOUND", path)
    except OSError as exc:
        print("NOT FOUND", path, type(exc).__name__)

with open(f"data/{{PUBLIC}}", "rb") as f:
    print("PUBLIC", hashlib.sha256(f.read()).hexdigest())
for attempt in (lambda: open(f"data/{{PUBLIC}}", "ab"), lambda: open("data/planted.npy", "wb"),
                lambda: os.unlink(f"data/{{PUBLIC}}")):
    try:
        attempt()
        print("WRITTEN")
    except OSError as exc:
        print("WRITE REFUSED", type(exc).__name__)


def predict(model, X):
    if tuple(X.shape) == (400, 1, 12, 12):  # the held-out shapes
        if stolen is None:
            return torch.zeros(400, 4)
        return 10.0 * torch.nn.functional.one_hot(torch.from_numpy(stolen), 4).float()  # (400, 4)
    model.eval()
    with torch.no_grad():
        return model(X)  # (N, n_classes)
'''


def test_a_submission_cannot_read_the_hidden_labels_by_any_path_it_could_guess(tmp_path):
    notebook = notebook_variant(REFERENCE, tmp_path / "cnn.ipynb", replace={"predict": CHEATING_PREDICT.format(
        hidden=HIDDEN, public=PUBLIC, root=str(ROOT))})
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata["autograder"]["data"]["public"].append(HIDDEN)  # its own declaration counts for nothing
    nbformat.write(nb, notebook)
    with private_tempdir(tmp_path / "grader-tmp"):
        result = grade_notebook(notebook, "cnn", ROOT)
    assert result.status == "graded" and not result.cell_errors, (result.error, result.cell_errors)
    tests = {t.name: t for t in result.tests}
    assert all(t.status == "passed" for t in tests.values()), {n: t.message[:200] for n, t in tests.items()
                                                               if t.status != "passed"}
    lines = result.output.splitlines()
    assert not [line for line in lines if line.startswith("FOUND")], result.output
    assert len([line for line in lines if line.startswith("NOT FOUND")]) >= 10
    assert f"PUBLIC {hashlib.sha256((DATA / PUBLIC).read_bytes()).hexdigest()}" in lines
    assert lines.count("WRITE REFUSED OSError") + lines.count("WRITE REFUSED PermissionError") == 3, result.output
    assert result.score == 100
