"""End-to-end through the real `canbo run`: sign-in (contact, invite, stranger, impostor), Q&A, feedback, hand-off."""

from __future__ import annotations

import pytest

from records.db import make_engine, session_scope
from records.invites import issue_invite
from records.people import find_person_by_code
from tests.e2e.conftest import CADRE_ID, IMPOSTOR_ID, INVITED_ID, STAFF_ID, STRANGER_ID, BotWorld

pytestmark = pytest.mark.slow


def _sign_in(bw: BotWorld, user_id: int) -> None:
    world = bw.telegram.world
    sent = world.send_text(user_id, "/start")
    prompt = bw.telegram.wait_for_text(user_id, "Chia sẻ số điện thoại", after=sent.message_id)
    assert prompt.reply_markup is not None and "request_contact" in str(prompt.reply_markup)
    shared = world.share_contact(user_id)
    bw.telegram.wait_for_text(user_id, "Đã liên kết tài khoản", after=shared.message_id)


def test_sign_in_by_own_contact_sets_the_role_menu(bot_world: BotWorld) -> None:
    _sign_in(bot_world, CADRE_ID)
    world = bot_world.telegram.world
    commands = [c["command"] for c in world.commands_for(CADRE_ID)]
    assert "toi" in commands and "hoi" in commands and "cauhoi" not in commands
    sent = world.send_text(CADRE_ID, "/toi")
    me = bot_world.telegram.wait_for_text(CADRE_ID, "Lê Văn Cán", after=sent.message_id)
    assert "Quận ủy Ba Đình" in me.body and "cán bộ" in me.body


def test_stranger_is_told_whom_to_contact(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    shared = world.share_contact(STRANGER_ID)
    reply = bot_world.telegram.wait_for_text(STRANGER_ID, "chưa có trong danh sách", after=shared.message_id)
    assert "Ban Tổ chức" in reply.body  # settings.support_contact
    sent = world.send_text(STRANGER_ID, "/toi")
    bot_world.telegram.wait_for_text(STRANGER_ID, "cần đăng nhập", after=sent.message_id)


def test_someone_elses_contact_is_refused(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    shared = world.share_contact(IMPOSTOR_ID, phone_number="+84901000002", contact_user_id=STAFF_ID)
    bot_world.telegram.wait_for_text(IMPOSTOR_ID, "không phải của chính tài khoản", after=shared.message_id)
    shared = world.share_contact(IMPOSTOR_ID, phone_number="+84901000002")  # no user_id at all
    bot_world.telegram.wait_for_text(IMPOSTOR_ID, "không phải của chính tài khoản", after=shared.message_id)
    sent = world.send_text(IMPOSTOR_ID, "/toi")
    bot_world.telegram.wait_for_text(IMPOSTOR_ID, "cần đăng nhập", after=sent.message_id)


def test_sign_in_by_invite_code_once(bot_world: BotWorld) -> None:
    engine = make_engine(bot_world.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code="CB02")
            assert person is not None
            code = issue_invite(session, actor_id=None, person_id=person.id).code
    finally:
        engine.dispose()
    world = bot_world.telegram.world
    sent = world.send_text(INVITED_ID, "/start WRONG-CODE")
    bot_world.telegram.wait_for_text(INVITED_ID, "Mã mời không đúng", after=sent.message_id)
    sent = world.send_text(INVITED_ID, f"/start {code}")
    bot_world.telegram.wait_for_text(INVITED_ID, "Phạm Thị Mời", after=sent.message_id)
    # The same code from another account: already used.
    sent = world.send_text(STRANGER_ID, code.lower().replace("-", ""))
    bot_world.telegram.wait_for_text(STRANGER_ID, "Mã mời không đúng", after=sent.message_id)


def test_question_gets_cited_answer_and_feedback_is_stored_once(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    sent = world.send_text(CADRE_ID, "Thời gian luân chuyển cán bộ tối thiểu là bao lâu?")
    answer = bot_world.telegram.wait_for_text(CADRE_ID, "Căn cứ", after=sent.message_id, timeout=30)
    assert "Điều" in answer.body and "65-QĐ/TW" in answer.body
    assert answer.parse_mode == "HTML"
    buttons = answer.button_texts
    assert any(b.startswith("📖") for b in buttons) and "👍 Hữu ích" in buttons
    world.press_button(CADRE_ID, CADRE_ID, answer.message_id, text="👍 Hữu ích")
    world.press_button(CADRE_ID, CADRE_ID, answer.message_id, text="👍 Hữu ích")  # double tap
    answers = bot_world.telegram.world.wait_until(
        lambda: [a for a in world.changed_answers(CADRE_ID, 0) if a.text] or None, 15
    )
    del answers
    full = next(b for b in buttons if b.startswith("📖"))
    world.press_button(CADRE_ID, CADRE_ID, answer.message_id, text=full)
    article = bot_world.telegram.wait_for_text(CADRE_ID, "📖", after=answer.message_id)
    assert "Điều" in article.body
