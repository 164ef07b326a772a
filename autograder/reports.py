"""Machine-readable reports, all written from the result model: JUnit XML, Gradescope, CSV, Markdown,
GitHub annotations, GitHub Classroom, and per-student feedback.

Every file is written atomically, so an interrupted run leaves the old report or the new one, never half.
Student-controlled text (paths, messages, printed output) is escaped for each format. Reports a student
can see (annotations, step summary, Classroom, feedback) name only tests with visibility "visible".
"""
from __future__ import annotations

import csv
import html
import io
import json
import math
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from autograder.results import STATUSES, SubmissionResult, TestResult, write_json_atomic, write_text_atomic

STEP_SUMMARY_LIMIT = 1024 * 1024          # bytes GitHub accepts in one step's summary
NBGRADER_STEPS = ("submitted", "autograded", "feedback")
VISIBILITIES = ("visible", "after_published")
_FAILING = ("failed", "error", "timed_out")        # what CI annotations report
_JUNIT_FAILURE = ("failed", "timed_out", "not_implemented")
_CLASSROOM_STATUS = {"passed": "pass", "failed": "fail", "not_implemented": "fail",
                     "error": "error", "timed_out": "error"}
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")   # inline syntax that could restyle student text
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ----------------------------------------------------------------------------------------- helpers

def points(value: float) -> str:
    """Points as people write them: 2 not 2.0, 0.3 not 0.30000000000000004."""
    return format(round(value, 6), ".15g")


def spelled(text: str) -> str:
    """Characters XML 1.0 forbids (terminal escapes, NUL, lone surrogates) spelled out as \\xNN.

    They break XML parsers and garble Markdown, HTML and CI logs; student output is full of them.
    """
    return _XML_FORBIDDEN.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                              else f"\\u{ord(m.group()):04x}", text)


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else ""


def _visible(result: SubmissionResult) -> list[TestResult]:
    return [t for t in result.tests if t.visibility == "visible"]


def _hidden(result: SubmissionResult) -> list[TestResult]:
    return [t for t in result.tests if t.visibility != "visible"]


def _cell_error_line(error: dict[str, str]) -> str:
    cell, kind = error.get("cell", "?"), error.get("type", "an error")
    return f"Cell {cell} raised {kind}: {_first_line(error.get('message', ''))}"


def _score_line(result: SubmissionResult) -> str:
    return f"Score: {points(result.score)}/{points(result.max_score)}"


def _hidden_line(result: SubmissionResult) -> str:
    hidden = _hidden(result)
    return f"hidden tests: {points(sum(t.score for t in hidden))}/{points(sum(t.max_score for t in hidden))} points"


def student_of(result: SubmissionResult) -> str:
    """The student a submission belongs to, read from the folder layouts graders use.

    nbgrader's `{submitted,autograded,feedback}/<student>/<assignment>/<any>.ipynb` -> the student folder;
    `<student>/<assignment>/<assignment>.ipynb` -> the grandparent; `<student>/<assignment>.ipynb` -> the
    parent; anything else (`<student>.ipynb`, also inside a per-assignment folder) -> the file stem.
    """
    path = PurePath(result.submission)
    folders = path.parent.parts
    if len(folders) >= 3 and folders[-3] in NBGRADER_STEPS:
        return folders[-2]
    if path.stem == result.assignment and folders and folders[-1] not in ("/", "."):
        if folders[-1] == result.assignment and len(folders) >= 2:
            return folders[-2]
        return folders[-1]
    return path.stem


# ------------------------------------------------------------------------------- reading JSON back

_TEST_SCHEMA: dict[str, type] = {"name": str, "score": float, "max_score": float, "status": str,
                                 "message": str, "visibility": str, "duration": float}
_RESULT_SCHEMA: dict[str, type] = {"assignment": str, "submission": str, "tests": list, "status": str,
                                   "error": str, "cell_errors": list, "output": str, "duration": float}
_DERIVED = ("score", "max_score")   # written by to_dict, recomputed from the tests


def _typed(value: Any, kind: type, where: str) -> Any:
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where}: expected a finite number, got {value!r:.80}")
        return float(value)
    if not isinstance(value, kind):
        raise ValueError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _fields(data: Any, schema: dict[str, type], required: tuple[str, ...], where: str,
            derived: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(schema) - set(derived))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(map(repr, missing))}")
    return {key: _typed(data[key], kind, f"{where}.{key}") for key, kind in schema.items() if key in data}


def _one_of(value: str, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise ValueError(f"{where}: {value!r} is not one of {', '.join(allowed)}")


def _test_from_dict(data: Any, where: str) -> TestResult:
    test = TestResult(**_fields(data, _TEST_SCHEMA, ("name", "score", "max_score", "status"), where))
    _one_of(test.status, STATUSES, f"{where}.status")
    _one_of(test.visibility, VISIBILITIES, f"{where}.visibility")
    if not 0 <= test.score <= test.max_score:
        raise ValueError(f"{where}: score {test.score:g} is outside 0..max_score {test.max_score:g}")
    return test


def _cell_error(data: Any, where: str) -> dict[str, str]:
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"{where}: expected an object of strings")
    return data


def result_from_dict(data: Any) -> SubmissionResult:
    """The inverse of SubmissionResult.to_dict, for merging results written by separate runs (shards).

    Input is a file, so it is validated field by field; a ValueError names the offending field.
    """
    fields = _fields(data, _RESULT_SCHEMA, ("assignment", "submission", "tests"), "result", _DERIVED)
    fields["tests"] = [_test_from_dict(t, f"result.tests[{i}]") for i, t in enumerate(fields["tests"])]
    fields["cell_errors"] = [_cell_error(e, f"result.cell_errors[{i}]")
                             for i, e in enumerate(fields.get("cell_errors", []))]
    result = SubmissionResult(**fields)
    _one_of(result.status, ("graded", "unreadable"), "result.status")
    for key in _DERIVED:
        if key in data and not math.isclose(_typed(data[key], float, f"result.{key}"), getattr(result, key),
                                            abs_tol=1e-9):
            raise ValueError(f"result.{key}: {data[key]!r} does not match its tests ({getattr(result, key):g})")
    return result


def read_results(path: Path) -> list[SubmissionResult]:
    """Results from a JSON file `grade run --json` wrote: one result, or {"submissions": [...]}."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        items = data["submissions"] if isinstance(data, dict) and "submissions" in data else [data]
        if not isinstance(items, list):
            raise ValueError("'submissions' is not a list")
        return [result_from_dict(item) for item in items]
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


# -------------------------------------------------------------------------------------- JUnit XML

def _properties(parent: ET.Element, **values: str) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(props, "property", name=name, value=spelled(value))


def _testcase(suite: ET.Element, classname: str, test: TestResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=spelled(classname), name=spelled(test.name),
                         time=f"{test.duration:.3f}")
    _properties(case, score=points(test.score), max_score=points(test.max_score))
    if test.status == "passed":
        return
    tag = "failure" if test.status in _JUNIT_FAILURE else "error"
    outcome = ET.SubElement(case, tag, type=test.status,
                            message=spelled(_first_line(test.message) or test.status.replace("_", " ")))
    outcome.text = spelled(test.message)


def _counts(tests: list[TestResult]) -> dict[str, str]:
    return {"tests": str(len(tests)),
            "failures": str(sum(t.status in _JUNIT_FAILURE for t in tests)),
            "errors": str(sum(t.status == "error" for t in tests)),
            "skipped": "0"}


def _testsuite(parent: ET.Element, result: SubmissionResult) -> None:
    suite = ET.SubElement(parent, "testsuite", name=spelled(result.submission), **_counts(result.tests),
                          time=f"{result.duration:.3f}")
    student = student_of(result)
    _properties(suite, assignment=result.assignment, student=student, status=result.status,
                score=points(result.score), max_score=points(result.max_score))
    classname = f"{result.assignment}.{student.replace('.', '_')}"   # a dot would start a new package level
    for test in result.tests:
        _testcase(suite, classname, test)
    ET.SubElement(suite, "system-out").text = spelled(result.output)
    if result.error:
        ET.SubElement(suite, "system-err").text = spelled(result.error)


def junit_xml(results: list[SubmissionResult]) -> str:
    """JUnit XML as GitLab and Jenkins read it: one <testsuite> per submission.

    `not_implemented` is a <failure>, not <skipped>: it loses points, and CI must not show it as green.
    """
    tests = [t for r in results for t in r.tests]
    root = ET.Element("testsuites", name="autograder", **_counts(tests),
                      time=f"{sum(r.duration for r in results):.3f}")
    for result in results:
        _testsuite(root, result)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(results: list[SubmissionResult], path: Path) -> None:
    """Write junit_xml(results) atomically."""
    write_text_atomic(Path(path), junit_xml(results))


# ------------------------------------------------------------------------------------- Gradescope

def _summary_text(result: SubmissionResult) -> str:
    if result.status == "unreadable":
        return (f"This notebook could not be graded: {result.error}\n"
                "Every test scores 0. Fix the notebook and submit it again.")
    passed = sum(t.status == "passed" for t in result.tests)
    headline = (f"{result.assignment}: {points(result.score)}/{points(result.max_score)} points, "
                f"{passed} of {len(result.tests)} tests passed.")
    return "\n".join([headline, *(_cell_error_line(e) for e in result.cell_errors)])


def gradescope_result(result: SubmissionResult) -> dict[str, Any]:
    """Gradescope's results.json. Built from plain fields only, so it exists even for unreadable notebooks."""
    return {
        "score": result.score,
        "execution_time": round(result.duration, 3),
        "output": _summary_text(result),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{"score": t.score, "max_score": t.max_score,
                   "status": "passed" if t.status == "passed" else "failed",
                   "name": t.name, "number": str(i), "output": t.message, "tags": [],
                   "visibility": t.visibility}
                  for i, t in enumerate(result.tests, start=1)],
    }


def write_gradescope(result: SubmissionResult, path: Path) -> None:
    """Write gradescope_result(result) atomically (Gradescope reads /autograder/results/results.json)."""
    write_json_atomic(Path(path), gradescope_result(result))


# -------------------------------------------------------------------------------------------- CSV

def _csv_text(value: str) -> str:
    """Student-chosen names cannot become spreadsheet formulas (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def gradebook_csv(results: list[SubmissionResult]) -> str:
    """One row per submission, one column per test (union of names, first-seen order) with points earned."""
    names = list(dict.fromkeys(t.name for r in results for t in r.tests))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["assignment", "submission", "student", "score", "max_score", "status", *names])
    for result in results:
        earned = {t.name: points(t.score) for t in result.tests}
        writer.writerow([_csv_text(result.assignment), _csv_text(result.submission), _csv_text(student_of(result)),
                         points(result.score), points(result.max_score), result.status,
                         *(earned.get(name, "") for name in names)])
    return out.getvalue()


def write_csv(results: list[SubmissionResult], path: Path) -> None:
    """Write gradebook_csv(results) atomically."""
    write_text_atomic(Path(path), gradebook_csv(results))


# --------------------------------------------------------------------------- Markdown and GitHub

def _html(text: str) -> str:
    return html.escape(spelled(text))


def _md(text: str) -> str:
    """Inline Markdown that renders as the literal text: no formatting, HTML, table breaks or new lines."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(spelled(text).splitlines()))


def _failures_block(result: SubmissionResult) -> str:
    if result.status == "unreadable":
        summary, items = "cannot be graded", [f"- {_md(_first_line(result.error))}\n"]
    else:
        failed = [t for t in _visible(result) if t.status != "passed"]
        summary = f"{len(failed)} visible test(s) not passed"
        items = [f"- **{_md(t.name)}** ({t.status.replace('_', ' ')}): {_md(_first_line(t.message))}\n"
                 for t in failed]
    if not items:
        return ""
    summary = _html(f"{result.submission}: {summary}")
    return f"<details><summary>{summary}</summary>\n\n{''.join(items)}\n</details>\n\n"


def _fit(parts: list[str], limit: int, note: str) -> str:
    """Whole parts only, so a cut never leaves a table row or a <details> block open."""
    text = "".join(parts)
    if len(text.encode("utf-8")) <= limit:
        return text
    budget, used, kept = limit - len(note.encode("utf-8")), 0, []
    for part in parts:
        used += len(part.encode("utf-8"))
        if used > budget:
            break
        kept.append(part)
    return "".join(kept) + note if budget >= 0 else ""


def markdown_summary(results: list[SubmissionResult], limit: int = STEP_SUMMARY_LIMIT) -> str:
    """A Markdown summary for CI pages, at most `limit` bytes (GitHub rejects step summaries over 1 MiB)."""
    rows = [f"| {_md(r.submission)} | {_md(r.assignment)} | {points(r.score)}/{points(r.max_score)} | {r.status} |\n"
            for r in results]
    parts = ["## Grading results\n\n", "| submission | assignment | score | status |\n|---|---|---:|---|\n",
             *rows, "\n", *(_failures_block(r) for r in results)]
    note = "\n> **Summary cut** to fit GitHub's 1 MiB limit; the JSON, CSV or JUnit report has every result.\n"
    return _fit(parts, limit, note)


def append_step_summary(results: list[SubmissionResult]) -> None:
    """Append the summary to $GITHUB_STEP_SUMMARY when running in GitHub Actions; otherwise do nothing.

    The file belongs to the runner and other commands may append to it in the same step, so it is not
    replaced: the text is appended in one write, capped so the whole file stays within GitHub's limit.
    """
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    path = Path(target)
    used = path.stat().st_size if path.exists() else 0
    text = markdown_summary(results, limit=max(STEP_SUMMARY_LIMIT - used, 0))
    with open(path, "ab") as f:
        f.write(text.encode("utf-8", errors="replace"))


def _command_data(text: str) -> str:
    return spelled(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _command_property(text: str) -> str:
    return _command_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(file: str, title: str, message: str) -> str:
    return f"::error file={_command_property(file)},title={_command_property(title)}::{_command_data(message)}"


def github_annotations(results: list[SubmissionResult]) -> list[str]:
    """GitHub workflow `::error` commands, one per visible failed, errored or timed-out test.

    Hidden tests are left out (students can read the workflow log); an unreadable notebook gets one
    annotation with the reason instead of one per test.
    """
    lines = []
    for result in results:
        if result.status == "unreadable":
            lines.append(_annotation(result.submission, "cannot be graded", result.error))
            continue
        lines += [_annotation(result.submission, t.name, t.message or t.status.replace("_", " "))
                  for t in _visible(result) if t.status in _FAILING]
    return lines


# ------------------------------------------------------------------------------- GitHub Classroom

def _classroom_test(name: str, status: str, score: float, max_score: float, message: str,
                    duration: float) -> dict[str, Any]:
    return {"name": name, "status": status, "score": score, "max_score": max_score, "message": message,
            "test_code": "", "filename": "", "line_no": 0, "duration": round(duration * 1000)}


def _classroom_tests(result: SubmissionResult, prefix: str) -> list[dict[str, Any]]:
    tests = [_classroom_test(prefix + t.name, _CLASSROOM_STATUS[t.status], t.score, t.max_score, t.message,
                             t.duration) for t in _visible(result)]
    hidden = _hidden(result)
    if hidden:
        tests.append(_classroom_test(
            prefix + "hidden tests", "pass" if all(t.status == "passed" for t in hidden) else "fail",
            sum(t.score for t in hidden), sum(t.max_score for t in hidden), _hidden_line(result),
            sum(t.duration for t in hidden)))
    return tests


def classroom_result(results: list[SubmissionResult]) -> dict[str, Any]:
    """The result a GitHub Classroom runner reports (autograding-grading-reporter sums the tests' scores).

    Students read it in the workflow log, so hidden tests appear as one "hidden tests" entry.
    Test names are prefixed with the submission when there are several.
    """
    many = len(results) > 1
    tests = [t for r in results for t in _classroom_tests(r, f"{r.submission}: " if many else "")]
    if any(r.status == "unreadable" for r in results):
        status = "error"
    elif any(t.status != "passed" for r in results for t in r.tests):
        status = "fail"
    else:
        status = "pass"
    return {"version": 1, "status": status, "max_score": sum(r.max_score for r in results), "tests": tests}


def write_classroom(results: list[SubmissionResult], path: Path) -> None:
    """Write classroom_result(results) atomically."""
    write_json_atomic(Path(path), classroom_result(results))


# ----------------------------------------------------------------------------- student feedback

def _fence(text: str) -> str:
    """A fenced block that the text cannot close early: the fence is longer than any backtick run in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{spelled(text)}\n{fence}\n"


def feedback_markdown(result: SubmissionResult) -> str:
    """Feedback for one student: visible tests by name; hidden ones only as a points total."""
    lines = [f"# Feedback: {_md(result.assignment)}\n", f"**{_score_line(result)}**\n"]
    if result.status == "unreadable":
        lines.append(f"Your notebook could not be graded, so every test scores 0: {_md(result.error)}\n")
    lines += [f"- {_md(_cell_error_line(e))}\n" for e in result.cell_errors]
    visible = _visible(result)
    if visible:
        lines.append("| test | points | result |\n|---|---:|---|\n" + "".join(
            f"| {_md(t.name)} | {points(t.score)}/{points(t.max_score)} | {t.status.replace('_', ' ')} |\n"
            for t in visible))
    if _hidden(result):
        lines.append(_hidden_line(result) + "\n")
    if result.status == "graded":
        lines += [f"## {_md(t.name)}: {t.status.replace('_', ' ')}\n\n{_fence(t.message)}"
                  for t in visible if t.status != "passed" and t.message]
    return "\n".join(lines)


def _html_test_row(test: TestResult) -> str:
    return (f"<tr><td>{_html(test.name)}</td><td>{points(test.score)}/{points(test.max_score)}</td>"
            f"<td>{_html(test.status.replace('_', ' '))}</td>"
            f"<td><pre>{_html(test.message)}</pre></td></tr>")


def feedback_html(result: SubmissionResult) -> str:
    """feedback_markdown as a standalone HTML page; every student-controlled string is escaped."""
    title = _html(f"Feedback: {result.assignment}")
    body = [f"<h1>{title}</h1>", f"<p><strong>{_score_line(result)}</strong></p>"]
    if result.status == "unreadable":
        body.append(f"<p>Your notebook could not be graded, so every test scores 0: {_html(result.error)}</p>")
    if result.cell_errors:
        body.append("<ul>" + "".join(f"<li>{_html(_cell_error_line(e))}</li>" for e in result.cell_errors) + "</ul>")
    visible = _visible(result)
    if visible:
        body.append("<table><tr><th>test</th><th>points</th><th>result</th><th>feedback</th></tr>"
                    + "".join(_html_test_row(t) for t in visible) + "</table>")
    if _hidden(result):
        body.append(f"<p>{_hidden_line(result)}</p>")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title + "</title></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


# ------------------------------------------------------------------------------- every report at once

@dataclass(frozen=True)
class ReportPaths:
    """Where each report goes; None leaves it out."""

    json: Path | None = None
    junit: Path | None = None
    gradescope: Path | None = None    # a folder: one results.json-style file per submission
    csv: Path | None = None
    classroom: Path | None = None
    feedback: Path | None = None      # a folder: <student>/<assignment>.md and .html


def gradescope_name(result: SubmissionResult) -> str:
    return f"{student_of(result)}-{result.assignment or 'unknown'}.json"


def write_reports(results: list[SubmissionResult], paths: ReportPaths) -> None:
    """Write every report asked for, each atomically, plus GitHub's step summary when running there."""
    if paths.json:
        write_json_atomic(paths.json, {"submissions": [r.to_dict() for r in results]})
    if paths.junit:
        write_junit(results, paths.junit)
    if paths.gradescope:
        for result in results:
            write_gradescope(result, paths.gradescope / gradescope_name(result))
    if paths.csv:
        write_csv(results, paths.csv)
    if paths.classroom:
        write_classroom(results, paths.classroom)
    if paths.feedback:
        for result in results:
            folder = paths.feedback / student_of(result)
            write_text_atomic(folder / f"{result.assignment or 'unknown'}.md", feedback_markdown(result))
            write_text_atomic(folder / f"{result.assignment or 'unknown'}.html", feedback_html(result))
    append_step_summary(results)
