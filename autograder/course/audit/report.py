"""What an audit shows: the terminal tables, the JSON of every mutant, and a Markdown report.

Survivors come first (each is a mistake no test sees), then the mutants that were killed without the
feedback naming the mistake. Every string is escaped for its format: test messages, reasons and code are
text like any other.
"""
from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table

from autograder.course.audit.mutants import Mutant
from autograder.reports.terminal import terminal_text
from autograder.reports.text import first_line, markdown_text, points, spelled

if TYPE_CHECKING:  # grading imports torch: `grade audit --list` needs none of it
    from autograder.course.audit.run import Audit, MutantResult

_OUTCOME_STYLE = {"survived": "red", "killed": "yellow", "timed_out": "yellow", "crashed": "yellow"}


def _counts(audit: Audit) -> dict[str, Any]:
    counted = audit.counted
    return {"mutants": len(audit.results), "killed": len(audit.killed),
            "named": sum(r.named for r in audit.killed), "survived": len(audit.survivors),
            "equivalent": len(audit.equivalents),
            "timed_out": sum(r.outcome == "timed_out" for r in counted),
            "crashed": sum(r.outcome == "crashed" for r in counted),
            "stale": len(audit.stale), "score": round(audit.score, 1), "duration": audit.duration}


def summary_line(audit: Audit) -> str:
    c = _counts(audit)
    stale = f", {c['stale']} stale declaration(s)" if c["stale"] else ""
    return (f"{audit.assignment}: {c['mutants']} mutants, {c['killed']} killed ({c['named']} with the mistake "
            f"named), {c['survived']} survived, {c['equivalent']} declared equivalent{stale}; "
            f"{c['timed_out']} timed out, {c['crashed']} crashed; mutation score {c['score']:.1f}% "
            f"in {audit.duration:.0f} s")


def _code(text: str) -> str:
    return " ".join(text.split())


def _verdict(result: MutantResult) -> str:
    if result.outcome == "survived":
        return "survived"
    return f"{result.outcome.replace('_', ' ')} by {', '.join(result.killed_by)}"


def listing(mutants: list[Mutant], declared: dict[str, str]) -> list[str]:
    """`--list`: one line per mutant, its id first."""
    return [f"{m.id}  {m.description}{'  (declared equivalent)' if m.id in declared else ''}" for m in mutants]


def audit_view(audit: Audit) -> RenderableType:
    """Survivors, then the killed mutants whose feedback names nothing, declared equivalents, stale
    declarations, and the summary line."""
    parts: list[RenderableType] = []
    if audit.survivors or audit.unnamed:
        table = Table(title=terminal_text(f"{audit.assignment}: survivors, then killed without the mistake named"),
                      title_justify="left")
        for column in ("mutant", "change", "mutated line", "outcome"):
            table.add_column(column, overflow="fold")
        for result in audit.survivors + audit.unnamed:
            style = _OUTCOME_STYLE[result.outcome]
            table.add_row(terminal_text(result.mutant.id), terminal_text(result.mutant.description),
                          terminal_text(_code(result.mutant.mutated)), f"[{style}]{terminal_text(_verdict(result))}[/]")
        parts.append(table)
    if audit.equivalents:
        table = Table(title="declared equivalent", title_justify="left")
        for column in ("mutant", "reason", "outcome"):
            table.add_column(column, overflow="fold")
        for result in audit.equivalents:
            outcome = "survived" if result.outcome == "survived" else f"{_verdict(result)}: the declaration can go"
            table.add_row(terminal_text(result.mutant.id), terminal_text(result.equivalent), terminal_text(outcome))
        parts.append(table)
    if audit.stale:
        table = Table(title="stale declarations: no mutant has these ids", title_justify="left")
        for column in ("id", "reason"):
            table.add_column(column, overflow="fold")
        for mutant_id, reason in audit.stale.items():
            table.add_row(terminal_text(mutant_id), terminal_text(reason))
        parts.append(table)
    parts.append(f"[bold]{terminal_text(summary_line(audit))}[/]")
    return Group(*parts)


def audit_dict(audit: Audit) -> dict[str, Any]:
    """Every mutant with its outcome, for `--json`."""
    return {
        "assignment": audit.assignment, "summary": _counts(audit),
        "mutants": [{"id": r.mutant.id, "cell": r.mutant.cell, "line": r.mutant.line, "operator": r.mutant.operator,
                     "description": r.mutant.description, "original": r.mutant.original,
                     "mutated": r.mutant.mutated, "outcome": r.outcome, "score": r.score, "max_score": r.max_score,
                     "killed_by": list(r.killed_by), "named": r.named, "feedback": r.feedback,
                     "equivalent": r.equivalent, "duration": r.duration} for r in audit.results],
        "stale": [{"id": mutant_id, "reason": reason} for mutant_id, reason in audit.stale.items()],
    }


def _diff(mutant: Mutant) -> str:
    """The change as a fenced diff the code cannot close early (the fence outruns any backtick run)."""
    lines = [f"- {line}" for line in textwrap.dedent(mutant.original).split("\n")]
    lines += [f"+ {line}" for line in textwrap.dedent(mutant.mutated).split("\n")]
    body = spelled("\n".join(lines))
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", body)), default=0))
    return f"{fence}diff\n{body}\n{fence}\n"


def _told(feedback: str, limit: int = 160) -> str:
    """The first line of what a mutant's student is told, cut to `limit` characters."""
    line = first_line(feedback)
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _row(*cells: str) -> str:
    return "| " + " | ".join(markdown_text(cell) for cell in cells) + " |\n"


def audit_markdown(audit: Audit) -> str:
    """A readable report: the summary, each survivor with its diff, then the killed mutants whose feedback
    names nothing, the declared equivalents and the stale declarations."""
    c = _counts(audit)
    stale = f", {c['stale']} stale declaration(s)" if c["stale"] else ""
    parts = [f"# Mutation audit: {markdown_text(audit.assignment)}\n",
             f"**{c['mutants']} mutants, mutation score {c['score']:.1f}%**: {c['killed']} killed "
             f"({c['named']} with the mistake named), {c['survived']} survived, {c['equivalent']} declared "
             f"equivalent{stale}; {c['timed_out']} timed out, {c['crashed']} crashed. "
             f"Graded in {audit.duration:.0f} s.\n"]
    parts.append(f"## Survivors ({len(audit.survivors)})\n\nEach scores full marks: no test sees the mistake.\n")
    for result in audit.survivors:
        mutant = result.mutant
        parts.append(f"### {markdown_text(mutant.id)} — {markdown_text(mutant.description)}\n\n"
                     f"cell {markdown_text(mutant.cell)}, line {mutant.line}\n\n{_diff(mutant)}")
    parts.append(f"## Killed, but no message names the mistake ({len(audit.unnamed)})\n")
    if audit.unnamed:
        parts.append("| mutant | change | mutated line | outcome | points | the student is told |\n"
                     "|---|---|---|---|---:|---|\n" + "".join(
                         _row(r.mutant.id, r.mutant.description, _code(r.mutant.mutated), _verdict(r),
                              f"{points(r.score)}/{points(r.max_score)}", _told(r.feedback))
                         for r in audit.unnamed))
    if audit.equivalents:
        parts.append(f"## Declared equivalent ({len(audit.equivalents)})\n\n| mutant | reason | outcome |\n"
                     "|---|---|---|\n" + "".join(_row(r.mutant.id, r.equivalent, _verdict(r))
                                                 for r in audit.equivalents))
    if audit.stale:
        parts.append(f"## Stale declarations ({len(audit.stale)})\n\nNo mutant has these ids any more.\n\n"
                     "| id | reason |\n|---|---|\n" + "".join(_row(i, reason) for i, reason in audit.stale.items()))
    return "\n".join(parts)
