"""HTML and entities typed by users come back as the same characters wherever the bot echoes them: a question
handed to staff, the staff's reply, a plan task, a roster file's name and cells. The fake Bot API parses HTML as
Telegram does (an unknown tag is refused, which the bot would log as an error), so reading the typed text back
literally proves it was escaped."""

from __future__ import annotations

import pytest

from bot import texts
from bot import texts_workflows as tw
from tests.hostile.conftest import USERS, Arena

pytestmark = pytest.mark.slow

PAYLOADS = ("<b>đậm</b>", "<script>alert(1)</script>", "&lt;i&gt;", "&amp;", '<a href="tg://x">bấm</a>')
TYPED = " ".join(PAYLOADS)


def assert_literal(body: str, where: str) -> None:
    missing = [p for p in PAYLOADS if p not in body]
    assert not missing, f"{where}: {missing} not shown as typed in {body!r}"


def test_a_question_and_the_staff_reply_are_echoed_as_typed(arena: Arena) -> None:
    cadre, staff = USERS["HK04"], USERS["HK03"]
    seen = max((m.message_id for m in arena.telegram.world.messages(staff)), default=0)
    asked = arena.say(cadre, f"Phở bò {TYPED} có ngon không?")
    answer = next(m for m in asked.messages if texts.BUTTON_HANDOFF in m.button_texts)
    arena.press(cadre, answer, texts.BUTTON_HANDOFF)
    to_staff = arena.telegram.wait_for_text(staff, "Câu hỏi chuyển đến Ban Tổ chức", after=seen)
    assert_literal(to_staff.body, "hand-off to staff")
    arena.press(staff, to_staff, "✍️ Trả lời")
    sent = arena.say(staff, f"Trả lời: {TYPED}")
    assert sent.messages, "the staff's reply got no confirmation"
    reply = arena.telegram.wait_for_text(cadre, "Ban Tổ chức trả lời", after=answer.message_id)
    assert_literal(reply.body, "reply to the cadre")


def test_a_plan_task_is_shown_as_typed(arena: Arena) -> None:
    cadre = USERS["HK04"]
    asked = arena.forge(cadre, "kh:add:2026-10")  # the plan's own «add a task» button
    assert any(tw.PLAN_ASK_TASK.split("<")[0][:20] in t for t in asked.texts), asked.texts
    saved = arena.say(cadre, f"Việc {TYPED} | Kết quả {TYPED}")
    assert_literal(saved.everything, "plan card")


def test_a_roster_files_name_and_cells_are_shown_as_typed(arena: Arena) -> None:
    before = arena.digest()
    name = "<i>ds &amp; <x>.csv"  # no "/": a file name is cut at the last one
    data = f"Mã cán bộ,Họ và tên,Số điện thoại,Mã đơn vị\nZ1,Người Thử,{PAYLOADS[1]},TU\n".encode()
    outcome = arena.upload(USERS["QT01"], data, name)
    assert name in outcome.everything, outcome.texts
    assert PAYLOADS[1] in outcome.everything, outcome.texts  # the bad phone number, quoted in the report
    assert arena.digest() == before


def test_control_characters_are_refused_before_anything_is_saved(arena: Arena) -> None:
    before = arena.digest()
    for typed in ("Luân chuyển\x00 cán bộ", "Báo cáo\x1b[31m | Kết quả"):
        outcome = arena.say(USERS["HK04"], typed)
        assert outcome.texts == [texts.CONTROL_CHARACTERS], outcome.texts
    assert arena.digest() == before
