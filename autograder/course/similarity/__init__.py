"""Finding copied submissions (`grade similar`), by reading their code: nothing of it is ever run.

`collect` finds a class's notebooks of one assignment as `grade batch` does and reads them, `code` takes
out the student's own code (the stub's taken out) and its fingerprints, `tokens` normalises Python so
that renaming, reordering and reformatting change nothing, `winnow` picks the fingerprints, `index`
scores the pairs through an inverted index, `evidence` finds the matching stretches of a pair, and
`report` and `html` show them. docs/similarity.md says what a score means.
"""
