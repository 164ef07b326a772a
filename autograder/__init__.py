"""Auto-graded PyTorch assignments: student code runs in an isolated worker, every verdict is made by the
grader. Importing this package imports nothing heavy: `check` loads the rest when it is called."""
from __future__ import annotations


def check(part: str | None = None) -> None:
    """Run your assignment's public tests against this notebook's definitions and print the results, as
    `grade check` does: `check()` for every public test, `check("mse_loss")` for the tests of one part.
    Run it from a notebook in the assignment's folder (beside test_<assignment>.py)."""
    from autograder.selfcheck.kernel import check as check_kernel

    check_kernel(part)
