"""`grade package gradescope`: an assignment as the autograder zip Gradescope takes as it is.

The zip holds Gradescope's two entry points and what they install and grade with:

    setup.sh               run once when Gradescope builds the image: Python 3.11, CPU-only torch, the grader
    run_autograder         run per submission: autograder.grading.gradescope_run, and a results.json whatever happens
    constraints.txt        torch pinned to the release the instructor grades with
    dl_autograder-*.whl    the grader itself, as installed here (course.wheel)
    reference/<a>/         the reference notebook and every test, hidden ones included

Both scripts take their paths from AUTOGRADER_DIR (default /autograder), so the same zip runs in a
folder laid out like Gradescope's anywhere.
"""
from __future__ import annotations

import importlib.metadata
import io
import tempfile
import zipfile
from pathlib import Path

from autograder.course.wheel import engine_wheel
from autograder.grading.assignments import Assignment
from autograder.grading.results import write_bytes_atomic

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
_STAMP = (1980, 1, 1, 0, 0, 0)

SETUP = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: Python 3.11, CPU-only
# PyTorch and the grader, in a virtual environment that run_autograder uses. Every path is under
# AUTOGRADER_DIR (default /autograder), where Gradescope unpacks this zip into source/.
set -euo pipefail
AUTOGRADER_DIR="${{AUTOGRADER_DIR:-/autograder}}"
SOURCE="$AUTOGRADER_DIR/source"
VENV="$AUTOGRADER_DIR/venv"
if [ ! -x "$VENV/bin/python" ]; then   # an environment made before is kept, and brought up to date
    if ! command -v python3.11 >/dev/null; then   # Gradescope's Ubuntu 22.04 image ships Python 3.10
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3.11 python3.11-venv
    fi
    python3.11 -m venv "$VENV"
fi
INSTALL=("$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -c "$SOURCE/constraints.txt")
# PyPI's Linux torch wheels bring CUDA libraries (gigabytes); PyTorch's own index has the CPU build.
"${{INSTALL[@]}}" --index-url {TORCH_CPU_INDEX} torch
"${{INSTALL[@]}}" "$SOURCE"/dl_autograder-*.whl
# The build log shows which protections the grader's workers get in this image.
"$VENV/bin/grade" doctor --root "$SOURCE" || true
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission, with the student's files in AUTOGRADER_DIR/submission/
# (default /autograder). It always leaves AUTOGRADER_DIR/results/results.json: when the grader cannot
# start or stops without writing it, a result that scores 0 and says so.
AUTOGRADER_DIR="${{AUTOGRADER_DIR:-/autograder}}"
export AUTOGRADER_DIR
RESULTS="$AUTOGRADER_DIR/results/results.json"
mkdir -p "$AUTOGRADER_DIR/results"
rm -f "$RESULTS"
"$AUTOGRADER_DIR/venv/bin/python" -m autograder.grading.gradescope_run {assignment}
status=$?
if [ "$status" -ne 0 ] || [ ! -s "$RESULTS" ]; then
    cat > "$RESULTS" <<EOF
{{"score": 0, "tests": [], "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
 "output": "The grader stopped (exit status $status) before grading: no mistake of yours; tell your instructor."}}
EOF
fi
exit 0
"""


def torch_pin() -> str:
    """The torch release this grader runs, without its build label (2.13.0+cpu -> 2.13.0)."""
    return importlib.metadata.version("torch").split("+")[0]


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    entry = zipfile.ZipInfo(name, _STAMP)
    entry.external_attr = (0o755 if executable else 0o644) << 16
    archive.writestr(entry, data, zipfile.ZIP_DEFLATED)


def gradescope_zip(assignment: Assignment, out: Path) -> list[str]:
    """Write the autograder zip of `assignment` to `out` (atomically); the names it holds."""
    with tempfile.TemporaryDirectory(prefix="grade-package-") as folder:
        wheel = engine_wheel(Path(folder))
        members: list[tuple[str, bytes, bool]] = [
            ("setup.sh", SETUP.encode(), True),
            ("run_autograder", RUN.format(assignment=assignment.name).encode(), True),
            ("constraints.txt", f"torch=={torch_pin()}\n".encode(), False),
            (wheel.name, wheel.read_bytes(), False),
            *((f"reference/{assignment.name}/{path.name}", path.read_bytes(), False)
              for path in (assignment.notebook, assignment.tests)),
        ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, executable in members:
            _add(archive, name, data, executable)
    write_bytes_atomic(out, buffer.getvalue())
    return [name for name, _, _ in members]
