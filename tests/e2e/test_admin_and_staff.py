"""End-to-end through the real `canbo run`: admin uploads (DOCX, PDF, broken PDF, roster), /vanban,
replaced and removed documents, hand-off to staff across a kill -9, duplicate updates, group chats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from records import botstate
from records.db import make_engine, session_scope
from records.people import find_person_by_code
from tests.e2e.conftest import (
    ADMIN_ID,
    CADRE_ID,
    STAFF_ID,
    BotWorld,
    button_answer,
    restart_hard,
    sign_in,
)
from tests.knowledge.files import make_docx, make_text_pdf

pytestmark = pytest.mark.slow

LEAVE_DOCX = make_docx(
    [
        "THÀNH ỦY HÀ NỘI",
        "Số: 12-QĐ/TU",
        "Hà Nội, ngày 3 tháng 3 năm 2025",
        "QUY ĐỊNH",
        "về chế độ nghỉ phép năm của cán bộ cơ quan Thành ủy",
        "Điều 1. Phạm vi điều chỉnh",
        "Quy định này quy định chế độ nghỉ phép năm đối với cán bộ, công chức cơ quan Thành ủy.",
        "Điều 2. Số ngày nghỉ phép năm",
        "1. Cán bộ có đủ 12 tháng làm việc được nghỉ phép năm 12 ngày làm việc.",
        "2. Cứ đủ 5 năm công tác thì số ngày nghỉ phép năm được tăng thêm 1 ngày.",
        "Điều 3. Hiệu lực thi hành",
        "Quy định này có hiệu lực từ ngày ký.",
    ]
)
BONUS_PDF = make_text_pdf(
    [
        [
            "BAN TỔ CHỨC THÀNH ỦY",
            "Số: 07-HD/BTCTU",
            "Hà Nội, ngày 10 tháng 6 năm 2025",
            "HƯỚNG DẪN",
            "về khen thưởng sáng kiến trong công tác tổ chức xây dựng Đảng",
            "Điều 1. Đối tượng khen thưởng",
            "Cán bộ có sáng kiến cải tiến quy trình công tác tổ chức được xét khen thưởng sáng kiến.",
            "Điều 2. Mức thưởng sáng kiến",
            "Mỗi sáng kiến được công nhận được thưởng hai triệu đồng kèm giấy khen của Ban Tổ chức.",
        ]
    ]
)


def _wait_edit(bw: BotWorld, chat_id: int, fragment: str, *, after: int, timeout: float = 60.0) -> str:
    return bw.telegram.wait_for(chat_id, lambda m: fragment in m.body, after=after, timeout=timeout).body


def test_sign_in_staff_and_admin(bot_world: BotWorld) -> None:
    sign_in(bot_world, ADMIN_ID)
    sign_in(bot_world, STAFF_ID)
    sign_in(bot_world, CADRE_ID)
    admin_menu = [c["command"] for c in bot_world.telegram.world.commands_for(ADMIN_ID)]
    assert "cauhoi" in admin_menu and "vanban" in admin_menu


def test_non_admin_upload_is_refused(bot_world: BotWorld) -> None:
    sent = bot_world.telegram.world.upload_document(CADRE_ID, LEAVE_DOCX, "nghi-phep.docx")
    bot_world.telegram.wait_for_text(CADRE_ID, "Chỉ quản trị viên", after=sent.message_id)


def test_admin_uploads_docx_and_pdf_then_asks_about_them(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    sent = world.upload_document(
        ADMIN_ID,
        LEAVE_DOCX,
        "12-QD-TU nghỉ phép.docx",
        mime_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    body = _wait_edit(bot_world, ADMIN_ID, "Đã nạp văn bản", after=sent.message_id)
    assert "12-QĐ/TU" in body and "3/3/2025" in body and "Số điều/mục: 3" in body
    progress = next(m for m in world.bot_messages(ADMIN_ID) if m.message_id > sent.message_id)
    assert progress.edit_count >= 2  # received → reading → result, edited in place

    sent = world.upload_document(ADMIN_ID, BONUS_PDF, "huong-dan-07.pdf", mime_type="application/pdf")
    body = _wait_edit(bot_world, ADMIN_ID, "Đã nạp văn bản", after=sent.message_id)
    assert "07-HD/BTCTU" in body

    sent = world.send_text(CADRE_ID, "Cán bộ được nghỉ phép năm bao nhiêu ngày?")
    answer = bot_world.telegram.wait_for_text(CADRE_ID, "Căn cứ", after=sent.message_id, timeout=30)
    assert "12-QĐ/TU" in answer.body and "Điều 2" in answer.body

    sent = world.send_text(CADRE_ID, "Mức thưởng cho mỗi sáng kiến là bao nhiêu?")
    answer = bot_world.telegram.wait_for_text(CADRE_ID, "Căn cứ", after=sent.message_id, timeout=30)
    assert "07-HD/BTCTU" in answer.body

    # The same file again: nothing changes.
    sent = world.upload_document(ADMIN_ID, LEAVE_DOCX, "12-QD-TU nghỉ phép.docx")
    _wait_edit(bot_world, ADMIN_ID, "không thay đổi", after=sent.message_id)


def test_broken_and_unsupported_files_are_refused_with_a_reason(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    sent = world.upload_document(
        ADMIN_ID, b"%PDF-1.4\n1 0 obj <<>> garbage", "hong.pdf", mime_type="application/pdf"
    )
    body = _wait_edit(bot_world, ADMIN_ID, "Không nạp được", after=sent.message_id)
    assert "hong.pdf" in body and ("hỏng" in body or "không có lớp chữ" in body or "không đọc được" in body)
    sent = world.upload_document(ADMIN_ID, b"MZ\x90\x00", "virus.exe")
    bot_world.telegram.wait_for_text(ADMIN_ID, "không đúng định dạng", after=sent.message_id)


def test_roster_upload_with_a_bad_row_imports_nothing_then_a_good_one(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    header = "Mã cán bộ,Họ và tên,Số điện thoại,Mã đơn vị,Vai trò\n"
    bad = header + "CB10,Đỗ Văn Mới,0901000010,BD,cán bộ\nCB11,Hồ Thị Sai,12345,BD,cán bộ\n"
    sent = world.upload_document(ADMIN_ID, bad.encode("utf-8"), "bo-sung.csv", mime_type="text/csv")
    _wait_edit(bot_world, ADMIN_ID, "chưa nhập dòng nào", after=sent.message_id)
    report = bot_world.telegram.wait_for_text(ADMIN_ID, "Dòng 3", after=sent.message_id)
    assert "12345" in report.body and "không hợp lệ" in report.body
    engine = make_engine(bot_world.db_url)
    try:
        with session_scope(engine) as session:
            assert find_person_by_code(session, cadre_code="CB10") is None
    finally:
        engine.dispose()
    # A file is the whole roster of its units: CB01 and CB02 (also in BD) are missing, so it is previewed first.
    good = header + "CB10,Đỗ Văn Mới,0901000010,BD,cán bộ\n"
    sent = world.upload_document(ADMIN_ID, good.encode("utf-8"), "bo-sung.csv", mime_type="text/csv")
    preview = bot_world.telegram.wait_for_text(ADMIN_ID, "Nếu áp dụng", after=sent.message_id, timeout=60)
    assert "Ngừng kích hoạt 2 người" in preview.body and "Lê Văn Cán (CB01)" in preview.body
    world.press_button(ADMIN_ID, ADMIN_ID, preview.message_id, text="➕ Chỉ bổ sung")
    body = _wait_edit(bot_world, ADMIN_ID, "Đã bổ sung danh sách", after=sent.message_id)
    assert "thêm 1" in body


def test_replaced_document_is_flagged_in_answers_and_removed_one_disappears(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    sent = world.send_text(ADMIN_ID, "/vanban")
    listing = bot_world.telegram.wait_for_text(ADMIN_ID, "Văn bản đã nạp", after=sent.message_id)
    assert "98-QĐ/TW" in listing.body and "đã bị thay thế bởi 65-QĐ/TW" in listing.body
    lines = listing.body.splitlines()
    index = next(line.split(".")[0] for line in lines if "12-QĐ/TU" in line)
    world.press_button(ADMIN_ID, ADMIN_ID, listing.message_id, text=f"⚠️ {index}. Bị thay thế")
    prompt = bot_world.telegram.wait_for_text(
        ADMIN_ID, "bị thay thế bởi văn bản nào", after=listing.message_id
    )
    sent = world.send_text(ADMIN_ID, "khong phai so")
    bot_world.telegram.wait_for_text(ADMIN_ID, "Số văn bản không hợp lệ", after=sent.message_id)
    sent = world.send_text(ADMIN_ID, "15-QĐ/TU")
    bot_world.telegram.wait_for_text(ADMIN_ID, "Đã đánh dấu", after=sent.message_id)
    del prompt

    sent = world.send_text(CADRE_ID, "Cán bộ được nghỉ phép năm bao nhiêu ngày?")
    answer = bot_world.telegram.wait_for_text(CADRE_ID, "Căn cứ", after=sent.message_id, timeout=30)
    assert "12-QĐ/TU" in answer.body and "đã được thay thế bởi 15-QĐ/TU" in answer.body
    assert answer.body.count("đã được thay thế") == 1  # one warning (it was printed twice)

    # Superseded sample: the old regulation on rotation names its replacement.
    sent = world.send_text(CADRE_ID, "thời gian luân chuyển theo Quy định 98")
    answer = bot_world.telegram.wait_for_text(CADRE_ID, "Căn cứ", after=sent.message_id, timeout=30)
    # asked by its number: the old article first, its replacement named with its date
    assert "Quy định số 98-QĐ/TW đã được thay thế bởi Quy định số 65-QĐ/TW ngày 28/4/2022" in answer.body
    assert answer.body.count("đã được thay thế") == 1

    # Remove the PDF's document, with a double-tapped confirmation.
    sent = world.send_text(ADMIN_ID, "/vanban")
    listing = bot_world.telegram.wait_for_text(ADMIN_ID, "Văn bản đã nạp", after=sent.message_id)
    index = next(line.split(".")[0] for line in listing.body.splitlines() if "07-HD/BTCTU" in line)
    world.press_button(ADMIN_ID, ADMIN_ID, listing.message_id, text=f"🗑 {index}. Gỡ")
    confirm = bot_world.telegram.wait_for_text(ADMIN_ID, "Gỡ văn bản", after=listing.message_id)
    first = world.press_button(ADMIN_ID, ADMIN_ID, confirm.message_id, text="🗑 Xác nhận gỡ")
    second = world.press_button(ADMIN_ID, ADMIN_ID, confirm.message_id, text="🗑 Xác nhận gỡ")
    toasts = {button_answer(bot_world, first), button_answer(bot_world, second)}
    assert "Văn bản này không còn trong kho (có thể đã được gỡ)." in toasts
    bot_world.telegram.wait_for_text(ADMIN_ID, "Đã gỡ văn bản", after=listing.message_id)
    sent = world.send_text(CADRE_ID, "Mức thưởng cho mỗi sáng kiến là bao nhiêu?")
    reply = bot_world.telegram.wait_for(
        CADRE_ID, lambda m: m.message_id > sent.message_id, after=sent.message_id
    )
    assert "07-HD/BTCTU" not in reply.body


def test_handoff_to_staff_survives_kill_9_and_is_answered_once(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    sent = world.send_text(CADRE_ID, "Công thức nấu phở bò ngon nhất là gì?")
    answer = bot_world.telegram.wait_for_text(CADRE_ID, "chưa tìm thấy", after=sent.message_id, timeout=30)
    first = world.press_button(CADRE_ID, CADRE_ID, answer.message_id, text="📨 Chuyển cho Ban Tổ chức")
    second = world.press_button(CADRE_ID, CADRE_ID, answer.message_id, text="📨 Chuyển cho Ban Tổ chức")
    assert "Câu hỏi này đã được chuyển cho Ban Tổ chức rồi, vui lòng chờ trả lời." in {
        button_answer(bot_world, first),
        button_answer(bot_world, second),
    }
    bot_world.telegram.wait_for_text(CADRE_ID, "Đã chuyển câu hỏi", after=answer.message_id)
    to_staff = bot_world.telegram.wait_for_text(STAFF_ID, "phở bò", after=0)
    assert "Lê Văn Cán" in to_staff.body
    assert len([m for m in world.bot_messages(STAFF_ID) if "phở bò" in m.body]) == 1  # handed off once

    world.press_button(STAFF_ID, STAFF_ID, to_staff.message_id, text="✍️ Trả lời")
    bot_world.telegram.wait_for_text(STAFF_ID, "Vui lòng gõ câu trả lời", after=to_staff.message_id)
    restart_hard(bot_world)  # the staff member is mid-conversation
    sent = world.send_text(STAFF_ID, "Câu hỏi này không thuộc phạm vi công tác cán bộ.")
    bot_world.telegram.wait_for_text(STAFF_ID, "Đã gửi câu trả lời", after=sent.message_id, timeout=30)
    reply = bot_world.telegram.wait_for_text(CADRE_ID, "Ban Tổ chức trả lời", after=answer.message_id)
    assert "không thuộc phạm vi" in reply.body and "phở bò" in reply.body

    # A second press on the same "Trả lời" button: already answered.
    query = world.press_button(STAFF_ID, STAFF_ID, to_staff.message_id, text="✍️ Trả lời")
    assert "đã được trả lời rồi" in button_answer(bot_world, query)
    # The next staff message is a question again, not a second reply.
    sent = world.send_text(STAFF_ID, "thời gian luân chuyển cán bộ")
    bot_world.telegram.wait_for_text(STAFF_ID, "Căn cứ", after=sent.message_id, timeout=30)


def test_redelivered_update_is_handled_once(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    sent = world.send_text(CADRE_ID, "Quy định về luân chuyển cán bộ áp dụng cho ai?")
    update_id = world.last_update_id
    bot_world.telegram.wait_for_text(CADRE_ID, "Căn cứ", after=sent.message_id, timeout=30)
    world.redeliver(update_id)
    marker = world.send_text(CADRE_ID, "/trogiup")
    bot_world.telegram.wait_for_text(CADRE_ID, "các lệnh bạn được dùng", after=marker.message_id)
    replies = [m for m in world.bot_messages(CADRE_ID) if sent.message_id < m.message_id < marker.message_id]
    assert len(replies) == 1
    engine = make_engine(bot_world.db_url)
    try:
        answers = [
            a for a in _answers(engine) if a.question.startswith("Quy định về luân chuyển cán bộ áp dụng")
        ]
        assert len(answers) == 1
    finally:
        engine.dispose()


def _answers(engine: object) -> list[botstate.AnswerRecord]:
    found = []
    for answer_id in range(1, 200):
        try:
            found.append(botstate.get_answer(engine, answer_id=answer_id))  # type: ignore[arg-type]
        except Exception:
            break
    return found


def test_group_chat_answers_when_addressed_and_keeps_personal_things_private(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    group = -1_001_234_567_890
    world.add_group(group, "Chi bộ Ban Tổ chức", [CADRE_ID, ADMIN_ID], supergroup=True)
    chatter = world.send_text(CADRE_ID, "Chào mọi người, chiều nay họp nhé", chat_id=group)
    sent = world.send_text(
        CADRE_ID, "@canbo_test_bot thời gian luân chuyển cán bộ là bao lâu?", chat_id=group
    )
    answer = bot_world.telegram.wait_for_text(group, "Căn cứ", after=sent.message_id, timeout=30)
    assert not [m for m in world.bot_messages(group) if chatter.message_id < m.message_id < sent.message_id]
    first_part = min(
        (m for m in world.bot_messages(group) if sent.message_id < m.message_id <= answer.message_id),
        key=lambda m: m.message_id,
    )
    assert first_part.reply_to_message_id == sent.message_id  # the answer quotes whose question it is
    sent = world.send_text(CADRE_ID, "/hoi luân chuyển cán bộ", chat_id=group)
    bot_world.telegram.wait_for_text(group, "Căn cứ", after=sent.message_id, timeout=30)
    sent = world.send_text(CADRE_ID, "/toi", chat_id=group)
    redirect = bot_world.telegram.wait_for_text(group, "chỉ dùng trong tin nhắn riêng", after=sent.message_id)
    assert "Lê Văn Cán" not in redirect.body
    sent = world.upload_document(ADMIN_ID, LEAVE_DOCX, "nghi-phep.docx", chat_id=group)
    bot_world.telegram.wait_for_text(group, "chỉ dùng trong tin nhắn riêng", after=sent.message_id)
    group_menu = [c["command"] for c in world.commands_for(group)]
    assert "hoi" in group_menu and "toi" not in group_menu


def test_disliked_answers_reach_staff_review(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    sent = world.send_text(CADRE_ID, "Cán bộ luân chuyển được đánh giá định kỳ thế nào?")
    answer = bot_world.telegram.wait_for(
        CADRE_ID, lambda m: bool(m.inline_keyboard), after=sent.message_id, timeout=30
    )
    query = world.press_button(CADRE_ID, CADRE_ID, answer.message_id, text="👎 Chưa đúng")
    assert button_answer(bot_world, query) == "Cảm ơn bạn đã góp ý!"
    sent = world.send_text(STAFF_ID, "/gopy")
    report = bot_world.telegram.wait_for_text(STAFF_ID, "Góp ý về câu trả lời", after=sent.message_id)
    assert "Cán bộ luân chuyển được đánh giá định kỳ thế nào?" in report.body and "👎 1" in report.body
    # The question's day is the day in Hà Nội: asked at 20:00 UTC on 31 October is 1 November there.
    engine = make_engine(bot_world.db_url)
    try:
        with session_scope(engine) as session:
            session.execute(
                update(botstate.BotAnswer).values(created_at=datetime(2026, 10, 31, 20, 0, tzinfo=UTC))
            )
    finally:
        engine.dispose()
    sent = world.send_text(STAFF_ID, "/gopy")
    report = bot_world.telegram.wait_for_text(STAFF_ID, "Góp ý về câu trả lời", after=sent.message_id)
    assert "(01/11/2026)" in report.body and "31/10/2026" not in report.body
    sent = world.send_text(CADRE_ID, "/gopy")
    bot_world.telegram.wait_for_text(CADRE_ID, "không có quyền", after=sent.message_id)


def test_cancel_ends_a_conversation_step(bot_world: BotWorld) -> None:
    world = bot_world.telegram.world
    sent = world.send_text(ADMIN_ID, "/vanban")
    listing = bot_world.telegram.wait_for_text(ADMIN_ID, "Văn bản đã nạp", after=sent.message_id)
    index = next(line.split(".")[0] for line in listing.body.splitlines() if "65-QĐ/TW" in line)
    world.press_button(ADMIN_ID, ADMIN_ID, listing.message_id, text=f"⚠️ {index}. Bị thay thế")
    bot_world.telegram.wait_for_text(ADMIN_ID, "bị thay thế bởi văn bản nào", after=listing.message_id)
    sent = world.send_text(ADMIN_ID, "/huy")
    bot_world.telegram.wait_for_text(ADMIN_ID, "Đã hủy thao tác đang làm", after=sent.message_id)
    sent = world.send_text(ADMIN_ID, "Quy định 65-QĐ/TW về luân chuyển cán bộ")
    reply = bot_world.telegram.wait_for(ADMIN_ID, lambda m: True, after=sent.message_id, timeout=30)
    assert "Đã đánh dấu" not in reply.body and "Căn cứ" in reply.body
    sent = world.send_text(ADMIN_ID, "/vanban")
    listing = bot_world.telegram.wait_for_text(ADMIN_ID, "Văn bản đã nạp", after=sent.message_id)
    line = next(line for line in listing.body.splitlines() if "65-QĐ/TW —" in line)
    assert "còn hiệu lực" in line
