"""Which solution regions the tests reach, from one graded run of a probed reference notebook.

Every solution region gets a first line calling a probe, which prints a marker the first time the region
runs after the notebook's cells have all run; the markers come back in the graded run's output. A region
whose marker is missing is code no test calls: its mistakes would never cost a point.
"""
from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass
from typing import Any

from autograder.course.audit.cells import solution_regions
from autograder.errors import UsageError
from autograder.grading.notebook import neutralise_magics

PROBE = "__autograder_probe__"   # dunder names are not mangled inside a class body


@dataclass(frozen=True)
class Region:
    number: int
    cell: str         # the cell's nbgrader grade_id
    line: int         # of the BEGIN SOLUTION marker, as Jupyter numbers the cell's lines
    function: str     # the qualified name of the function it is in ("" at a cell's top level)

    def describe(self) -> str:
        inside = f"of {self.function} " if self.function else ""
        return f"the solution region {inside}(cell {self.cell}, line {self.line})"


def _functions(tree: ast.AST) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function in a parsed cell."""
    found: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    found.append((child.lineno, child.end_lineno, name))
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def _enclosing(functions: list[tuple[int, int, str]], line: int) -> str:
    inside = [(first, name) for first, last, name in functions if first < line <= last]
    return max(inside)[1] if inside else ""


def probed(reference: dict[str, Any], token: str) -> tuple[dict[str, Any], list[Region]]:
    """The reference notebook (as read from JSON) with a probe in every solution region, and the regions.

    A cell put first defines the probe, one put last marks the end of the notebook's own run; probes reached
    before it (by code run at a cell's top level) are forgotten, so only calls made by tests count."""
    nb = copy.deepcopy(reference)
    regions: list[Region] = []
    for cell in nb["cells"]:
        nbgrader = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or nbgrader.get("solution") is not True:
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        lines = text.split("\n")
        try:
            functions = _functions(ast.parse(neutralise_magics(text)))
        except SyntaxError as exc:
            raise UsageError(f"solution cell {nbgrader.get('grade_id')} of the reference does not parse: "
                             f"{exc}") from None
        probes = []
        for region in solution_regions(text):
            marker = region.first - 1  # the BEGIN SOLUTION line
            indent = re.match(r"\s*", next((lines[i] for i in range(region.first - 1, region.last)
                                            if lines[i].strip()), lines[marker])).group()
            regions.append(Region(len(regions) + 1, str(nbgrader.get("grade_id")), marker,
                                  _enclosing(functions, marker)))
            probes.append((region.first - 1, f"{indent}{PROBE}({len(regions)})"))
        for index, probe in reversed(probes):  # from the end, so that earlier line numbers stay put
            lines.insert(index, probe)
        cell["source"] = "\n".join(lines)
    nb["cells"] = [_code(f"def {PROBE}(number, seen=set()):\n    if number not in seen:\n        seen.add(number)\n"
                         f"        print({token!r}, 'reached', number, flush=True)"),
                   *nb["cells"],
                   _code(f"{PROBE}.__defaults__[0].clear()\nprint({token!r}, 'tests', flush=True)")]
    return nb, regions


def _code(source: str) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def reached(output: str, token: str) -> set[int] | None:
    """The regions the tests reached, read from a graded run's output; None if the notebook's run did not
    finish (its end marker is not there)."""
    lines = output.splitlines()
    try:
        start = lines.index(f"{token} tests")
    except ValueError:
        return None
    prefix = f"{token} reached "
    return {int(line.removeprefix(prefix)) for line in lines[start + 1:]
            if line.startswith(prefix) and line.removeprefix(prefix).isdigit()}
