"""Evaluation summaries per unit subtree and period: counts, grade distribution, quota checks, roll-ups."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from records.access import require_role, scope_units
from records.errors import NotFound, ValidationFailed
from records.localtime import DATE, DEFAULT_TZ, day_start, format_local
from records.periods import Period
from records.rules import QuotaRule, Rules
from records.schema import AuditEntry, Evaluation, Person, Role, Unit

log = logging.getLogger(__name__)

SUMMARY_ROLES = (Role.STAFF, Role.HEAD, Role.ADMIN)

# States of a self-assessment record; "missing" means no record exists for the person and period.
SUBMITTED_STATES = frozenset({"submitted", "returned", "reviewed", "decided"})
# How the summary text names the states of people who have not submitted (as the Excel sheets do).
NOT_SUBMITTED_LABELS = {"missing": "chưa nộp", "draft": "đang soạn, chưa nộp"}


class InvalidPeriod(ValidationFailed):
    """A period of the wrong kind for the rules (a quarter when the rules evaluate monthly, or the reverse)."""

    code = "invalid_period"


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
    unrecorded: int = 0  # expected people without any record for the period (part of `missing`)

    @property
    def graded(self) -> int:
        return sum(self.grades.values())

    @property
    def records(self) -> int:
        """Evaluation records of the period, in any state: the base of "share of graded" quotas, as the
        decision service counts it."""
        return self.expected - self.unrecorded

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
            unrecorded=self.unrecorded + other.unrecorded,
        )


def sum_counts(parts: Iterable[Counts]) -> Counts:
    """The sum of several Counts (one pass; cheaper than chaining `+` over thousands of units)."""
    totals = [0, 0, 0, 0, 0, 0]
    grades: dict[str, int] = {}
    for c in parts:
        totals[0] += c.expected
        totals[1] += c.submitted
        totals[2] += c.late
        totals[3] += c.reviewed
        totals[4] += c.decided
        totals[5] += c.unrecorded
        for code, n in c.grades.items():
            grades[code] = grades.get(code, 0) + n
    expected, submitted, late, reviewed, decided, unrecorded = totals
    return Counts(
        expected=expected,
        submitted=submitted,
        late=late,
        missing=expected - submitted,
        reviewed=reviewed,
        decided=decided,
        grades=grades,
        unrecorded=unrecorded,
    )


def count_people(people: Iterable[PersonStatus]) -> Counts:
    """Counts over person rows: submitted (any state past draft), late, missing, reviewed, decided, grades."""
    expected = submitted = late = reviewed = decided = unrecorded = 0
    grades: dict[str, int] = {}
    for p in people:
        expected += 1
        unrecorded += int(p.state == "missing")
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
        unrecorded=unrecorded,
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
        limit = f"{self.limit_percent:g}".replace(".", ",")  # Vietnamese decimal comma: «32,5%»
        return (
            f"{self.unit_name} ({self.unit_code}): {self.count} người loại {self.grade} "
            f"= {share:.0f}% của {self.base} {self.base_label}, vượt mức tối đa {limit}% "
            f"(được tối đa {self.allowed} người)"
        )


@dataclass(frozen=True)
class QuotaOverride:
    """A decision confirmed over a quota breach: who decided which grade for whom, and the reason given."""

    unit_code: str
    unit_name: str
    evaluation_id: int
    person_code: str
    person_name: str
    grade: str
    decided_by: str  # the head's name ("" when decided from the command line)
    decided_at: datetime
    reason: str

    def describe(self, tz: str) -> str:
        """Vietnamese, one line; the decision's day is the day in the time zone `tz`."""
        by = self.decided_by or "quản trị hệ thống"
        day = format_local(self.decided_at, tz, DATE)
        return (
            f"{self.unit_name} ({self.unit_code}): {self.person_name} ({self.person_code}) loại {self.grade}, "
            f"{by} quyết định ngày {day}; lý do: {self.reason}"
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
    overrides: tuple[QuotaOverride, ...] = ()  # decisions confirmed over a breach, in the breaching units
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
    """A person's grades over a year (one entry per period; None when not decided or never opened)."""

    person_id: int
    code: str
    full_name: str
    unit_code: str
    grades: Mapping[str, str | None]
    records: int = 0  # periods of the year with a record in any state; 0: never opened one

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


def render_summary_text(summary: PeriodSummary, *, tz: str, max_units: int = 30, max_people: int = 10) -> str:
    """Plain Vietnamese text of a summary (for the CLI and the bot, which escapes it for HTML); days in `tz`.

    With person rows (`include_people`), each unit still waiting is followed by the names of who has not
    submitted (at most `max_people` a unit), those who never opened the period included."""
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
        if summary.overrides:
            lines.append("Quyết định xếp loại vượt tỷ lệ đã được xác nhận (kèm lý do):")
            lines += [f"  • {o.describe(tz)}" for o in summary.overrides[:max_units]]
            if len(summary.overrides) > max_units:
                lines.append(f"  … và {len(summary.overrides) - max_units} quyết định khác")
    else:
        lines.append("Tỷ lệ xếp loại: không có đơn vị vượt mức quy định.")
    late_units = sorted(
        (u for u in summary.units if u.counts.missing), key=lambda u: (-u.counts.missing, u.code)
    )
    if late_units:
        lines.append("Đơn vị còn người chưa nộp (nhiều nhất trước):")
        for u in late_units[:max_units]:
            lines.append(f"  • {u.name} ({u.code}): {u.counts.missing}/{u.counts.expected}")
            waiting = [p for p in u.people if not p.submitted]
            for p in waiting[:max_people]:
                lines.append(
                    f"      – {p.full_name} ({p.code}): {NOT_SUBMITTED_LABELS.get(p.state, p.state)}"
                )
            if len(waiting) > max_people:
                lines.append(f"      … và {len(waiting) - max_people} người khác")
        if len(late_units) > max_units:
            lines.append(f"  … và {len(late_units) - max_units} đơn vị khác")
    return "\n".join(lines)


def render_yearly_text(rollup: YearlyRollup, *, max_people: int = 30) -> str:
    """Plain Vietnamese text of a year's roll-up (for the bot, which escapes it): the final grades given over
    the year, then each person who had to be evaluated with their count per grade, those who never opened a
    period said so (at most `max_people`; the workbook has everyone)."""
    totals = {code: sum(p.count(code) for p in rollup.people) for code in rollup.grade_codes}
    graded = sum(totals.values())
    never = sum(1 for p in rollup.people if not p.records)
    lines = [
        f"TỔNG HỢP XẾP LOẠI CẢ NĂM {rollup.year}",
        f"Đơn vị: {rollup.unit_name} ({rollup.unit_code}) — {len(rollup.people)} người phải đánh giá trong năm"
        + (f" ({never} người chưa có hồ sơ đánh giá nào)" if never else ""),
        f"Số lượt đã xếp loại ({len(rollup.periods)} kỳ trong năm): {graded}",
    ]
    for code in rollup.grade_codes:
        n = totals[code]
        share = f" ({100.0 * n / graded:.0f}%)" if graded else ""
        lines.append(f"  • {code} — {rollup.grade_names.get(code, code)}: {n}{share}")
    if not rollup.people:
        lines.append("Không có ai phải đánh giá trong năm.")
        return "\n".join(lines)
    lines.append("Từng người (số kỳ được xếp loại mỗi loại):")
    for person in rollup.people[:max_people]:
        decided = sum(1 for grade in person.grades.values() if grade)
        counts = ", ".join(
            f"{code} {person.count(code)}" for code in rollup.grade_codes if person.count(code)
        )
        if decided:
            result = f"{counts} — {decided} kỳ đã xếp loại"
        elif person.records:
            result = "chưa có kỳ nào được xếp loại"
        else:
            result = "chưa có hồ sơ đánh giá nào trong năm"
        lines.append(f"  • {person.full_name} ({person.code}, {person.unit_code}): {result}")
    if len(rollup.people) > max_people:
        lines.append(f"  … và {len(rollup.people) - max_people} người khác (xem tệp Excel)")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------
# Queries


@dataclass(frozen=True)
class _UnitNode:
    id: int
    code: str
    name: str
    parent_id: int | None
    outstanding: bool


def _tables() -> tuple[Any, Any, Any]:
    return Evaluation.__table__, Person.__table__, Unit.__table__  # type: ignore[attr-defined]


def _subtree(session: Session, unit_code: str) -> tuple[list[tuple[_UnitNode, int]], bool]:
    """The unit with `unit_code` and its subtree depth-first (children by code) with depths; and whether
    the subtree is the whole table (then queries need no unit filter)."""
    _, _, U = _tables()
    nodes = [
        _UnitNode(int(r.id), r.code, r.name, r.parent_id, bool(r.outstanding))
        for r in session.connection().execute(
            select(U.c.id, U.c.code, U.c.name, U.c.parent_id, U.c.outstanding)
        )
    ]
    wanted = unit_code.strip()
    root = next((n for n in nodes if n.code == wanted), None)
    if root is None:  # people type codes in lower case on phones: accept a unique case-insensitive match
        folded = [n for n in nodes if n.code.casefold() == wanted.casefold()]
        root = folded[0] if len(folded) == 1 else None
    if root is None:
        raise NotFound(f"unit {unit_code!r}", entity="unit", code=unit_code)
    children: dict[int | None, list[_UnitNode]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    ordered: list[tuple[_UnitNode, int]] = []
    stack = [(root, 0)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        ordered.append((node, depth))
        stack.extend(
            (c, depth + 1) for c in sorted(children.get(node.id, []), key=lambda n: n.code, reverse=True)
        )
    return ordered, len(ordered) == len(nodes)


def _unit_filter(column: Any, unit_ids: Sequence[int], everything: bool) -> ColumnElement[bool]:
    if everything:
        return column.is_not(None)
    return column.in_(bindparam("unit_ids", list(unit_ids), expanding=True))


def _period_end(period: Period, tz: str) -> datetime:
    """The first instant after the period in the time zone `tz` (people added to the roster later are not
    expected in it): midnight in Hà Nội, not in UTC, so someone added in the small hours of the 1st is not."""
    return day_start(period.end + timedelta(days=1), tz)


def _missing_condition(periods: Sequence[str], dialect: str) -> ColumnElement[bool]:
    """People without a record for any of `periods`: an anti-join on Postgres; on SQLite `NOT IN` (one list
    of the periods' person ids) is ~5x faster than a correlated NOT EXISTS. person_id is never NULL."""
    E, P, _ = _tables()
    in_periods = E.c.period == periods[0] if len(periods) == 1 else E.c.period.in_(list(periods))
    if dialect == "sqlite":
        return P.c.id.not_in(select(E.c.person_id).where(in_periods).scalar_subquery())
    return ~exists().where(and_(E.c.person_id == P.c.id, in_periods))


def _unrecorded(
    periods: Sequence[Period], *, unit_ids: Sequence[int], everything: bool, tz: str, dialect: str
) -> list[ColumnElement[bool]]:
    """Who had to be evaluated in `periods` and never opened any of them: active, on the roster of the units
    (their current unit) before the last of the periods ended in `tz`, without a record for any of them.

    The one population rule of the period summary (one period) and the year's roll-up (its periods)."""
    _, P, _ = _tables()
    return [
        P.c.active.is_(True),
        P.c.created_at < _period_end(max(periods, key=lambda p: p.end), tz),
        _unit_filter(P.c.unit_id, unit_ids, everything),
        _missing_condition([str(p) for p in periods], dialect),
    ]


def _aggregate_counts(
    session: Session,
    *,
    period: Period,
    unit_ids: Sequence[int],
    everything: bool,
    grade_codes: Sequence[str],
    tz: str,
) -> dict[int, Counts]:
    """Per-unit counts for a period: one row per unit with conditional sums (records), then the people
    without a record per unit."""
    E, P, _ = _tables()
    conn = session.connection()

    def count_if(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    submitted = E.c.state.in_(sorted(SUBMITTED_STATES))
    decided = E.c.state == "decided"
    rows = conn.execute(
        select(
            E.c.unit_id,
            func.count(),
            count_if(submitted),
            count_if(and_(submitted, E.c.late.is_(True))),
            count_if(E.c.state.in_(("reviewed", "decided"))),
            count_if(decided),
            *[count_if(and_(decided, E.c.final_grade == code)) for code in grade_codes],
        )
        .where(E.c.period == str(period), _unit_filter(E.c.unit_id, unit_ids, everything))
        .group_by(E.c.unit_id)
    )
    # Per unit: expected, submitted, late, reviewed, decided, unrecorded, grades.
    acc: dict[int, list[Any]] = {}
    for unit_id, n, n_submitted, n_late, n_reviewed, n_decided, *by_grade in rows:
        grades = {code: int(k) for code, k in zip(grade_codes, by_grade, strict=True) if k}
        acc[unit_id] = [n, int(n_submitted), int(n_late), int(n_reviewed), int(n_decided), 0, grades]
    missing = conn.execute(
        select(P.c.unit_id, func.count())
        .where(
            *_unrecorded([period], unit_ids=unit_ids, everything=everything, tz=tz, dialect=conn.dialect.name)
        )
        .group_by(P.c.unit_id)
    )
    for unit_id, n in missing:
        c = acc.get(unit_id)
        if c is None:
            c = acc[unit_id] = [0, 0, 0, 0, 0, 0, {}]
        c[0] += n
        c[5] += n
    return {
        unit_id: Counts(
            expected=c[0],
            submitted=c[1],
            late=c[2],
            missing=c[0] - c[1],
            reviewed=c[3],
            decided=c[4],
            grades=c[6],
            unrecorded=c[5],
        )
        for unit_id, c in acc.items()
    }


def _people_rows(
    session: Session,
    *,
    period: Period,
    unit_ids: Sequence[int],
    everything: bool,
    unit_codes: Mapping[int, str],
    tz: str,
) -> dict[int, list[PersonStatus]]:
    """Every person expected in the period, grouped by unit: those with a record, then those without."""
    E, P, _ = _tables()
    conn = session.connection()
    out: dict[int, list[PersonStatus]] = {}
    records = conn.execute(
        select(
            E.c.person_id,
            P.c.cadre_code,
            P.c.full_name,
            P.c.position,
            E.c.unit_id,
            E.c.state,
            E.c.late,
            E.c.submitted_at,
            func.coalesce(E.c.final_total, E.c.review_total, E.c.self_total),
            E.c.proposed_grade,
            E.c.final_grade,
        )
        .join(P, P.c.id == E.c.person_id)
        .where(E.c.period == str(period), _unit_filter(E.c.unit_id, unit_ids, everything))
    )
    for pid, code, name, position, unit_id, state, late, submitted_at, total, proposed, final in records:
        out.setdefault(unit_id, []).append(
            PersonStatus(
                person_id=pid,
                code=code,
                full_name=name,
                position=position or "",
                unit_code=unit_codes.get(unit_id, ""),
                state=state,
                late=bool(late) and state in SUBMITTED_STATES,
                submitted_at=submitted_at if state != "draft" else None,
                total_points=total if state in SUBMITTED_STATES else None,
                proposed_grade=proposed if state in SUBMITTED_STATES else None,
                final_grade=final if state == "decided" else None,
            )
        )
    missing = conn.execute(
        select(P.c.id, P.c.cadre_code, P.c.full_name, P.c.position, P.c.unit_id).where(
            *_unrecorded([period], unit_ids=unit_ids, everything=everything, tz=tz, dialect=conn.dialect.name)
        )
    )
    for pid, code, name, position, unit_id in missing:
        out.setdefault(unit_id, []).append(
            PersonStatus(
                person_id=pid,
                code=code,
                full_name=name,
                position=position or "",
                unit_code=unit_codes.get(unit_id, ""),
                state="missing",
            )
        )
    for rows in out.values():
        rows.sort(key=lambda p: p.code)
    return out


def check_quotas(
    *, unit_code: str, unit_name: str, counts: Counts, outstanding: bool, quotas: Iterable[QuotaRule]
) -> list[QuotaBreach]:
    """The quota rules that a unit's final grades break (every rule is checked, enforced or not).

    As in the decision service, a "share of graded" counts every record of the unit for the period."""
    breaches = []
    for index, rule in enumerate(quotas):
        have = counts.grades.get(rule.grade, 0)
        if not have:
            continue
        of_grade_count = counts.grades.get(rule.of_grade, 0) if rule.of_grade else 0
        allowed = rule.allowed(graded=counts.records, of_grade_count=of_grade_count, outstanding=outstanding)
        if have <= allowed:
            continue
        if rule.kind == "share_of_graded":
            share = (
                rule.outstanding_max_share if outstanding and rule.outstanding_max_share else rule.max_share
            )
            base, base_label, limit = counts.records, "người được đánh giá", 100.0 * (share or 0.0)
            name = f"quota{index + 1}:{rule.grade}≤{limit:g}%graded"
        else:
            base, base_label = of_grade_count, f"người loại {rule.of_grade}"
            limit = 100.0 * (rule.max_ratio or 0.0)
            name = f"quota{index + 1}:{rule.grade}≤{limit:g}%of{rule.of_grade}"
        breaches.append(
            QuotaBreach(
                rule=name,
                unit_code=unit_code,
                unit_name=unit_name,
                grade=rule.grade,
                count=have,
                base=base,
                base_label=base_label,
                limit_percent=limit,
                allowed=allowed,
            )
        )
    return breaches


def summarize_period(
    session: Session,
    *,
    unit_code: str,
    period: str,
    rules: Rules,
    actor_id: int | None = None,
    include_people: bool = False,
    compare: bool = True,
    now: datetime | None = None,
    tz: str = DEFAULT_TZ,
) -> PeriodSummary:
    """The summary of `unit_code` and its subtree for `period` ("2026-10" or "2026-Q4").

    Counts are per unit of the evaluation record (the person's unit when it was opened); people without a
    record who were on the roster before the period ended (midnight in the time zone `tz`) count as missing in
    their current unit. Quotas are
    checked per unit over its own final grades. `actor_id` must hold staff, head or admin over the unit
    (None: the trusted command line). `include_people` adds a row per person (for the Excel export).
    """
    parsed = Period.parse(period)
    if parsed.kind != rules.period:
        raise InvalidPeriod(
            f"period {period!r} is a {parsed.kind}; these rules evaluate by {rules.period}",
            field="period",
            value=period,
            expected=rules.period,
        )
    ordered, everything = _subtree(session, unit_code)
    root = ordered[0][0]
    require_role(session, actor_id=actor_id, roles=SUMMARY_ROLES, unit_id=root.id, action="summary")
    unit_ids = [n.id for n, _ in ordered]
    unit_codes = {n.id: n.code for n, _ in ordered}
    grade_codes = [g.code for g in rules.grades]
    counts = _aggregate_counts(
        session, period=parsed, unit_ids=unit_ids, everything=everything, grade_codes=grade_codes, tz=tz
    )
    people = (
        _people_rows(
            session, period=parsed, unit_ids=unit_ids, everything=everything, unit_codes=unit_codes, tz=tz
        )
        if include_people
        else {}
    )
    parents = {n.id: n.parent_id for n, _ in ordered}
    units: list[UnitSummary] = []
    breaches: list[QuotaBreach] = []
    for node, depth in ordered:
        unit_counts = counts.get(node.id, Counts())
        parent_id = parents.get(node.id)
        units.append(
            UnitSummary(
                unit_id=node.id,
                code=node.code,
                name=node.name,
                parent_code=unit_codes.get(parent_id) if parent_id is not None else None,
                depth=depth,
                counts=unit_counts,
                people=tuple(people.get(node.id, ())),
            )
        )
        breaches += check_quotas(
            unit_code=node.code,
            unit_name=node.name,
            counts=unit_counts,
            outstanding=node.outstanding,
            quotas=rules.quotas,
        )
    total = sum_counts(u.counts for u in units)
    breaching = {node.id: node for node, _ in ordered if any(b.unit_code == node.code for b in breaches)}
    overrides = _quota_overrides(session, period=parsed, units=breaching) if breaching else []
    previous: Counts | None = None
    if compare:
        before = _aggregate_counts(
            session,
            period=parsed.previous,
            unit_ids=unit_ids,
            everything=everything,
            grade_codes=grade_codes,
            tz=tz,
        )
        previous = sum_counts(before.values())
    log.info(
        "summary: unit=%s period=%s units=%d expected=%d breaches=%d",
        root.code,
        parsed,
        len(units),
        total.expected,
        len(breaches),
    )
    return PeriodSummary(
        period=str(parsed),
        unit_code=root.code,
        unit_name=root.name,
        grade_codes=tuple(g.code for g in rules.grades),
        grade_names={g.code: g.name for g in rules.grades},
        units=tuple(units),
        total=total,
        breaches=tuple(breaches),
        overrides=tuple(overrides),
        previous_period=str(parsed.previous) if compare else None,
        previous=previous,
        generated_at=now or datetime.now(UTC),
    )


def _quota_overrides(
    session: Session, *, period: Period, units: Mapping[int, _UnitNode]
) -> list[QuotaOverride]:
    """The decided records of `units` whose latest decision carries a quota-override reason.

    Only the units breaching a quota are asked (an override is recorded only when the decision broke one), so
    the query touches a handful of units' records, not the whole subtree.
    """
    E, P, _ = _tables()
    A = AuditEntry.__table__  # type: ignore[attr-defined]
    rows = (
        session.connection()
        .execute(
            select(
                A.c.id,
                A.c.entity_id,
                A.c.actor_id,
                A.c.at,
                A.c.detail,
                E.c.unit_id,
                E.c.person_id,
                E.c.final_grade,
            )
            .join(E, A.c.entity_id == E.c.id)
            .where(
                A.c.entity == "evaluation",
                A.c.action == "decide",
                E.c.period == str(period),
                E.c.state == "decided",
                E.c.unit_id.in_(list(units)),
            )
            .order_by(A.c.entity_id, A.c.id)
        )
        .all()
    )
    latest: dict[int, Any] = {}
    for (
        row
    ) in rows:  # ordered by audit id: the last decision of each record wins (reopened and decided again)
        latest[int(row.entity_id)] = row
    chosen = [
        row
        for row in latest.values()
        if isinstance(row.detail, dict) and isinstance(row.detail.get("quota_override"), dict)
    ]
    if not chosen:
        return []
    ids = {int(r.person_id) for r in chosen} | {int(r.actor_id) for r in chosen if r.actor_id is not None}
    names = {
        int(r.id): (r.cadre_code, r.full_name)
        for r in session.connection().execute(
            select(P.c.id, P.c.cadre_code, P.c.full_name).where(P.c.id.in_(ids))
        )
    }
    out = []
    for row in chosen:
        unit = units[int(row.unit_id)]
        code, name = names.get(int(row.person_id), ("", ""))
        out.append(
            QuotaOverride(
                unit_code=unit.code,
                unit_name=unit.name,
                evaluation_id=int(row.entity_id),
                person_code=code,
                person_name=name,
                grade=str(row.final_grade or row.detail.get("grade") or ""),
                decided_by=names.get(int(row.actor_id), ("", ""))[1] if row.actor_id is not None else "",
                decided_at=row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC),
                reason=str(row.detail["quota_override"].get("reason", "")),
            )
        )
    out.sort(key=lambda o: (o.unit_code, o.decided_at, o.person_code))
    return out


def yearly_rollup(
    session: Session,
    *,
    unit_code: str,
    year: int,
    rules: Rules,
    actor_id: int | None = None,
    tz: str = DEFAULT_TZ,
) -> YearlyRollup:
    """Each person's final grade per period of `year` in `unit_code` and its subtree: everyone with a record
    of the year there, and — by the period summary's rule — everyone active on the subtree's roster before the
    year's last period ended (midnight in `tz`) who never opened a period of the year (`records` 0)."""
    if not 2000 <= year <= 2100:
        raise ValidationFailed(f"year {year} out of range", field="year", value=year)
    ordered, everything = _subtree(session, unit_code)
    root = ordered[0][0]
    require_role(session, actor_id=actor_id, roles=SUMMARY_ROLES, unit_id=root.id, action="yearly_rollup")
    periods = periods_of_year(year, quarterly=rules.period == "quarter")
    unit_ids = [n.id for n, _ in ordered]
    unit_codes = {n.id: n.code for n, _ in ordered}
    E, P, _ = _tables()
    rows = session.connection().execute(
        select(
            E.c.person_id, P.c.cadre_code, P.c.full_name, P.c.unit_id, E.c.period, E.c.state, E.c.final_grade
        )
        .join(P, P.c.id == E.c.person_id)
        .where(
            E.c.period.in_(bindparam("periods", periods, expanding=True)),
            _unit_filter(E.c.unit_id, unit_ids, everything),
        )
    )
    people: dict[int, dict[str, Any]] = {}
    for pid, code, name, unit_id, period, state, grade in rows:
        entry = people.setdefault(
            pid, {"code": code, "name": name, "unit_id": unit_id, "last": "", "grades": {}}
        )
        entry["grades"][period] = grade if state == "decided" else None
        if period > entry["last"]:  # the unit of the newest record
            entry["last"], entry["unit_id"] = period, unit_id
    conn = session.connection()
    never = conn.execute(
        select(P.c.id, P.c.cadre_code, P.c.full_name, P.c.unit_id).where(
            *_unrecorded(
                [Period.parse(p) for p in periods],
                unit_ids=unit_ids,
                everything=everything,
                tz=tz,
                dialect=conn.dialect.name,
            )
        )
    )
    for pid, code, name, unit_id in never:
        people[pid] = {"code": code, "name": name, "unit_id": unit_id, "last": "", "grades": {}}
    return YearlyRollup(
        year=year,
        unit_code=root.code,
        unit_name=root.name,
        periods=tuple(periods),
        grade_codes=tuple(g.code for g in rules.grades),
        grade_names={g.code: g.name for g in rules.grades},
        people=tuple(
            sorted(
                (
                    PersonYear(
                        person_id=pid,
                        code=e["code"],
                        full_name=e["name"],
                        unit_code=unit_codes.get(e["unit_id"], ""),
                        grades={p: e["grades"].get(p) for p in periods},
                        records=len(e["grades"]),
                    )
                    for pid, e in people.items()
                ),
                key=lambda p: (p.unit_code, p.code),
            )
        ),
    )


@dataclass(frozen=True)
class ReportUnit:
    """A unit a person may summarise (the top of one of their staff/head/admin scopes)."""

    code: str
    name: str
    role: str


def report_units(session: Session, *, person_id: int) -> list[ReportUnit]:
    """The topmost units the person may summarise (staff, head or admin scope), by role then code: the
    choices a bot menu offers; every unit below them may be summarised too."""
    _, _, U = _tables()
    nodes = {
        int(r.id): (r.code, r.name, r.parent_id)
        for r in session.connection().execute(select(U.c.id, U.c.code, U.c.name, U.c.parent_id))
    }
    scopes = {str(role): scope_units(session, person_id=person_id, roles=[role]) for role in SUMMARY_ROLES}
    covered = set().union(*scopes.values())
    tops = sorted((u for u in covered if nodes[u][2] not in covered), key=lambda u: nodes[u][0])
    return [
        ReportUnit(
            code=nodes[u][0], name=nodes[u][1], role=next(r for r, units in scopes.items() if u in units)
        )
        for u in tops
    ]
