"""Evaluation summaries per unit subtree and period: counts, grade distribution, quota checks, roll-ups."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from records.errors import ValidationFailed

log = logging.getLogger(__name__)

PERIOD_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
QUARTER_PATTERN = re.compile(r"^(\d{4})-Q([1-4])$")

# States of a self-assessment record; "missing" means no record exists for the person and period.
SUBMITTED_STATES = frozenset({"submitted", "returned", "reviewed", "decided"})


class InvalidPeriod(ValidationFailed):
    """A period that is not "YYYY-MM" (monthly) or "YYYY-Qn" (quarterly)."""

    code = "invalid_period"


def parse_period(text: str) -> str:
    """Normalise a period ("2026-10", "2026-q4", " 2026-10 ") or raise InvalidPeriod."""
    value = (text or "").strip().upper()
    if PERIOD_PATTERN.match(value) or QUARTER_PATTERN.match(value):
        return value
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{4})", value)  # "10/2026" as people write it
    if m and 1 <= int(m.group(1)) <= 12:
        return f"{m.group(2)}-{int(m.group(1)):02d}"
    raise InvalidPeriod(f"period {text!r} is not YYYY-MM or YYYY-Qn", field="period", value=text)


def previous_period(period: str) -> str:
    """The period before `period` ("2026-01" → "2025-12", "2026-Q1" → "2025-Q4")."""
    period = parse_period(period)
    q = QUARTER_PATTERN.match(period)
    if q:
        year, quarter = int(q.group(1)), int(q.group(2))
        return f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def periods_of_year(year: int, *, quarterly: bool = False) -> list[str]:
    """Every period of a year, in order."""
    if quarterly:
        return [f"{year}-Q{q}" for q in range(1, 5)]
    return [f"{year}-{m:02d}" for m in range(1, 13)]


@dataclass(frozen=True)
class PersonStatus:
    """One person's evaluation status for the period (a row of a unit sheet)."""

    person_id: int
    code: str
    full_name: str
    position: str
    unit_code: str
    state: str  # "missing", "draft", "submitted", "returned", "reviewed", "decided"
    late: bool = False
    submitted_at: datetime | None = None
    total_points: float | None = None
    proposed_grade: str | None = None
    final_grade: str | None = None

    @property
    def submitted(self) -> bool:
        return self.state in SUBMITTED_STATES


@dataclass(frozen=True)
class Counts:
    """Counts over a set of people for one period."""

    expected: int = 0
    submitted: int = 0
    late: int = 0
    missing: int = 0
    reviewed: int = 0
    decided: int = 0
    grades: Mapping[str, int] = field(default_factory=dict)

    @property
    def graded(self) -> int:
        return sum(self.grades.values())

    def __add__(self, other: Counts) -> Counts:
        grades = dict(self.grades)
        for code, n in other.grades.items():
            grades[code] = grades.get(code, 0) + n
        return Counts(
            expected=self.expected + other.expected,
            submitted=self.submitted + other.submitted,
            late=self.late + other.late,
            missing=self.missing + other.missing,
            reviewed=self.reviewed + other.reviewed,
            decided=self.decided + other.decided,
            grades=grades,
        )


def count_people(people: Iterable[PersonStatus]) -> Counts:
    """Counts over person rows: submitted (any state past draft), late, missing, reviewed, decided, grades."""
    expected = submitted = late = reviewed = decided = 0
    grades: dict[str, int] = {}
    for p in people:
        expected += 1
        if p.submitted:
            submitted += 1
            late += int(p.late)
        if p.state in ("reviewed", "decided"):
            reviewed += 1
        if p.state == "decided":
            decided += 1
            if p.final_grade:
                grades[p.final_grade] = grades.get(p.final_grade, 0) + 1
    return Counts(
        expected=expected,
        submitted=submitted,
        late=late,
        missing=expected - submitted,
        reviewed=reviewed,
        decided=decided,
        grades=grades,
    )


@dataclass(frozen=True)
class QuotaBreach:
    """A quota rule that a unit's final grades break, e.g. more than 30% graded A."""

    rule: str  # the rule's identifier in the rules file
    unit_code: str
    unit_name: str
    grade: str  # the limited grade ("A")
    count: int  # how many got it
    base: int  # the count the limit is a share of (graded people, or people graded in another grade)
    base_label: str  # what `base` counts, in Vietnamese
    limit_percent: float
    allowed: int  # the most allowed given `base`

    def describe(self) -> str:
        """Vietnamese: which unit, which grade, how many against how many allowed."""
        share = 100.0 * self.count / self.base if self.base else 100.0
        return (
            f"{self.unit_name} ({self.unit_code}): {self.count} người loại {self.grade} "
            f"= {share:.0f}% của {self.base} {self.base_label}, vượt mức tối đa {self.limit_percent:g}% "
            f"(được tối đa {self.allowed} người)"
        )


@dataclass(frozen=True)
class UnitSummary:
    """One unit of the subtree: its own people (not its children's) and their counts."""

    unit_id: int
    code: str
    name: str
    parent_code: str | None
    depth: int  # 0 for the summarised unit
    counts: Counts
    people: tuple[PersonStatus, ...] = ()


@dataclass(frozen=True)
class PeriodSummary:
    """A unit subtree's evaluation picture for one period, with the previous period for comparison."""

    period: str
    unit_code: str
    unit_name: str
    grade_codes: tuple[str, ...]  # best first, e.g. ("A", "B", "C", "D")
    grade_names: Mapping[str, str]  # "A" → "Hoàn thành xuất sắc nhiệm vụ"
    units: tuple[UnitSummary, ...]  # the summarised unit first, then its subtree depth-first
    total: Counts
    breaches: tuple[QuotaBreach, ...] = ()
    previous_period: str | None = None
    previous: Counts | None = None
    generated_at: datetime | None = None

    def delta(self) -> dict[str, int]:
        """Change against the previous period: submitted, late, missing and each grade."""
        prev = self.previous or Counts()
        out = {
            "expected": self.total.expected - prev.expected,
            "submitted": self.total.submitted - prev.submitted,
            "late": self.total.late - prev.late,
            "missing": self.total.missing - prev.missing,
            "decided": self.total.decided - prev.decided,
        }
        for code in self.grade_codes:
            out[code] = self.total.grades.get(code, 0) - prev.grades.get(code, 0)
        return out


@dataclass(frozen=True)
class PersonYear:
    """A person's grades over a year (one entry per period; None when not decided)."""

    person_id: int
    code: str
    full_name: str
    unit_code: str
    grades: Mapping[str, str | None]

    def count(self, grade: str) -> int:
        return sum(1 for g in self.grades.values() if g == grade)


@dataclass(frozen=True)
class YearlyRollup:
    """Per-person grade counts over a year for a unit subtree."""

    year: int
    unit_code: str
    unit_name: str
    periods: tuple[str, ...]
    grade_codes: tuple[str, ...]
    grade_names: Mapping[str, str]
    people: tuple[PersonYear, ...]


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def render_summary_text(summary: PeriodSummary, *, max_units: int = 30) -> str:
    """Plain Vietnamese text of a summary (for the CLI and the bot, which escapes it for HTML)."""
    t = summary.total
    lines = [
        f"TỔNG HỢP ĐÁNH GIÁ, XẾP LOẠI KỲ {summary.period}",
        f"Đơn vị: {summary.unit_name} ({summary.unit_code}) — {len(summary.units)} đơn vị trong phạm vi",
        f"Số người phải đánh giá: {t.expected}",
        f"Đã nộp tự đánh giá: {t.submitted} (nộp muộn: {t.late}); chưa nộp: {t.missing}",
        f"Đã nhận xét: {t.reviewed}; đã quyết định xếp loại: {t.decided}",
        "Kết quả xếp loại:",
    ]
    for code in summary.grade_codes:
        n = t.grades.get(code, 0)
        share = f" ({100.0 * n / t.graded:.0f}%)" if t.graded else ""
        lines.append(f"  • {code} — {summary.grade_names.get(code, code)}: {n}{share}")
    if summary.previous is not None and summary.previous_period:
        d = summary.delta()
        parts = [
            f"nộp {_signed(d['submitted'])}",
            f"muộn {_signed(d['late'])}",
            f"chưa nộp {_signed(d['missing'])}",
        ]
        parts += [f"{code} {_signed(d[code])}" for code in summary.grade_codes]
        lines.append(f"So với kỳ {summary.previous_period}: " + ", ".join(parts))
    if summary.breaches:
        lines.append("Vượt tỷ lệ quy định:")
        lines += [f"  ⚠ {b.describe()}" for b in summary.breaches]
    else:
        lines.append("Tỷ lệ xếp loại: không có đơn vị vượt mức quy định.")
    late_units = [u for u in summary.units if u.counts.missing]
    if late_units:
        lines.append("Đơn vị còn người chưa nộp:")
        for u in late_units[:max_units]:
            lines.append(f"  • {u.name} ({u.code}): {u.counts.missing}/{u.counts.expected}")
        if len(late_units) > max_units:
            lines.append(f"  … và {len(late_units) - max_units} đơn vị khác")
    return "\n".join(lines)
