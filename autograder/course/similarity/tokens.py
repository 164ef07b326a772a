"""Python source as the similarity finder compares it: a stream of normalised tokens, cut into units.

What a copier changes without changing the program is taken out: comments, docstrings, blank lines,
indentation and line breaks inside brackets are dropped; every name the code itself binds (variables,
parameters, its own functions, classes and attributes) becomes `V`; numbers become `N` and strings `S`.
What is kept is what the program does with the libraries: keywords, operators, and the names it uses but
does not bind (`torch`, `.sum`, `dim=`). Each top-level function or class is a unit of its own, and the
other top-level statements of a cell make one unit, so reordering functions or splitting and merging
cells changes no unit. Only the tokenizer and the parser read the code: nothing of it is ever run.
"""
from __future__ import annotations

import ast
import io
import itertools
import keyword
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from autograder.grading.notebook import neutralise_magics

_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)   # Python 3.12 splits f-strings into parts
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
STATEMENT_END = ";"
_DEFINITIONS = {"def", "class", "async", "@"}
_STATEMENT_BREAKS = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}


class Token(NamedTuple):
    """A normalised token and the characters of the cell it came from."""

    text: str
    start: int
    end: int


@dataclass
class Names:
    """What a submission binds, so that renaming it changes nothing: names and attribute names.
    `kept` are the names the stub defines (functions, classes, methods), which a student cannot rename."""

    bound: set[str] = field(default_factory=set)
    attributes: set[str] = field(default_factory=set)
    kept: frozenset[str] = frozenset()


def defined_names(sources: Iterable[str]) -> frozenset[str]:
    """Every function, class and method name the sources define: the stub's, which grading calls by name."""
    found: set[str] = set()
    for source in sources:
        tree = _parse(source)
        if tree is not None:
            found |= {n.name for n in ast.walk(tree)
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return frozenset(found)


def bound_names(sources: Iterable[str], kept: frozenset[str]) -> Names:
    """The names and attribute names the sources bind, read from their syntax trees (for a cell that
    does not parse, from its tokens: a name before `=`, or after `def`, `class`, `for`, `as`)."""
    names = Names(kept=kept)
    for source in sources:
        tree = _parse(source)
        if tree is None:
            _bound_by_tokens(source, names)
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.bound.add(node.name)
            elif isinstance(node, ast.arg):
                names.bound.add(node.arg)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                names.bound.add(node.id)
            elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
                names.attributes.add(node.attr)
            elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
                names.bound.add(node.name)
    names.bound -= kept
    names.attributes -= kept
    return names


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(neutralise_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _raw_tokens(source: str) -> Iterator[tokenize.TokenInfo]:
    """The tokenizer's tokens, up to the first place it gives up (an unclosed bracket or string, bad
    indentation): what comes before it is still compared."""
    try:
        yield from tokenize.generate_tokens(io.StringIO(source).readline)
    except (tokenize.TokenError, SyntaxError):
        return


def _bound_by_tokens(source: str, names: Names) -> None:
    significant = [t for t in _raw_tokens(source) if t.type not in _SKIPPED]
    for before, token, after in zip([None, *significant], significant, [*significant[1:], None]):
        if token.type != tokenize.NAME or keyword.iskeyword(token.string):
            continue
        follows = before.string if before else ""
        if follows == "." and after is not None and after.string == "=":
            names.attributes.add(token.string)
        elif follows in ("def", "class", "for", "as") or after is not None and after.string == "=":
            names.bound.add(token.string)


def _offsets(source: str) -> list[int]:
    """Where each line starts, as the tokenizer reads lines (split at new lines only)."""
    return list(itertools.accumulate((len(line) + 1 for line in source.split("\n")), initial=0))


def _offset(starts: list[int], position: tuple[int, int]) -> int:
    """The character offset of a tokenizer position, at most the length of the source (starts[-1] - 1)."""
    row, column = position
    return min(starts[row - 1] + column, starts[-1] - 1) if row < len(starts) else starts[-1] - 1


def units(source: str, names: Names) -> list[list[Token]]:
    """The cell's normalised tokens, cut into units: each top-level `def` or `class` (with its
    decorators) is one, and each run of other top-level statements between them is one."""
    starts = _offsets(source)
    found: list[list[Token]] = []
    current: list[Token] = []
    kind = ""
    depth = 0              # indentation level
    brackets = 0
    statement_start = True
    signature: int | None = None   # bracket depth of the parameter list being read, if any
    tokens = [t for t in _fstrings(_raw_tokens(source)) if t.type not in _SKIPPED or t.type in
              (tokenize.INDENT, tokenize.DEDENT)]
    docstrings = _bare_strings(tokens)
    for index, info in enumerate(tokens):
        if info.type == tokenize.INDENT:
            depth += 1
            continue
        if info.type == tokenize.DEDENT:
            depth -= 1
            continue
        if statement_start and depth == 0 and info.type != tokenize.NEWLINE:
            starts_definition = info.string in _DEFINITIONS
            if not (kind == "decorated" and starts_definition) and (current and (starts_definition or kind != "code")):
                found.append(current)
                current = []
            kind = ("decorated" if info.string == "@" else "definition") if starts_definition else "code"
        statement_start = info.type == tokenize.NEWLINE or info.string == ";"
        start, end = _offset(starts, info.start), _offset(starts, info.end)
        text = None if index in docstrings else _normalised(info, tokens, index, names, brackets, signature)
        if info.type == tokenize.OP and info.string in ("(", "[", "{"):
            brackets += 1
            if signature is None and index >= 2 and tokens[index - 2].string == "def":
                signature = brackets
        elif info.type == tokenize.OP and info.string in (")", "]", "}"):
            if signature == brackets:
                signature = None
            brackets = max(brackets - 1, 0)
        if text is not None:
            current.append(Token(text, start, end))
    if current:
        found.append(current)
    return [unit for unit in map(squeezed, found) if unit]


def squeezed(tokens: list[Token]) -> list[Token]:
    """The tokens without empty statements (what a dropped docstring or line leaves): no `;` first,
    none right after another."""
    out: list[Token] = []
    for token in tokens:
        if token.text != STATEMENT_END or out and out[-1].text != STATEMENT_END:
            out.append(token)
    return out


def _normalised(info: tokenize.TokenInfo, tokens: list[tokenize.TokenInfo], index: int, names: Names,
                brackets: int, signature: int | None) -> str | None:
    """The token as compared, or None for one that is dropped."""
    if info.type == tokenize.NEWLINE or info.string == ";":
        return STATEMENT_END
    if info.type == tokenize.NUMBER:
        return "N"
    if info.type == tokenize.STRING:
        return "S"
    if info.type != tokenize.NAME or keyword.iskeyword(info.string):
        return info.string.strip() or None
    before = tokens[index - 1].string if index else ""
    after = tokens[index + 1].string if index + 1 < len(tokens) else ""
    if before == ".":
        return "V" if info.string in names.attributes else info.string
    if brackets and signature is None and before in ("(", ",") and after == "=":
        return info.string   # a keyword argument of a call: the called function's own name for it
    return "V" if info.string in names.bound else info.string


def _bare_strings(tokens: list[tokenize.TokenInfo]) -> set[int]:
    """The positions of strings that make a statement of their own (docstrings): a run of strings with a
    statement's start before it and its end after it. Linear, however many strings follow each other."""
    bare: set[int] = set()
    index = 0
    while index < len(tokens):
        if tokens[index].type != tokenize.STRING:
            index += 1
            continue
        last = index
        while last + 1 < len(tokens) and tokens[last + 1].type == tokenize.STRING:
            last += 1
        before = tokens[index - 1] if index else None
        after = tokens[last + 1] if last + 1 < len(tokens) else None
        opens = before is None or before.type in _STATEMENT_BREAKS or before.string == ";"
        closes = after is None or after.type in _STATEMENT_BREAKS or after.string == ";"
        if opens and closes:
            bare.update(range(index, last + 1))
        index = last + 1
    return bare


def _fstrings(tokens: Iterable[tokenize.TokenInfo]) -> Iterator[tokenize.TokenInfo]:
    """Python 3.12's f-string parts joined into one STRING token, as older tokenizers give it."""
    if _FSTRING_START is None:
        yield from tokens
        return
    opened: tokenize.TokenInfo | None = None
    nesting = 0
    for token in tokens:
        if token.type == _FSTRING_START:
            opened = opened or token
            nesting += 1
        elif token.type == _FSTRING_END and opened is not None:
            nesting -= 1
            if nesting == 0:
                yield tokenize.TokenInfo(tokenize.STRING, "f''", opened.start, token.end, opened.line)
                opened = None
        elif opened is None:
            yield token
