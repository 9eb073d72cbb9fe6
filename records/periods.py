"""Evaluation periods ("2026-05" for a month, "2026-Q2" for a quarter) and their deadlines."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from records.errors import ValidationFailed
from records.rules import Rules

PeriodKind = Literal["month", "quarter"]
Stage = Literal["plan", "self_assessment", "review", "decision"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Period:
    """A month (index 1–12) or a quarter (index 1–4) of a year."""

    kind: PeriodKind
    year: int
    index: int

    @classmethod
    def parse(cls, text: str) -> Period:
        value = text.strip()
        if m := _MONTH.match(value):
            month = int(m.group(2))
            if 1 <= month <= 12:
                return cls("month", int(m.group(1)), month)
        if m := _QUARTER.match(value):
            return cls("quarter", int(m.group(1)), int(m.group(2)))
        raise ValidationFailed(f"bad period {text!r}: use YYYY-MM or YYYY-Qn", field="period", value=text)

    @classmethod
    def containing(cls, day: date, kind: PeriodKind) -> Period:
        if kind == "month":
            return cls("month", day.year, day.month)
        return cls("quarter", day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}-{self.index:02d}" if self.kind == "month" else f"{self.year}-Q{self.index}"

    @property
    def first_month(self) -> int:
        return self.index if self.kind == "month" else (self.index - 1) * 3 + 1

    @property
    def start(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        last_month = self.first_month + (0 if self.kind == "month" else 2)
        return date(self.year, last_month, calendar.monthrange(self.year, last_month)[1])

    @property
    def next(self) -> Period:
        return Period.containing(self.end + timedelta(days=1), self.kind)

    @property
    def previous(self) -> Period:
        return Period.containing(self.start - timedelta(days=1), self.kind)


def _day_of_month(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def deadline(rules: Rules, period: Period, stage: Stage) -> date:
    """The last day for `stage` of `period`: the plan within the period, the rest in the following month."""
    if stage == "plan":
        return _day_of_month(period.year, period.first_month, rules.deadlines.plan_day)
    after = period.end + timedelta(days=1)
    day = {
        "self_assessment": rules.deadlines.self_assessment_day,
        "review": rules.deadlines.review_day,
        "decision": rules.deadlines.decision_day,
    }[stage]
    return _day_of_month(after.year, after.month, day)


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    return _day_of_month(index // 12, index % 12 + 1, day.day)
