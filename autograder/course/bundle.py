"""The student bundle: stub notebook, public tests only, and the reference values they need.

Public tests may call functions of the `reference` fixture on inputs they make themselves. At release
time those calls are recorded while the tests run against the reference notebook; in the bundle the
`reference` fixture replays them, so students can run the public tests with no reference code.
"""
from __future__ import annotations

import ast
import hashlib
import os
from pathlib import Path
from typing import Any

from autograder.worker import wire
from autograder.errors import UsageError

VALUES_FILE = "reference_values.wire"


def public_tests_source(source: str, path: Path) -> str:
    """The test module with hidden tests removed, and the helpers only they used."""
    tree = ast.parse(source, filename=str(path))
    lines = source.splitlines(keepends=True)
    nodes = list(tree.body)
    kept_tests = [n for n in nodes if _is_test(n) and _is_public(n)]
    needed = _names_used(kept_tests)
    kept: set[int] = {id(n) for n in kept_tests}
    changed = True
    while changed:  # helpers used by kept code, transitively
        changed = False
        for node in nodes:
            if id(node) in kept or _is_test(node) or not (_defined_names(node) & needed):
                continue
            kept.add(id(node))
            needed |= _names_used([node])
            changed = True
    out: list[str] = []
    previous_short = False
    for node in nodes:
        is_docstring = node is nodes[0] and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            text = _import_of(node, needed, lines)
        elif id(node) in kept or is_docstring:
            start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
            text = "".join(lines[start - 1:node.end_lineno]).rstrip("\n")
        else:
            continue
        if text is None:
            continue
        short = isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign))
        if out:
            out.append("\n" if short and previous_short else "\n\n\n")
        out.append(text)
        previous_short = short
    return "".join(out) + "\n"


def _import_of(node: ast.Import | ast.ImportFrom, needed: set[str], lines: list[str]) -> str | None:
    """The import as written when the kept code uses every name it binds; only the used names when it uses
    some; None when it uses none. `from __future__` imports change how the module compiles: always kept."""
    def bound(alias: ast.alias) -> str:
        return alias.asname or (alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name)
    used = [alias for alias in node.names if bound(alias) in needed]
    if isinstance(node, ast.ImportFrom) and node.module == "__future__" or len(used) == len(node.names) \
            or any(alias.name == "*" for alias in node.names):
        return "".join(lines[node.lineno - 1:node.end_lineno]).rstrip("\n")
    if not used:
        return None
    pruned = ast.ImportFrom(node.module, used, node.level) if isinstance(node, ast.ImportFrom) else ast.Import(used)
    return ast.unparse(pruned)


def _is_test(node: ast.stmt) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")


def _is_public(node: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Attribute) and d.attr == "public" for d in node.decorator_list)


def _defined_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _names_used(nodes: list[ast.stmt]) -> set[str]:
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}


def call_key(name: str, args: tuple, kwargs: dict) -> str:
    """A stable key for a call on plain data: the hash of its wire encoding."""
    try:
        data = wire.pack({"name": name, "args": list(args), "kwargs": kwargs})
    except wire.WireError as exc:
        raise UsageError(f"a public test calls reference.{name} with arguments that are not plain data "
                         f"({exc})") from None
    return hashlib.sha256(data).hexdigest()


Calls = dict[str, tuple[str, Any]]   # one test's calls of the reference: call key -> (function, value)


class RecordingReference:
    """The reference module, recording each function call a public test makes and what it returned."""

    def __init__(self, module: Any, record: Calls) -> None:
        self._module, self._record = module, record

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._module, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            value = target(*args, **kwargs)
            value = _detached(value)
            try:
                wire.pack(value)
            except wire.WireError:
                raise UsageError(f"a public test uses reference.{name}, which returns a "
                                 f"{type(value).__name__}; public tests may only use reference functions "
                                 "that return plain data (tensors, numbers, tuples, lists, dicts)") from None
            self._record[call_key(name, args, kwargs)] = (name, value)
            return value

        return call


def _detached(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, tuple):
        return tuple(_detached(v) for v in value)
    if isinstance(value, list):
        return [_detached(v) for v in value]
    if isinstance(value, dict):
        return {k: _detached(v) for k, v in value.items()}
    return value


class RecordedReference:
    """Replays recorded reference results for the public tests in a student bundle."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            key = call_key(name, args, kwargs)
            if key not in self._values:
                raise UsageError(f"no recorded reference value for this call of {name}: the bundle is out of "
                                 "date with its tests (ask for a new release)")
            return self._values[key]

        return call


def recorded_values(record: dict[str, Calls]) -> dict[str, Any]:
    """What the bundle replays, by call key, from the calls each test made."""
    return {key: value for calls in record.values() for key, (_, value) in calls.items()}


def write_values(values: dict[str, Any], path: Path) -> None:
    """Deterministic bytes: keys in sorted order."""
    path.write_bytes(wire.pack({key: values[key] for key in sorted(values)}))


def read_values(path: Path) -> dict[str, Any]:
    fd = os.open(path, os.O_RDONLY)
    try:
        values = wire.read_message(fd, _no_handles)
    except (wire.WireError, EOFError) as exc:
        raise UsageError(f"{path}: not a valid reference values file ({exc})") from None
    finally:
        os.close(fd)
    if not isinstance(values, dict):
        raise UsageError(f"{path}: not a valid reference values file")
    return values


def _no_handles(handle: wire.Handle) -> Any:
    raise wire.WireError("handles are not allowed here")
