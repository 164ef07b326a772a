"""JUnit XML, valid against the Jenkins xUnit plugin's junit-10.xsd, as GitLab and Jenkins read it.

GitLab's test report shows a test case's name, class name, time, status and the text of its failure,
error or skipped element, and nothing else: so each test case's name carries its points
("test_forward [2/2 points]"), its `system-out` says them again for Jenkins, and the submission's
details (student, score, lateness) are `properties` of its suite, the only place the schema has for
them. A late penalty is a failing test case of its own, and an interrupted run adds a suite whose one
test case is an error saying the reports are incomplete.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from autograder.reports.text import first_line, incomplete_line, late_details, note, points, spelled, student_of
from autograder.grading.results import SubmissionResult, TestResult, write_text_atomic

_JUNIT_FAILURE = ("partial", "failed", "timed_out", "not_implemented")   # points lost: CI must not show green


def _properties(parent: ET.Element, **values: str) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(props, "property", name=name, value=spelled(value))


def _case(suite: ET.Element, classname: str, name: str, seconds: float = 0.0) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=spelled(classname), name=spelled(name), time=f"{seconds:.3f}")


def _outcome(case: ET.Element, tag: str, kind: str, message: str) -> None:
    outcome = ET.SubElement(case, tag, type=kind, message=spelled(first_line(message) or kind.replace("_", " ")))
    outcome.text = spelled(message)


def _testcase(suite: ET.Element, classname: str, test: TestResult) -> None:
    earned = f"{points(test.score)}/{points(test.max_score)} points"
    case = _case(suite, classname, f"{test.name} [{earned}]", test.duration)
    if test.status != "passed":
        _outcome(case, "failure" if test.status in _JUNIT_FAILURE else "error", test.status, test.message)
    ET.SubElement(case, "system-out").text = f"score: {earned}\n"


def _counts(cases: int, failures: int, errors: int) -> dict[str, str]:
    return {"tests": str(cases), "failures": str(failures), "errors": str(errors)}


def _suite_counts(result: SubmissionResult) -> tuple[int, int, int, int]:
    """(test cases, failures, errors, skipped) of a submission's suite."""
    late = int(bool(result.penalty))
    missing = int(result.status == "missing")
    return (len(result.tests) + late + missing, sum(t.status in _JUNIT_FAILURE for t in result.tests) + late,
            sum(t.status == "error" for t in result.tests), missing)


def _testsuite(parent: ET.Element, result: SubmissionResult) -> None:
    cases, failures, errors, skipped = _suite_counts(result)
    student = student_of(result)
    suite = ET.SubElement(parent, "testsuite", name=spelled(result.submission or student),
                          **_counts(cases, failures, errors), skipped=str(skipped), time=f"{result.duration:.3f}")
    _properties(suite, assignment=result.assignment, student=student, status=result.status,
                score=points(result.score), max_score=points(result.max_score), raw_score=points(result.raw_score),
                penalty=points(result.penalty), days_late=str(result.days_late), submitted_at=result.submitted_at,
                public_only=str(result.public_only).lower(), note=note(result))
    classname = f"{result.assignment}.{student.replace('.', '_')}"   # a dot would start a new package level
    if skipped:   # nothing ran: one skipped case says so where CI lists tests
        case = _case(suite, classname, "submission")
        ET.SubElement(case, "skipped", message=spelled(result.error))
    for test in result.tests:
        _testcase(suite, classname, test)
    if result.penalty:
        case = _case(suite, classname, f"late penalty [-{points(result.penalty)} points]")
        _outcome(case, "failure", "late", late_details(result))
    ET.SubElement(suite, "system-out").text = spelled(result.output)
    if result.error:
        ET.SubElement(suite, "system-err").text = spelled(result.error)


def junit_xml(results: list[SubmissionResult], incomplete: bool = False) -> str:
    """One <testsuite> per submission; `not_implemented` is a <failure>, not <skipped>: it loses points,
    and CI must not show it as green. A missing submission is one <skipped> case: there was nothing to run."""
    counts = [_suite_counts(r) for r in results]
    totals = [sum(column) for column in zip(*counts)] if counts else [0, 0, 0, 0]
    root = ET.Element("testsuites", name="autograder",
                      **_counts(totals[0] + incomplete, totals[1], totals[2] + incomplete),
                      time=f"{sum(r.duration for r in results):.3f}")
    if incomplete:
        suite = ET.SubElement(root, "testsuite", name="grading run", **_counts(1, 0, 1), skipped="0", time="0.000")
        _outcome(_case(suite, "autograder", "incomplete"), "error", "interrupted", incomplete_line(results))
    for result in results:
        _testsuite(root, result)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(results: list[SubmissionResult], path: Path, incomplete: bool = False) -> None:
    """Write junit_xml(results, incomplete) atomically."""
    write_text_atomic(Path(path), junit_xml(results, incomplete))
