"""Mutation analysis of an assignment's tests (`grade audit`): small mistakes are planted in the
solution regions of the reference notebook, one per mutant, and each mutant is graded as a submission.
A mutant that still scores full marks shows a mistake the tests cannot see.

`cells` finds the solution regions of a cell and maps its syntax tree back to its text, `operators`
proposes the mistakes, `mutants` turns them into mutant notebooks with stable ids, `equivalents` reads the
author's declarations of mutants that cannot be told apart from the solution, `run` grades them through
the batch path, and `report` shows the outcome. Nothing here knows any one assignment.
"""
