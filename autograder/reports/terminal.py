"""The terminal view of results (rich). Machine-readable reports are written from the same model."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autograder.reports.text import spelled
from autograder.results import SubmissionResult

_STYLE = {"passed": "green", "failed": "red", "error": "red", "timed_out": "yellow", "not_implemented": "yellow"}


def _text(text: str) -> str:
    """Student-controlled text made safe for a terminal: no markup, no control characters."""
    return escape(spelled(text))


def _first_line(text: str, width: int = 400) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return _text(line if len(line) <= width else line[: width - 1] + "…")


def print_submission(console: Console, result: SubmissionResult) -> None:
    title = _text(f"{result.submission}  ({result.assignment})")
    if result.status == "unreadable":
        console.print(f"[bold red]{title}: cannot be graded[/] — {_text(result.error)}")
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("test")
    table.add_column("points", justify="right")
    table.add_column("status")
    table.add_column("feedback", overflow="fold")
    for test in result.tests:
        style = _STYLE.get(test.status, "")
        table.add_row(_text(test.name), f"{test.score:g}/{test.max_score:g}",
                      f"[{style}]{test.status.replace('_', ' ')}[/]", _first_line(test.message))
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{result.score:g}/{result.max_score:g}[/]", "", "")
    console.print(table)
    for error in result.cell_errors:
        console.print(f"[yellow]{_text(error['cell'])} raised {_text(error['type'])}:[/] "
                      f"{_first_line(error['message'])}")


def print_summary(console: Console, results: list[SubmissionResult]) -> None:
    table = Table(title="summary", title_justify="left")
    table.add_column("submission")
    table.add_column("assignment")
    table.add_column("score", justify="right")
    table.add_column("status")
    for result in results:
        table.add_row(_text(result.submission), _text(result.assignment), f"{result.score:g}/{result.max_score:g}",
                      result.status)
    console.print(table)
