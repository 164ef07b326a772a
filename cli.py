"""The `grade` command: thin commands over the library in `autograder`."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

EXIT_OK, EXIT_UNDER, EXIT_USAGE, EXIT_UNREADABLE = 0, 1, 2, 3


def _notebooks(paths: tuple[Path, ...]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.glob("*.ipynb") if p.is_file())
        else:
            found.append(path)
    if not found:
        raise click.UsageError(f"no notebooks found in {', '.join(map(str, paths))}")
    return found


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_USAGE)


@click.group()
@click.version_option(package_name="dl-autograder")
def main() -> None:
    """Grade PyTorch notebook assignments; student code runs in an isolated worker process.

    Exit codes: 0 graded; 1 graded but a score is under --fail-under; 2 usage error;
    3 a submission could not be read (its result, scored 0, is still reported).
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--assignment", "-a", help="Assignment name (default: from the notebook's metadata or file name).")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder holding reference/ and assignments/.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the results as JSON here.")
@click.option("--fail-under", type=click.FloatRange(min=0), help="Exit with 1 if a score is below this.")
def run(paths: tuple[Path, ...], assignment: str | None, root: Path, json_path: Path | None,
        fail_under: float | None) -> None:
    """Grade notebooks (files, or folders of them) and print a table per submission."""
    from autograder.errors import UsageError
    from autograder.grading import grade_notebook
    from autograder.report import print_submission, print_summary
    from autograder.results import write_json_atomic

    console = Console()
    results = []
    for notebook in _notebooks(paths):
        try:
            result = grade_notebook(notebook, assignment, root)
        except UsageError as exc:
            _fail(str(exc))
        print_submission(console, result)
        results.append(result)
    if len(results) > 1:
        print_summary(console, results)
    if json_path:
        data = results[0].to_dict() if len(results) == 1 else {"submissions": [r.to_dict() for r in results]}
        write_json_atomic(json_path, data)
    if any(r.status == "unreadable" for r in results):
        sys.exit(EXIT_UNREADABLE)
    if fail_under is not None and any(r.score < fail_under for r in results):
        sys.exit(EXIT_UNDER)


@main.command()
@click.argument("notebook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--assignment", "-a", help="Assignment name (default: from the notebook's metadata or file name).")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder holding assignments/ (when the notebook is not in its bundle folder).")
def check(notebook: Path, assignment: str | None, root: Path) -> None:
    """Run the public tests on your notebook, offline, before you submit."""
    from autograder.assignments import find_bundle
    from autograder.errors import UsageError
    from autograder.grading import grade, resolve_assignment
    from autograder.report import print_submission

    console = Console()
    try:
        name = resolve_assignment(notebook, assignment, root)
        result = grade(notebook, find_bundle(notebook, name, root), public_only=True)
    except UsageError as exc:
        _fail(str(exc))
    print_submission(console, result)
    todo = [t.name for t in result.tests if t.status == "not_implemented"]
    if todo:
        console.print(f"Still to implement: {', '.join(todo)}")
    console.print(f"Public tests: {result.score:g}/{result.max_score:g} points. "
                  "Hidden tests will also run when your work is graded.")
    if result.status == "unreadable":
        sys.exit(EXIT_UNREADABLE)


@main.command()
@click.argument("names", nargs=-1)
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder holding reference/.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the bundle (default: ROOT/assignments).")
def release(names: tuple[str, ...], root: Path, out: Path | None) -> None:
    """Build the student bundle (stub, public tests, reference values) of each assignment, or of NAMES."""
    from autograder.assignments import available, find_assignment
    from autograder.errors import UsageError
    from autograder.release import release_assignment

    chosen = names or available(root, ("reference",))
    if not chosen:
        _fail(f"no assignments under {root / 'reference'}")
    try:
        for name in chosen:
            click.echo(release_assignment(find_assignment(name, root, ("reference",)), out or root / "assignments"))
    except UsageError as exc:
        _fail(str(exc))
