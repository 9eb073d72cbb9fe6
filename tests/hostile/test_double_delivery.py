"""The same update delivered twice around a restart: a question, a hand-off press and a typed plan task are
handled once before a kill -9, delivered again to the restarted bot (and one more update sent while it is down
arrives twice): one reply each, one row each, nothing lost."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot import texts
from records.db import make_engine
from tests.hostile.conftest import USERS, Arena

pytestmark = pytest.mark.slow


def _count(arena: Arena, sql: str, **params: object) -> int:
    engine = make_engine(arena.db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one())
    finally:
        engine.dispose()


def _bot_messages_with(arena: Arena, chat_id: int, fragment: str) -> int:
    return sum(1 for m in arena.telegram.world.bot_messages(chat_id) if fragment in m.body)


def test_updates_redelivered_after_a_kill_are_handled_once(arena: Arena) -> None:
    world = arena.telegram.world
    asker, staff, planner = USERS["HK01"], USERS["HK03"], USERS["HK04"]
    question = "Bún chả 7731 ở đâu ngon?"
    asked = arena.say(asker, question)
    question_update = world.last_update_id
    answer = next(m for m in asked.messages if texts.BUTTON_HANDOFF in m.button_texts)
    arena.press(asker, answer, texts.BUTTON_HANDOFF)
    handoff_update = world.last_update_id
    arena.telegram.wait_for_text(staff, "Bún chả 7731", after=0)
    arena.forge(planner, "kh:add:2026-10")
    arena.say(planner, "Rà soát hồ sơ 7731 | Báo cáo")
    task_update = world.last_update_id

    arena.bot.kill9()
    late = world.send_text(planner, "Rà soát hồ sơ 7732 | Báo cáo")  # sent while the bot is down
    for update_id in (question_update, handoff_update, task_update, world.last_update_id):
        world.redeliver(update_id)
    arena.restart_hard()
    for uid in (asker, planner):
        arena.say(uid, "/trogiup")  # handled after everything queued before it in the chat

    assert _count(arena, "SELECT count(*) FROM bot_answer WHERE question = :q", q=question) == 1
    assert _count(arena, "SELECT count(*) FROM bot_handoff") == 2  # the seeded one and this one
    assert _bot_messages_with(arena, staff, "Bún chả 7731") == 1
    assert _bot_messages_with(arena, asker, texts.HANDOFF_SENT[:30]) == 1
    for title in ("Rà soát hồ sơ 7731", "Rà soát hồ sơ 7732"):
        assert _count(arena, "SELECT count(*) FROM evaluation_task WHERE title = :t", t=title) == 1, title
    replies_to_late = [m for m in world.bot_messages(planner) if m.message_id > late.message_id]
    assert sum(1 for m in replies_to_late if "Rà soát hồ sơ 7732" in m.body) == 1
