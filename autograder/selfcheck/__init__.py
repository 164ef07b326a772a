"""A student's self-check: the public tests of their assignment, run before they submit, from a terminal
(`grade check`) or from inside their notebook (`autograder.check()`), with the same table and messages.

`channel` serves the `student` proxy from the kernel's own namespace, `locate` finds the assignment's
public tests from inside a kernel, `parts` chooses the tests of one part, `todo` lists the solution regions
still unimplemented, `report` prints it all, and `kernel` is the in-notebook check itself.
"""
