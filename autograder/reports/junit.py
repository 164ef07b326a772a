"""JUnit XML, as GitLab and Jenkins read it."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from autograder.reports.text import first_line, note, points, spelled, student_of
from autograder.grading.results import SubmissionResult, TestResult, write_text_atomic

_JUNIT_FAILURE = ("failed", "timed_out", "not_implemented")


def _properties(parent: ET.Element, **values: str) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(props, "property", name=name, value=spelled(value))


def _testcase(suite: ET.Element, classname: str, test: TestResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=spelled(classname), name=spelled(test.name),
                         time=f"{test.duration:.3f}")
    _properties(case, score=points(test.score), max_score=points(test.max_score))
    if test.status == "passed":
        return
    tag = "failure" if test.status in _JUNIT_FAILURE else "error"
    outcome = ET.SubElement(case, tag, type=test.status,
                            message=spelled(first_line(test.message) or test.status.replace("_", " ")))
    outcome.text = spelled(test.message)


def _counts(tests: list[TestResult], missing: int = 0) -> dict[str, str]:
    return {"tests": str(len(tests) + missing),
            "failures": str(sum(t.status in _JUNIT_FAILURE for t in tests)),
            "errors": str(sum(t.status == "error" for t in tests)),
            "skipped": str(missing)}


def _testsuite(parent: ET.Element, result: SubmissionResult) -> None:
    missing = int(result.status == "missing")
    student = student_of(result)
    suite = ET.SubElement(parent, "testsuite", name=spelled(result.submission or student),
                          **_counts(result.tests, missing), time=f"{result.duration:.3f}")
    _properties(suite, assignment=result.assignment, student=student, status=result.status,
                score=points(result.score), max_score=points(result.max_score), note=note(result))
    classname = f"{result.assignment}.{student.replace('.', '_')}"   # a dot would start a new package level
    if missing:   # nothing ran: one skipped case says so where CI lists tests
        case = ET.SubElement(suite, "testcase", classname=spelled(classname), name="submission", time="0.000")
        ET.SubElement(case, "skipped", message=spelled(result.error))
    for test in result.tests:
        _testcase(suite, classname, test)
    ET.SubElement(suite, "system-out").text = spelled(result.output)
    if result.error:
        ET.SubElement(suite, "system-err").text = spelled(result.error)


def junit_xml(results: list[SubmissionResult]) -> str:
    """JUnit XML as GitLab and Jenkins read it: one <testsuite> per submission.

    `not_implemented` is a <failure>, not <skipped>: it loses points, and CI must not show it as green.
    A missing submission is one <skipped> case: there was nothing to run.
    """
    tests = [t for r in results for t in r.tests]
    root = ET.Element("testsuites", name="autograder", **_counts(tests, sum(r.status == "missing" for r in results)),
                      time=f"{sum(r.duration for r in results):.3f}")
    for result in results:
        _testsuite(root, result)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(results: list[SubmissionResult], path: Path) -> None:
    """Write junit_xml(results) atomically."""
    write_text_atomic(Path(path), junit_xml(results))
