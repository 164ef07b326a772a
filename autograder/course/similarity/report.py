"""What `grade similar` reports: the best-scoring pairs with their evidence, as JSON and as a table."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from autograder.reports.terminal import terminal_text
from autograder.course.similarity.collect import Collection, Left, Submission
from autograder.course.similarity.evidence import Match, Side, matches
from autograder.course.similarity.index import MIN_EVIDENCE, THRESHOLD, Entry, Pair, similar_pairs
from autograder.course.similarity.winnow import K, WINDOW


@dataclass(frozen=True)
class Reported:
    rank: int
    pair: Pair
    first: Submission
    second: Submission
    matches: list[Match]

    def lines(self) -> tuple[int, int]:
        """How many lines of code (not comments or blank lines) of each submission are in a match."""
        return (len(set().union(*(m.first.code_lines(self.first.code) for m in self.matches))),
                len(set().union(*(m.second.code_lines(self.second.code) for m in self.matches))))


@dataclass(frozen=True)
class Report:
    assignment: str
    compared: int     # the class's submissions compared
    known: int        # known submissions compared with them
    flagged: int      # pairs at or over the threshold, listed or not
    pairs: list[Reported]
    left: list[Left]


def build_report(collection: Collection, top: int) -> Report:
    """Score every pair of `collection` and keep the `top` best with the code they share."""
    subs = collection.submissions
    pairs = similar_pairs([Entry(s.student, s.known, s.code.fingerprints) for s in subs],
                          collection.reference_kgrams)
    reported = []
    for rank, p in enumerate(pairs[:top], start=1):
        first, second = subs[p.first], subs[p.second]
        ignored = collection.stub_kgrams | (frozenset() if second.known else collection.reference_kgrams)
        reported.append(Reported(rank, p, first, second, matches(first.code, second.code, ignored)))
    return Report(collection.assignment, sum(not s.known for s in subs), sum(s.known for s in subs),
                  sum(p.flagged for p in pairs), reported, collection.left)


def _who(submission: Submission) -> dict[str, Any]:
    return {"student": submission.student, "submission": submission.label, "known": submission.known}


def _side(submission: Submission, side: Side) -> dict[str, Any]:
    first, last = side.lines(submission.code)
    return {"cell": submission.code.cells[side.cell].label, "lines": [first, last]}


def report_dict(report: Report) -> dict[str, Any]:
    """The report for scripts: every listed pair with its score and the line ranges that match."""
    return {
        "assignment": report.assignment,
        "threshold": THRESHOLD,
        "compared": report.compared,
        "known": report.known,
        "flagged": report.flagged,
        "pairs": [{
            "rank": r.rank, "score": round(r.pair.score, 4), "flagged": r.pair.flagged,
            "shared": round(r.pair.shared, 2), "lines": list(r.lines()),
            "first": _who(r.first), "second": _who(r.second),
            "matches": [{"first": _side(r.first, m.first), "second": _side(r.second, m.second)} for m in r.matches],
        } for r in report.pairs],
        "not_compared": [{"submission": left.label, "status": left.status, "reason": left.reason}
                         for left in report.left],
        "settings": {"kgram_tokens": K, "window": WINDOW, "min_evidence": MIN_EVIDENCE},
    }


def summary_line(report: Report) -> str:
    known = f" and {report.known} known submission(s)" if report.known else ""
    return (f"{report.assignment}: {report.compared} submission(s) compared{known}; "
            f"{report.flagged} pair(s) at or above the threshold {THRESHOLD:g}")


def report_view(report: Report) -> RenderableType:
    """The listed pairs as a table, and the notebooks that were not compared."""
    table = Table(title="similar pairs", title_justify="left")
    for column in ("rank", "score", "", "first", "second", "lines in matches"):
        table.add_column(column, justify="right" if column in ("rank", "score") else "left")
    for r in report.pairs:
        table.add_row(str(r.rank), f"{r.pair.score:.2f}", "[red]flagged[/]" if r.pair.flagged else "",
                      terminal_text(_name(r.first)), terminal_text(_name(r.second)),
                      "{} / {}".format(*r.lines()))
    parts: list[RenderableType] = [table]
    if report.left:
        left = Table(title="not compared", title_justify="left")
        for column in ("submission", "status", "reason"):
            left.add_column(column)
        for item in report.left:
            left.add_row(terminal_text(item.label), item.status, terminal_text(item.reason))
        parts.append(left)
    parts.append(Text(summary_line(report)))
    return Group(*parts)


def _name(submission: Submission) -> str:
    return f"{submission.label} (known)" if submission.known else submission.label
