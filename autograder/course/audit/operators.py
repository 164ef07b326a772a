"""Mutation operators: each proposes small, plausible mistakes in a cell's solution regions.

An operator yields `Change`s: replace the cell's characters `start:end` with `text`. Operator tokens are
swapped in place; an expression that moves into another context is parenthesised unless it is an atom,
so a change never alters how the code around it parses.
"""
from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from autograder.course.audit.cells import CellSource


class Change(NamedTuple):
    description: str
    start: int
    end: int
    text: str


_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.Lt: "<", ast.LtE: "<=",
            ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=", ast.And: "and", ast.Or: "or"}
_ARITHMETIC = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult}
_COMPARISONS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                ast.NotEq: ast.Eq}
_ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant, ast.List, ast.Dict, ast.Set,
          ast.ListComp, ast.SetComp, ast.DictComp)
# Positions of the dimension arguments when called as a tensor method (x.sum(1)); as a function of
# torch or torch.nn.functional (torch.sum(x, 1)) the tensor comes first, so each is one further on.
_DIM_POSITIONS = {
    **dict.fromkeys(("sum", "mean", "max", "min", "argmax", "argmin", "softmax", "log_softmax", "logsumexp",
                     "cumsum", "prod", "std", "var", "squeeze", "unsqueeze", "gather", "size", "cat", "stack",
                     "all", "any", "flip"), (0,)),
    "transpose": (0, 1), "split": (1,), "chunk": (1,),
}
_DIM_CHANGES = {0: (1,), 1: (0, -1), -1: (-2,), -2: (-1,)}
_DROPPABLE_CALLS = {"eval", "train", "zero_grad", "backward", "step"}
_SCALAR_REDUCTIONS = {"sum", "mean", "max", "min", "prod", "norm"}


def _short(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _grouped(node: ast.expr, text: str) -> str:
    """`text` (the source of `node`), parenthesised unless it is an atom that binds tighter than any operator."""
    return text if isinstance(node, _ATOMS) else f"({text})"


def _tokens(cell: CellSource, gaps: list[tuple[ast.AST, ast.AST]], old: str, new: str) -> Change | None:
    """One operator written between each pair of nodes, `old` replaced by `new` in every gap."""
    found = []
    for before, after in gaps:
        start, end = cell.span(before)[1], cell.span(after)[0]
        gap = re.sub(r"#[^\n]*", lambda comment: " " * len(comment.group()), cell.text[start:end])
        if re.sub(r"[\s()\\]", "", gap) != old:
            return None
        found.append(start + gap.index(old))
    first, last = found[0], found[-1] + len(old)
    text = cell.text[first:last]
    for at in reversed(found):
        text = text[: at - first] + new + text[at - first + len(old):]
    return Change(f"{old} → {new}", first, last, text)


def arithmetic(cell: CellSource) -> Iterator[Change]:
    """+ ↔ -, * ↔ /, ** → *, in expressions and augmented assignments."""
    for node in cell.nodes(ast.BinOp, ast.AugAssign):
        new = _ARITHMETIC.get(type(node.op))
        if new is None:
            continue
        old_symbol, new_symbol = _SYMBOLS[type(node.op)], _SYMBOLS[new]
        if isinstance(node, ast.AugAssign):
            change = _tokens(cell, [(node.target, node.value)], old_symbol + "=", new_symbol + "=")
        else:
            change = _tokens(cell, [(node.left, node.right)], old_symbol, new_symbol)
        if change:
            yield change


def comparison(cell: CellSource) -> Iterator[Change]:
    """< ↔ <=, > ↔ >=, == ↔ !=, one comparison of a chain at a time."""
    for node in cell.nodes(ast.Compare):
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            new = _COMPARISONS.get(type(op))
            change = new and _tokens(cell, [(operands[i], operands[i + 1])], _SYMBOLS[type(op)], _SYMBOLS[new])
            if change:
                yield change


def boolean(cell: CellSource) -> Iterator[Change]:
    """and ↔ or."""
    for node in cell.nodes(ast.BoolOp):
        old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
        change = _tokens(cell, list(zip(node.values, node.values[1:])), old, new)
        if change:
            yield change


def _int_literal(node: ast.AST) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_literal(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _is_torch_module(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id in ("torch", "F", "functional")
            or isinstance(node, ast.Attribute) and node.attr == "functional")


def dim_arguments(cell: CellSource) -> list[ast.expr]:
    """Integer literals passed as a dimension: `dim=`/`axis=` keywords, and the positional dimension
    arguments of the tensor methods and torch functions in _DIM_POSITIONS."""
    found = []
    for call in ast.walk(cell.tree):
        if not isinstance(call, ast.Call):
            continue
        found += [keyword.value for keyword in call.keywords if keyword.arg in ("dim", "axis")]
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in _DIM_POSITIONS:
            shift = 1 if _is_torch_module(func.value) else 0
            found += [call.args[i + shift] for i in _DIM_POSITIONS[func.attr] if i + shift < len(call.args)]
    return [node for node in found if _int_literal(node) is not None]


def _in_dims(cell: CellSource) -> set[int]:
    """The ids of every node inside a dimension argument: those belong to the `dim` operator."""
    return {id(node) for argument in dim_arguments(cell) for node in ast.walk(argument)}


def _variants(value: object) -> list[object]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1] + ([0] if value != 0 else [])
    if isinstance(value, float):
        found = [value * 2, 0.0] if value != 0 else []
        found += [1.0] if value != 1 else []
        return [v for i, v in enumerate(found) if math.isfinite(v) and v not in found[:i]]
    return []


def constant(cell: CellSource) -> Iterator[Change]:
    """n → n+1 and n → 0; x → 2x, 0.0 and 1.0; True ↔ False. Dimension arguments are the `dim` operator's."""
    in_dims = _in_dims(cell)
    for node in cell.nodes(ast.Constant):
        if id(node) in in_dims:
            continue
        for new in _variants(node.value):
            yield Change(f"{node.value!r} → {new!r}", *cell.span(node), repr(new))


def dim(cell: CellSource) -> Iterator[Change]:
    """A dimension argument changed: 0 ↔ 1, -1 ↔ -2, 1 → -1 (others one step towards 0)."""
    for node in sorted(dim_arguments(cell), key=lambda node: (node.lineno, node.col_offset)):
        if not cell.mutable(node):
            continue
        value = _int_literal(node)
        for new in _DIM_CHANGES.get(value, (value - 1 if value > 0 else value + 1,)):
            yield Change(f"dim {value} → {new}", *cell.span(node), str(new))


def drop_call(cell: CellSource) -> Iterator[Change]:
    """A call that changes state, made as a statement, dropped: eval(), train(), zero_grad(), backward(), step()."""
    for node in cell.nodes(ast.Expr):
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in _DROPPABLE_CALLS:
            yield Change(f"drop {_short(cell.segment(call))}", *cell.span(node), "pass")


def _is_no_grad(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and (isinstance(node.func, ast.Attribute) and node.func.attr == "no_grad"
                                           or isinstance(node.func, ast.Name) and node.func.id == "no_grad")


def no_grad(cell: CellSource) -> Iterator[Change]:
    """`with torch.no_grad():` replaced by its body, dedented."""
    for node in cell.nodes(ast.With):
        if len(node.items) != 1 or node.items[0].optional_vars or not _is_no_grad(node.items[0].context_expr):
            continue
        start, end = cell.span(node)
        first = node.body[0]
        if first.lineno == node.lineno:  # with torch.no_grad(): return x
            yield Change("run the body of with torch.no_grad() with gradients", start, end,
                         cell.text[cell.span(first)[0]:end])
            continue
        outer = start - cell.line_start(node.lineno)
        inner = cell.span(first)[0] - cell.line_start(first.lineno)
        lines = cell.text[cell.line_start(first.lineno):end].split("\n")
        body = "\n".join(line[inner - outer:] if line[: inner - outer].isspace() else line for line in lines)
        yield Change("run the body of with torch.no_grad() with gradients", start, end, body[outer:])


def drop_copy(cell: CellSource) -> Iterator[Change]:
    """.detach() or .clone() removed."""
    for call in cell.nodes(ast.Call):
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in ("detach", "clone") and not call.args and not call.keywords:
            yield Change(f"drop .{func.attr}()", *cell.span(call), _grouped(func.value, cell.segment(func.value)))


def swap_args(cell: CellSource) -> Iterator[Change]:
    """The two positional arguments of a call swapped."""
    for call in cell.nodes(ast.Call):
        if len(call.args) != 2 or any(isinstance(arg, ast.Starred) for arg in call.args):
            continue
        first, second = call.args
        (start, first_end), (second_start, end) = cell.span(first), cell.span(second)
        if cell.segment(first) != cell.segment(second):
            yield Change(f"swap the arguments of {_short(cell.segment(call.func))}", start, end,
                         cell.segment(second) + cell.text[first_end:second_start] + cell.segment(first))


def return_none(cell: CellSource) -> Iterator[Change]:
    """`return x` → `return None`."""
    for node in cell.nodes(ast.Return):
        if node.value is not None and not (isinstance(node.value, ast.Constant) and node.value.value is None):
            yield Change("return None", *cell.span(node.value), "None")


def return_type(cell: CellSource) -> Iterator[Change]:
    """The type of a returned value changed: a tensor for `.item()`, `float(...)` or `int(...)`, and a
    Python number for a full reduction (`.mean()` → `.mean().item()`)."""
    for node in cell.nodes(ast.Return):
        value = node.value
        if not isinstance(value, ast.Call) or value.keywords:
            continue
        func, span = value.func, cell.span(value)
        if isinstance(func, ast.Attribute) and func.attr == "item" and not value.args:
            yield Change("return the tensor, not .item()", *span, _grouped(func.value, cell.segment(func.value)))
        elif isinstance(func, ast.Name) and func.id in ("float", "int") and len(value.args) == 1:
            arg = value.args[0]
            yield Change(f"return the tensor, not {func.id}(...)", *span, _grouped(arg, cell.segment(arg)))
        elif isinstance(func, ast.Attribute) and func.attr in _SCALAR_REDUCTIONS and not value.args:
            yield Change(f"return a Python number: .{func.attr}().item()", *span, cell.segment(value) + ".item()")


def drop_keyword(cell: CellSource) -> Iterator[Change]:
    """A keyword argument that passes a variable (`p=self.p`, `lr=lr`) removed, so its default applies."""
    for call in cell.nodes(ast.Call):
        arguments = sorted([*call.args, *call.keywords], key=lambda node: (node.lineno, node.col_offset))
        for i, keyword in enumerate(arguments):
            if not (isinstance(keyword, ast.keyword) and keyword.arg
                    and isinstance(keyword.value, (ast.Name, ast.Attribute))):
                continue
            start, end = cell.span(keyword)
            if i > 0:
                start = cell.span(arguments[i - 1])[1]
            elif i + 1 < len(arguments):
                end = cell.span(arguments[i + 1])[0]
            yield Change(f"drop {_short(cell.segment(keyword))} (its default applies)", start, end, "")


def unary_minus(cell: CellSource) -> Iterator[Change]:
    """A unary minus removed, or added to a returned value or an assigned arithmetic expression."""
    in_dims = _in_dims(cell)
    for node in cell.nodes(ast.UnaryOp, ast.Return, ast.Assign):
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub) and id(node) not in in_dims:
                yield Change("drop unary -", *cell.span(node), _grouped(node.operand, cell.segment(node.operand)))
            continue
        value = node.value
        negatable = (ast.BinOp, ast.Call, ast.Name, ast.Attribute, ast.Subscript) if isinstance(node, ast.Return) \
            else (ast.BinOp,)
        if isinstance(value, negatable):
            yield Change("negate the value", *cell.span(value), "-" + _grouped(value, cell.segment(value)))


def delete(cell: CellSource) -> Iterator[Change]:
    """A simple statement (assignment or expression) replaced by `pass`."""
    for node in cell.nodes(ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr):
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):  # a docstring
            yield Change("delete the statement", *cell.span(node), "pass")


# In this order: of two operators that make the same mutant, the first names it.
OPERATORS: dict[str, Callable[[CellSource], Iterator[Change]]] = {
    "arithmetic": arithmetic, "comparison": comparison, "boolean": boolean, "constant": constant, "dim": dim,
    "drop-call": drop_call, "no-grad": no_grad, "drop-copy": drop_copy, "swap-args": swap_args,
    "return-none": return_none, "return-type": return_type, "drop-keyword": drop_keyword,
    "unary-minus": unary_minus, "delete": delete,
}
