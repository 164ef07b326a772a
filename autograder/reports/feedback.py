"""Per-student feedback, Markdown and HTML: visible tests by name, hidden ones only as a total."""
from __future__ import annotations

import re

from autograder.reports.text import (
    cell_error_lines, hidden_line, hidden_tests, html_text, markdown_text, points, score_line, spelled, visible_tests,
)
from autograder.grading.results import SubmissionResult, TestResult


def _fence(text: str) -> str:
    """A fenced block that the text cannot close early: the fence is longer than any backtick run in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{spelled(text)}\n{fence}\n"


def feedback_markdown(result: SubmissionResult) -> str:
    """Feedback for one student: visible tests by name; hidden ones only as a points total."""
    lines = [f"# Feedback: {markdown_text(result.assignment)}\n", f"**{score_line(result)}**\n"]
    if result.status == "unreadable":
        lines.append(f"Your notebook could not be graded, so every test scores 0: {markdown_text(result.error)}\n")
    elif result.status == "missing":
        lines.append(f"Nothing was graded, so the score is 0: {markdown_text(result.error)}\n")
    lines += [f"- {markdown_text(line)}\n" for line in cell_error_lines(result)]
    visible = visible_tests(result)
    if visible:
        lines.append("| test | points | result |\n|---|---:|---|\n" + "".join(
            f"| {markdown_text(t.name)} | {points(t.score)}/{points(t.max_score)} | {t.status.replace('_', ' ')} |\n"
            for t in visible))
    if hidden_tests(result):
        lines.append(hidden_line(result) + "\n")
    if result.status == "graded":
        lines += [f"## {markdown_text(t.name)}: {t.status.replace('_', ' ')}\n\n{_fence(t.message)}"
                  for t in visible if t.status != "passed" and t.message]
    return "\n".join(lines)


def _html_test_row(test: TestResult) -> str:
    return (f"<tr><td>{html_text(test.name)}</td><td>{points(test.score)}/{points(test.max_score)}</td>"
            f"<td>{html_text(test.status.replace('_', ' '))}</td>"
            f"<td><pre>{html_text(test.message)}</pre></td></tr>")


def feedback_html(result: SubmissionResult) -> str:
    """feedback_markdown as a standalone HTML page; every student-controlled string is escaped."""
    title = html_text(f"Feedback: {result.assignment}")
    body = [f"<h1>{title}</h1>", f"<p><strong>{score_line(result)}</strong></p>"]
    if result.status == "unreadable":
        body.append(f"<p>Your notebook could not be graded, so every test scores 0: {html_text(result.error)}</p>")
    elif result.status == "missing":
        body.append(f"<p>Nothing was graded, so the score is 0: {html_text(result.error)}</p>")
    errors = cell_error_lines(result)
    if errors:
        body.append("<ul>" + "".join(f"<li>{html_text(line)}</li>" for line in errors) + "</ul>")
    visible = visible_tests(result)
    if visible:
        body.append("<table><tr><th>test</th><th>points</th><th>result</th><th>feedback</th></tr>"
                    + "".join(_html_test_row(t) for t in visible) + "</table>")
    if hidden_tests(result):
        body.append(f"<p>{hidden_line(result)}</p>")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title + "</title></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
