"""The similarity report as one self-contained HTML page: what the score means, the ranked pairs, and for
each pair the two submissions side by side with the matching code highlighted in matching colours.

Everything a student wrote (code, file and folder names, reasons quoting them) goes through
`html_text`; the page loads nothing and runs no script (its Content-Security-Policy forbids both).
"""
from __future__ import annotations

from autograder.reports.text import html_text
from autograder.course.similarity.collect import Submission
from autograder.course.similarity.evidence import Side, is_code_line
from autograder.course.similarity.index import CALIBRATED_COPIES, CALIBRATED_INDEPENDENT, THRESHOLD
from autograder.course.similarity.report import Report, Reported, summary_line

_FLAG = "<span class=\"flag\">flagged</span>"
COLOURS = ("#ffd54f", "#81d4fa", "#a5d6a7", "#f48fb1", "#ce93d8", "#ffab91")   # one per match, in turn

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 110em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; } h3 { font-size: 1em; margin: .3em 0; }
.how { background: #f5f5f5; border-left: 4px solid #999; padding: .5em 1em; max-width: 60em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
td.num { text-align: right; } .flag { color: #b00020; font-weight: bold; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.side { min-width: 0; } .cell { margin: .6em 0; } .cellname { color: #666; font-size: .85em; }
pre { margin: 0; padding: .4em; background: #fafafa; border: 1px solid #ddd; overflow-x: auto;
      font: 13px/1.4 ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
.ln { display: inline-block; width: 3em; color: #999; user-select: none; }
mark { color: #000; padding: 0; } .swatch { display: inline-block; width: 1.2em; }
""" + "".join(f"mark.m{i}, .swatch.m{i} {{ background: {colour}; }}\n" for i, colour in enumerate(COLOURS))


def report_html(report: Report) -> str:
    """The whole page."""
    title = html_text(f"Similar submissions: {report.assignment}")
    body = [f"<h1>{title}</h1>", f"<p><strong>{html_text(summary_line(report))}</strong></p>", _how(report),
            _ranking(report), _left(report)]
    body += [_pair(r) for r in report.pairs]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>{title}</title><style>{_STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n")


def _how(report: Report) -> str:
    return f"""<div class="how">
<p><strong>What was compared.</strong> Every pair of submissions of <em>{html_text(report.assignment)}</em>,
on the code the students wrote: the cells they filled in or added, with the stub's own code (function
headers, docstrings, <code>raise NotImplementedError()</code>) taken out. Comments, docstrings, blank lines
and layout are ignored, and every name a student chose (variables, parameters, helper functions,
attributes) counts as the same name, so renaming, reordering functions, rewording comments and splitting or
merging cells do not hide a copy. No submission was run: the code was only read.</p>
<p><strong>The score</strong> runs from 0 to 1: the share of the smaller submission's own code that the other
has too. Between two students, code that the reference solution also has does not count (it is what the
assignment leads to), and code that many students of the class wrote alike counts less; a pair needs about
ten lines in common to reach 1. Pairs scoring <strong>{THRESHOLD:g} or more are flagged</strong>. On this
project's sample solutions, pairs written independently score at most {CALIBRATED_INDEPENDENT:g}, and copies
with renamed variables, reordered functions, new comments, split cells or added dead code at least
{CALIBRATED_COPIES:g}.</p>
<p><strong>Against known submissions</strong> (earlier years, known solutions, marked <em>known</em>) all code
counts, the reference solution's too: a submission that is a known solution with a few changes scores near 1.</p>
<p><strong>Highlights.</strong> Each coloured stretch is a match: code that both submissions have (names and
layout aside), in the same colour on both sides and listed under each pair. Code that is not highlighted
either differs, is shorter than about a line, or (between two students) is also in the reference solution.</p>
<p>A high score is a reason to look, not a proof: read the highlighted code side by side before concluding
anything.</p>
</div>"""


def _name(submission: Submission) -> str:
    known = " <em>(known)</em>" if submission.known else ""
    return f"{html_text(submission.label)}{known}"


def _ranking(report: Report) -> str:
    if not report.pairs:
        return "<p>No two submissions share any code beyond the stub.</p>"
    rows = "".join(
        f"<tr><td class=\"num\"><a href=\"#pair-{r.rank}\">{r.rank}</a></td><td class=\"num\">{r.pair.score:.2f}</td>"
        f"<td>{_FLAG if r.pair.flagged else ''}</td><td>{_name(r.first)}</td><td>{_name(r.second)}</td>"
        "<td class=\"num\">{} / {}</td></tr>".format(*r.lines()) for r in report.pairs)
    more = report.flagged - sum(r.pair.flagged for r in report.pairs)
    note = f"<p class=\"flag\">{more} more flagged pair(s) are not listed: ask for more with --top.</p>" if more else ""
    return ("<h2>Pairs, most similar first</h2><table><tr><th>rank</th><th>score</th><th></th><th>first</th>"
            f"<th>second</th><th>lines in matches</th></tr>{rows}</table>{note}")


def _left(report: Report) -> str:
    if not report.left:
        return ""
    rows = "".join(f"<tr><td>{html_text(item.label)}</td><td>{html_text(item.status)}</td>"
                   f"<td>{html_text(item.reason)}</td></tr>" for item in report.left)
    return ("<h2>Not compared</h2><table><tr><th>submission</th><th>status</th><th>reason</th></tr>"
            f"{rows}</table>")


def _pair(reported: Reported) -> str:
    r = reported
    flag = " " + _FLAG if r.pair.flagged else ""
    listing = "".join(
        f"<li><span class=\"swatch m{i % len(COLOURS)}\">&nbsp;</span> match {i + 1}: "
        f"{_where(r.first, m.first)} of the first, {_where(r.second, m.second)} of the second</li>"
        for i, m in enumerate(r.matches))
    sides = (_side(r.first, [(m.first.cell, m.first.start, m.first.end, i) for i, m in enumerate(r.matches)])
             + _side(r.second, [(m.second.cell, m.second.start, m.second.end, i) for i, m in enumerate(r.matches)]))
    return (f"<section id=\"pair-{r.rank}\"><h2>{r.rank}. score {r.pair.score:.2f}{flag}</h2>"
            f"<p>first: {_name(r.first)}<br>second: {_name(r.second)}</p><ul>{listing}</ul>"
            f"<div class=\"sides\">{sides}</div></section>")


def _where(submission: Submission, side: Side) -> str:
    first, last = side.lines(submission.code)
    lines = f"line {first}" if first == last else f"lines {first}–{last}"
    return f"{html_text(submission.code.cells[side.cell].label)} {lines}"


def _side(submission: Submission, spans: list[tuple[int, int, int, int]]) -> str:
    cells = []
    for index, cell in enumerate(submission.code.cells):
        mine = sorted((start, end, number) for c, start, end, number in spans if c == index)
        cells.append(f"<div class=\"cell\"><div class=\"cellname\">{html_text(cell.label)}</div>"
                     f"<pre>{_code(cell.source, mine)}</pre></div>")
    return f"<div class=\"side\"><h3>{_name(submission)}</h3>{''.join(cells)}</div>"


def _code(source: str, spans: list[tuple[int, int, int]]) -> str:
    """The cell's source with numbered lines, the matched spans marked in their match's colour."""
    pieces: list[tuple[str, int | None]] = []
    position = 0
    for start, end, number in spans:
        start = max(start, position)
        if start >= end:
            continue
        pieces += [(source[position:start], None), (source[start:end], number)]
        position = end
    pieces.append((source[position:], None))
    lines: list[list[tuple[str, int | None]]] = [[]]
    for text, number in pieces:
        for i, part in enumerate(text.split("\n")):
            if i:
                lines.append([])
            if part:
                lines[-1].append((part, number))
    return "\n".join(f"<span class=\"ln\">{n}</span>{_line(parts)}" for n, parts in enumerate(lines, start=1))


def _line(parts: list[tuple[str, int | None]]) -> str:
    """One line; a line with no code (a comment inside a match) is not highlighted."""
    if not is_code_line("".join(text for text, _ in parts)):
        return html_text("".join(text for text, _ in parts))
    return "".join(html_text(text) if number is None else
                   f"<mark class=\"m{number % len(COLOURS)}\" title=\"match {number + 1}\">{html_text(text)}</mark>"
                   for text, number in parts)
