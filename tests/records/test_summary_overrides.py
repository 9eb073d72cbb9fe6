"""The summary's quota section lists each decision confirmed over a quota, with who decided, the grade and why."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session

from records.db import session_scope
from records.evaluations import decide_evaluation, reopen_evaluation
from records.export_xlsx import summary_xlsx_bytes
from records.summary import QuotaOverride, render_summary_text, summarize_period
from tests.records.flows import RULES, review, submit
from tests.records.org import Org

DECIDED_AT = datetime(2026, 6, 8, 9, 0, tzinfo=UTC)
HANOI = "Asia/Ho_Chi_Minh"
EXCELLENT = {"discipline": 20, "tasks": 68, "bonus": 8}
REASON = "Thành tích đột xuất được Thành ủy khen"


def _reviewed_trio(engine: Engine, org: Org) -> list[int]:
    ids = []
    for code in ("BD02", "BD03", "BD04"):  # 30% of 3 → no grade A allowed
        view = submit(engine, org.people[code], points=EXCELLENT)
        reviewer = org.people["BD01"] if code == "BD02" else org.people["BD02"]
        ids.append(review(engine, reviewer, view.id).id)
    return ids


def test_overrides_are_listed_with_decider_grade_and_reason(db_engine: Engine, org: Org) -> None:
    binh = org.people["BD01"]
    ids = _reviewed_trio(db_engine, org)
    with session_scope(db_engine) as session:
        decide_evaluation(
            session,
            actor_id=binh,
            evaluation_id=ids[0],
            rules=RULES,
            quota_override_reason=REASON,
            now=DECIDED_AT,
        )
        decide_evaluation(
            session, actor_id=binh, evaluation_id=ids[1], rules=RULES, final_grade="B", now=DECIDED_AT
        )
    with Session(db_engine) as session:
        summary = summarize_period(
            session, unit_code="TU", period="2026-05", rules=RULES, include_people=True
        )
    assert [b.unit_code for b in summary.breaches] == ["BD"]
    [override] = summary.overrides
    assert (override.unit_code, override.person_code, override.person_name, override.grade) == (
        "BD",
        "BD02",
        "Lê Văn Cường",
        "A",
    )
    assert (override.decided_by, override.reason, override.evaluation_id) == ("Trần Thị Bình", REASON, ids[0])
    assert override.decided_at == DECIDED_AT
    text = render_summary_text(summary, tz=HANOI)
    quota_section = text[text.index("Vượt tỷ lệ quy định") :]
    assert "Lê Văn Cường (BD02) loại A, Trần Thị Bình quyết định ngày 08/06/2026" in quota_section
    assert REASON in quota_section
    workbook = load_workbook(io.BytesIO(summary_xlsx_bytes(summary, tz=HANOI)), read_only=True)
    rows = [row for row in workbook["Tổng hợp"].iter_rows(values_only=True) if row and row[0] == "BD"]
    assert ("BD", "Quận ủy Ba Đình", "BD02", "Lê Văn Cường", "A", "Trần Thị Bình") in [r[:6] for r in rows]
    assert [r[7] for r in rows if r[2] == "BD02"] == [REASON]
    # The decision's time is Hà Nội's wall clock (09:00 UTC is 16:00 there), with no "(UTC)" in the header.
    assert [r[6] for r in rows if r[2] == "BD02"] == [datetime(2026, 6, 8, 16, 0)]
    sheet_texts = [
        v for row in workbook["Tổng hợp"].iter_rows(values_only=True) for v in row if isinstance(v, str)
    ]
    assert "Thời điểm quyết định" in sheet_texts and not any("UTC" in v for v in sheet_texts)


def test_an_override_late_in_the_utc_evening_is_dated_the_next_local_day() -> None:
    override = QuotaOverride(
        unit_code="BD",
        unit_name="Quận ủy Ba Đình",
        evaluation_id=1,
        person_code="BD02",
        person_name="Lê Văn Cường",
        grade="A",
        decided_by="Trần Thị Bình",
        decided_at=datetime(2026, 6, 8, 20, 0, tzinfo=UTC),  # 03:00 on 9 June in Hà Nội
        reason=REASON,
    )
    assert "quyết định ngày 09/06/2026" in override.describe(HANOI)
    assert "quyết định ngày 08/06/2026" in override.describe("America/New_York")


def test_a_re_decision_within_quota_drops_the_override(db_engine: Engine, org: Org) -> None:
    binh = org.people["BD01"]
    ids = _reviewed_trio(db_engine, org)
    with session_scope(db_engine) as session:
        decide_evaluation(
            session, actor_id=binh, evaluation_id=ids[0], rules=RULES, quota_override_reason=REASON
        )
    with session_scope(db_engine) as session:
        reopen_evaluation(session, actor_id=binh, evaluation_id=ids[0], reason="Xếp lại theo tỷ lệ")
        decide_evaluation(session, actor_id=binh, evaluation_id=ids[0], rules=RULES, final_grade="B")
    with Session(db_engine) as session:
        summary = summarize_period(session, unit_code="BD", period="2026-05", rules=RULES)
    assert summary.breaches == () and summary.overrides == ()
    assert "lý do" not in render_summary_text(summary, tz=HANOI)
