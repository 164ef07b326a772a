"""What a Gradescope autograder runs for each submission (`run_autograder`, made by `grade package
gradescope`): find the notebook among the student's files, grade it with the hidden tests, and always
leave results.json, whatever happened: no notebook, several, an unreadable file, a grader that failed.

Every path comes from one setting, the environment variable AUTOGRADER_DIR (Gradescope's `/autograder`):
the zip unpacked in `source/` (the hidden tests in `source/reference/<assignment>/`), the student's files
in `submission/`, the result in `results/results.json`. What this prints goes to Gradescope's stdout
capture, which only instructors see: it may name hidden tests; results.json shows students only what
their visibility allows.

    python -m autograder.grading.gradescope_run ASSIGNMENT
"""
from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

SETTING = "AUTOGRADER_DIR"
DEFAULT_DIR = "/autograder"
LISTED = 5   # notebooks or files named in a message


@dataclass(frozen=True)
class Layout:
    """Gradescope's folders under one root."""

    root: Path

    @classmethod
    def from_environment(cls) -> Layout:
        return cls(Path(os.environ.get(SETTING) or DEFAULT_DIR))

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def submission(self) -> Path:
        return self.root / "submission"

    @property
    def results(self) -> Path:
        return self.root / "results" / "results.json"


@dataclass(frozen=True)
class Choice:
    """The notebook to grade and what the student is told about the others, or why there is none."""

    notebook: Path | None
    note: str


def _names(paths: list[str]) -> str:
    more = f" and {len(paths) - LISTED} more" if len(paths) > LISTED else ""
    return ", ".join(paths[:LISTED]) + more


def _declares(path: Path, assignment: str) -> bool:
    from autograder.errors import NotebookError
    from autograder.grading.notebook import assignment_of, read_submission

    try:
        return assignment_of(read_submission(path)) == assignment
    except NotebookError:
        return False


def choose_notebook(folder: Path, assignment: str) -> Choice:
    """The one notebook in the submission; among several, the only one whose metadata declares the
    assignment, else the only one named `<assignment>.ipynb` (among those that declare it, if any do).
    Anything less clear grades nothing, and the note says what was found."""
    from autograder.course.classlist import files_in, find_submissions

    found = find_submissions(folder) if folder.is_dir() else []
    shown = [path.relative_to(folder).as_posix() for path in found]
    if not found:
        files = files_in(folder) if folder.is_dir() else []
        return Choice(None, f"no notebook (.ipynb) in the submission (found: {_names(files)})" if files
                      else "the submission is empty")
    if len(found) == 1:
        return Choice(found[0], "")
    declaring = [path for path in found if _declares(path, assignment)]
    named = [path for path in declaring or found if path.name == f"{assignment}.ipynb"]
    for group in (declaring, named):
        if len(group) == 1:
            others = [name for path, name in zip(found, shown) if path != group[0]]
            return Choice(group[0], f"Graded {group[0].relative_to(folder).as_posix()}; not graded: {_names(others)}.")
    return Choice(None, f"{len(found)} notebooks in the submission ({_names(shown)}) and none is clearly the "
                        f"{assignment} notebook: submit only {assignment}.ipynb")


def grade_submission(layout: Layout, assignment: str) -> dict[str, Any]:
    """Gradescope's results.json for the submission in layout.submission, graded as `assignment`."""
    from autograder.grading.results import SubmissionResult, now
    from autograder.reports.gradescope import gradescope_result
    from autograder.reports.terminal import Terminal, submission_view

    choice = choose_notebook(layout.submission, assignment)
    if choice.notebook is None:   # nothing to grade: no worker, no torch
        result = SubmissionResult(assignment, "", status="missing", error=choice.note, graded_at=now())
    else:
        from autograder.worker.launch import start_zygote

        start_zygote()   # it warms up while this process imports pytest and torch
        from autograder.grading.grade import grade_notebook

        graded = grade_notebook(choice.notebook, assignment, layout.source)
        result = replace(graded, submission=choice.notebook.relative_to(layout.submission).as_posix())
    Terminal().print(submission_view(result))
    data = gradescope_result(result)
    if choice.notebook is not None and choice.note:
        data["output"] = f"{choice.note}\n{data['output']}"
    return data


def failed(exc: BaseException, started: float) -> dict[str, Any]:
    """The result when the grader itself failed: score 0, and a message that blames the grader, not the
    student (the traceback, which may quote hidden tests, goes to the instructors' stdout only)."""
    return {"score": 0.0, "execution_time": round(time.monotonic() - started, 3),
            "output": f"The grader failed ({type(exc).__name__}) and could not grade this submission. "
                      "This is not a mistake in your notebook: tell your instructor.",
            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def main(argv: list[str]) -> int:
    """Grade the submission and write results.json; 0 once it is written."""
    started = time.monotonic()
    layout = Layout.from_environment()
    try:
        if len(argv) != 1:
            raise SystemExit("usage: python -m autograder.grading.gradescope_run ASSIGNMENT")
        data = grade_submission(layout, argv[0])
    except BaseException as exc:   # noqa: BLE001 - whatever happened, the student gets a result
        traceback.print_exc(file=sys.stdout)
        data = failed(exc, started)
    from autograder.grading.results import write_json_atomic

    write_json_atomic(layout.results, data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
