"""End-to-end through the real `canbo run`: the asker's 👎 on an answer that quoted a text offers the hand-off
to committee staff (a confident answer has no such button), once, through the usual «📨» button."""

from __future__ import annotations

import pytest

from bot.localapi import ChatMessage
from records import botstate
from records.db import make_engine
from tests.e2e.conftest import ADMIN_ID, CADRE_ID, STAFF_ID, BotWorld, button_answer, sign_in

pytestmark = pytest.mark.slow

OFFER = "Xin lỗi vì câu trả lời chưa đúng ý."
HANDOFF = "📨 Chuyển cho Ban Tổ chức"
LIKE, DISLIKE = "👍 Hữu ích", "👎 Chưa đúng"
THANKS, CHANGED, ALREADY = (
    "Cảm ơn bạn đã góp ý!",
    "Đã cập nhật góp ý của bạn.",
    "Bạn đã góp ý cho câu trả lời này rồi.",
)


def _offers(bw: BotWorld, chat_id: int, *, after: int) -> list[ChatMessage]:
    return [m for m in bw.telegram.world.bot_messages(chat_id) if m.message_id > after and OFFER in m.body]


def _settle(bw: BotWorld) -> None:
    """A round trip through the bot after a press: a message the press sent has arrived by then."""
    sent = bw.telegram.world.send_text(CADRE_ID, "/trogiup")
    bw.telegram.wait_for_text(CADRE_ID, "các lệnh bạn được dùng", after=sent.message_id)


def _confident_answer(bw: BotWorld, question: str, *, chat_id: int = CADRE_ID) -> ChatMessage:
    sent = bw.telegram.world.send_text(CADRE_ID, question, chat_id=chat_id)
    answer = bw.telegram.wait_for_text(chat_id, "Căn cứ", after=sent.message_id, timeout=30)
    assert HANDOFF not in answer.button_texts, answer.button_texts  # no hand-off button of its own
    assert DISLIKE in answer.button_texts
    return answer


def _press(bw: BotWorld, user_id: int, answer: ChatMessage, button: str) -> str:
    query = bw.telegram.world.press_button(user_id, answer.chat_id, answer.message_id, text=button)
    return button_answer(bw, query)


def test_sign_in(bot_world: BotWorld) -> None:
    for user_id in (ADMIN_ID, STAFF_ID, CADRE_ID):
        sign_in(bot_world, user_id)


def test_dislike_on_a_confident_answer_offers_the_handoff_and_it_reaches_staff(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    answer = _confident_answer(bot_world, "Thời gian luân chuyển cán bộ tối thiểu là bao lâu?")
    assert _press(bot_world, CADRE_ID, answer, DISLIKE) == THANKS
    offer = bot_world.telegram.wait_for_text(CADRE_ID, OFFER, after=answer.message_id)
    assert "Ban Tổ chức" in offer.body and HANDOFF in offer.body
    assert offer.button_texts == [HANDOFF]
    vote = next(b["callback_data"] for row in answer.inline_keyboard for b in row if b["text"] == DISLIKE)
    answer_id = vote.split(":")[2]  # qa:fb:<answer>:down
    assert offer.inline_keyboard[0][0]["callback_data"] == f"qa:handoff:{answer_id}"  # the usual button

    before_staff = max((m.message_id for m in world.messages(STAFF_ID)), default=0)
    first = world.press_button(CADRE_ID, CADRE_ID, offer.message_id, text=HANDOFF)
    second = world.press_button(CADRE_ID, CADRE_ID, offer.message_id, text=HANDOFF)  # double tap
    assert "Câu hỏi này đã được chuyển cho Ban Tổ chức rồi, vui lòng chờ trả lời." in {
        button_answer(bot_world, first),
        button_answer(bot_world, second),
    }
    bot_world.telegram.wait_for_text(CADRE_ID, "Đã chuyển câu hỏi", after=offer.message_id)
    to_staff = bot_world.telegram.wait_for_text(STAFF_ID, "luân chuyển cán bộ tối thiểu", after=before_staff)
    assert "Lê Văn Cán" in to_staff.body and to_staff.button_texts == ["✍️ Trả lời"]
    copies = [m for m in world.bot_messages(STAFF_ID) if "luân chuyển cán bộ tối thiểu" in m.body]
    assert len(copies) == 1  # handed off once
    engine = make_engine(bot_world.db_url)
    try:
        (handoff,) = [h for h in botstate.open_handoffs(engine) if "tối thiểu" in h.question]
        assert handoff.asker_user_id == CADRE_ID
    finally:
        engine.dispose()

    # Handed off already: changing the vote back and forth offers nothing more.
    assert _press(bot_world, CADRE_ID, answer, LIKE) == CHANGED
    assert _press(bot_world, CADRE_ID, answer, DISLIKE) == CHANGED
    _settle(bot_world)
    assert len(_offers(bot_world, CADRE_ID, after=answer.message_id)) == 1


def test_a_like_and_a_repeated_dislike_bring_no_offer(bot_world: BotWorld) -> None:
    answer = _confident_answer(bot_world, "Quy định về luân chuyển cán bộ áp dụng cho ai?")
    assert _press(bot_world, CADRE_ID, answer, LIKE) == THANKS
    _settle(bot_world)
    assert _offers(bot_world, CADRE_ID, after=answer.message_id) == []
    # 👍 changed to 👎 is a new dislike: one offer.
    assert _press(bot_world, CADRE_ID, answer, DISLIKE) == CHANGED
    bot_world.telegram.wait_for_text(CADRE_ID, OFFER, after=answer.message_id)
    # The same 👎 again is not recorded anew: no second offer.
    assert _press(bot_world, CADRE_ID, answer, DISLIKE) == ALREADY
    _settle(bot_world)
    assert len(_offers(bot_world, CADRE_ID, after=answer.message_id)) == 1


def test_no_offer_on_a_refused_answer(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    sent = world.send_text(CADRE_ID, "Công thức nấu phở bò ngon nhất là gì?")
    answer = bot_world.telegram.wait_for_text(CADRE_ID, "chưa tìm thấy", after=sent.message_id, timeout=30)
    assert HANDOFF in answer.button_texts  # it carries the button already
    assert _press(bot_world, CADRE_ID, answer, DISLIKE) == THANKS
    _settle(bot_world)
    assert _offers(bot_world, CADRE_ID, after=answer.message_id) == []


def test_only_the_askers_dislike_offers_the_handoff_in_a_group(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    group = -1_001_234_567_891
    world.add_group(group, "Chi bộ Ban Tổ chức", [CADRE_ID, ADMIN_ID], supergroup=True)
    answer = _confident_answer(
        bot_world, "@canbo_test_bot thời gian luân chuyển cán bộ là bao lâu?", chat_id=group
    )
    assert _press(bot_world, ADMIN_ID, answer, DISLIKE) == THANKS  # someone else's vote: no offer
    assert _press(bot_world, CADRE_ID, answer, DISLIKE) == THANKS
    offer = bot_world.telegram.wait_for_text(group, OFFER, after=answer.message_id)
    assert offer.reply_to_message_id == answer.message_id and offer.button_texts == [HANDOFF]
    _settle(bot_world)
    assert len(_offers(bot_world, group, after=answer.message_id)) == 1
