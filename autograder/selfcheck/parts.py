"""The tests of one part of an assignment, for `check("mse_loss")`: those whose name holds the part, and
those that call it (`student.mse_loss`, or a name passed beside `student` to a helper, as in
`getattr(student, "relu")`; directly or in a helper of the test module they call)."""
from __future__ import annotations

import ast
from pathlib import Path

Function = ast.FunctionDef | ast.AsyncFunctionDef


def called_names(source: str, path: Path) -> dict[str, set[str]]:
    """Each test of the module, and the names it takes from the `student` fixture."""
    tree = ast.parse(source, filename=str(path))
    functions = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return {name: _names_from_student(node, functions) for name, node in functions.items() if name.startswith("test")}


def _names_from_student(test: Function, functions: dict[str, Function]) -> set[str]:
    names: set[str] = set()
    seen, todo = {test.name}, [test]
    while todo:
        for node in ast.walk(todo.pop()):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "student":
                names.add(node.attr)
            elif isinstance(node, ast.Call) and any(isinstance(a, ast.Name) and a.id == "student" for a in node.args):
                # getattr(student, "relu"), check_activation(student, "relu", ...): a name to look up in student
                names.update(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                             and a.value.isidentifier())
            if isinstance(node, ast.Name) and node.id in functions and node.id not in seen:
                seen.add(node.id)
                todo.append(functions[node.id])
    return names


def tests_of(part: str, calls: dict[str, set[str]]) -> list[str]:
    """The tests whose name holds `part` (any case), or that call it; `MLP.forward` is a part of `MLP`."""
    top = part.partition(".")[0]
    return [test for test, names in calls.items() if part.lower() in test.lower() or top in names]
