"""The mistake behind an exception that proves it by itself: a name read before anything was assigned to it,
or an attribute of `self` read that the object was never given.

Python's message says only what failed, at the line that reads the value; the statement that should have
given it a value is elsewhere (missing, misspelt, later, or on a branch that did not run). Tests add these
words to the failure so the student is told what to look for, and where.
"""
from __future__ import annotations

import re

from autograder.errors import StudentCodeError

_FRAME = re.compile(r'^  File "<[^>]*>", line \d+, in (\S+)\n(.*)$', re.MULTILINE)
_UNBOUND = re.compile(r"cannot access (?:local|free) variable '(\w+)' where it is not associated with a value")
_UNDEFINED = re.compile(r"^name '(\w+)' is not defined")
_NO_ATTRIBUTE = re.compile(r"^'\w+' object has no attribute '(\w+)'")


def _deepest_frame(traceback: str) -> tuple[str, str] | None:
    """(function, source line) of the deepest frame in the student's cells that is a named function (a
    comprehension's frame stands for the function around it)."""
    frames = [(function, line.strip()) for function, line in _FRAME.findall(traceback)]
    named = [frame for frame in frames if not frame[0].startswith("<")]
    return (named or frames or [None])[-1]


def unassigned_mistake(exc: StudentCodeError) -> str | None:
    """What was left unassigned, if the exception proves it; None for any other exception."""
    frame = _deepest_frame(exc.traceback)
    where = f"in {frame[0]}" if frame else "in your code"
    if exc.type_name in ("UnboundLocalError", "NameError") and (unbound := _UNBOUND.search(exc.message)):
        return (f"`{unbound[1]}` is read {where} before any value is assigned to it: the assignment that gives it "
                f"its first value is missing, comes only later, or sits in a branch that did not run")
    if exc.type_name == "NameError" and (undefined := _UNDEFINED.match(exc.message)):
        return (f"`{undefined[1]}` is used {where}, but no variable, function or module of that name exists: the "
                f"assignment (or import) that defines it is missing, or the name is spelt differently there")
    no_attribute = _NO_ATTRIBUTE.match(exc.message) if exc.type_name == "AttributeError" else None
    if no_attribute and frame and re.search(rf"\bself\.{no_attribute[1]}\b", frame[1]):
        attribute = no_attribute[1]
        return (f"{frame[0]} reads self.{attribute}, which the object was never given: __init__ must set it "
                f"(self.{attribute} = ...) under that same name")
    return None
