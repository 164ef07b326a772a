"""What every report shares: how points are written, how student-controlled text is made safe for
each format, which tests a student may see, and whose submission it is."""
from __future__ import annotations

import html
import re
from pathlib import PurePath

from autograder.grading.results import SubmissionResult, TestResult

NBGRADER_STEPS = ("submitted", "autograded", "feedback")
# Control characters (C0 but tab and new line, DEL, C1: terminal escapes, CSI, OSC, carriage returns),
# what XML 1.0 forbids (lone surrogates, U+FFFE, U+FFFF), and what reorders or breaks lines unseen
# (bidirectional overrides and isolates, the Arabic letter mark, line and paragraph separators).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                     "\ud800-\udfff\ufffe\uffff]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")   # inline syntax that could restyle student text
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}   # no tag or entity from the student survives


def points(value: float) -> str:
    """Points as people write them: 2 not 2.0, 0.3 not 0.30000000000000004."""
    return format(round(value, 6), ".15g")


def spelled(text: str) -> str:
    """Every unsafe character (see _UNSAFE) spelled out as \\xNN or \\uNNNN: the one rule for showing student
    text anywhere, terminal included. Such characters break XML parsers, move a terminal's cursor or
    run its commands, and garble Markdown, HTML and CI logs; student output is full of them.
    """
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)


def first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else ""


def visible_tests(result: SubmissionResult) -> list[TestResult]:
    return [t for t in result.tests if t.visibility == "visible"]


def hidden_tests(result: SubmissionResult) -> list[TestResult]:
    return [t for t in result.tests if t.visibility != "visible"]


def cell_error_line(error: dict[str, str]) -> str:
    cell, kind = error.get("cell", "?"), error.get("type", "an error")
    return f"Cell {cell} raised {kind}: {first_line(error.get('message', ''))}"


def omitted_line(result: SubmissionResult) -> str:
    return f"… and {result.cell_errors_omitted} more cell(s) raised errors"


def cell_error_lines(result: SubmissionResult) -> list[str]:
    """One line per failing cell listed, and one for those only counted."""
    more = [omitted_line(result)] if result.cell_errors_omitted else []
    return [cell_error_line(e) for e in result.cell_errors] + more


def score_line(result: SubmissionResult) -> str:
    return f"Score: {points(result.score)}/{points(result.max_score)}"


def hidden_line(result: SubmissionResult) -> str:
    hidden = hidden_tests(result)
    return f"hidden tests: {points(sum(t.score for t in hidden))}/{points(sum(t.max_score for t in hidden))} points"


def student_of(result: SubmissionResult) -> str:
    """The student a submission belongs to: as the batch found it in the class folder, else read from
    the folder layouts graders use.

    nbgrader's `{submitted,autograded,feedback}/<student>/<assignment>/<any>.ipynb` -> the student folder;
    `<student>/<assignment>/<assignment>.ipynb` -> the grandparent; `<student>/<assignment>.ipynb` -> the
    parent; anything else (`<student>.ipynb`, also inside a per-assignment folder) -> the file stem.
    """
    if result.student:
        return result.student
    path = PurePath(result.submission)
    folders = path.parent.parts
    if len(folders) >= 3 and folders[-3] in NBGRADER_STEPS:
        return folders[-2]
    if path.stem == result.assignment and folders and folders[-1] not in ("/", "."):
        if folders[-1] == result.assignment and len(folders) >= 2:
            return folders[-2]
        return folders[-1]
    return path.stem


def note(result: SubmissionResult) -> str:
    """What a row of a class table says beside its score: why it could not be graded or what is
    missing (first line), and whether its student is not on the roster."""
    notes = [first_line(result.error)] if result.status != "graded" and result.error else []
    if result.on_roster is False:
        notes.append("not on the roster")
    return "; ".join(notes)


def incomplete_line(results: list[SubmissionResult]) -> str:
    """The line every class-wide report shows when Ctrl-C stopped the run."""
    return (f"Incomplete: grading was interrupted; these reports hold the {len(results)} result(s) "
            "made before it stopped.")


def html_text(text: str) -> str:
    return html.escape(spelled(text))


def markdown_text(text: str) -> str:
    """Inline Markdown that renders as the literal text: no formatting, HTML, table breaks or new lines.

    `<`, `>` and `&` become entities rather than backslash escapes, so not even a reader that ignores
    Markdown's escapes sees a tag.
    """
    flat = _MD_SPECIAL.sub(r"\\\1", " ".join(spelled(text).splitlines()))
    return re.sub("[&<>]", lambda m: _MD_ENTITIES[m.group()], flat)
