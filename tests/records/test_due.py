"""What is due: plans, self-assessments, reviews and decisions with recipients, links and deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from records.db import session_scope
from records.due import list_due, list_reminders
from records.errors import ValidationFailed
from records.people import link_telegram
from records.schema import Person
from tests.records.flows import RULES, plan, review, submit
from tests.records.org import Org


def _by(items: list, kind: str) -> dict[int, list]:  # type: ignore[type-arg]
    out: dict[int, list] = {}  # type: ignore[type-arg]
    for item in items:
        if item.kind == kind:
            out.setdefault(item.subject_person_id, []).append(item)
    return out


def test_due_lists_every_stage_with_recipients(db_engine: Engine, org: Org) -> None:
    p = org.people
    submitted = submit(db_engine, p["BD03"])  # waits for BD02's review
    draft = plan(db_engine, p["BD04"])  # planned, not self-assessed
    reviewed = review(db_engine, p["BD01"], submit(db_engine, p["PX01"]).id)  # waits for a head over PX
    with session_scope(db_engine) as session:
        link_telegram(session, person_id=p["BD02"], telegram_user_id=5_000_000_002, chat_id=5_000_000_002)
    on = date(2026, 6, 2)
    with Session(db_engine) as session:
        items = list_due(session, on=on, rules=RULES)
    plans = _by(items, "plan")
    assert set(plans) == set(p.values())  # nobody planned June yet
    assert {i.period for i in items if i.kind == "plan"} == {"2026-06"}
    assert plans[p["BD03"]][0].deadline == date(2026, 6, 5) and plans[p["BD03"]][0].days_left == 3
    selfs = _by(items, "self_assessment")
    assert set(selfs) == set(p.values()) - {p["BD03"], p["PX01"]}
    assert selfs[p["BD04"]][0].record_id == draft.id and selfs[p["HK02"]][0].record_id is None
    assert selfs[p["BD04"]][0].deadline == date(2026, 6, 3)
    (rev,) = _by(items, "review")[p["BD03"]]
    assert (rev.recipient_id, rev.record_id, rev.telegram_user_id) == (p["BD02"], submitted.id, 5_000_000_002)
    decisions = _by(items, "decision")[p["PX01"]]
    assert [d.recipient_id for d in decisions] == [p["BD01"]]  # PX01 heads PX but never decides their own
    assert decisions[0].record_id == reviewed.id and decisions[0].deadline == date(2026, 6, 7)
    assert items == sorted(items, key=lambda i: (i.deadline, i.kind, i.recipient_id, i.subject_person_id))


def test_reminders_follow_the_offsets(db_engine: Engine, org: Org) -> None:
    submit(db_engine, org.people["BD03"])
    with Session(db_engine) as session:
        kinds = {
            d: {i.kind for i in list_reminders(session, on=d, rules=RULES)}
            for d in (date(2026, 6, 2), date(2026, 6, 3), date(2026, 6, 6), date(2026, 6, 12))
        }
    assert kinds[date(2026, 6, 2)] == {"plan", "self_assessment", "review"}  # 3, 1, 3 days left
    assert kinds[date(2026, 6, 3)] == {"self_assessment"}  # 2, 0, 2 days left
    assert kinds[date(2026, 6, 6)] == {"plan", "self_assessment", "review"}  # 1, 3, 1 days late
    assert kinds[date(2026, 6, 12)] == {"plan", "review"}  # 7 days late; self-assessment 9 days late


def test_unknown_kind_is_refused(db_engine: Engine, org: Org) -> None:
    with Session(db_engine) as session, pytest.raises(ValidationFailed):
        list_due(session, on=date(2026, 6, 2), rules=RULES, kinds=["nap"])
    with Session(db_engine) as session:
        only = list_due(session, on=date(2026, 6, 2), rules=RULES, kinds=["plan"])
    assert {i.kind for i in only} == {"plan"}


def test_the_self_assessment_reminder_three_days_before_falls_in_the_period_itself(
    db_engine: Engine, org: Org
) -> None:
    """June's self-assessment is due 03/07, so «3 days before» is 30/06 — still June, when it is the current period."""
    p = org.people
    submit(db_engine, p["BD03"], period="2026-06")  # already sent: not reminded
    with Session(db_engine) as session:
        reminded = list_reminders(session, on=date(2026, 6, 30), rules=RULES)
        too_early = list_due(session, on=date(2026, 6, 29), rules=RULES, kinds=["self_assessment"])
    june = [i for i in reminded if i.kind == "self_assessment" and i.period == "2026-06"]
    assert {i.subject_person_id for i in june} == set(p.values()) - {p["BD03"]}
    assert {(i.deadline, i.days_left) for i in june} == {(date(2026, 7, 3), 3)}
    assert not [i for i in too_early if i.period == "2026-06"]  # 4 days before: beyond every reminder offset


def test_who_joined_in_the_small_hours_of_the_next_month_is_not_due_for_the_last(
    db_engine: Engine, org: Org
) -> None:
    """Joined before May ended means before 01/06/2026 00:00 in Hà Nội: someone added at 23:30 on 31 May (Hà
    Nội) owes May's self-assessment, someone added at 06:30 on 1 June — 31 May in UTC — does not."""
    with session_scope(db_engine) as session:
        for code, created in (
            ("BD91", datetime(2026, 5, 31, 16, 30, tzinfo=UTC)),
            ("BD92", datetime(2026, 5, 31, 23, 30, tzinfo=UTC)),
        ):
            person = Person(
                cadre_code=code,
                full_name=f"Người mới {code}",
                phone=f"0919{code[2:]}0000",
                position="Chuyên viên",
                unit_id=org.units["BD"],
                created_at=created,
                updated_at=created,
            )
            session.add(person)
    with Session(db_engine) as session:
        codes = {p.id: p.cadre_code for p in session.exec(select(Person)).all()}
        items = list_due(session, on=date(2026, 6, 2), rules=RULES, kinds=["self_assessment"])
    may = {codes[i.subject_person_id] for i in items if i.period == "2026-05"}
    assert "BD91" in may and "BD92" not in may
