"""A question handed off to two staff members through the real bot, on SQLite and Postgres (issue #11).

Both staff members get a copy with «✍️ Trả lời»; one starts a reply and then lists the open questions, the
other answers first. The slower one's copies (the hand-off's and the /cauhoi listing's) are edited: no
«✍️ Trả lời», who answered and when in Hà Nội time. Their typed reply and an old button both say it was
already answered; the asker gets exactly one reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.localapi import ChatMessage
from records import botstate
from records.db import make_engine
from tests.e2e_workflows.conftest import USERS, Flow, running_flow

pytestmark = pytest.mark.slow

QUESTION = "Công thức nấu phở bò ngon nhất là gì?"
REPLY = "Câu hỏi này không thuộc phạm vi công tác cán bộ."


@pytest.fixture(params=["sqlite", "postgres"])
def handoff_flow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flow]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    with running_flow(tmp_path, start="2026-10-02T09:00:00+07:00", database_url=url) as world:
        yield world


def _edited(flow: Flow, code: str, message_id: int, *, timeout: float = 20.0) -> ChatMessage:
    """The bot message once the bot has edited it."""
    world = flow.telegram.world

    def found() -> ChatMessage | None:
        message = world.find_message(USERS[code], message_id)
        return message if message is not None and message.edit_count else None

    return world.wait_until(found, timeout)


def _answer_text(flow: Flow, query_id: str, *, timeout: float = 20.0) -> str:
    world = flow.telegram.world
    return world.wait_until(lambda: world.callback_answers.get(query_id), timeout).text or ""


def _handoff(flow: Flow) -> botstate.HandoffRecord:
    engine = make_engine(flow.db_url)
    try:
        (handoff,) = botstate.open_handoffs(engine)
        return handoff
    finally:
        engine.dispose()


def _copies(flow: Flow, handoff_id: int) -> list[botstate.HandoffCopy]:
    engine = make_engine(flow.db_url)
    try:
        return botstate.handoff_copies(engine, handoff_id=handoff_id)
    finally:
        engine.dispose()


def test_the_other_staff_copies_say_who_answered_and_lose_the_reply_button(handoff_flow: Flow) -> None:
    flow = handoff_flow
    answer = flow.say("HK02", QUESTION, "chưa tìm thấy", timeout=40)
    before_tu, before_hk = flow.last_id("TU01"), flow.last_id("HK03")
    flow.press("HK02", answer, "📨 Chuyển cho Ban Tổ chức", "Đã chuyển câu hỏi")
    copy_tu = flow.wait("TU01", "phở bò", after=before_tu)
    copy_hk = flow.wait("HK03", "phở bò", after=before_hk)
    for copy in (copy_tu, copy_hk):
        assert "Ngô Văn Khoa" in copy.body and copy.button_texts == ["✍️ Trả lời"]
    handoff = _handoff(flow)
    assert sorted((c.chat_id, c.message_id) for c in _copies(flow, handoff.id)) == sorted(
        [(USERS["TU01"], copy_tu.message_id), (USERS["HK03"], copy_hk.message_id)]
    )

    # HK03 starts a reply, then lists the open questions (one more message with «✍️ Trả lời»).
    flow.press("HK03", copy_hk, "✍️ Trả lời", "Vui lòng gõ câu trả lời")
    listed = flow.say("HK03", "/cauhoi", f"{handoff.id}. {QUESTION}")
    assert listed.button_texts == ["✍️ Trả lời"]
    # TU01 answers first.
    flow.press("TU01", copy_tu, "✍️ Trả lời", "Vui lòng gõ câu trả lời")
    before_asker = flow.last_id("HK02")
    flow.say("TU01", REPLY, "Đã gửi câu trả lời")
    flow.wait("HK02", "Ban Tổ chức trả lời", after=before_asker)

    engine = make_engine(flow.db_url)
    try:
        answered = botstate.get_handoff(engine, handoff_id=handoff.id)
    finally:
        engine.dispose()
    assert answered.status == "answered" and answered.answered_at is not None
    at = answered.answered_at if answered.answered_at.tzinfo else answered.answered_at.replace(tzinfo=UTC)
    when = at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%H:%M ngày %d/%m/%Y")
    who = f"Nguyễn Văn Thành trả lời lúc {when}"

    # Both of HK03's messages are edited: no «✍️ Trả lời», who answered and when.
    for message_id in (copy_hk.message_id, listed.message_id):
        edited = _edited(flow, "HK03", message_id)
        assert edited.button_texts == [], edited.button_texts
        assert "Đã được trả lời" in edited.body and who in edited.body, edited.body
        assert QUESTION in edited.body
    # HK03's reply, typed after the fact, is not a second answer.
    late = flow.say("HK03", "Tôi trả lời muộn.", "đã được trả lời rồi")
    assert who in late.body
    # An old button (a client that did not refresh) says it was answered, and opens no reply.
    before = flow.last_id("HK03")
    query = flow.telegram.world.forge_callback(
        USERS["HK03"], USERS["HK03"], copy_hk.message_id, f"qa:reply:{handoff.id}"
    )
    alert = _answer_text(flow, query)
    assert "đã được trả lời rồi" in alert and who in alert, alert
    # (a due-task reminder may arrive meanwhile: the reminder job runs on its own clock tick)
    after = [m for m in flow.telegram.world.bot_messages(USERS["HK03"]) if m.message_id > before]
    assert not [m for m in after if not m.body.startswith("⏰ Nhắc việc")], after
    # The asker got exactly one reply, TU01's.
    replies = [
        m for m in flow.telegram.world.bot_messages(USERS["HK02"]) if "trả lời câu hỏi của bạn" in m.body
    ]
    assert len(replies) == 1 and REPLY in replies[0].body
