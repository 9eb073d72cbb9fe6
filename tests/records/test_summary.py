"""Period summaries over hand-built data: counts, grades, quota breaches named, previous-period delta, scope."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from records.charts import summary_figure
from records.errors import NotFound, PermissionDenied, ValidationFailed
from records.export_xlsx import summary_xlsx_bytes
from records.rules import QuotaRule, Rules, default_rules
from records.schema import Evaluation, Person, RoleAssignment, Unit
from records.summary import (
    Counts,
    InvalidPeriod,
    check_quotas,
    render_summary_text,
    render_yearly_text,
    report_units,
    summarize_period,
    yearly_rollup,
)

BEFORE = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Org:
    """Ids of the hand-built organisation."""

    units: dict[str, int]
    people: dict[str, int]


def build_org(engine: Engine) -> Org:
    """Quận ủy (ROOT) → Phường 1 (W1) → Chi bộ 1 (C1); ROOT → Phường 2 (W2); ROOT → Phường 3 (W3, outstanding).

    Period 2026-10:
      ROOT: r1 decided B; r2 has no record (missing).
      W1: 9 decided A A A A B B B C D + 1 submitted late (A 4 of 10 records > 30%: breach).
      C1: c1 draft (missing), c2 returned late, c3 reviewed.
      W2: decided B B C; a person added after the period and one who left, neither with a record.
      W3 (outstanding, 40%): 10 decided A A A A B B B B B B (4 of 10 = 40%: allowed).
    Period 2026-09: r1 decided B, r2 submitted, five W1 people decided B.
    """
    people: dict[str, int] = {}
    units: dict[str, int] = {}
    with Session(engine, expire_on_commit=False) as s:

        def unit(code: str, name: str, parent: str | None, outstanding: bool = False) -> None:
            row = Unit(code=code, name=name, parent_id=units.get(parent) if parent else None,
                       outstanding=outstanding, created_at=BEFORE, updated_at=BEFORE)  # fmt: skip
            s.add(row)
            s.flush()
            assert row.id is not None
            units[code] = row.id

        def person(key: str, unit_code: str, *, created: datetime = BEFORE, active: bool = True) -> None:
            n = len(people) + 1
            row = Person(cadre_code=f"CB{n:04d}", full_name=f"Nguyễn Văn Thử {n}", phone=f"09120000{n:02d}",
                         position="Chuyên viên", unit_id=units[unit_code], active=active, created_at=created,
                         updated_at=created)  # fmt: skip
            s.add(row)
            s.flush()
            assert row.id is not None
            people[key] = row.id

        def evaluation(
            key: str, period: str, state: str, grade: str | None = None, late: bool = False
        ) -> None:
            pid = people[key]
            p = s.get(Person, pid)
            assert p is not None
            at = (
                datetime(2026, 11, 2, tzinfo=UTC)
                if period == "2026-10"
                else datetime(2026, 10, 2, tzinfo=UTC)
            )
            s.add(
                Evaluation(person_id=pid, unit_id=p.unit_id, period=period, state=state, late=late,
                           submitted_at=None if state == "draft" else at, self_total=80.0, proposed_grade="B",
                           final_grade=grade, final_total=80.0 if grade else None, created_at=at, updated_at=at)
            )  # fmt: skip

        unit("ROOT", "Quận ủy Thử nghiệm", None)
        unit("W1", "Đảng ủy phường Một", "ROOT")
        unit("C1", "Chi bộ khu dân cư số 1", "W1")
        unit("W2", "Đảng ủy phường Hai", "ROOT")
        unit("W3", "Đảng ủy phường Ba", "ROOT", outstanding=True)
        unit("OTHER", "Huyện ủy khác", None)
        person("r1", "ROOT")
        person("r2", "ROOT")
        for i in range(10):
            person(f"w1_{i}", "W1")
        for i in range(3):
            person(f"c1_{i}", "C1")
        for i in range(3):
            person(f"w2_{i}", "W2")
        person("w2_new", "W2", created=datetime(2026, 11, 5, tzinfo=UTC))
        person("w2_left", "W2", active=False)
        for i in range(10):
            person(f"w3_{i}", "W3")
        person("outsider", "OTHER")
        person("staff", "W2")
        s.add(RoleAssignment(person_id=people["staff"], role="staff", unit_id=units["W2"], granted_at=BEFORE))

        evaluation("r1", "2026-10", "decided", "B")
        for i, grade in enumerate("AAAABBBCD"):
            evaluation(f"w1_{i}", "2026-10", "decided", grade)
        evaluation("w1_9", "2026-10", "submitted", late=True)
        evaluation("c1_0", "2026-10", "draft")
        evaluation("c1_1", "2026-10", "returned", late=True)
        evaluation("c1_2", "2026-10", "reviewed")
        for i, grade in enumerate("BBC"):
            evaluation(f"w2_{i}", "2026-10", "decided", grade)
        for i, grade in enumerate("AAAABBBBBB"):
            evaluation(f"w3_{i}", "2026-10", "decided", grade)
        evaluation("outsider", "2026-10", "decided", "A")
        evaluation("r1", "2026-09", "decided", "B")
        evaluation("r2", "2026-09", "submitted")
        for i in range(5):
            evaluation(f"w1_{i}", "2026-09", "decided", "B")
        s.commit()
    return Org(units=units, people=people)


@pytest.fixture
def rules() -> Rules:
    return default_rules()


def test_counts_grades_breach_and_delta(db_engine: Engine, rules: Rules) -> None:
    org = build_org(db_engine)
    with Session(db_engine) as session:
        summary = summarize_period(session, unit_code="ROOT", period="2026-10", rules=rules)
    t = summary.total
    # W2's person "staff" has no record: missing like r2 and the draft in C1.
    assert (t.expected, t.submitted, t.late, t.missing) == (29, 26, 2, 3)
    assert (t.reviewed, t.decided) == (24, 23)
    assert dict(t.grades) == {"A": 8, "B": 12, "C": 2, "D": 1}
    assert [u.code for u in summary.units] == ["ROOT", "W1", "C1", "W2", "W3"]
    by_code = {u.code: u for u in summary.units}
    assert by_code["C1"].depth == 2 and by_code["C1"].parent_code == "W1"
    assert (by_code["C1"].counts.expected, by_code["C1"].counts.missing, by_code["C1"].counts.late) == (
        3,
        1,
        1,
    )
    assert by_code["W2"].counts.expected == 4  # the late joiner and the leaver are not expected
    # Exactly one breach, named: Phường Một has 4 A of its 10 records where 30% allows 3; W3 (outstanding) is fine.
    assert len(summary.breaches) == 1
    breach = summary.breaches[0]
    assert (breach.unit_code, breach.grade, breach.count, breach.base, breach.allowed) == (
        "W1",
        "A",
        4,
        10,
        3,
    )
    assert "Đảng ủy phường Một" in breach.describe() and "30%" in breach.describe()
    # Previous period: r1, r2 and five W1 records submitted; 23 missing of the 29 then on the roster and active.
    assert summary.previous_period == "2026-09" and summary.previous is not None
    assert (summary.previous.submitted, summary.previous.missing) == (7, 22)
    delta = summary.delta()
    assert (delta["submitted"], delta["missing"], delta["A"], delta["B"]) == (19, -19, 8, 6)
    text = render_summary_text(summary, tz="Asia/Ho_Chi_Minh")
    assert "Đã nộp tự đánh giá: 26 (nộp muộn: 2); chưa nộp: 3" in text
    assert "So với kỳ 2026-09" in text and "A +8" in text
    assert "⚠ Đảng ủy phường Một (W1): 4 người loại A" in text
    assert org.units["OTHER"] not in {u.unit_id for u in summary.units}


def test_subtree_people_rows_and_yearly_rollup(db_engine: Engine, rules: Rules) -> None:
    org = build_org(db_engine)
    with Session(db_engine) as session:
        summary = summarize_period(
            session, unit_code="W1", period="2026-10", rules=rules, include_people=True
        )
        rollup = yearly_rollup(session, unit_code="ROOT", year=2026, rules=rules)
    assert [u.code for u in summary.units] == ["W1", "C1"]
    assert (summary.total.expected, summary.total.missing, summary.total.decided) == (13, 1, 9)
    rows = {p.person_id: p for u in summary.units for p in u.people}
    assert len(rows) == 13
    assert rows[org.people["c1_0"]].state == "draft" and not rows[org.people["c1_0"]].submitted
    assert rows[org.people["w1_9"]].late and rows[org.people["w1_9"]].final_grade is None
    assert rows[org.people["w1_0"]].final_grade == "A"
    assert rollup.periods[0] == "2026-01" and len(rollup.periods) == 12
    r1 = next(p for p in rollup.people if p.person_id == org.people["r1"])
    assert r1.count("B") == 2 and r1.grades["2026-09"] == "B" and r1.grades["2026-01"] is None
    r2 = next(p for p in rollup.people if p.person_id == org.people["r2"])
    assert r2.grades["2026-09"] is None  # submitted, not decided
    assert all(p.person_id != org.people["outsider"] for p in rollup.people)


def test_the_yearly_rollup_counts_everyone_who_had_to_be_evaluated(db_engine: Engine, rules: Rules) -> None:
    """Like the period summary: W2's staff member (never opened a period) and the November joiner are in the
    year's roll-up, said so; the leaver without a record and another district's people are not."""
    org = build_org(db_engine)
    with Session(db_engine) as session:
        rollup = yearly_rollup(session, unit_code="ROOT", year=2026, rules=rules, tz="Asia/Ho_Chi_Minh")
        before = yearly_rollup(session, unit_code="ROOT", year=2025, rules=rules, tz="Asia/Ho_Chi_Minh")
    by_id = {p.person_id: p for p in rollup.people}
    assert (
        len(rollup.people) == 30
    )  # every active person of the subtree, as in 2026-10's summary (29) + joiner
    for key in ("staff", "w2_new"):
        assert by_id[org.people[key]].records == 0 and by_id[org.people[key]].unit_code == "W2"
    assert org.people["w2_left"] not in by_id and org.people["outsider"] not in by_id
    assert by_id[org.people["r2"]].records == 1  # submitted in September, never graded
    text = render_yearly_text(rollup, max_people=100)
    assert (
        "Đơn vị: Quận ủy Thử nghiệm (ROOT) — 30 người phải đánh giá trong năm (2 người chưa có hồ sơ" in text
    )
    assert "người có hồ sơ" not in text
    staff = by_id[org.people["staff"]]
    assert f"  • {staff.full_name} ({staff.code}, W2): chưa có hồ sơ đánh giá nào trong năm" in text
    r2 = by_id[org.people["r2"]]
    assert f"  • {r2.full_name} ({r2.code}, ROOT): chưa có kỳ nào được xếp loại" in text
    # Nobody was on the roster before 2025 ended in Hà Nội (they were added at 07:00 on 01/01/2026 there).
    assert before.people == () and "Không có ai phải đánh giá trong năm." in render_yearly_text(before)


def test_people_who_never_opened_the_period_are_listed_everywhere(db_engine: Engine, rules: Rules) -> None:
    """A unit where nobody opened 2026-10: its person is in the people rows, the message's list of who has not
    submitted, the Excel unit row and people sheet, and the chart; a late joiner and a leaver are not."""
    build_org(db_engine)
    with Session(db_engine) as s:
        root = s.exec(select(Unit).where(Unit.code == "ROOT")).one()
        w4 = Unit(
            code="W4", name="Đảng ủy phường Bốn", parent_id=root.id, created_at=BEFORE, updated_at=BEFORE
        )
        s.add(w4)
        s.flush()
        for code, name, created, active in (
            ("CB9001", "Trần Thị Chưa Mở", BEFORE, True),
            ("CB9002", "Lê Văn Mới Vào", datetime(2026, 11, 5, tzinfo=UTC), True),
            ("CB9003", "Phạm Văn Đã Nghỉ", BEFORE, False),
        ):
            s.add(Person(cadre_code=code, full_name=name, phone=f"0913{code[2:]}00", position="Chuyên viên",
                         unit_id=w4.id, active=active, created_at=created, updated_at=created))  # fmt: skip
        s.commit()
        summary = summarize_period(s, unit_code="ROOT", period="2026-10", rules=rules, include_people=True)
    unit = next(u for u in summary.units if u.code == "W4")
    assert (unit.counts.expected, unit.counts.submitted, unit.counts.missing) == (1, 0, 1)
    assert [(p.code, p.state, p.submitted) for p in unit.people] == [("CB9001", "missing", False)]
    assert summary.total.expected == 30
    # The message names who has not submitted, unit by unit: W4's person, r2 (no record) and C1's draft.
    text = render_summary_text(summary, tz="Asia/Ho_Chi_Minh")
    assert "  • Đảng ủy phường Bốn (W4): 1/1\n      – Trần Thị Chưa Mở (CB9001): chưa nộp" in text
    assert "      – Nguyễn Văn Thử 2 (CB0002): chưa nộp" in text
    assert "      – Nguyễn Văn Thử 13 (CB0013): đang soạn, chưa nộp" in text
    assert "Mới Vào" not in text and "Đã Nghỉ" not in text
    assert "(W4): 1/1\n      … và 1 người khác" in render_summary_text(
        summary, tz="Asia/Ho_Chi_Minh", max_people=0
    )
    # The Excel unit row and the unit's people sheet, read back.
    wb = load_workbook(io.BytesIO(summary_xlsx_bytes(summary, tz="Asia/Ho_Chi_Minh")))
    unit_row = next(r for r in wb["Tổng hợp"].iter_rows(values_only=True) if r[0] == "W4")
    assert unit_row[3:7] == (1, 0, 0, 1)
    sheet = wb["W4 Đảng ủy phường Bốn"]
    assert [r[1:6] for r in sheet.iter_rows(min_row=3, values_only=True)] == [
        ("CB9001", "Trần Thị Chưa Mở", "Chuyên viên", "W4", "Chưa nộp")
    ]
    # The chart's progress panel has a bar for W4 (all missing, so first).
    progress = summary_figure(summary).axes[1]
    labels = [t.get_text() for t in progress.get_yticklabels()]
    assert "Đảng ủy phường Bốn" in labels
    assert labels[0] == "Đảng ủy phường Bốn"


def test_the_period_ends_at_midnight_in_the_configured_zone(db_engine: Engine, rules: Rules) -> None:
    """On the roster before 2026-10 ended means before 01/11/2026 00:00 in Hà Nội (2026-10-31 17:00 UTC):
    someone added on the last evening of October is expected in it, someone added at 06:30 on 1 November —
    still 31 October in UTC — is not."""
    build_org(db_engine)
    with Session(db_engine) as s:
        w2 = s.exec(select(Unit).where(Unit.code == "W2")).one()
        for code, name, created in (
            (
                "CB9101",
                "Vũ Thị Tối Cuối Tháng",
                datetime(2026, 10, 31, 16, 30, tzinfo=UTC),
            ),  # 23:30 in Hà Nội
            ("CB9102", "Đặng Văn Sáng Mùng Một", datetime(2026, 10, 31, 23, 30, tzinfo=UTC)),  # 06:30 on 1/11
        ):
            s.add(Person(cadre_code=code, full_name=name, phone=f"0914{code[2:]}00", position="Chuyên viên",
                         unit_id=w2.id, created_at=created, updated_at=created))  # fmt: skip
        s.commit()
        october = summarize_period(
            s, unit_code="W2", period="2026-10", rules=rules, include_people=True, tz="Asia/Ho_Chi_Minh"
        )
        november = summarize_period(
            s, unit_code="W2", period="2026-11", rules=rules, include_people=True, tz="Asia/Ho_Chi_Minh"
        )
        in_utc = summarize_period(s, unit_code="W2", period="2026-10", rules=rules, tz="UTC")
    text = render_summary_text(october, tz="Asia/Ho_Chi_Minh")
    assert "Số người phải đánh giá: 5" in text  # W2's 4, and the evening's newcomer
    assert "Vũ Thị Tối Cuối Tháng (CB9101): chưa nộp" in text
    assert "Sáng Mùng Một" not in text
    assert "Đặng Văn Sáng Mùng Một (CB9102): chưa nộp" in render_summary_text(november, tz="Asia/Ho_Chi_Minh")
    assert in_utc.total.expected == 6  # a deployment in UTC: both joined on 31 October


def test_scope_and_bad_input(db_engine: Engine, rules: Rules) -> None:
    org = build_org(db_engine)
    staff = org.people["staff"]
    with Session(db_engine) as session:
        own = summarize_period(session, unit_code=" w2 ", period="2026-10", rules=rules, actor_id=staff)
        assert own.total.expected == 4
        with pytest.raises(PermissionDenied):
            summarize_period(session, unit_code="ROOT", period="2026-10", rules=rules, actor_id=staff)
        with pytest.raises(PermissionDenied):
            yearly_rollup(session, unit_code="W1", year=2026, rules=rules, actor_id=org.people["r1"])
        with pytest.raises(NotFound):
            summarize_period(session, unit_code="NOPE", period="2026-10", rules=rules)
        with pytest.raises(ValidationFailed) as bad:
            summarize_period(session, unit_code="ROOT", period="10-2026x", rules=rules)
        assert bad.value.params["field"] == "period"
        with pytest.raises(InvalidPeriod):
            summarize_period(session, unit_code="ROOT", period="2026-Q4", rules=rules)


def test_quarterly_rules(db_engine: Engine, rules: Rules) -> None:
    quarterly = rules.model_copy(update={"period": "quarter"})
    org = build_org(db_engine)
    with Session(db_engine) as s:
        for key, period, grade in (("r1", "2026-Q3", "A"), ("r1", "2026-Q4", "B"), ("r2", "2026-Q4", "C")):
            at = datetime(2026, 10, 2, tzinfo=UTC)
            s.add(Evaluation(person_id=org.people[key], unit_id=org.units["ROOT"], period=period, period_kind="quarter",
                             state="decided", submitted_at=at, final_grade=grade, created_at=at, updated_at=at))  # fmt: skip
        s.commit()
        summary = summarize_period(s, unit_code="ROOT", period="2026-q4", rules=quarterly)
        rollup = yearly_rollup(s, unit_code="ROOT", year=2026, rules=quarterly)
        with pytest.raises(InvalidPeriod):
            summarize_period(s, unit_code="ROOT", period="2026-10", rules=quarterly)
    assert summary.period == "2026-Q4" and summary.previous_period == "2026-Q3"
    assert dict(summary.total.grades) == {"B": 1, "C": 1}
    assert summary.previous is not None and dict(summary.previous.grades) == {"A": 1}
    assert summary.delta()["A"] == -1
    assert rollup.periods == ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4")
    r1 = next(p for p in rollup.people if p.person_id == org.people["r1"])
    assert (r1.grades["2026-Q3"], r1.grades["2026-Q4"], r1.count("A")) == ("A", "B", 1)


def test_report_units_are_the_tops_of_the_scopes(db_engine: Engine) -> None:
    org = build_org(db_engine)
    with Session(db_engine) as s:
        s.add(
            RoleAssignment(
                person_id=org.people["r1"], role="head", unit_id=org.units["ROOT"], granted_at=BEFORE
            )
        )
        s.add(
            RoleAssignment(
                person_id=org.people["r1"], role="staff", unit_id=org.units["W1"], granted_at=BEFORE
            )
        )
        s.commit()
        staff = report_units(s, person_id=org.people["staff"])
        head = report_units(s, person_id=org.people["r1"])
        nobody = report_units(s, person_id=org.people["w1_0"])
    assert [(u.code, u.role) for u in staff] == [("W2", "staff")]
    # W1 is inside the head's ROOT scope: only ROOT is offered (once).
    assert [(u.code, u.role) for u in head] == [("ROOT", "head")]
    assert nobody == []


def test_a_breach_names_a_fractional_limit_with_a_decimal_comma() -> None:
    """A rules file may set a share like 32.5%: users read «32,5%», the Vietnamese way."""
    rule = QuotaRule(kind="share_of_graded", grade="A", max_share=0.325)
    [breach] = check_quotas(
        unit_code="W1",
        unit_name="Đảng ủy phường Một",
        counts=Counts(expected=10, submitted=10, decided=10, grades={"A": 4, "B": 6}),
        outstanding=False,
        quotas=[rule],
    )
    assert "vượt mức tối đa 32,5% (được tối đa 3 người)" in breach.describe()
