"""`python -I -m autograder.worker`: a fresh worker process, serving one submission."""
from autograder.worker.serve import main

main()
