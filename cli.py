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


class _ThresholdType(click.ParamType):
    """--fail-under: points (60) or a percentage of each submission's maximum (60%)."""

    name = "POINTS|PERCENT%"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from autograder.grading.threshold import Threshold

        if isinstance(value, Threshold):
            return value
        try:
            return Threshold.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


_FAIL_UNDER = click.option("--fail-under", type=_ThresholdType(),
                           help="Exit with 1 if a score is below this: points (60) or a share of the maximum (60%).")


def _late_options(command: Callable) -> Callable:
    for option in reversed([
        click.option("--due", metavar="TIME", help="The due date, with its time zone (2025-03-01T23:59+01:00): "
                     "each submission's time is read, and its lateness shown in every report."),
        click.option("--late-penalty", type=click.FloatRange(min=0), metavar="POINTS",
                     help="Points off for each started day after --due."),
        click.option("--late-cutoff", metavar="TIME", help="Submissions after this time score 0."),
    ]):
        command = option(command)
    return command


def _late_policy(due: str | None, penalty: float | None, cutoff: str | None) -> Any:
    """The LatePolicy the options ask for, or None; a UsageError names what is wrong with them."""
    from autograder.course.lateness import LatePolicy, parse_time

    if due is None and cutoff is None and penalty is None:
        return None
    return LatePolicy(parse_time(due, "--due") if due is not None else None, penalty or 0.0,
                      parse_time(cutoff, "--late-cutoff") if cutoff is not None else None)


def _warn_public_only(results: list) -> None:
    """Loudly, on standard error: scores made without the hidden tests are not the real grade."""
    from autograder.reports.terminal import Terminal, terminal_text

    names = sorted({r.assignment for r in results if r.public_only})
    if names:
        Terminal(stderr=True).print(
            f"[bold yellow]Warning: only the public tests of {terminal_text(', '.join(names))} ran[/] "
            "(graded with the student bundle: there is no reference/ folder under --root). Hidden tests did not "
            "run, so these scores are out of the public points only.")


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
@click.option("--classroom", "classroom_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write GitHub Classroom's runner result for these notebooks (one student's repository) here.")
@click.option("--student-log", is_flag=True,
              help="Print only what a student may see: public tests, and hidden tests as one total.")
@_FAIL_UNDER
@_late_options
def run(paths: tuple[Path, ...], assignment: str | None, root: Path, json_path: Path | None,
        gradescope_path: Path | None, classroom_path: Path | None, student_log: bool, fail_under: Any,
        due: str | None, late_penalty: float | None, late_cutoff: str | None) -> None:
    """Grade notebooks (files, or folders of them) and print a table per submission.

    A submission's time, with --due or --late-cutoff, is nbgrader's timestamp.txt beside it, else the
    time of the notebook's last git commit.
    """
    from autograder.errors import UsageError
    from autograder.reports.destinations import Destination, check_destinations

    with _reporting():  # before anything starts, so a mistyped path costs nothing
        check_destinations(Destination(option, path) for option, path in
                           (("--json", json_path), ("--gradescope", gradescope_path),
                            ("--classroom", classroom_path)) if path)
    try:
        policy = _late_policy(due, late_penalty, late_cutoff)
        if policy is not None:   # every time is read before anything is graded
            from autograder.course.submission_times import submission_times

            times = submission_times(("", notebook) for notebook in _notebooks(paths))
    except UsageError as exc:
        _fail(str(exc))
    from autograder.worker.launch import start_zygote

    start_zygote()  # it warms up while this process imports pytest and torch
    from autograder.grading.assignments import assignments
    from autograder.grading.grade import assignment_for, grade_as
    from autograder.course.lateness import apply_policy
    from autograder.reports.terminal import Terminal, submission_view, summary_view
    from autograder.reports import incomplete_line, write_classroom, write_gradescope
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
            except UsageError as exc:  # the assignment's own tests cannot run: pytest's words may name hidden tests
                _fail(str(exc).splitlines()[0] + " (run without --student-log to see why)" if student_log
                      else str(exc))
            if policy is not None:
                (result,) = apply_policy([result], {str(notebook): times[notebook]}, policy)
            out.print(submission_view(result, hidden=not student_log))
            results.append(result)
    except KeyboardInterrupt:  # the worker is gone: report what was graded
        interrupted = True
    if len(results) > 1:
        out.print(summary_view(results))
    if interrupted:
        out.line(incomplete_line(results))
    _warn_public_only(results)
    with _reporting():
        if json_path:
            one = len(results) == 1 and not interrupted
            write_json_atomic(json_path, results[0].to_dict() if one else results_document(results, interrupted))
        if gradescope_path and results:
            write_gradescope(results[0], gradescope_path)
        if classroom_path:
            write_classroom(results, classroom_path)
    sys.exit(EXIT_INTERRUPTED if interrupted else _exit_code(results, fail_under))


def _exit_code(results: list, fail_under: Any) -> int:
    if any(r.status == "unreadable" for r in results):
        return EXIT_UNREADABLE
    if fail_under is not None and any(fail_under.fails(r) for r in results):
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
                     help="Write a gradebook CSV here: a row per student, a column per assignment, points possible."),
        click.option("--csv-detail", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write a CSV of every student's every test here, with lateness and penalties."),
        click.option("--canvas", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write a gradebook CSV that Canvas imports here (roster lms_id: the Canvas user ID)."),
        click.option("--canvas-id", "canvas_ids", multiple=True, metavar="ASSIGNMENT=ID",
                     help="Canvas's id of an assignment, so its column is matched by id (repeatable)."),
        click.option("--moodle", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write a CSV that Moodle's grade import reads here (matched by email or ID number)."),
        click.option("--classroom", type=click.Path(file_okay=False, path_type=Path),
                     help="Write one GitHub Classroom runner result per submission into this folder."),
        click.option("--feedback", type=click.Path(file_okay=False, path_type=Path),
                     help="Write per-student feedback (Markdown and HTML, visible tests only) into this folder."),
        _FAIL_UNDER,
    ]):
        command = option(command)
    return command


def _report_paths(options: dict) -> ReportPaths:
    """The reports asked for, checked before anything is graded: one that cannot be written is exit 2."""
    from autograder.identifiers import is_assignment_name, shown
    from autograder.reports import ReportPaths

    ids: dict[str, str] = {}
    for text in options["canvas_ids"]:
        name, _, number = text.partition("=")
        if not is_assignment_name(name) or not number.isdigit() or not number.isascii():
            _fail(f"--canvas-id {shown(text)}: expected ASSIGNMENT=ID, such as mlp=12345 (Canvas's number)")
        ids[name] = number
    paths = ReportPaths(json=options["json_path"], junit=options["junit"], gradescope=options["gradescope"],
                        csv=options["csv_path"], csv_detail=options["csv_detail"], canvas=options["canvas"],
                        moodle=options["moodle"], classroom=options["classroom"], feedback=options["feedback"],
                        canvas_ids=ids)
    with _reporting():
        paths.check()
    return paths


def _finish(results: list, paths: ReportPaths, fail_under: Any, incomplete: bool) -> None:
    """Write the reports, print the summary and GitHub annotations, and exit with the documented code."""
    from autograder.reports.terminal import Terminal, summary_view
    from autograder.reports import github_annotations, incomplete_line, write_reports

    out = Terminal()
    with _reporting():
        write_reports(results, paths, incomplete)
    out.print(summary_view(results))
    if incomplete:
        out.line(incomplete_line(results))
    _warn_public_only(results)
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
@_late_options
@click.option("--timestamps", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of submission times (columns: id,timestamp), for the late policy.")
@_report_options
def batch(folder: Path, assignment: str | None, root: Path, roster: Path | None, jobs: int | None, shard: str,
          due: str | None, late_penalty: float | None, late_cutoff: str | None, timestamps: Path | None,
          **options: Any) -> None:
    """Grade every notebook under FOLDER, in parallel, and write the reports.

    Every student folder, and with --roster everyone on the roster, gets a row: graded, unreadable or missing.
    With --due or --late-cutoff, each submission's time is its row in --timestamps, else nbgrader's
    timestamp.txt beside it, else the time of its last git commit (in a repository inside FOLDER).
    """
    from autograder.grading.assignments import available
    from autograder.grading.batch import Shard, default_jobs, grade_class
    from autograder.course.classlist import class_rows
    from autograder.errors import UsageError
    from autograder.course.lateness import apply_policy
    from autograder.reports.terminal import Terminal
    from autograder.course.roster import read_roster
    from autograder.course.submission_times import read_timestamps, submission_times

    paths = _report_paths(options)
    try:
        students = read_roster(roster) if roster else None
        rows = Shard.parse(shard).share(class_rows(folder, available(root), students))
        policy = _late_policy(due, late_penalty, late_cutoff)
        if timestamps and policy is None:
            raise UsageError("--timestamps gives submission times for a late policy: add --due or --late-cutoff")
        times = {} if policy is None else submission_times(
            ((row.student, row.submission) for row in rows if row.submission is not None),
            read_timestamps(timestamps) if timestamps else None, timestamps, folder)
    except UsageError as exc:
        _fail(str(exc))
    graded = sum(row.submission is not None for row in rows)
    by_path = {str(path): when for path, when in times.items()}

    def late(results: list) -> list:
        return results if policy is None else apply_policy(results, by_path, policy)

    with Terminal(stderr=True).progress(f"grading {graded} submissions", graded,
                                        lambda result: os.path.relpath(result.submission, folder)) as done:
        try:
            run = grade_class(rows, assignment, root, jobs or default_jobs(), students,
                              lambda result: done(*late([result])))
        except UsageError as exc:
            _fail(str(exc))
    _finish(late(run.results), paths, options["fail_under"], run.incomplete)


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
@click.option("--gradebook", type=click.Path(dir_okay=False, path_type=Path),
              help="The nbgrader gradebook (SQLite file); created if missing. Default: COURSE/gradebook.db.")
@click.option("--course", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The nbgrader course folder: graded submissions are also copied to its autograded/, "
                   "so formgrader and generate_feedback show them.")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder holding reference/, to define an assignment the gradebook lacks.")
def export(results: tuple[Path, ...], gradebook: Path | None, course: Path | None, root: Path) -> None:
    """Write scores from JSON results into an nbgrader gradebook, leaving the course working for nbgrader:
    each tests' total goes into the notebook's `autograded-tests` task cell, lateness into its penalty."""
    from autograder.course.nbgrader_course import GRADEBOOK, copy_autograded, with_submission_times
    from autograder.errors import UsageError
    from autograder.course.instructor import require_instructor_tools

    try:
        require_instructor_tools("grade export")
    except UsageError as exc:
        _fail(str(exc))
    from autograder.course.gradebook import export_to_gradebook
    from autograder.reports import read_results
    from autograder.reports.terminal import Terminal

    if gradebook is None and course is None:
        raise click.UsageError("give --gradebook, --course, or both")
    target = gradebook or course / GRADEBOOK
    loaded = []
    try:
        for path in results:
            loaded += read_results(path)
        if course is not None:
            loaded = with_submission_times(course, loaded)
        export_to_gradebook(loaded, target, root)
        if course is not None:   # once the gradebook holds the scores formgrader will show
            copy_autograded(course, loaded)
    except (ValueError, OSError, UsageError) as exc:
        _fail(str(exc))
    Terminal().line(f"exported {len(loaded)} results to {target}")


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
    from autograder.grading.notebook import read_submission
    from autograder.reports.terminal import Terminal
    from autograder.selfcheck.report import show
    from autograder.selfcheck.todo import unimplemented

    try:
        target = assignment_for(notebook, assignment, bundles(notebook, root))
        result = (unreadable(notebook, target) if isinstance(target, NotebookError)
                  else grade(notebook, target, public_only=True))
    except UsageError as exc:
        _fail(str(exc))
    show(Terminal(), result, unimplemented(read_submission(notebook)) if result.status == "graded" else [])
    if result.status == "unreadable":
        sys.exit(EXIT_UNREADABLE)


@main.command()
@click.argument("names", nargs=-1)
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder holding reference/.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the bundle (default: ROOT/assignments).")
def release(names: tuple[str, ...], root: Path, out: Path | None) -> None:
    """Build the student bundle (stub, public tests, reference values, public data) of each assignment, or
    of NAMES. Each is validated first (docs/authoring.md); if one is refused, nothing is written."""
    from autograder.grading.assignments import available, find_assignment
    from autograder.errors import UsageError
    from autograder.course.instructor import require_instructor_tools

    try:
        require_instructor_tools("grade release")
    except UsageError as exc:
        _fail(str(exc))
    from autograder.course.release import prepare_release, write_bundle
    from autograder.reports.terminal import Terminal

    chosen = names or available(root, ("reference",))
    if not chosen:
        _fail(f"no assignments under {root / 'reference'}")
    try:
        bundles = [prepare_release(find_assignment(name, root, ("reference",))) for name in chosen]
    except UsageError as exc:
        _fail(str(exc))
    for bundle in bundles:
        Terminal().line(str(write_bundle(bundle, out or root / "assignments")))


@main.group()
def package() -> None:
    """Package an assignment for a course platform."""


@package.command("gradescope")
@click.argument("assignment")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder holding reference/.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="Where to write the zip.")
def package_gradescope(assignment: str, root: Path, out: Path) -> None:
    """The autograder zip of ASSIGNMENT, for a Gradescope programming assignment as it is: setup.sh
    installs the grader, run_autograder grades each submission with the hidden tests."""
    from autograder.course.package import gradescope_zip
    from autograder.errors import UsageError
    from autograder.grading.assignments import find_assignment
    from autograder.reports.terminal import Terminal

    try:
        target = find_assignment(assignment, root, ("reference",))
    except UsageError as exc:
        _fail(str(exc))
    with _reporting():
        try:
            names = gradescope_zip(target, out)
        except FileNotFoundError as exc:   # the grader's own files or metadata are not installed
            _fail(str(exc))
    terminal = Terminal()
    terminal.line(f"{out}: Gradescope autograder for {target.name}")
    for name in names:
        terminal.line(f"  {name}")


@main.command()
@click.argument("folder", metavar="CLASS_FOLDER", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--assignment", "-a",
              help="Compare the notebooks of this assignment (default: the one the class's notebooks are for).")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder holding assignments/ (the stubs) and reference/.")
@click.option("--against", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Also compare with the notebooks in this folder (earlier years, known solutions), never with "
                   "each other. Repeatable.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report, with each pair's code side by side, here.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the listed pairs, their scores and matching lines as JSON here.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many of the most similar pairs to list.")
def similar(folder: Path, assignment: str | None, root: Path, against: tuple[Path, ...], html_path: Path | None,
            json_path: Path | None, top: int) -> None:
    """Find pairs of submissions under CLASS_FOLDER whose code is suspiciously alike (nothing is run).

    Exit codes: 0 no pair is flagged; 1 some pairs score at or above the threshold; 2 usage error;
    3 a notebook could not be read (the others are still compared and reported); 130 interrupted.
    """
    from autograder.errors import UsageError
    from autograder.reports.destinations import Destination, check_destinations
    from autograder.reports.terminal import Terminal
    from autograder.grading.results import write_json_atomic, write_text_atomic
    from autograder.course.similarity.collect import collect
    from autograder.course.similarity.html import report_html
    from autograder.course.similarity.report import build_report, report_dict, report_view

    with _reporting():
        check_destinations(Destination(option, path) for option, path in
                           (("--html", html_path), ("--json", json_path)) if path)
    try:
        report = build_report(collect(folder, list(against), assignment, root), top)
    except UsageError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        Terminal().line("interrupted: no similarity report written")
        sys.exit(EXIT_INTERRUPTED)
    Terminal().print(report_view(report))
    with _reporting():
        if json_path:
            write_json_atomic(json_path, report_dict(report))
        if html_path:
            write_text_atomic(html_path, report_html(report))
    if any(left.status == "unreadable" for left in report.left):
        sys.exit(EXIT_UNREADABLE)
    sys.exit(EXIT_UNDER if report.flagged else EXIT_OK)


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
