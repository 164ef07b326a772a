"""Grading, in the trusted parent: reading a submission (`notebook`), running an assignment's tests
against it through a worker (`plugin`, `session`, `grade`), the reference's recorded values
(`reference`), the results (`results`), and a class on every core (`batch`)."""
