"""GitHub Actions: the Markdown step summary and `::error` annotations. Students can read both."""
from __future__ import annotations

import os
from pathlib import Path

from autograder.reports.text import first_line, html_text, markdown_text, points, spelled, visible_tests
from autograder.results import SubmissionResult

STEP_SUMMARY_LIMIT = 1024 * 1024          # bytes GitHub accepts in one step's summary
_FAILING = ("failed", "error", "timed_out")        # what CI annotations report


def _failures_block(result: SubmissionResult) -> str:
    if result.status == "unreadable":
        summary, items = "cannot be graded", [f"- {markdown_text(first_line(result.error))}\n"]
    else:
        failed = [t for t in visible_tests(result) if t.status != "passed"]
        summary = f"{len(failed)} visible test(s) not passed"
        items = [f"- **{markdown_text(t.name)}** ({t.status.replace('_', ' ')}): {markdown_text(first_line(t.message))}\n"
                 for t in failed]
    if not items:
        return ""
    summary = html_text(f"{result.submission}: {summary}")
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
    rows = [f"| {markdown_text(r.submission)} | {markdown_text(r.assignment)} | {points(r.score)}/{points(r.max_score)} | {r.status} |\n"
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
                  for t in visible_tests(result) if t.status in _FAILING]
    return lines
