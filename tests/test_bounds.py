"""Bounds and escaping, as properties over generated text: whatever a submission wrote, the result model
holds a bounded amount of it, and every format shows it inert (no control characters, no tags, no
workflow commands outside a fence). Also the wire's decoder over arbitrary bytes, and the magics rewrite."""
import ast
import io
import json
import os
import re
import struct
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from autograder import bounds

from autograder.worker import wire
from autograder.errors import NotebookError
from autograder.grading.notebook import neutralise_magics, read_notebook
from autograder.reports import (
    feedback_html, feedback_markdown, github_annotations, gradebook_csv, gradescope_result, junit_xml,
    markdown_summary, result_from_dict,
)
from autograder.reports.terminal import Terminal, submission_view, summary_view
from autograder.reports.text import html_text, markdown_text, spelled
from autograder.grading.results import SubmissionResult
from autograder.grading.results import TestResult as Outcome   # a class named Test* would be collected by pytest
from conftest import framed, json_value

# C0 but tab and new line, DEL, C1, bidirectional controls, line separators, surrogates, U+FFFE/U+FFFF
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
                    "\ud800-\udfff\ufffe\uffff]")
HOSTILE = ["\x1b]0;title\x07\x1b[2J\x9b31m\x9d8;;x\x9c\r::error::x\n::add-mask::y <script>alert(1)</script>"
           "\u202eevil\u2066 &amp; `|*_[x](y)", "\ud800\x00\x85\u2028"]
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
text = st.text(alphabet=st.characters(), max_size=300)


def result_with(value: str, *, cells: int = 1, repeat: int = 1) -> SubmissionResult:
    """A result whose every submission-controlled field holds `value` (repeated)."""
    big = value * repeat
    return SubmissionResult(
        assignment="mlp", submission=f"subs/{value[:50]}/mlp.ipynb", output=big, error=big, status="unreadable",
        cell_errors=[{"cell": f"cell {i}", "type": big, "message": big, "traceback": big} for i in range(cells)],
        tests=[Outcome("test_forward", 0, 2, "failed", big), Outcome("test_hidden", 0, 3, "error", big,
                                                                      visibility="after_published")])


# ------------------------------------------------------------------------------------------ bounding

@FEW
@given(st.text(max_size=3000), st.integers(64, 2000))
@example("x" * 65, 64)
def test_clip_is_bounded_marked_and_idempotent(value, limit):
    clipped = bounds.clip(value, limit)
    assert len(clipped) <= limit and bounds.clip(clipped, limit) == clipped
    if len(value) <= limit:
        assert clipped == value
    else:
        kept = clipped[:clipped.index("… [truncated, ")]
        assert value.startswith(kept) and clipped.endswith(f"[truncated, {len(value) - len(kept)} more characters]")


def test_the_model_cuts_every_submission_field_and_counts_dropped_cells():
    result = result_with("A", cells=5000, repeat=2_000_000)
    assert len(result.output) <= bounds.OUTPUT_CHARS and len(result.error) <= bounds.ERROR_CHARS
    assert all(len(t.message) <= bounds.MESSAGE_CHARS for t in result.tests)
    assert len(result.cell_errors) == bounds.CELL_ERRORS and result.cell_errors_omitted == 5000 - bounds.CELL_ERRORS
    error = result.cell_errors[0]
    assert len(error["type"]) <= bounds.NAME_CHARS and len(error["message"]) <= bounds.CELL_MESSAGE_CHARS
    assert error["message"].endswith(f"[truncated, {2_000_000 - error['message'].index('…')} more characters]")
    again = result_from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result and again.cell_errors_omitted == 5000 - bounds.CELL_ERRORS


def share_chars(tests: int) -> int:
    """The most submission-chosen text one result holds: the cap on its share of any report."""
    return (tests * bounds.MESSAGE_CHARS + bounds.CELL_ERRORS * sum(bounds.CELL_ERROR_FIELDS.values())
            + bounds.OUTPUT_CHARS + bounds.ERROR_CHARS + bounds.NAME_CHARS)


def test_one_submission_s_share_of_the_json_report_is_capped():
    """Worst case: astral characters, which JSON writes as 12 ASCII bytes each, in every field."""
    hostile = result_with("\U0001f600", cells=10_000, repeat=100_000)
    size = len(json.dumps({"submissions": [hostile.to_dict()]}, indent=2))
    assert size <= 12 * share_chars(len(hostile.tests)) + 400 * (len(hostile.tests) + bounds.CELL_ERRORS) + 1000


# ------------------------------------------------------------------------------------------ escaping

@FEW
@given(text)
@example(HOSTILE[0])
@example(HOSTILE[1])
def test_spelled_text_has_no_unsafe_characters(value):
    assert not UNSAFE.search(spelled(value))
    if not UNSAFE.search(value):
        assert spelled(value) == value


class Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.data = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.data.append(data)


def parsed(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    parser.close()
    return parser


@FEW
@given(text)
@example(HOSTILE[0])
def test_html_text_has_no_tags_and_shows_the_text(value):
    page = parsed(f"<p>{html_text(value)}</p>")
    assert page.tags == ["p"] and "".join(page.data) == spelled(value)


@FEW
@given(text)
@example(HOSTILE[0])
@example("    indented")
@example("1. a list? <b>&amp;</b>")
def test_markdown_text_renders_as_the_literal_text(value):
    """Rendered by a CommonMark parser inside a list item: only the item's own tags, and its text is the
    student's text on one line (spelled), however it is punctuated."""
    html = MarkdownIt("commonmark").render(f"- x{markdown_text(value)}")
    page = parsed(html)
    assert page.tags == ["ul", "li"], html
    shown = "".join(page.data).strip()
    assert shown == ("x" + " ".join(spelled(value).splitlines())).rstrip(" \t")


ALLOWED_FEEDBACK_TAGS = {"html", "head", "meta", "title", "body", "h1", "p", "strong", "ul", "li", "table", "tr",
                         "th", "td", "pre", "h2", "code", "thead", "tbody"}


@FEW
@given(text)
@example(HOSTILE[0])
def test_every_markdown_and_html_report_keeps_student_text_out_of_its_markup(value):
    for result in (result_with(value), result_with(value, cells=0)):
        graded = SubmissionResult(result.assignment, result.submission, result.tests, cell_errors=result.cell_errors)
        for report in (feedback_html(result), feedback_html(graded)):
            assert set(parsed(report).tags) <= ALLOWED_FEEDBACK_TAGS
        for report in (feedback_markdown(result), feedback_markdown(graded), markdown_summary([result, graded])):
            tags = parsed(MarkdownIt("commonmark").enable("table").render(report)).tags
            assert set(tags) <= ALLOWED_FEEDBACK_TAGS | {"details", "summary"}, tags
            assert not UNSAFE.search(report)


@FEW
@given(text)
@example(HOSTILE[0])
def test_junit_parses_and_json_serialises_whatever_the_text(value):
    result = result_with(value)
    case = ET.fromstring(junit_xml([result])).find("testsuite/testcase")
    assert (case.find("failure").text or "") == spelled(result.tests[0].message)
    for data in (result.to_dict(), gradescope_result(result)):
        json.dumps(data, allow_nan=False)
    assert result_from_dict(json.loads(json.dumps(result.to_dict()))) == result
    gradebook_csv([result])


@FEW
@given(text)
@example(HOSTILE[0])
def test_annotations_are_one_line_each_and_inert(value):
    for line in github_annotations([result_with(value), SubmissionResult("mlp", "a.ipynb", result_with(value).tests)]):
        assert "\n" not in line and "\r" not in line and not UNSAFE.search(line)
        assert line.startswith("::error file=")


# ------------------------------------------------------------------------------------------ terminal

def rendered(view) -> str:
    """What `grade` prints for `view`, through the terminal every command uses."""
    terminal = Terminal()
    terminal.console.file = io.StringIO()
    terminal.print(view)
    return terminal.console.file.getvalue()


@FEW
@given(text)
@example(HOSTILE[0])
def test_terminal_views_are_inert(value):
    result = result_with(value, cells=3)
    for view in (submission_view(result), summary_view([result])):
        assert not UNSAFE.search(rendered(view).replace("\n", ""))


def test_terminal_view_of_huge_names_and_messages_is_bounded():
    """An unbroken million-character type name and message: rendering is cut before rich sees it (its
    wrapping of one long word would otherwise take minutes)."""
    result = result_with("W" * 1_000_000, cells=500)
    started = time.monotonic()
    out = rendered(submission_view(result))
    assert time.monotonic() - started < 120   # generous: minutes without the bounds
    assert len(out) < 200_000 and "truncated" in out and "450 more cell(s) raised errors" in out


def fence_violations(output: str) -> list[str]:
    """Lines outside ::stop-commands::TOKEN ... ::TOKEN:: fences (and an unclosed fence)."""
    token, outside = None, []
    for line in output.splitlines():
        if token is None:
            opened = re.fullmatch(r"::stop-commands::([0-9a-f]{32})", line)
            if opened:
                token = opened.group(1)
            else:
                outside.append(line)
        elif line == f"::{token}::":
            token = None
    return outside + ([f"unclosed fence {token}"] if token else [])


def test_terminal_fences_everything_but_its_own_commands_in_github_actions(capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    out = Terminal()
    out.line(HOSTILE[0])
    out.print(submission_view(result_with(HOSTILE[0], cells=2)))
    out.command("::error file=a,title=b::c")
    printed = capsys.readouterr().out
    assert fence_violations(printed) == ["::error file=a,title=b::c"]
    assert "::add-mask::y" in printed and not UNSAFE.search(printed.replace("\n", ""))
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    Terminal().line("plain")
    assert capsys.readouterr().out == "plain\n"


# ------------------------------------------------------------------------------------------ the wire

def read_raw(data: bytes):
    r, w = os.pipe()
    try:
        os.write(w, data)
        os.close(w)
        return wire.read_message(r, lambda handle: handle, deadline=None)
    finally:
        os.close(r)


@FEW
@given(st.binary(max_size=2000))
@example(b"\x00\x00\x00\x05[1,2]")
def test_arbitrary_bytes_are_a_value_or_a_protocol_error(data):
    try:
        read_raw(data)
    except (wire.WireError, wire.ChannelClosed):
        pass


@FEW
@given(json_value, st.lists(st.binary(max_size=64), max_size=3))
@example({"$": "tensor", "dtype": [], "shape": [], "buffer": 0}, [b""])
@example({"$": "tensor", "dtype": "float32", "shape": [0, 2**62, 2**62], "buffer": 0}, [b""])
@example({"$": "ndarray", "dtype": "float32", "shape": [0, 2**70], "buffer": 0}, [b""])
def test_any_json_header_is_a_value_or_a_protocol_error(body, buffers):
    try:
        read_raw(framed(body, buffers))
    except wire.WireError:
        pass


@FEW
@given(st.integers(wire.MAX_HEADER + 1, 2**32 - 1))
def test_an_oversized_header_is_refused_before_it_is_read(length):
    with pytest.raises(wire.WireError, match="over the limit"):
        read_raw(struct.pack(">I", length))   # nothing follows: reading it would be ChannelClosed


@FEW
@given(st.lists(st.integers(0, 2**40), min_size=1, max_size=5).filter(lambda sizes: sum(sizes) > wire.MAX_BUFFERS))
def test_oversized_buffers_are_refused_before_they_are_read(sizes):
    header = json.dumps({"body": None, "buffers": sizes}).encode()
    with pytest.raises(wire.WireError, match="buffers over the size limit"):
        read_raw(struct.pack(">I", len(header)) + header)


# ------------------------------------------------------------------------------------------ notebooks

def write_notebook(path, cells):
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))
    return path


def test_too_many_cells_or_too_large_a_cell_is_refused_naming_the_file(tmp_path):
    code = {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], "execution_count": None}
    many = write_notebook(tmp_path / "many.ipynb", [code] * 100_000)
    with pytest.raises(NotebookError, match=f"has 100000 cells, over the limit of {bounds.MAX_CELLS}") as info:
        read_notebook(many)
    assert str(many) in str(info.value)
    huge = write_notebook(tmp_path / "huge.ipynb", [dict(code, source="#" * (bounds.CELL_SOURCE_CHARS + 1))])
    with pytest.raises(NotebookError, match="cell 1 has 1048577 characters, over the limit"):
        read_notebook(huge)
    hostile = write_notebook(tmp_path / "type.ipynb", [dict(code, cell_type="x" * 1_000_000)])
    with pytest.raises(NotebookError) as info:
        read_notebook(hostile)
    assert len(str(info.value)) < 500


@pytest.mark.parametrize("size", [15_000, 1_000_000])
def test_magics_are_rewritten_in_linear_time(size):
    source = "%x\n" * (size // 3)
    started = time.monotonic()
    out = neutralise_magics(source)
    assert time.monotonic() - started < 60   # generous: IPython's transformer took minutes on 15 KB
    compile(out, "<cell>", "exec")
    assert out.count("get_ipython().run_line_magic('x', '')") == size // 3


python_lines = st.sampled_from([
    "x = 1", "y = 2 % 3", "print('%d' % 3)", "s = '!not a shell'", "t = (1", "%2)", 'u = """', "%in a string",
    '"""', "v = [", "!x]", "w = 1 \\", "% 2", "def f():", "    return 1", "if x:", "    pass", "# !comment",
    "z = {'a': 1,", "     'b': 2}", "",
])
ipython_lines = st.sampled_from([
    "%matplotlib inline", "!pip install torch", "files = !ls", "a, b.c = !ls -l", "d = %who_ls int", "!!date",
    "    %time x = 1", "  !echo it's", "%%time", "%", "!",
])


@FEW
@given(st.lists(st.tuples(st.just(True), python_lines) | st.tuples(st.just(False), ipython_lines),
                min_size=1, max_size=30))
@example([(False, "%%time"), (True, "x = 1"), (False, "!ls")])
@example([(True, 'u = """'), (True, "%in a string"), (True, '"""'), (False, "!ls")])
def test_neutralised_cells_keep_python_and_replace_every_ipython_line(lines):
    """Where the cell is valid Python once each IPython line is replaced by `pass`, the rewrite compiles,
    keeps every Python line as it was, and turns every IPython line that starts a statement (not one
    inside a string) into a get_ipython() call."""
    source = "\n".join(line for _, line in lines)
    reference = "\n".join(line if python else line[:len(line) - len(line.lstrip())] + "pass" for python, line in lines)
    try:
        statements = {node.lineno for node in ast.walk(ast.parse(reference)) if isinstance(node, ast.Pass)}
    except SyntaxError:
        return   # the Python around the IPython lines is itself broken: nothing to compare
    out = neutralise_magics(source)
    compile(out, "<cell>", "exec")
    first = next((line for _, line in lines if line.strip()), "")
    if first.strip().startswith("%%"):
        assert out.startswith("get_ipython().run_cell_magic(")
        return
    assert len(out.split("\n")) == len(lines)
    for number, ((python, line), rewritten) in enumerate(zip(lines, out.split("\n")), start=1):
        magic = not python and number in statements
        assert "get_ipython()." in rewritten if magic else rewritten == line


@FEW
@given(text)
def test_neutralise_magics_never_raises(source):
    neutralise_magics(source)
