"""Late work: reading times as people and tools write them, and the late policy that turns a submission's
lateness into points off, applied by the grader to every result before any report is written.

A time must say its time zone (whose midnight is "2025-03-01 23:59"?): ISO 8601 with an offset or `Z`,
or a zone name after a space, as nbgrader writes its `timestamp.txt` ("2025-03-01 23:59:00.000000 UTC").
Only nbgrader's own files may leave the zone out: nbgrader reads those as UTC, and so does the grader.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from autograder.errors import UsageError
from autograder.identifiers import shown
from autograder.grading.results import SubmissionResult

DAY = timedelta(days=1)
_UTC_NAMES = {"Z", "UTC", "GMT"}
_OFFSET = re.compile(r"[+-]\d{2}:?\d{2}")
_EXAMPLES = "for example 2025-03-01T23:59:00+01:00, 2025-03-01T22:59Z or '2025-03-01 23:59 Europe/Paris'"


def _zone(name: str) -> timezone | ZoneInfo | None:
    """The zone a name or offset stands for; None if it names none (abbreviations like PST name none)."""
    if name.upper() in _UTC_NAMES:
        return timezone.utc
    if _OFFSET.fullmatch(name):
        return datetime.fromisoformat(f"2000-01-01T00:00{name}").tzinfo
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_time(text: str, where: str, *, naive_is_utc: bool = False) -> datetime:
    """`text` as a time in UTC; a UsageError naming `where` (a file and line, or an option) if it is not one.

    A time with no zone is refused unless `naive_is_utc`, as nbgrader reads its own timestamp files.
    """
    text = text.strip()
    if not text:
        raise UsageError(f"{where}: no time given ({_EXAMPLES})")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None and " " in text:   # nbgrader's "DATE TIME ZONE"
        moment, name = text.rsplit(" ", 1)
        try:
            when = datetime.fromisoformat(moment)
        except ValueError:
            raise UsageError(f"{where}: {shown(text)} is not a time ({_EXAMPLES})") from None
        zone = _zone(name)
        if zone is None or when.tzinfo is not None:
            raise UsageError(f"{where}: unknown time zone {shown(name)} in {shown(text)} "
                             "(write an offset such as -08:00, or a zone name such as America/Los_Angeles)")
        when = when.replace(tzinfo=zone)
    if when is None:
        raise UsageError(f"{where}: {shown(text)} is not a time ({_EXAMPLES})")
    if when.tzinfo is None:
        if not naive_is_utc:
            raise UsageError(f"{where}: {shown(text)} has no time zone ({_EXAMPLES})")
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def iso(when: datetime | None) -> str:
    """A time as the results record it: ISO 8601 in UTC, as precise as it was given (nbgrader compares
    its timestamps to the microsecond)."""
    return when.astimezone(timezone.utc).isoformat() if when else ""


@dataclass(frozen=True)
class LatePolicy:
    """`per_day` points off for each started day after `due`; everything after `cutoff` scores 0."""

    due: datetime | None = None
    per_day: float = 0.0
    cutoff: datetime | None = None

    def __post_init__(self) -> None:
        if self.per_day and self.due is None:
            raise UsageError("--late-penalty needs --due: points come off for each day after the due date")
        if self.due and self.cutoff and self.cutoff < self.due:
            raise UsageError(f"--late-cutoff {iso(self.cutoff)} is before --due {iso(self.due)}")

    @property
    def deadline(self) -> datetime | None:
        """What lateness is counted from: the due date, else the cutoff."""
        return self.due or self.cutoff

    def apply(self, result: SubmissionResult, submitted: datetime) -> SubmissionResult:
        """`result` with its submission time, lateness and penalty (at most the tests' points)."""
        late = submitted - self.deadline if self.deadline and submitted > self.deadline else timedelta(0)
        days = math.ceil(late / DAY)
        penalty = min(result.raw_score, days * self.per_day)
        if self.cutoff and submitted > self.cutoff:
            penalty = result.raw_score
        return replace(result, submitted_at=iso(submitted), due=iso(self.due), cutoff=iso(self.cutoff),
                       days_late=days, penalty=penalty)


def after_cutoff(result: SubmissionResult) -> bool:
    """Whether the submission came after the policy's cutoff (and so scores 0)."""
    return bool(result.cutoff and result.submitted_at
                and datetime.fromisoformat(result.submitted_at) > datetime.fromisoformat(result.cutoff))


def apply_policy(results: list[SubmissionResult], times: Mapping[str, datetime],
                 policy: LatePolicy) -> list[SubmissionResult]:
    """Every result with its submission time (`times`, by submission path), lateness and penalty; a
    missing row, with nothing handed in, stays as it is."""
    return [policy.apply(r, times[r.submission]) if r.status != "missing" and r.submission in times else r
            for r in results]
