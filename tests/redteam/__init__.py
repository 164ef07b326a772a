"""Red-team suite: one hostile submission per test, each with the outcome it must have.

A package (not a bare folder) so that its conftest is imported as `redteam.conftest` and never takes the
name `conftest` that the project's other test modules import `notebook_variant` from.
"""
