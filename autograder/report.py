"""The terminal view of results (rich). Machine-readable reports are written from the same model."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autograder.results import SubmissionResult

_STYLE = {"passed": "green", "failed": "red", "error": "red", "timed_out": "yellow", "not_implemented": "yellow"}


def _first_line(text: str, width: int = 400) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def print_submission(console: Console, result: SubmissionResult) -> None:
    title = f"{result.submission}  ({result.assignment})"
    if result.status == "unreadable":
        console.print(f"[bold red]{escape(title)}: cannot be graded[/] — {escape(result.error)}")
    table = Table(title=escape(title), title_justify="left", show_lines=False)
    table.add_column("test")
    table.add_column("points", justify="right")
    table.add_column("status")
    table.add_column("feedback", overflow="fold")
    for test in result.tests:
        style = _STYLE.get(test.status, "")
        table.add_row(escape(test.name), f"{test.score:g}/{test.max_score:g}",
                      f"[{style}]{test.status.replace('_', ' ')}[/]", escape(_first_line(test.message)))
    table.add_section()
    table.add_row("[bold]total[/]", f"[bold]{result.score:g}/{result.max_score:g}[/]", "", "")
    console.print(table)
    for error in result.cell_errors:
        console.print(f"[yellow]{escape(error['cell'])} raised {escape(error['type'])}:[/] "
                      f"{escape(_first_line(error['message']))}")


def print_summary(console: Console, results: list[SubmissionResult]) -> None:
    table = Table(title="summary", title_justify="left")
    table.add_column("submission")
    table.add_column("assignment")
    table.add_column("score", justify="right")
    table.add_column("status")
    for result in results:
        table.add_row(escape(result.submission), result.assignment, f"{result.score:g}/{result.max_score:g}",
                      result.status)
    console.print(table)
