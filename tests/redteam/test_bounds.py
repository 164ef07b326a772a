"""Attacks on sizes and rendering: exception type names of a million characters, many failing cells, a
forged answer carrying a two-million-character message, output floods, C1 controls, bidirectional
overrides, `<script>` and workflow commands in everything a submission controls. Graded for real
through `grade batch` / `grade check` / `grade run` (Click's runner, in this process), with every report
asked for, as in GitHub Actions."""
import json
import re
import shutil

import nbformat
from click.testing import CliRunner

from autograder import bounds
from cli import main

from .conftest import FIND_ANSWER_PIPE, ROOT, reference_with, stub_with

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
EVIL = "<script>alert(1)</script> \\x9b31m\\x9d8;;x\\x9c\\x1b]0;PWNED-{where}\\x07\\u202e\\r::error::PWNED"
FAILING_CELLS = 60

HUGE_TYPE = f'''
Evil = type("{EVIL.format(where="TYPE")}" + "W" * 1_000_000, (Exception,), {{}})
print("{EVIL.format(where="OUTPUT")}\\n" * 10_000)
'''
RAISES = f'''
raise Evil("{EVIL.format(where="CELL")} " + "M" * 1_000_000)
'''
# The worker's own reporting cuts messages; a submission can bypass it by writing its answer itself.
FORGED_HUGE_ERROR = FIND_ANSWER_PIPE + f'''
import json, struct


def softmax(logits):
    error = {{"$": "dict", "items": [["type", "E" * 1_000_000],
                                    ["message", "{EVIL.format(where="MESSAGE")} " + "m" * 1_000_000],
                                    ["traceback", "t" * 1_000_000]]}}
    header = json.dumps({{"body": {{"$": "dict", "items": [["ok", False], ["error", error]]}}, "buffers": []}}).encode()
    data = memoryview(struct.pack(">I", len(header)) + header)
    while data:
        data = data[os.write(answer_pipe(), data):]
    os._exit(0)
'''


def fence_violations(output: str) -> list[str]:
    """Non-blank lines outside ::stop-commands::TOKEN ... ::TOKEN:: fences (and a fence left open)."""
    token, outside = None, []
    for line in output.splitlines():
        if token is None and not line.strip():
            continue
        if token is None:
            opened = re.fullmatch(r"::stop-commands::([0-9a-f]{32})", line)
            if opened:
                token = opened.group(1)
            else:
                outside.append(line)
        elif line == f"::{token}::":
            token = None
    return outside + ([f"unclosed fence {token}"] if token else [])


def in_github_actions(tmp_path):
    summary = tmp_path / "step_summary.md"
    summary.touch()
    return {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}, summary


def test_a_hostile_submission_s_share_of_every_report_is_bounded_and_inert(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    hostile = reference_with(folder, "hostile", prepend=[HUGE_TYPE] + [RAISES] * FAILING_CELLS,
                             softmax=FORGED_HUGE_ERROR)
    shutil.copy(reference_with(tmp_path, "honest"), folder / "honest.ipynb")
    env, summary = in_github_actions(tmp_path)
    out = tmp_path / "reports"
    run = CliRunner().invoke(main, [
        "batch", str(folder), "--root", str(ROOT), "-a", "mlp", "-j", "1", "--json", str(out / "results.json"),
        "--junit", str(out / "junit.xml"), "--gradescope", str(out / "gradescope"), "--csv", str(out / "grades.csv"),
        "--classroom", str(out / "classroom"), "--feedback", str(out / "feedback")], env=env)
    assert run.exit_code == 0, (run.output[-3000:], run.exception)

    results = json.loads((out / "results.json").read_text())["submissions"]
    bad, good = sorted(results, key=lambda r: r["submission"] != str(hostile))
    assert good["score"] == 100 and bad["score"] == 95
    assert len(bad["cell_errors"]) == bounds.CELL_ERRORS
    assert bad["cell_errors_omitted"] == FAILING_CELLS - bounds.CELL_ERRORS
    for error in bad["cell_errors"]:
        assert len(error["type"]) <= bounds.NAME_CHARS and error["type"].endswith("more characters]")
        assert len(error["message"]) <= bounds.CELL_MESSAGE_CHARS
    softmax = {t["name"]: t for t in bad["tests"]}["test_softmax"]
    assert softmax["status"] == "error" and "PWNED-MESSAGE" in softmax["message"]
    assert len(softmax["message"]) <= bounds.MESSAGE_CHARS and softmax["message"].endswith("more characters]")
    assert "PWNED-OUTPUT" in bad["output"] and len(bad["output"]) <= bounds.OUTPUT_CHARS

    # One submission's share: its text is capped (see tests/test_bounds.py), so every report stays small.
    for report in out.rglob("*"):
        if report.is_file():
            text = report.read_text(encoding="utf-8")
            assert len(text) < 1_000_000, (report, len(text))
            assert not UNSAFE.search(text.replace("\n", "").replace("\t", "").replace("\r", "")), report
    assert "<script" not in summary.read_text() and "&lt;script&gt;" in summary.read_text()
    assert "<script" not in (out / "feedback" / "hostile" / "mlp.html").read_text()

    assert not UNSAFE.search(run.stdout.replace("\n", "")) and not UNSAFE.search(run.stderr.replace("\n", ""))
    assert "PWNED" in run.stdout, "the hostile text is shown, inside a fence"
    outside = fence_violations(run.stdout)
    assert outside and all(line.startswith("::error file=") for line in outside), outside
    assert fence_violations(run.stderr) == []


# A solution cell defining thousands of unfinished functions, with names of a hundred thousand characters.
MANY_UNFINISHED = "\n".join(f"def {'U' * 100_000}{i}():\n    raise NotImplementedError()\n" for i in range(5)) + \
    "\n".join(f"def unfinished_{i}():\n    raise NotImplementedError()\n" for i in range(5_000))


def test_grade_check_fences_and_bounds_everything_it_prints(tmp_path):
    """A student's self-check prints the table, the failing cells and the functions still to write."""
    notebook = stub_with(tmp_path, "mlp", prepend=[HUGE_TYPE, RAISES], replace={"collapse-linear": MANY_UNFINISHED})
    env, _ = in_github_actions(tmp_path)
    run = CliRunner().invoke(main, ["check", str(notebook), "--root", str(ROOT)], env=env)
    assert run.exit_code == 0, (run.output[-3000:], run.exception)
    assert "Not implemented yet" in run.stdout and "PWNED-TYPE" in run.stdout
    assert f"… and {5_005 + 17 - bounds.TODO_NAMES} more" in run.stdout   # the stub's 17 others, then these
    assert fence_violations(run.stdout) == []
    assert not UNSAFE.search(run.stdout.replace("\n", "")) and len(run.stdout) < 100_000


def test_an_error_naming_a_hostile_file_is_fenced_and_inert(tmp_path):
    """`grade run`'s error path prints the file name: it cannot issue a workflow command either."""
    nb = nbformat.read(ROOT / "reference" / "mlp" / "mlp.ipynb", as_version=4)
    nb.metadata.pop("autograder", None)
    notebook = tmp_path / "\x9b::add-mask::PWNED\u202e.ipynb"   # no assignment to infer from it
    nbformat.write(nb, notebook)
    env, _ = in_github_actions(tmp_path)
    run = CliRunner().invoke(main, ["run", str(notebook), "--root", str(ROOT)], env=env)
    assert run.exit_code == 2, (run.output[-3000:], run.exception)
    assert "PWNED" in run.stderr and fence_violations(run.stderr) == [] and run.stdout == ""
    assert not UNSAFE.search(run.stderr.replace("\n", ""))
