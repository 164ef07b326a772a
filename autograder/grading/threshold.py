"""`--fail-under`: the score every submission must reach, in points (`60`) or as a share of its
maximum (`60%`), so one threshold serves assignments worth different totals."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from autograder.identifiers import shown
from autograder.grading.results import SubmissionResult

_NUMBER = re.compile(r"\d+(\.\d*)?|\.\d+")


@dataclass(frozen=True)
class Threshold:
    value: float
    percent: bool = False

    @classmethod
    def parse(cls, text: str) -> "Threshold":
        """`60` (points) or `60%` (of each submission's maximum); a ValueError naming the text otherwise."""
        stripped = text.strip()
        number, percent = (stripped[:-1].rstrip(), True) if stripped.endswith("%") else (stripped, False)
        if not _NUMBER.fullmatch(number) or not math.isfinite(float(number)):
            raise ValueError(f"{shown(text)} is neither points (such as 60) nor a percentage (such as 60%)")
        value = float(number)
        if percent and value > 100:
            raise ValueError(f"{shown(text)} is more than 100%")
        return cls(value, percent)

    def fails(self, result: SubmissionResult) -> bool:
        """Whether `result` scores below the threshold. A submission worth nothing (missing) has 0% of it."""
        if not self.percent:
            return result.score < self.value
        if result.max_score <= 0:
            return self.value > 0
        return result.score * 100 < self.value * result.max_score

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{self.value:g} points"
