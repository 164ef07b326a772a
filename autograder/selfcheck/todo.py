"""What a student still has to write: every function or method of the assignment's solution cells that
still raises the stub's bare `NotImplementedError()`, whether public or hidden tests grade it, named as the
student wrote it (`softmax`, `MLP.forward`) and placed by its code cell's position in the notebook (Jupyter's
execution counts change with every run; the position does not).

A `NotImplementedError` with a message is the student's own (or a library's), not a region left to do.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
import types
from dataclasses import dataclass
from typing import Any

from autograder.grading.notebook import Notebook, NotebookCell, neutralise_magics

Definitions = dict[str, bool]   # the names one top-level definition gives ("MLP.forward"), and whether each raises


@dataclass(frozen=True)
class Todo:
    name: str         # "softmax", "MLP.forward"
    cell: int | None  # position of its code cell in the notebook (1: the first code cell); None when unknown


def regions(nb: Notebook) -> dict[str, int]:
    """The functions and methods the notebook's solution cells define (nbgrader `solution: true`), each
    with the position of the code cell that defines it last (the definition that counts when it runs)."""
    return _regions(_code_cells(nb))


def unimplemented(nb: Notebook) -> list[Todo]:
    """The regions that still raise in the notebook as written, running its cells in order: a later
    definition of a name (a function, or a whole class) replaces the earlier one."""
    cells = _code_cells(nb)
    live: dict[str, tuple[int, Definitions]] = {}
    for position, _, definitions in cells:
        for top, names in definitions.items():
            if names is None:
                live.pop(top, None)
            else:
                live[top] = (position, names)
    todo = []
    for name in _regions(cells):
        position, names = live.get(name.partition(".")[0], (0, {}))
        if names.get(name):
            todo.append(Todo(name, position))
    return _in_notebook_order(todo)


def _regions(cells: list[tuple[int, NotebookCell, dict[str, Definitions | None]]]) -> dict[str, int]:
    wanted = {name for _, cell, definitions in cells if _is_solution(cell.metadata)
              for names in definitions.values() if names for name in names}
    latest = {name: position for position, _, definitions in cells
              for names in definitions.values() if names for name in names}
    return {name: position for name, position in latest.items() if name in wanted}


def unimplemented_in(namespace: dict[str, Any], where: dict[str, int | None]) -> tuple[list[Todo], list[Todo]]:
    """(regions that still raise, regions not defined at all) in a live namespace, a kernel's: its own
    definitions count, whatever the saved notebook says. `where` gives each region's cell position."""
    todo: list[Todo] = []
    undefined: dict[str, Todo] = {}
    for name, position in where.items():
        top, _, method = name.partition(".")
        if top not in namespace:
            undefined.setdefault(top, Todo(top, position))
            continue
        found = namespace[top]
        if method:
            found = vars(found).get(method) if isinstance(found, type) else None
        if _still_raises(found):
            todo.append(Todo(name, position))
    return _in_notebook_order(todo), _in_notebook_order(list(undefined.values()))


def _in_notebook_order(todo: list[Todo]) -> list[Todo]:
    return sorted(todo, key=lambda t: t.cell or 0)


def _still_raises(function: Any) -> bool:
    """Whether a live function's source (which IPython keeps for every cell it ran) still holds the raise."""
    if isinstance(function, (staticmethod, classmethod)):
        function = function.__func__
    if not isinstance(function, types.FunctionType):
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(function))))
    except (OSError, TypeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return False   # no source to read: the tests will say what it does
    first = tree.body[0] if tree.body else None
    return isinstance(first, (ast.FunctionDef, ast.AsyncFunctionDef)) and _raises_unimplemented(first)


def _code_cells(nb: Notebook) -> list[tuple[int, NotebookCell, dict[str, Definitions | None]]]:
    """(position, cell, its definitions) of each code cell, in order."""
    cells = (cell for cell in nb.cells if cell.cell_type == "code")
    return [(position, cell, _definitions(cell.source)) for position, cell in enumerate(cells, start=1)]


def _is_solution(metadata: dict[str, Any]) -> bool:
    nbgrader = metadata.get("nbgrader")
    return isinstance(nbgrader, dict) and nbgrader.get("solution") is True


def _definitions(source: str) -> dict[str, Definitions | None]:
    """The top-level names a cell binds: a function gives its name, a class the names of its methods (with
    whether each still raises); any other binding (`softmax = torch.softmax`) gives None. A cell that
    does not parse defines nothing: it does not run."""
    try:
        tree = ast.parse(neutralise_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    found: dict[str, Definitions | None] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = {node.name: _raises_unimplemented(node)}
        elif isinstance(node, ast.ClassDef):
            found[node.name] = {f"{node.name}.{item.name}": _raises_unimplemented(item) for item in node.body
                                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))}
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Import, ast.ImportFrom)):
            found.update(dict.fromkeys(_bound_names(node)))
    return found


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).partition(".")[0] for alias in node.names]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)]


def _raises_unimplemented(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """`raise NotImplementedError()` or `raise NotImplementedError` in the function's own body (not in a
    function or class nested in it)."""
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Raise) and _is_bare_not_implemented(node.exc):
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def _is_bare_not_implemented(exc: ast.expr | None) -> bool:
    if isinstance(exc, ast.Call) and not exc.args and not exc.keywords:
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
