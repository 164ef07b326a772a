"""The reference solution, executed in the grading process: it is the instructor's own, trusted code."""
from __future__ import annotations

import types
from pathlib import Path

from autograder.grading.notebook import is_demo, neutralise_magics, read_notebook

_cache: dict[tuple[Path, float], types.ModuleType] = {}


def load_reference(path: Path) -> types.ModuleType:
    """The reference notebook's namespace as a module (demonstration cells skipped), cached per file."""
    key = (path.resolve(), path.stat().st_mtime)
    if key not in _cache:
        nb = read_notebook(path)
        module = types.ModuleType(f"reference_{path.stem}")
        for index, cell in enumerate(nb.cells, start=1):
            if cell.cell_type == "code" and not is_demo(cell):
                exec(compile(neutralise_magics(cell.source), f"<reference {path.name} cell {index}>", "exec"),
                     module.__dict__)
        _cache[key] = module
    return _cache[key]
