"""Identifiers, not paths: nothing a submission controls chooses what the grader runs or where it writes.

Attacks: an assignment name in a notebook's metadata (or on the command line, or as an nbgrader folder)
that climbs out of reference/ into the student's own folder, so the grader would import the student's
test file; a submission that is a symbolic link to the reference solution; student and assignment
names that would put reports outside their folder or over another student's; names with NUL bytes or
too long for a file system; numbers too long to read and nesting too deep in the notebook's JSON.

What must hold: the grader imports tests only from the instructor's assignment folders; a submission
that is a link is reported, not graded; every report asked for is written, inside its folder, one file
per submission; exit codes 0, 1 or 3 (2 for a bad --assignment), never a traceback.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from autograder.grading.assignments import available, find_assignment, infer_assignment
from autograder.course.classlist import find_submissions
from autograder.errors import NotebookError, ReportError, UsageError
from autograder.identifiers import SAFE_NAME, file_stem, inside, is_assignment_name, unique_stems
from autograder.grading.notebook import SYMLINK, read_submission
from autograder.reports.files import feedback_names, gradescope_names
from autograder.grading.results import SubmissionResult, write_text_atomic

from .conftest import (
    REFERENCE, ROOT, STUB, check_reports, files_under, invoke, loaded_from, no_traceback, report_args, writes_only_to,
)

KNOWN = available(ROOT)
FEW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MANY = settings(max_examples=400, deadline=None)

# ------------------------------------------------------------------------------------ hostile names

SHAPES = [
    "", " ", ".", "..", "../..", "/", "//", "/etc/passwd", "../../class/alice/x", "mlp/../mlp", "./mlp", "mlp/",
    "mlp\x00", "\x00", "mlp\n", "mlp ", " mlp", "\tmlp", "MLP", "Mlp", "ｍｌｐ", "mlр", "ⅿlp", "mlp\u200b",
    "m" * 300, "a" * 64 + "b", "test_mlp", "mlp.ipynb", "reference/mlp", "..\\..\\x", "C:\\x", "-rf", "~", "$HOME",
    "mlp\x1b[31m", "\ud800", "mlp\u2215x", "mlp\uff0fx", "mlp\u2024\u2024",
]
hostile = st.one_of(
    st.sampled_from(SHAPES),
    st.text(max_size=80),
    st.text(alphabet=st.sampled_from("./\\\x00\n\t -_aZ\u2024\uff0e\u2215\uff4d\u0440"), max_size=40),
    st.lists(st.sampled_from(["..", ".", "", "mlp", "reference", "tmp", "x"]), max_size=6).map("/".join),
    st.lists(st.sampled_from(["..", "mlp", "x"]), min_size=1, max_size=4).map(lambda p: "/" + "/".join(p)),
    st.text(min_size=256, max_size=400),
)
# What a file system accepts as one file name: no separator or NUL, at most 255 bytes with the .ipynb
# suffix, not . or .., and not a folder batch skips. Lone surrogates U+DC80..U+DCFF stand for bytes
# that are not UTF-8 (Python's surrogateescape), which a file name may hold.
file_names = (hostile
              .map(lambda s: "".join(c for c in s if c not in "/\x00" and not 0xD800 <= ord(c) < 0xDC80
                                     and not 0xDD00 <= ord(c) <= 0xDFFF)[:60])
              .filter(lambda s: s not in ("", ".", "..", ".git", "__pycache__", ".ipynb_checkpoints")
                      and not s.endswith(".ipynb")))


def with_metadata(source: Path, target: Path, assignment: object) -> Path:
    nb = json.loads(source.read_text())
    nb["metadata"]["autograder"] = {"assignment": assignment}
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(nb))
    return target


# ------------------------------------------------------------- an assignment name that climbs out

def plant_escape(folder: Path, marker: Path) -> tuple[str, Path]:
    """A student's folder laid out so that the name it declares, joined to reference/ the way grading
    joins it, finds the student's own test file: it writes `marker` and is worth 100 points."""
    name = str(folder / "x")                       # reference/<absolute path> is that path
    directory = ROOT / "reference" / name
    tests = directory / f"test_{name}.py"          # test_/abs/.../x.py: a folder test_ inside x
    tests.parent.mkdir(parents=True, exist_ok=True)
    tests.write_text(f"import pytest\n\n@pytest.mark.points(100)\ndef test_everything():\n"
                     f"    open({str(marker)!r}, 'w').write('the grader ran the student test file')\n")
    with_metadata(STUB, directory / f"{name}.ipynb", name)
    assert tests.is_file() and tests.resolve().is_relative_to(folder.resolve())
    return name, with_metadata(STUB, folder / "mlp.ipynb", name)


def test_an_assignment_name_that_climbs_out_of_reference_runs_nothing_of_the_student(tmp_path):
    marker = tmp_path / "MARKER"
    classroom = tmp_path / "class"
    name, submission = plant_escape(classroom / "alice", marker)
    (classroom / "bob").mkdir()
    shutil.copy(STUB, classroom / "bob" / "mlp.ipynb")

    run = invoke("run", submission, "--root", ROOT, "--json", tmp_path / "run.json")
    no_traceback(run)
    assert run.exit_code == 3, run.output[-2000:]
    data = json.loads((tmp_path / "run.json").read_text())
    assert data["status"] == "unreadable" and data["score"] == 0 and data["assignment"] == ""
    assert "declares assignment" in data["error"] and "mlp" in data["error"]

    run = invoke("run", submission, "--root", ROOT, "--assignment", name)
    no_traceback(run)
    assert run.exit_code == 2 and "unknown assignment" in run.output and "mlp" in run.output

    out = tmp_path / "reports"
    run = invoke("batch", classroom, "--root", ROOT, "-j", "1", *report_args(out))
    no_traceback(run)
    assert run.exit_code == 3, run.output[-2000:]
    rows = {Path(s["submission"]).relative_to(classroom).as_posix(): s
            for s in json.loads((out / "all.json").read_text())["submissions"]}
    for planted in ("alice/mlp.ipynb", "alice/x.ipynb"):   # the second is the notebook the attack needs
        assert rows[planted]["status"] == "unreadable" and rows[planted]["score"] == 0, rows[planted]
    assert rows["bob/mlp.ipynb"]["status"] == "graded" and rows["bob/mlp.ipynb"]["max_score"] == 100
    check_reports(out, 3)

    assert not marker.exists(), "the grader ran a test file from the student's folder"
    assert loaded_from(tmp_path) == []


@pytest.mark.parametrize("name", [
    "../../class/alice/x", "/etc/passwd", "mlp/../mlp", "mlp\x00", "ｍｌｐ", "mlр", "MLP", "mlp\n", "m" * 300, "",
])
def test_a_name_is_only_ever_one_of_the_known_assignments(name):
    with pytest.raises(UsageError, match="unknown assignment") as raised:
        find_assignment(name, ROOT)
    assert "mlp" in str(raised.value) and len(str(raised.value)) < 300


# --------------------------------------------------------------------------- symbolic links

def test_a_submission_that_is_a_symbolic_link_is_reported_not_graded(tmp_path):
    classroom = tmp_path / "class"
    (classroom / "alice").mkdir(parents=True)
    (classroom / "alice" / "mlp.ipynb").symlink_to(os.path.relpath(REFERENCE, classroom / "alice"))
    (classroom / "bob").symlink_to(os.path.relpath(REFERENCE.parent, classroom))           # a linked folder
    (classroom / "submitted" / "carol").mkdir(parents=True)
    (classroom / "submitted" / "carol" / "mlp").symlink_to(REFERENCE.parent)
    (classroom / "dan").mkdir()
    shutil.copy(STUB, classroom / "dan" / "mlp.ipynb")
    (classroom / "erin").mkdir()
    (classroom / "erin" / "mlp.ipynb").symlink_to(classroom / "erin" / "missing.ipynb")   # dangling
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (classroom / "data").symlink_to(tmp_path / "data")           # a linked folder with no notebook: ignored

    found = [p.relative_to(classroom).as_posix() for p in find_submissions(classroom)]
    assert found == ["alice/mlp.ipynb", "bob", "dan/mlp.ipynb", "erin/mlp.ipynb", "submitted/carol/mlp"]
    for path in (classroom / "alice" / "mlp.ipynb", classroom / "bob", classroom / "erin" / "mlp.ipynb"):
        with pytest.raises(NotebookError, match=SYMLINK):
            read_submission(path)

    out = tmp_path / "reports"
    run = invoke("batch", classroom, "--root", ROOT, "-j", "1", *report_args(out))
    no_traceback(run)
    assert run.exit_code == 3, run.output[-2000:]
    rows = {Path(s["submission"]).relative_to(classroom).as_posix(): s
            for s in json.loads((out / "all.json").read_text())["submissions"]}
    for linked in ("alice/mlp.ipynb", "bob", "submitted/carol/mlp", "erin/mlp.ipynb"):
        assert rows[linked]["status"] == "unreadable" and rows[linked]["score"] == 0, rows[linked]
        assert SYMLINK in rows[linked]["error"]
    assert rows["dan/mlp.ipynb"]["status"] == "graded"
    check_reports(out, 5)

    run = invoke("run", classroom / "alice" / "mlp.ipynb", "--root", ROOT, "--json", tmp_path / "one.json")
    no_traceback(run)
    data = json.loads((tmp_path / "one.json").read_text())
    assert run.exit_code == 3 and data["status"] == "unreadable" and data["score"] == 0 and SYMLINK in data["error"]
    run = invoke("run", classroom / "alice", "--root", ROOT, "--json", tmp_path / "folder.json")  # holds one link
    no_traceback(run)
    data = json.loads((tmp_path / "folder.json").read_text())
    assert run.exit_code == 3 and data["status"] == "unreadable" and SYMLINK in data["error"]


# ---------------------------------------------------------------------- one bad submission of many

def test_one_unknown_assignment_in_a_run_of_several_loses_nothing(tmp_path):
    good = shutil.copy(STUB, tmp_path / "mlp.ipynb")
    bad = with_metadata(STUB, tmp_path / "other.ipynb", "no_such_assignment")
    nul = with_metadata(STUB, tmp_path / "third.ipynb", "x\x00" + "y" * 400)
    run = invoke("run", good, bad, nul, "--root", ROOT, "--json", tmp_path / "out.json")
    no_traceback(run)
    assert run.exit_code == 3, run.output[-2000:]
    rows = {Path(s["submission"]).name: s for s in json.loads((tmp_path / "out.json").read_text())["submissions"]}
    assert rows["mlp.ipynb"]["status"] == "graded" and rows["mlp.ipynb"]["max_score"] == 100
    assert rows["other.ipynb"]["status"] == "unreadable" and "'no_such_assignment'" in rows["other.ipynb"]["error"]
    assert rows["third.ipynb"]["status"] == "unreadable" and "\\x00" in rows["third.ipynb"]["error"]
    assert len(rows["third.ipynb"]["error"]) < 500

    run = invoke("run", good, bad, "--root", ROOT, "--assignment", "../mlp")
    no_traceback(run)
    assert run.exit_code == 2 and "unknown assignment '../mlp' (known: " in run.output


# ------------------------------------------------------------------------ JSON Python cannot read

@pytest.mark.parametrize("text, reason", [
    ('{"nbformat": 4, "cells": [], "metadata": {"x": ' + "9" * 5000 + "}}", "a number too long to read"),
    ('{"nbformat": 4, "cells": [], "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ('{"nbformat": ' + "[" * 50 + "]" * 50 + ', "cells": []}', "uses notebook format"),
])
def test_json_python_cannot_read_is_a_notebook_error(tmp_path, text, reason):
    path = tmp_path / "mlp.ipynb"
    path.write_text(text)
    with pytest.raises(NotebookError, match=reason):
        read_submission(path)
    run = invoke("run", path, "--root", ROOT, "--json", tmp_path / "out.json")
    no_traceback(run)
    assert run.exit_code == 3 and reason in json.loads((tmp_path / "out.json").read_text())["error"]


@pytest.mark.parametrize("text, reason", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"submissions": [' + "9" * 5000 + "]}", "integer string conversion"),
])
def test_results_json_python_cannot_read_is_a_usage_error_naming_the_file(tmp_path, text, reason):
    path = tmp_path / "shard.json"
    path.write_text(text)
    run = invoke("merge", path, "--json", tmp_path / "out.json")
    no_traceback(run)
    assert run.exit_code == 2 and f"{path}: " in run.output and reason in run.output


def test_nan_and_infinity_which_jupyter_may_write_are_read_as_null(tmp_path):
    path = tmp_path / "mlp.ipynb"
    path.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {"x": NaN, "y": -Infinity}, "cells": '
                    '[{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], '
                    '"execution_count": null}]}')
    assert read_submission(path).metadata == {"x": None, "y": None}


def test_a_fifo_or_a_folder_in_place_of_a_notebook_is_refused_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "fifo.ipynb")
    with pytest.raises(NotebookError, match="is not a regular file"):
        read_submission(tmp_path / "fifo.ipynb")
    (tmp_path / "folder.ipynb").mkdir()
    with pytest.raises(NotebookError, match="is a folder"):
        read_submission(tmp_path / "folder.ipynb")


# ------------------------------------------------------ properties of the identifier functions

@MANY
@given(hostile)
@example("mlp")
def test_only_known_assignment_names_select_a_folder(name):
    if name in KNOWN:
        assert find_assignment(name, ROOT).directory == ROOT / "reference" / name
        return
    with pytest.raises(UsageError, match="unknown assignment"):
        find_assignment(name, ROOT)
    assert not is_assignment_name(name) or name not in KNOWN


@MANY
@given(hostile)
def test_a_declared_name_is_a_known_assignment_or_a_notebook_error(name):
    nb = read_submission(STUB)
    nb.metadata["autograder"] = {"assignment": name}
    try:
        assert infer_assignment(nb, Path("submission.ipynb"), KNOWN) in KNOWN
    except NotebookError as exc:
        assert "declares assignment" in str(exc) and len(str(exc)) < 400
    except UsageError as exc:   # an empty declaration says nothing
        assert name == "" and "pass --assignment" in str(exc)


@MANY
@given(hostile)
@example("x/" * 200)
def test_file_stems_are_bounded_safe_names(text):
    stem = file_stem(text)
    assert SAFE_NAME.fullmatch(stem) and len(stem) <= 64 and stem == file_stem(text)
    assert stem not in (".", "..") and os.sep not in stem
    if stem == text:
        assert SAFE_NAME.fullmatch(text)


@MANY
@given(st.lists(st.tuples(hostile, hostile), max_size=12))
@example([("x/", "a"), (file_stem("x/"), "b")])          # a name that is another one's made-safe form
@example([("Alice", "a"), ("alice", "b")])               # case-insensitive file systems
@example([("alice", "same"), ("alice", "same")])        # the same submission twice
def test_report_names_never_collide_and_stay_inside_their_folder(tmp_path_factory, entries):
    stems = unique_stems([file_stem(s) for s, _ in entries], [k for _, k in entries])
    assert len({s.casefold() for s in stems}) == len(stems)
    results = [SubmissionResult(assignment, submission) for submission, assignment in entries]
    names = gradescope_names(results)
    assert len({n.casefold() for n in names}) == len(results)
    pages = feedback_names(results)
    assert len({(f.casefold(), s.casefold()) for f, s in pages}) == len(results)
    folder = tmp_path_factory.getbasetemp()
    for name in names:
        assert inside(folder, name).parent == folder
    for student, stem in pages:
        assert inside(folder, student, stem + ".md").parent.parent == folder


@pytest.mark.parametrize("parts", [
    ("..",), (".",), ("a/b",), ("/etc",), ("x\x00",), ("",), ("ok", ".."), ("ok", "a" * 300),
])
def test_inside_refuses_anything_but_plain_names(tmp_path, parts):
    with pytest.raises(ReportError):
        inside(tmp_path, *parts)


def test_inside_refuses_a_folder_that_is_a_link_out_and_a_link_in_place_of_a_file_is_replaced(tmp_path):
    reports, victim = tmp_path / "reports", tmp_path / "victim.md"
    reports.mkdir()
    (reports / "alice").symlink_to(tmp_path)
    with pytest.raises(ReportError, match="outside"):
        inside(reports, "alice", "mlp.md")
    victim.write_text("untouched")
    (reports / "bob.md").symlink_to(victim)
    write_text_atomic(inside(reports, "bob.md"), "report")
    assert victim.read_text() == "untouched" and not (reports / "bob.md").is_symlink()


# ----------------------------------------------------------- the real CLI on generated names

@FEW
@given(hostile)
@example("../../class/alice/x")
@example("/etc")
@example("mlp\x00")
def test_any_assignment_on_the_command_line_is_a_usage_error_or_known(tmp_path, name):
    run = invoke("run", STUB, "--root", ROOT, "--assignment", name)
    no_traceback(run)
    if name in KNOWN:
        assert run.exit_code in (0, 3)   # 3: the stub is an mlp notebook, not one for this assignment
    elif name:
        assert run.exit_code == 2 and "known: " in run.output and "mlp" in run.output
    else:       # an empty --assignment is no --assignment
        assert run.exit_code == 0
    classroom = Path(tempfile.mkdtemp(dir=tmp_path))
    (classroom / "x.ipynb").write_text("{ not json")
    run = invoke("batch", classroom, "--root", ROOT, "-j", "1", "--assignment", name)
    no_traceback(run)
    assert run.exit_code in ((2,) if name and name not in KNOWN else (0, 3))


@FEW
@given(st.lists(hostile, min_size=1, max_size=4), st.lists(file_names, min_size=1, max_size=4, unique=True))
@example(["../../class/alice/x", "/etc/passwd", "x\x00y", "m" * 300],
         ["..a", "a" * 240, "ｍｌｐ", "-rf", "\udcff\udcfe"])
def test_a_batch_of_hostile_names_writes_every_report_and_nothing_elsewhere(tmp_path, declared, names):
    """Hostile names as metadata and as submission file and folder names (a file system allows):
    every submission gets a row and its own report files, all inside their folders."""
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    classroom, out, named = base / "class", base / "reports", base / "class" / "named"
    named.mkdir(parents=True)
    (classroom / "stub").mkdir()
    shutil.copy(STUB, classroom / "stub" / "mlp.ipynb")
    for index, name in enumerate(declared):
        with_metadata(STUB, classroom / f"declared{index}" / "mlp.ipynb", name)
    for name in names:   # unreadable (so nothing is graded) but named like a submission
        (named / f"{name}.ipynb").write_text("{ not json")
        (named / name).mkdir()
        (named / name / "mlp.ipynb").write_text("{ not json")
    with writes_only_to(out, watched=(base,)):
        run = invoke("batch", classroom, "--root", ROOT, "-j", "1", *report_args(out))
    no_traceback(run)
    count = 1 + len(declared) + 2 * len(names)
    assert run.exit_code == 3, run.output[-2000:]
    check_reports(out, count)
    assert loaded_from(base) == []


@FEW
@given(st.lists(st.tuples(hostile, hostile), min_size=1, max_size=6))
@example([("../../../etc/x.ipynb", "../../x"), ("/abs/alice/mlp.ipynb", "/tmp/x"), ("a\x00b/mlp.ipynb", "mlp\x00"),
          ("s/" + "a" * 300 + "/mlp.ipynb", "b" * 300), ("alice/mlp.ipynb", "mlp"), ("alice/mlp.ipynb", "mlp")])
def test_merging_results_with_hostile_names_writes_every_report_inside_its_folder(tmp_path, entries):
    """`grade merge` reads results from JSON files: any string may be a submission or an assignment."""
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    results = base / "in.json"
    results.write_text(json.dumps({"submissions": [
        SubmissionResult(assignment, submission, status="unreadable", error="x").to_dict()
        for submission, assignment in entries]}))
    out = base / "reports"
    run = invoke("merge", results, *report_args(out))
    no_traceback(run)
    assert run.exit_code == 3, run.output[-2000:]
    check_reports(out, len(entries))
    assert files_under(base) - files_under(out) == {results}
