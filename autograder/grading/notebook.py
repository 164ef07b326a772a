"""Reading submissions and turning them into the list of cells a worker runs.

Reading is strict about what makes grading impossible (not JSON, not a notebook, an old format, no
code) and says which file and what is wrong. Building the program is where the reference's authority
over the notebook is applied: read-only cells come from the reference and demonstration cells are
skipped, however the submission changed them.
"""
from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.bounds import CELL_SOURCE_CHARS, MAX_CELLS
from autograder.errors import NotebookError
from autograder.identifiers import shown

MAX_NOTEBOOK_BYTES = 64 * 2**20
DEMO_TAG = "demo"


@dataclass(frozen=True)
class Cell:
    """A cell of the program a worker runs."""

    label: str
    source: str


@dataclass(frozen=True)
class NotebookCell:
    cell_type: str
    source: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Notebook:
    """What grading needs of a notebook. Read without nbformat, whose import (jsonschema and its format
    checkers) costs seconds on every grading run; nbformat is used where notebooks are written."""

    cells: list[NotebookCell]
    metadata: dict[str, Any]


SYMLINK = "is a symbolic link; submit the notebook itself"


def read_submission(path: Path) -> Notebook:
    """A submission, validated, or NotebookError saying what is wrong with it.

    It is opened without following a symbolic link: a link (to the reference notebook, to another
    student's work) is not the student's own notebook, whatever it points to.
    """
    return _parse(path, _read_bytes(path, follow=False))


def read_notebook(path: Path) -> Notebook:
    """An instructor's notebook (a reference or a stub), validated like a submission."""
    return _parse(path, _read_bytes(path, follow=True))


def _read_bytes(path: Path, follow: bool) -> bytes:
    # O_NONBLOCK: opening a FIFO planted in place of a notebook must not wait for a writer.
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow and os.path.islink(path):
            raise NotebookError(path, SYMLINK) from None
        raise NotebookError(path, f"cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError(path, "is a folder, not a notebook" if stat.S_ISDIR(info.st_mode)
                                else "is not a regular file")
        with open(fd, "rb", closefd=False) as file:
            data = file.read(MAX_NOTEBOOK_BYTES + 1) if info.st_size <= MAX_NOTEBOOK_BYTES else b""
    except OSError as exc:
        raise NotebookError(path, f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    size = max(info.st_size, len(data))
    if size > MAX_NOTEBOOK_BYTES:
        raise NotebookError(path, f"is {size / 2**20:.0f} MiB, over the {MAX_NOTEBOOK_BYTES // 2**20} MiB "
                                  "limit (clear the outputs and save again)")
    return data


def _null(name: str) -> None:
    """NaN and Infinity, which JSON lacks but Jupyter may write in an output: read as null."""
    return None


def _parse(path: Path, data: bytes) -> Notebook:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookError(path, f"is not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        raw = json.loads(text, parse_constant=_null)
    except json.JSONDecodeError as exc:
        raise NotebookError(path, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except ValueError:  # Python refuses to convert integers of thousands of digits
        raise NotebookError(path, "is not valid JSON (it holds a number too long to read)") from None
    except RecursionError:
        raise NotebookError(path, "is not valid JSON (nested too deeply)") from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw or "nbformat" not in raw:
        raise NotebookError(path, "is not a Jupyter notebook (no 'cells' or 'nbformat' field)")
    major = raw["nbformat"]
    if isinstance(major, bool) or not isinstance(major, int) or major < 4:
        raise NotebookError(path, f"uses notebook format {shown(major)}; open and save it in a current Jupyter "
                                  "to convert it to format 4")
    if major > 4:
        raise NotebookError(path, f"uses notebook format {shown(major)}, newer than this grader understands (4)")
    cells = _list(path, raw, "cells")
    if len(cells) > MAX_CELLS:
        raise NotebookError(path, f"has {len(cells)} cells, over the limit of {MAX_CELLS}")
    nb = Notebook(cells=[_cell(path, index, cell) for index, cell in enumerate(cells, 1)],
                  metadata=_dict(path, raw, "metadata"))
    if not any(cell.cell_type == "code" for cell in nb.cells):
        raise NotebookError(path, "has no code cells")
    return nb


def _invalid(path: Path, what: str) -> NotebookError:
    return NotebookError(path, f"is not a valid notebook: {what}")


def _list(path: Path, raw: dict, key: str) -> list:
    if not isinstance(raw.get(key), list):
        raise _invalid(path, f"'{key}' must be a list")
    return raw[key]


def _dict(path: Path, raw: dict, key: str, where: str = "the notebook") -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise _invalid(path, f"'{key}' of {where} must be an object")
    return value


def _cell(path: Path, index: int, raw: Any) -> NotebookCell:
    where = f"cell {index}"
    if not isinstance(raw, dict):
        raise _invalid(path, f"{where} is not an object")
    if raw.get("cell_type") not in ("code", "markdown", "raw"):
        raise _invalid(path, f"{where} has cell_type {shown(raw.get('cell_type'))}")
    source = raw.get("source")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise _invalid(path, f"{where} has no text source")
    if len(source) > CELL_SOURCE_CHARS:
        raise _invalid(path, f"{where} has {len(source)} characters, over the limit of {CELL_SOURCE_CHARS}")
    return NotebookCell(raw["cell_type"], source, _dict(path, raw, "metadata", where))


def _section(metadata: dict[str, Any], key: str) -> dict[str, Any]:
    """A metadata section, or {} when a hand-edited notebook holds something else there."""
    value = metadata.get(key)
    return value if isinstance(value, dict) else {}


def assignment_of(nb: Notebook) -> str | None:
    """The assignment a notebook declares in its metadata, if any."""
    name = _section(nb.metadata, "autograder").get("assignment")
    return name if isinstance(name, str) else None


def check_assignment(nb: Notebook, expected: str | None, path: Path) -> None:
    """A notebook that declares another assignment is a wrong upload, not a bad attempt."""
    declared = assignment_of(nb)
    if expected and declared and declared != expected:
        raise NotebookError(path, f"is a notebook for assignment {shown(declared)}, not {expected!r}")


def _grade_id(cell: NotebookCell) -> str | None:
    grade_id = _section(cell.metadata, "nbgrader").get("grade_id")
    return grade_id if isinstance(grade_id, str) else None


def _is_locked(cell: NotebookCell) -> bool:
    return _section(cell.metadata, "nbgrader").get("locked") is True


def is_demo(cell: NotebookCell) -> bool:
    tags = cell.metadata.get("tags")
    return isinstance(tags, list) and DEMO_TAG in tags


def build_program(submission: Notebook, template: Notebook) -> list[Cell]:
    """The cells to run: the submission's code cells in order, with the template's authority applied.

    A cell whose grade_id is locked in the template runs the template's source; a cell the template
    tags as a demonstration is skipped; locked template cells the submission lost are put back and
    run first. Cells the student added run as written.
    """
    template_cells = {_grade_id(c): c for c in template.cells if c.cell_type == "code" and _grade_id(c)}
    seen: set[str] = set()
    program: list[Cell] = []
    for index, cell in enumerate(submission.cells, start=1):
        if cell.cell_type != "code":
            continue
        grade_id = _grade_id(cell)
        ours = template_cells.get(grade_id)
        if ours is not None:
            if grade_id in seen:
                continue
            seen.add(grade_id)
            if is_demo(ours):
                continue
            source = ours.source if _is_locked(ours) else cell.source
        else:
            source = cell.source
        program.append(Cell(f"cell {index}", source))
    return _restore_missing(program, template, seen)


def _restore_missing(program: list[Cell], template: Notebook, seen: set[str]) -> list[Cell]:
    missing = [c for c in template.cells if c.cell_type == "code" and _grade_id(c) and _grade_id(c) not in seen
               and _is_locked(c) and not is_demo(c)]
    if not missing:
        return program
    # Read-only cells hold setup (imports, constants) that later cells rely on, so they go first.
    return [Cell(f"restored cell {_grade_id(c)}", c.source) for c in missing] + program


# IPython syntax, recognised only where a logical line starts (not inside brackets, strings or after a
# backslash), as IPython's own transformer does, but one line at a time: that transformer rescans the
# whole cell after each rewrite, which is quadratic in the number of magics.
_MAYBE_MAGIC = re.compile(r"^[^\S\n]*[%!]|=[^\S\n]*[%!]", re.MULTILINE)
_ESCAPED = re.compile(r"(\s*)(!!|!|%)(.*)")
_ASSIGNED = re.compile(r"(\s*[\w.]+(?:\s*,\s*[\w.]+)*\s*=\s*)(!|%(?=[^\W\d]))(.*)")
_SYNTAX = re.compile(r"\\.?|'''|\"\"\"|['\"#()\[\]{}]")   # what can carry a logical line over


def _call(escape: str, content: str) -> str:
    if escape == "!":
        return f"get_ipython().system({content!r})"
    if escape == "!!":
        return f"get_ipython().getoutput({content!r})"
    name, _, args = content.partition(" ")
    return f"get_ipython().run_line_magic({name!r}, {args!r})"


def _rewritten(line: str) -> str | None:
    """The Python for an IPython line (`%magic args`, `!cmd`, `x = !cmd`, `x = %magic`), else None."""
    escaped = _ESCAPED.fullmatch(line)
    if escaped:
        indent, escape, content = escaped.groups()
        return indent + _call(escape, content.rstrip())
    assigned = _ASSIGNED.fullmatch(line)
    if assigned:
        lhs, escape, content = assigned.groups()
        return lhs + _call("!!" if escape == "!" else "%", content.rstrip())
    return None


def _carried(line: str, depth: int, quote: str | None) -> tuple[int, str | None, bool]:
    """(bracket depth, open string quote, backslash continuation) at the end of `line`."""
    continued = False
    for token in _SYNTAX.finditer(line):
        text = token.group()
        continued = text == "\\"
        if quote is not None:
            if text == quote or len(quote) == 1 and text == quote * 3:  # "a""" closes "a" and opens ""
                quote = None
        elif text == "#":
            break
        elif text in ("'", '"', "'''", '"""'):
            quote = text
        elif text in "([{":
            depth += 1
        elif text in ")]}":
            depth = max(depth - 1, 0)
    if quote is not None and len(quote) == 1 and not continued:
        quote = None   # a one-line string cannot run on without a backslash
    return depth, quote, continued


def _neutralised_lines(lines: list[str]) -> list[str]:
    depth, quote, continued = 0, None, False
    out = []
    for line in lines:
        rewritten = _rewritten(line) if depth == 0 and quote is None and not continued else None
        if rewritten is None:
            depth, quote, continued = _carried(line, depth, quote)
        out.append(line if rewritten is None else rewritten)
    return out


def neutralise_magics(source: str) -> str:
    """IPython syntax (`%magic`, `!shell`, `%%cell_magic`) as plain Python calling a get_ipython() that does
    nothing, in time linear in the cell's length. A cell magic's body is passed on, itself neutralised."""
    if not _MAYBE_MAGIC.search(source):
        return source
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    if first < len(lines) and lines[first].lstrip().startswith("%%"):
        name, _, args = lines[first].strip()[2:].partition(" ")
        body = "\n".join(_neutralised_lines(lines[first + 1:]))
        return f"get_ipython().run_cell_magic({name!r}, {args!r}, {body!r})\n"
    return "\n".join(_neutralised_lines(lines))


def code_cells(submission: Notebook, template: Notebook) -> list[Cell]:
    """The program, ready for the worker."""
    return [Cell(c.label, neutralise_magics(c.source)) for c in build_program(submission, template)]
