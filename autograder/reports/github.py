"""GitHub Actions: the Markdown step summary and `::error` annotations. Students can read both."""
from __future__ import annotations

import os
from pathlib import Path

from autograder.reports.text import (
    first_line, html_text, incomplete_line, markdown_text, note, points, spelled, student_of, visible_tests,
)
from autograder.grading.results import SubmissionResult

STEP_SUMMARY_LIMIT = 1024 * 1024          # bytes GitHub accepts in one step's summary
_FAILING = ("failed", "error", "timed_out")        # what CI annotations report
_NOT_GRADED = {"unreadable": "cannot be graded", "missing": "no submission"}   # a row's one annotation


def _failures_block(result: SubmissionResult) -> str:
    if result.status in _NOT_GRADED:
        summary, items = _NOT_GRADED[result.status], [f"- {markdown_text(first_line(result.error))}\n"]
    else:
        failed = [t for t in visible_tests(result) if t.status != "passed"]
        summary = f"{len(failed)} visible test(s) not passed"
        items = [f"- **{markdown_text(t.name)}** ({t.status.replace('_', ' ')}): "
                 f"{markdown_text(first_line(t.message))}\n" for t in failed]
    if not items:
        return ""
    summary = html_text(f"{result.submission or student_of(result)}: {summary}")
    return f"<details><summary>{summary}</summary>\n\n{''.join(items)}\n</details>\n\n"


def _fit(parts: list[str], limit: int, cut_note: str) -> str:
    """Whole parts only, so a cut never leaves a table row or a <details> block open."""
    text = "".join(parts)
    if len(text.encode("utf-8")) <= limit:
        return text
    budget, used, kept = limit - len(cut_note.encode("utf-8")), 0, []
    for part in parts:
        used += len(part.encode("utf-8"))
        if used > budget:
            break
        kept.append(part)
    return "".join(kept) + cut_note if budget >= 0 else ""


def _row(result: SubmissionResult) -> str:
    cells = [markdown_text(student_of(result)), markdown_text(result.submission), markdown_text(result.assignment),
             f"{points(result.score)}/{points(result.max_score)}", result.status, markdown_text(note(result))]
    return f"| {' | '.join(cells)} |\n"


def markdown_summary(results: list[SubmissionResult], limit: int = STEP_SUMMARY_LIMIT,
                     incomplete: bool = False) -> str:
    """A Markdown summary for CI pages, at most `limit` bytes (GitHub rejects step summaries over 1 MiB);
    `incomplete` (Ctrl-C stopped the run) is said before the table."""
    warning = [f"> **{incomplete_line(results)}**\n\n"] if incomplete else []
    parts = ["## Grading results\n\n", *warning,
             "| student | submission | assignment | score | status | note |\n|---|---|---|---:|---|---|\n",
             *map(_row, results), "\n", *(_failures_block(r) for r in results)]
    cut_note = "\n> **Summary cut** to fit GitHub's 1 MiB limit; the JSON, CSV or JUnit report has every result.\n"
    return _fit(parts, limit, cut_note)


def append_step_summary(results: list[SubmissionResult], incomplete: bool = False) -> None:
    """Append the summary to $GITHUB_STEP_SUMMARY when running in GitHub Actions; otherwise do nothing.

    The file belongs to the runner and other commands may append to it in the same step, so it is not
    replaced: the text is appended in one write, capped so the whole file stays within GitHub's limit.
    """
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    path = Path(target)
    used = path.stat().st_size if path.exists() else 0
    text = markdown_summary(results, limit=max(STEP_SUMMARY_LIMIT - used, 0), incomplete=incomplete)
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

    Hidden tests are left out (students can read the workflow log); an unreadable notebook or a missing
    submission gets one annotation with the reason instead of one per test.
    """
    lines = []
    for result in results:
        if result.status in _NOT_GRADED:
            lines.append(_annotation(result.submission or student_of(result), _NOT_GRADED[result.status],
                                     result.error))
            continue
        lines += [_annotation(result.submission, t.name, t.message or t.status.replace("_", " "))
                  for t in visible_tests(result) if t.status in _FAILING]
    return lines
