"""A database filled like a deployment a year in: demo organisation, evaluations, audit, every bot table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine

from records import botstate
from records.db import session_scope
from records.demo import generate_demo_data
from records.schema import RosterUpload

TODAY = date(2026, 11, 15)
EXPECTED_NON_EMPTY = (
    "unit",
    "person",
    "role_assignment",
    "evaluation",
    "evaluation_task",
    "action_programme",
    "action_item",
    "audit_log",
    "roster_upload",
    "bot_update",
    "bot_conversation",
    "bot_answer",
    "bot_feedback",
    "bot_handoff",
    "bot_handoff_copy",
    "bot_job",
    "bot_lease",
)


def fill(engine: Engine, *, people: int = 40) -> None:
    """Demo records plus rows in every bot table; a manager pointing at a later row on purpose."""
    generate_demo_data(engine, people=people, months=2, today=TODAY)
    with engine.begin() as conn:  # a self-reference to a row inserted after it: the copy must cope
        last = conn.execute(text("SELECT MAX(id) FROM person")).scalar_one()
        conn.execute(text("UPDATE person SET manager_id = :m WHERE id = 1"), {"m": last})
    answer = botstate.record_answer(
        engine,
        chat_id=-(10**12),
        user_id=9 * 10**11,
        question="Điều 5 <b>&amp;</b> ‘trích’",
        found=False,
        chunk_ids=[],
    )
    botstate.record_feedback(engine, answer_id=answer.id, user_id=9 * 10**11, vote=-1)
    handoff, _created = botstate.open_handoff(engine, answer_id=answer.id)
    botstate.record_handoff_copy(engine, handoff_id=handoff.id, chat_id=9 * 10**11, message_id=2**31 + 5)
    botstate.save_conversation(engine, chat_id=1, user_id=2, state="qa:reply", data={"t": "Điều 1"})
    botstate.save_job(
        engine,
        name="workflows:tick",
        kind="workflow_tick",
        run_at=datetime(2026, 11, 15, tzinfo=UTC),
        interval_s=60,
        data={"done": {"remind": "2026-11-15"}},
    )
    botstate.claim_update(engine, update_id=2**40, run_id="r1")
    botstate.acquire_lease(engine, name="job:x", holder="r1", ttl=timedelta(days=3650))
    with session_scope(engine) as session:
        session.add(
            RosterUpload(
                filename="danh-sach.xlsx", data=bytes(range(256)) * 4, created_at=datetime.now(UTC), mode=None
            )
        )


def row_counts(engine: Engine, tables: tuple[str, ...] = EXPECTED_NON_EMPTY) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()) for t in tables}
