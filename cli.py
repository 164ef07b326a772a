"""The `grade` command: thin commands over the library in `autograder`."""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from autograder.reports import ReportPaths

EXIT_OK, EXIT_UNDER, EXIT_USAGE, EXIT_UNREADABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _notebooks(paths: tuple[Path, ...]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.ipynb") if p.is_file() or p.is_symlink())
            if not inside:
                _fail(f"no notebooks found in {path}")
            found += inside
        else:
            found.append(path)
    return found


def _fail(message: str) -> None:
    """Exit 2 with the message on standard error: bounded, made inert and fenced like every print."""
    from autograder.bounds import ERROR_CHARS, clip
    from autograder.reports.terminal import Terminal

    Terminal(stderr=True).line(f"Error: {clip(message, ERROR_CHARS)}")
    sys.exit(EXIT_USAGE)


@click.group()
@click.version_option(package_name="dl-autograder")
def main() -> None:
    """Grade PyTorch notebook assignments; student code runs in an isolated worker process.

    Exit codes: 0 graded; 1 graded but a score is under --fail-under; 2 usage error;
    3 a submission could not be read (its result, scored 0, is still reported);
    130 interrupted (Ctrl-C): the reports hold what was graded and say they are incomplete.
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--assignment", "-a", help="Assignment name (default: from the notebook's metadata or file name).")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder holding reference/ and assignments/.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the results as JSON here.")
@click.option("--gradescope", "gradescope_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write Gradescope's results.json here (one notebook only).")
@click.option("--fail-under", type=click.FloatRange(min=0), help="Exit with 1 if a score is below this.")
def run(paths: tuple[Path, ...], assignment: str | None, root: Path, json_path: Path | None,
        gradescope_path: Path | None, fail_under: float | None) -> None:
    """Grade notebooks (files, or folders of them) and print a table per submission."""
    from autograder.reports.destinations import Destination, check_destinations

    with _reporting():  # before anything starts, so a mistyped path costs nothing
        check_destinations(Destination(option, path) for option, path in
                           (("--json", json_path), ("--gradescope", gradescope_path)) if path)
    from autograder.worker.launch import start_zygote

    start_zygote()  # it warms up while this process imports pytest and torch
    from autograder.grading.assignments import assignments
    from autograder.errors import UsageError
    from autograder.grading.grade import assignment_for, grade_as
    from autograder.reports.terminal import Terminal, submission_view, summary_view
    from autograder.reports import incomplete_line, write_gradescope
    from autograder.grading.results import results_document, write_json_atomic

    notebooks = _notebooks(paths)
    if gradescope_path and len(notebooks) > 1:
        raise click.UsageError("--gradescope writes one submission's results.json: give one notebook")
    out = Terminal()
    results = []
    known = assignments(root)
    try:  # before grading anything, so a usage error loses no results
        targets = [assignment_for(notebook, assignment, known) for notebook in notebooks]
    except UsageError as exc:
        _fail(str(exc))
    interrupted = False
    try:
        for notebook, target in zip(notebooks, targets):
            try:
                result = grade_as(notebook, target)
            except UsageError as exc:  # the assignment's own tests cannot run
                _fail(str(exc))
            out.print(submission_view(result))
            results.append(result)
    except KeyboardInterrupt:  # the worker is gone: report what was graded
        interrupted = True
    if len(results) > 1:
        out.print(summary_view(results))
    if interrupted:
        out.line(incomplete_line(results))
    with _reporting():
        if json_path:
            one = len(results) == 1 and not interrupted
            write_json_atomic(json_path, results[0].to_dict() if one else results_document(results, interrupted))
        if gradescope_path and results:
            write_gradescope(results[0], gradescope_path)
    sys.exit(EXIT_INTERRUPTED if interrupted else _exit_code(results, fail_under))


def _exit_code(results: list, fail_under: float | None) -> int:
    if any(r.status == "unreadable" for r in results):
        return EXIT_UNREADABLE
    if fail_under is not None and any(r.score < fail_under for r in results):
        return EXIT_UNDER
    return EXIT_OK


@contextlib.contextmanager
def _reporting() -> Iterator[None]:
    """A report that cannot be written is a usage error (exit 2) that names it, never a traceback."""
    from autograder.errors import ReportError

    try:
        yield
    except ReportError as exc:
        _fail(str(exc))


def _report_options(command: Callable) -> Callable:
    for option in reversed([
        click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
                     help='Write {"submissions": [...], "incomplete": false} here.'),
        click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML here."),
        click.option("--gradescope", type=click.Path(file_okay=False, path_type=Path),
                     help="Write one Gradescope results file per submission into this folder."),
        click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write a gradebook CSV here."),
        click.option("--classroom", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write GitHub Classroom's runner result here."),
        click.option("--feedback", type=click.Path(file_okay=False, path_type=Path),
                     help="Write per-student feedback (Markdown and HTML, visible tests only) into this folder."),
        click.option("--fail-under", type=click.FloatRange(min=0), help="Exit with 1 if a score is below this."),
    ]):
        command = option(command)
    return command


def _report_paths(options: dict) -> ReportPaths:
    """The reports asked for, checked before anything is graded: one that cannot be written is exit 2."""
    from autograder.reports import ReportPaths

    paths = ReportPaths(json=options["json_path"], junit=options["junit"], gradescope=options["gradescope"],
                        csv=options["csv_path"], classroom=options["classroom"], feedback=options["feedback"])
    with _reporting():
        paths.check()
    return paths


def _finish(results: list, paths: ReportPaths, fail_under: float | None, incomplete: bool) -> None:
    """Write the reports, print the summary and GitHub annotations, and exit with the documented code."""
    from autograder.reports.terminal import Terminal, summary_view
    from autograder.reports import github_annotations, incomplete_line, write_reports

    out = Terminal()
    with _reporting():
        write_reports(results, paths, incomplete)
    out.print(summary_view(results))
    if incomplete:
        out.line(incomplete_line(results))
    if out.github:
        for line in github_annotations(results):
            out.command(line)
    sys.exit(EXIT_INTERRUPTED if incomplete else _exit_code(results, fail_under))


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--assignment", "-a", help="Grade every notebook as this assignment (default: inferred per notebook).")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder holding reference/ and assignments/.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of the class (columns: id, and optionally name, email, lms_id): everyone on it gets a row.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Submissions graded at once (default: all cores).")
@click.option("--shard", default="1/1", show_default=True, help="Grade only shard i of N (for CI matrices).")
@_report_options
def batch(folder: Path, assignment: str | None, root: Path, roster: Path | None, jobs: int | None, shard: str,
          **options: Any) -> None:
    """Grade every notebook under FOLDER, in parallel, and write the reports.

    Every student folder, and with --roster everyone on the roster, gets a row: graded, unreadable or missing.
    """
    from autograder.grading.assignments import available
    from autograder.grading.batch import Shard, default_jobs, grade_class
    from autograder.course.classlist import class_rows
    from autograder.errors import UsageError
    from autograder.reports.terminal import Terminal
    from autograder.course.roster import read_roster

    paths = _report_paths(options)
    try:
        students = read_roster(roster) if roster else None
        rows = Shard.parse(shard).share(class_rows(folder, available(root), students))
    except UsageError as exc:
        _fail(str(exc))
    graded = sum(row.submission is not None for row in rows)
    with Terminal(stderr=True).progress(f"grading {graded} submissions", graded,
                                        lambda result: os.path.relpath(result.submission, folder)) as done:
        try:
            run = grade_class(rows, assignment, root, jobs or default_jobs(), students, done)
        except UsageError as exc:
            _fail(str(exc))
    _finish(run.results, paths, options["fail_under"], run.incomplete)


@main.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--latest", is_flag=True,
              help="When two files hold a student's result for an assignment, keep the one graded last.")
@_report_options
def merge(results: tuple[Path, ...], latest: bool, **options: Any) -> None:
    """Combine the JSON results of several shards (or runs) into one set of reports."""
    from autograder.errors import UsageError
    from autograder.course.merging import merge_results
    from autograder.reports import read_results_file

    paths = _report_paths(options)
    try:
        files = [read_results_file(path) for path in results]
        merged = merge_results(files, latest)
    except (ValueError, OSError, UsageError) as exc:
        _fail(str(exc))
    _finish(merged, paths, options["fail_under"], any(loaded.incomplete for loaded in files))


@main.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--gradebook", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The nbgrader gradebook (SQLite file); created if missing.")
def export(results: tuple[Path, ...], gradebook: Path) -> None:
    """Write scores from JSON results into an nbgrader gradebook."""
    from autograder.errors import UsageError
    from autograder.course.gradebook import export_to_gradebook
    from autograder.reports import read_results
    from autograder.reports.terminal import Terminal

    loaded = []
    try:
        for path in results:
            loaded += read_results(path)
        export_to_gradebook(loaded, gradebook)
    except (ValueError, OSError, UsageError) as exc:
        _fail(str(exc))
    Terminal().line(f"exported {len(loaded)} results to {gradebook}")


@main.command()
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder holding reference/.")
def doctor(root: Path) -> None:
    """Show which protections workers get on this machine."""
    from rich.table import Table

    from autograder.worker.doctor import diagnose
    from autograder.reports.terminal import Terminal, terminal_text

    table = Table(title="protections", title_justify="left")
    for column in ("protection", "active", "detail"):
        table.add_column(column)
    for check in diagnose(root):
        table.add_row(check.name, "[green]yes[/]" if check.ok else "[yellow]no[/]", terminal_text(check.detail))
    Terminal().print(table)


@main.command()
@click.argument("notebook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--assignment", "-a", help="Assignment name (default: from the notebook's metadata or file name).")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder holding assignments/ (when the notebook is not in its bundle folder).")
def check(notebook: Path, assignment: str | None, root: Path) -> None:
    """Run the public tests on your notebook, offline, before you submit."""
    from autograder.worker.launch import start_zygote

    start_zygote()  # it warms up while this process imports pytest and torch
    from autograder.grading.assignments import bundles
    from autograder.errors import NotebookError, UsageError
    from autograder.grading.grade import assignment_for, grade, unreadable
    from autograder.reports.terminal import Terminal, submission_view

    out = Terminal()
    try:
        target = assignment_for(notebook, assignment, bundles(notebook, root))
        result = (unreadable(notebook, target) if isinstance(target, NotebookError)
                  else grade(notebook, target, public_only=True))
    except UsageError as exc:
        _fail(str(exc))
    out.print(submission_view(result))
    todo = [t.name for t in result.tests if t.status == "not_implemented"]
    if todo:
        out.line(f"Still to implement: {', '.join(todo)}")
    out.line(f"Public tests: {result.score:g}/{result.max_score:g} points. "
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
    from autograder.grading.assignments import available, find_assignment
    from autograder.errors import UsageError
    from autograder.course.release import release_assignment
    from autograder.reports.terminal import Terminal

    chosen = names or available(root, ("reference",))
    if not chosen:
        _fail(f"no assignments under {root / 'reference'}")
    try:
        for name in chosen:
            folder = release_assignment(find_assignment(name, root, ("reference",)), out or root / "assignments")
            Terminal().line(str(folder))
    except UsageError as exc:
        _fail(str(exc))


@main.command()
@click.argument("assignment")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder holding reference/.")
@click.option("--only", metavar="PATTERN", help="Only the mutants whose id matches this glob, e.g. 'training:*'.")
@click.option("--list", "list_only", is_flag=True, help="Print the mutants' ids and changes; grade nothing.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every mutant and its outcome as JSON here.")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a readable report (summary, survivors' diffs) here.")
def audit(assignment: str, root: Path, only: str | None, list_only: bool, json_path: Path | None,
          markdown_path: Path | None) -> None:
    """Mutation analysis of ASSIGNMENT's tests: plant one small mistake at a time in the reference's
    solution regions, grade each mutant, and show the mistakes no test catches.

    Exit codes: 0 every mutant is killed or declared equivalent; 1 some survived; 2 usage error.
    """
    from autograder.grading.assignments import find_assignment
    from autograder.course.audit.equivalents import read_equivalents, stale_declarations
    from autograder.course.audit.mutants import mutants_of, select
    from autograder.course.audit.report import audit_dict, audit_markdown, audit_view, listing
    from autograder.errors import UsageError
    from autograder.reports.terminal import Terminal

    out = Terminal()
    try:
        target = find_assignment(assignment, root, ("reference",))
        found = mutants_of(target.notebook)
        chosen = select(found, only)
        declared = read_equivalents(target.directory)
    except UsageError as exc:
        _fail(str(exc))
    if list_only:
        for line in listing(chosen, declared):
            out.line(line)
        return
    from autograder.worker.launch import start_zygote

    start_zygote()  # it warms up while this process imports pytest and torch
    from autograder.course.audit.run import run_audit
    from autograder.grading.results import write_json_atomic, write_text_atomic

    stale = stale_declarations(declared, {m.id for m in found})
    with Terminal(stderr=True).progress(f"grading {len(chosen)} mutants of {target.name}", len(chosen),
                                        lambda graded: Path(graded.submission).stem) as done:
        try:
            result = run_audit(target, root, chosen, declared, stale, done)
        except UsageError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            out.line("interrupted: no audit report written")
            sys.exit(EXIT_INTERRUPTED)
    out.print(audit_view(result))
    with _reporting():
        if json_path:
            write_json_atomic(json_path, audit_dict(result))
        if markdown_path:
            write_text_atomic(markdown_path, audit_markdown(result))
    sys.exit(EXIT_UNDER if result.survivors else EXIT_OK)  # survivors fail the audit, as --fail-under does
