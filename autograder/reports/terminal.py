"""What `grade` prints: the result tables (rich), and `Terminal`, the one way anything reaches the screen.

Submission text is made inert by `terminal_text` (no markup, no control or bidirectional characters)
and arrives bounded by the result model. Rich's highlighter is off: its regular expressions take
quadratic time on a long unbroken word. In GitHub Actions every print is fenced with
`::stop-commands::`, so nothing a submission wrote (messages, file names) can act as a workflow command;
only the grader's own annotations are printed outside a fence. Where the output is not a terminal
(a CI log, a file), nothing is cut to fit 80 columns and progress is a line per finished submission.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from autograder.reports.text import first_line, note, omitted_line, points, spelled, student_of
from autograder.grading.results import SubmissionResult

FIRST_LINE_CHARS = 400   # of a message, in a table cell
LOG_WIDTH = 10_000       # columns when the output is not a terminal and COLUMNS does not say: no table is cut
_STYLE = {"passed": "green", "failed": "red", "error": "red", "timed_out": "yellow", "not_implemented": "yellow"}


def terminal_text(text: str) -> str:
    """Student-controlled text made safe for rich markup and a terminal: every view uses it."""
    return escape(spelled(text))


def _first_line(text: str, width: int = FIRST_LINE_CHARS) -> str:
    line = first_line(text)
    return terminal_text(line if len(line) <= width else line[: width - 1] + "…")


def submission_view(result: SubmissionResult) -> RenderableType:
    """One submission: why it could not be graded, its tests, and the cells that raised."""
    title = terminal_text(f"{result.submission}  ({result.assignment})")
    parts: list[RenderableType] = []
    if result.status == "unreadable":
        parts.append(f"[bold red]{title}: cannot be graded[/] — {terminal_text(result.error)}")
    elif result.status == "missing":
        parts.append(f"[bold yellow]{title}: nothing to grade[/] — {terminal_text(result.error)}")
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("test")
    table.add_column("points", justify="right")
    table.add_column("status")
    table.add_column("feedback", overflow="fold")
    for test in result.tests:
        style = _STYLE.get(test.status, "")
        table.add_row(terminal_text(test.name), f"{test.score:g}/{test.max_score:g}",
                      f"[{style}]{test.status.replace('_', ' ')}[/]", _first_line(test.message))
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{result.score:g}/{result.max_score:g}[/]", "", "")
    parts.append(table)
    parts += [f"[yellow]{terminal_text(e.get('cell', '?'))} raised {terminal_text(e.get('type', 'an error'))}:[/] "
              f"{_first_line(e.get('message', ''))}" for e in result.cell_errors]
    if result.cell_errors_omitted:
        parts.append(f"[yellow]{terminal_text(omitted_line(result))}[/]")
    return Group(*parts)


def summary_view(results: list[SubmissionResult]) -> RenderableType:
    """One row per result: whose, which notebook, the score, and what is wrong with it (text.note)."""
    table = Table(title="summary", title_justify="left")
    table.add_column("student")
    table.add_column("submission", overflow="fold")   # a path cut short would name another file
    table.add_column("assignment")
    table.add_column("score", justify="right")
    table.add_column("status")
    table.add_column("note", overflow="fold")
    for result in results:
        table.add_row(terminal_text(student_of(result)), terminal_text(result.submission),
                      terminal_text(result.assignment), f"{result.score:g}/{result.max_score:g}", result.status,
                      _first_line(note(result)))
    return table


def progress_line(done: int, total: int, name: str, result: SubmissionResult) -> str:
    """`[3/40] alice/mlp.ipynb mlp 85/100`, and the status unless graded: a CI log's progress."""
    status = "" if result.status == "graded" else f" {result.status}"
    return (f"[{done}/{total}] {name} {result.assignment or '-'} "
            f"{points(result.score)}/{points(result.max_score)}{status}")


class Terminal:
    """Standard output (or error) for every command."""

    def __init__(self, stderr: bool = False) -> None:
        self.console = Console(stderr=stderr, highlight=False)
        if not self.console.is_terminal and "COLUMNS" not in os.environ:
            self.console.width = LOG_WIDTH
        self.github = os.environ.get("GITHUB_ACTIONS") == "true"

    @contextlib.contextmanager
    def progress(self, description: str, total: int,
                 name: Callable[[SubmissionResult], str]) -> Iterator[Callable[[SubmissionResult], None]]:
        """A callback for each finished submission: on a terminal it moves a live bar, gone when the work
        is done; elsewhere it prints a progress_line (with `name` of the submission), which a CI log keeps."""
        if not self.console.is_terminal:
            done = 0

            def log(result: SubmissionResult) -> None:
                nonlocal done
                done += 1
                self.line(progress_line(done, total, name(result), result))

            yield log
            return
        with self._fence(), Progress(console=self.console, transient=True) as bar:
            task = bar.add_task(terminal_text(description), total=total)
            yield lambda result: bar.advance(task)

    def print(self, view: RenderableType) -> None:
        """A view built with terminal_text around every piece of submission text."""
        with self._fence():
            self.console.print(view)

    def line(self, text: str) -> None:
        """Plain text, which may hold submission text: it is made inert here, and not wrapped."""
        with self._fence():
            self.console.print(Text(spelled(text)), soft_wrap=True)

    def command(self, line: str) -> None:
        """One of the grader's own workflow commands (an annotation), printed where GitHub acts on it."""
        self.console.print(Text(line), soft_wrap=True)

    @contextlib.contextmanager
    def _fence(self) -> Iterator[None]:
        if not self.github:
            yield
            return
        token = secrets.token_hex(16)   # fresh each time: nothing printed before can close this fence
        self.command(f"::stop-commands::{token}")
        try:
            yield
        finally:
            self.command(f"::{token}::")
