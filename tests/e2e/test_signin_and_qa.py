"""End-to-end through the real `canbo run`: sign-in (contact, invite, stranger, impostor), Q&A, feedback, hand-off."""

from __future__ import annotations

import pytest

from records import botstate
from records.db import make_engine, session_scope
from records.invites import issue_invite
from records.people import find_person_by_code
from tests.e2e.conftest import (
    CADRE_ID,
    IMPOSTOR_ID,
    INVITED_ID,
    STAFF_ID,
    STRANGER_ID,
    BotWorld,
    button_answer,
)

pytestmark = pytest.mark.slow


def test_sign_in_by_own_contact_sets_the_role_menu(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    sent = world.send_text(CADRE_ID, "/start")
    prompt = bot_world.telegram.wait_for_text(CADRE_ID, "Chia sẻ số điện thoại", after=sent.message_id)
    assert prompt.reply_markup is not None and "request_contact" in str(prompt.reply_markup)
    assert "toi" not in [c["command"] for c in world.commands_for(CADRE_ID)]
    shared = world.share_contact(CADRE_ID)
    bot_world.telegram.wait_for_text(CADRE_ID, "Đã liên kết tài khoản", after=shared.message_id)
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
    first = world.press_button(CADRE_ID, CADRE_ID, answer.message_id, text="👍 Hữu ích")
    second = world.press_button(CADRE_ID, CADRE_ID, answer.message_id, text="👍 Hữu ích")  # double tap
    toasts = {button_answer(bot_world, first), button_answer(bot_world, second)}
    assert toasts == {"Cảm ơn bạn đã góp ý!", "Bạn đã góp ý cho câu trả lời này rồi."}
    engine = make_engine(bot_world.db_url)
    try:
        assert botstate.feedback_counts(engine) == botstate.FeedbackCounts(up=1, down=0)
    finally:
        engine.dispose()
    full = next(b for b in buttons if b.startswith("📖"))
    world.press_button(CADRE_ID, CADRE_ID, answer.message_id, text=full)
    article = bot_world.telegram.wait_for_text(CADRE_ID, "📖", after=answer.message_id)
    assert "Điều" in article.body


def test_question_without_diacritics_is_answered(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    sent = world.send_text(CADRE_ID, "luan chuyen can bo bao nhieu nam")
    answer = bot_world.telegram.wait_for(
        CADRE_ID, lambda m: "Căn cứ" in m.body, after=sent.message_id, timeout=30
    )
    assert "Điều" in answer.body


def test_too_short_and_too_long_questions_get_a_hint(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    sent = world.send_text(CADRE_ID, "a?")
    bot_world.telegram.wait_for_text(CADRE_ID, "Câu hỏi quá ngắn", after=sent.message_id)
    sent = world.send_text(CADRE_ID, "luân chuyển " * 200)
    bot_world.telegram.wait_for_text(CADRE_ID, "Câu hỏi quá dài", after=sent.message_id)
    sent = world.send_text(CADRE_ID, "/hoi")
    bot_world.telegram.wait_for_text(CADRE_ID, "Vui lòng gõ câu hỏi sau lệnh", after=sent.message_id)


def test_logs_hold_no_token_and_no_phone_numbers(bot_world: BotWorld) -> None:
    output = bot_world.bot.output()
    assert "Traceback" not in output
    assert bot_world.telegram.token not in output
    assert bot_world.telegram.token.split(":")[1] not in output
    for phone in ("0901000003", "84901000003", "84912345678", "84901000002"):
        assert phone not in output


def test_answer_arrives_despite_429_from_telegram(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    world.fail_next_sends(2, retry_after=1)  # Telegram says "Too Many Requests" twice
    sent = world.send_text(CADRE_ID, "Quy định về thời gian luân chuyển cán bộ")
    answer = bot_world.telegram.wait_for_text(CADRE_ID, "Căn cứ", after=sent.message_id, timeout=30)
    assert "Điều" in answer.body
    assert len([m for m in world.bot_messages(CADRE_ID) if m.message_id > sent.message_id]) == 1


def test_full_article_view_prints_the_article_heading_once(bot_world: BotWorld) -> None:
    """📖 shows the whole Điều: its heading is the view's title, not repeated as the first line of the text;
    the attached Quy định is named by its kind and title, its decision in parentheses (#11)."""
    world = bot_world.telegram.world
    sent = world.send_text(CADRE_ID, "Ai quyết định mức xếp loại hằng tháng của công chức?")
    answer = bot_world.telegram.wait_for_text(CADRE_ID, "Căn cứ", after=sent.message_id, timeout=30)
    button = "📖 Xem toàn văn Điều 5 1841-QĐ/TU"
    assert button in answer.button_texts
    world.press_button(CADRE_ID, CADRE_ID, answer.message_id, text=button)
    article = bot_world.telegram.wait_for_text(CADRE_ID, "📖", after=answer.message_id)
    title, document, *text = article.body.split("\n")
    assert title == "📖 Điều 5. Quyết định xếp loại của người đứng đầu", article.body
    assert document == (
        "Quy định đánh giá, xếp loại hằng tháng đối với tập thể, cá nhân trong hệ thống chính trị thành phố "
        "Hà Nội (ban hành kèm theo Quyết định số 1841-QĐ/TU ngày 28/10/2021)"
    )
    assert article.body.count("Điều 5") == 1, article.body
    assert text[0] == "" and text[1].startswith(
        "Người đứng đầu cơ quan, đơn vị xem xét, quyết định mức xếp loại"
    )
