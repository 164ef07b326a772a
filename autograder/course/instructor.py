"""The instructor's tools are an optional install (`[instructor]`): a student's install, which only checks
notebooks, leaves out nbgrader and nbformat, and with them Jupyter. Commands that need them say so first."""
from __future__ import annotations

import importlib.util

from autograder.errors import UsageError

PACKAGES = ("nbgrader", "nbformat")
INSTALL = "pip install -c constraints.txt -e '.[instructor]'"


def require_instructor_tools(command: str) -> None:
    """A UsageError naming what is missing and how to install it, unless the instructor's tools are there.
    Checked without importing them (nbgrader takes seconds), before any work starts."""
    missing = [name for name in PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"{command} is an instructor's command and needs {' and '.join(missing)}, which a "
                         f"student's install leaves out. Install the instructor's tools: {INSTALL}")
