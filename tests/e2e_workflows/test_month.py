"""A whole month for a small unit through the real bot: plan, self-assess, return, resubmit, review, decide, reopen."""

from __future__ import annotations

import io
import itertools
import json
import re

import openpyxl
import pytest

from records.db import make_engine, session_scope
from records.evaluations import evaluation_history, find_evaluation
from records.people import find_person_by_code
from tests.e2e_workflows.conftest import USERS, Flow

pytestmark = pytest.mark.slow


def _history_actions(flow: Flow, evaluation_id: int) -> list[str]:
    """The audit actions of one record, read straight from the database."""
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            return [e.action for e in evaluation_history(session, actor_id=None, evaluation_id=evaluation_id)]
    finally:
        engine.dispose()


def _record(flow: Flow, code: str, period: str = "2026-10"):  # type: ignore[no-untyped-def]
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            return find_evaluation(session, actor_id=None, person_id=person.id, period=period)
    finally:
        engine.dispose()


def test_plan_is_registered_with_validation(flow: Flow) -> None:
    plan = flow.say("BD03", "/kehoach", "Kế hoạch công việc kỳ 2026-10")
    assert "Chưa có việc nào" in plan.body
    ask = flow.press("BD03", plan, "➕ Thêm việc", "Gõ một việc theo mẫu")
    assert "Tên việc | Kết quả dự kiến" in ask.body
    bad = flow.say("BD03", "Báo cáo quý | Trình Thường trực | 45/10", "không đúng")
    assert "ngày/tháng" in bad.body
    outside = flow.say("BD03", "Báo cáo quý | Trình Thường trực | 05/12", "nằm ngoài kỳ 2026-10")
    assert "01/10/2026" in outside.body
    saved = flow.say("BD03", "Báo cáo sơ kết quý | Trình Thường trực | 25/10", "Đã lưu việc")
    assert "Báo cáo sơ kết quý" in saved.body and "25/10/2026" in saved.body
    saved = flow.say("BD03", "Rà soát quy hoạch cán bộ", "Đã lưu việc «Rà soát quy hoạch cán bộ»")
    done = flow.press("BD03", saved, "✅ Xong", "Đã lưu kế hoạch kỳ 2026-10")
    assert "2 việc" in done.body
    record = _record(flow, "BD03")
    assert record is not None and [t.title for t in record.tasks] == [
        "Báo cáo sơ kết quý",
        "Rà soát quy hoạch cán bộ",
    ]
    assert record.plan_registered_at is not None
    # A second cadre plans one task.
    plan = flow.say("BD04", "/kehoach", "Kế hoạch công việc kỳ 2026-10")
    flow.press("BD04", plan, "➕ Thêm việc", "Gõ một việc theo mẫu")
    saved = flow.say("BD04", "Tổng hợp báo cáo tổ chức | Báo cáo | 20/10", "Đã lưu việc")
    flow.press("BD04", saved, "✅ Xong", "Đã lưu kế hoạch")


def test_self_assessment_validates_points_and_submits_to_the_reviewer(flow: Flow) -> None:
    flow.set_now("2026-11-02T09:00:00+07:00")
    card = flow.say("BD03", "/danhgia", "Tự đánh giá kỳ 2026-10")
    assert "Hạn gửi: 03/11/2026" in card.body and "chưa đánh giá" in card.body
    ask = flow.press("BD03", card, "1.", "Kết quả thực hiện?")
    note = flow.press("BD03", ask, "✅ Đúng hạn", "Gõ ghi chú")
    after = flow.last_id("BD03")
    flow.telegram.world.send_text(USERS["BD03"], "Báo cáo đã trình ngày 24/10")
    ask = flow.wait("BD03", "Kết quả thực hiện?", after=after)
    assert "Rà soát quy hoạch cán bộ" in ask.body
    note = flow.press("BD03", ask, "⏰ Trễ hạn", "Gõ ghi chú")
    after = flow.last_id("BD03")
    flow.telegram.world.press_button(USERS["BD03"], note.chat_id, note.message_id, text="Bỏ qua")
    ask = flow.wait("BD03", "Chấm điểm", after=after)
    assert "Ý thức tổ chức kỷ luật" in ask.body and "từ 0 đến 20" in ask.body
    assert ask.button_texts[:2] == ["20", "18"]
    hint = flow.say("BD03", "mười tám", "không phải là số")
    assert "từ 0 đến 20" in hint.body
    hint = flow.say("BD03", "25", "nằm ngoài khoảng cho phép")
    assert "từ 0 đến 20" in hint.body
    ask = flow.say("BD03", "17,5", "Kết quả thực hiện nhiệm vụ được giao")
    nxt = flow.press("BD03", ask, "63", "Điểm thưởng")
    card = flow.press("BD03", nxt, "5", "Tự đánh giá kỳ 2026-10")
    assert "Tổng: 85,5/100 — đề xuất xếp loại B (HTTNV)" in card.body
    assert "Báo cáo đã trình ngày 24/10" in card.body
    confirm = flow.press("BD03", card, "📤 Xem lại và gửi", "Kiểm tra trước khi gửi")
    assert "85,5" in confirm.body
    reviewer_before = flow.last_id("BD02")
    sent = flow.press("BD03", confirm, "✅ Gửi", "Đã gửi tự đánh giá kỳ 2026-10")
    assert "Lê Văn Cường" in sent.body and "nộp muộn" not in sent.body
    notice = flow.wait("BD02", "vừa gửi tự đánh giá kỳ 2026-10", after=reviewer_before)
    assert "Phạm Thị Dung" in notice.body and "85,5" in notice.body
    record = _record(flow, "BD03")
    assert record is not None and record.state == "submitted" and not record.late
    # Pressing "Gửi" again (double tap) does not submit twice.
    after = flow.last_id("BD03")
    flow.telegram.world.press_button(USERS["BD03"], confirm.chat_id, confirm.message_id, text="✅ Gửi")
    again = flow.wait("BD03", "Tự đánh giá kỳ 2026-10", after=after)
    assert "đang chờ người quản lý nhận xét" in again.body


def test_reviewer_returns_and_cadre_resubmits(flow: Flow) -> None:
    waiting = flow.say("BD02", "/duyet", "Hồ sơ chờ bạn xử lý")
    assert "Phạm Thị Dung (BD03)" in waiting.body
    card = flow.press("BD02", waiting, "📝 1.", "Hồ sơ Phạm Thị Dung")
    ask = flow.press("BD02", card, "↩️ Trả lại", "Gõ lý do trả lại")
    # A one-message prompt promises nothing about input that does not exist yet.
    assert ask.body.endswith("(Gõ /huy để dừng.)") and "phần đã nhập" not in ask.body
    flow.say("BD02", "   ", "Lý do đang trống")
    cadre_before = flow.last_id("BD03")
    flow.say("BD02", "Bổ sung minh chứng cho việc 2", "Đã trả lại hồ sơ")
    notice = flow.wait("BD03", "bị trả lại", after=cadre_before)
    assert "Bổ sung minh chứng cho việc 2" in notice.body
    card = flow.say("BD03", "/danhgia", "Tự đánh giá kỳ 2026-10")
    assert "Bị trả lại" in card.body and "Bổ sung minh chứng cho việc 2" in card.body
    ask = flow.press("BD03", card, "2.", "Kết quả thực hiện?")
    note = flow.press("BD03", ask, "✅ Đúng hạn", "Gõ ghi chú")
    # A step of the self-assessment form: the answers before it are in the draft already.
    assert note.body.endswith("(Gõ /huy để dừng; phần đã nhập vẫn được lưu.)")
    card = flow.say("BD03", "Có biên bản rà soát ngày 28/10", "Tự đánh giá kỳ 2026-10")
    ask = flow.press("BD03", card, "🔢 Điểm thưởng", "Chấm điểm")
    card = flow.press("BD03", ask, "10", "Tự đánh giá kỳ 2026-10")
    assert "Tổng: 90,5/100 — đề xuất xếp loại A (HTXSNV)" in card.body
    confirm = flow.press("BD03", card, "📤 Xem lại và gửi", "Kiểm tra trước khi gửi")
    before = flow.last_id("BD02")
    flow.press("BD03", confirm, "✅ Gửi", "Đã gửi tự đánh giá")
    flow.wait("BD02", "vừa gửi tự đánh giá", after=before)


def test_reviewer_adjusts_points_and_head_decides_after_quota_check(flow: Flow) -> None:
    waiting = flow.say("BD02", "/duyet", "Hồ sơ chờ bạn xử lý")
    card = flow.press("BD02", waiting, "📝 1.", "Hồ sơ Phạm Thị Dung")
    assert "tự chấm 10" in card.body
    pick = flow.press("BD02", card, "✏️ Điều chỉnh điểm", "Chọn tiêu chí")
    flow.press("BD02", pick, "Điểm thưởng", "Gõ điểm mới")
    flow.say("BD02", "12", "nằm ngoài khoảng")
    ask_comment = flow.say("BD02", "6", "Gõ nhận xét")
    assert "tổng 86,5" in ask_comment.body and "loại B" in ask_comment.body
    head_before = flow.last_id("BD01")
    cadre_before = flow.last_id("BD03")
    done = flow.say("BD02", "Điểm thưởng chưa đủ minh chứng.", "Đã nhận xét hồ sơ")
    assert "Trần Thị Bình" in done.body
    reviewed = flow.wait("BD03", "Người quản lý đã nhận xét", after=cadre_before)
    assert reviewed.body.splitlines() == [
        "📝 Người quản lý đã nhận xét hồ sơ kỳ 2026-10 của bạn: đề nghị loại B (HTTNV), bạn tự đề xuất loại A (HTXSNV).",
        "Tổng điểm: 90,5 (bạn tự chấm) → 86,5 (người quản lý chấm), giảm 4 điểm.",
        "Nhận xét: «Điểm thưởng chưa đủ minh chứng.»",
        "Thủ trưởng sẽ quyết định xếp loại cuối cùng.",
    ]
    notice = flow.wait("BD01", "chờ bạn quyết định", after=head_before)
    card = flow.press("BD01", notice, "📝 Mở hồ sơ", "Chọn xếp loại cuối cùng")
    assert "Người quản lý chấm: 86,5 — loại B" in card.body
    quota = flow.press("BD01", card, "⚖️ Loại A", "Vượt tỉ lệ")
    assert "bắt buộc" in quota.body
    # Why the limit is what it is (a small unit otherwise reads «tối đa 0 người» without a reason).
    assert "Cách tính: 30% của 2 người được đánh giá = 0,6, làm tròn xuống → tối đa 0 người." in quota.body
    confirm = flow.press("BD01", quota, "⚖️ Loại B", "Quyết định loại B")
    cadre_before = flow.last_id("BD03")
    decided = flow.press("BD01", confirm, "✅ Xác nhận loại B", "Đã quyết định loại B")
    notice = flow.wait("BD03", "thủ trưởng quyết định xếp loại", after=cadre_before)
    assert "xếp loại B (Hoàn thành tốt nhiệm vụ)" in notice.body
    record = _record(flow, "BD03")
    assert record is not None and record.state == "decided" and record.final_grade == "B"
    assert record.review_points == {"discipline": 17.5, "tasks": 63.0, "bonus": 6.0}
    # The head reopens the locked record with a reason; it waits for a new decision.
    flow.press("BD01", decided, "🔓 Mở lại", "lý do mở lại")
    reopened = flow.say("BD01", "Điều chỉnh theo kết luận của Thường trực", "Đã mở lại hồ sơ")
    assert "Chọn xếp loại cuối cùng" in reopened.body
    record = _record(flow, "BD03")
    assert record is not None and record.state == "reviewed" and record.reopen_count == 1
    confirm = flow.press("BD01", reopened, "⚖️ Loại B", "Quyết định loại B")
    flow.press("BD01", confirm, "✅ Xác nhận loại B", "Đã quyết định loại B")
    actions = _history_actions(flow, record.id)
    assert actions.count("submit") == 2 and "return" in actions and actions.count("decide") == 2
    assert "reopen" in actions


def test_late_submission_is_marked_and_results_show_history(flow: Flow) -> None:
    flow.set_now("2026-11-05T10:00:00+07:00")
    card = flow.say("BD04", "/danhgia", "Tự đánh giá kỳ 2026-10")
    assert "Đã quá hạn tự đánh giá" in card.body
    ask = flow.press("BD04", card, "1.", "Kết quả thực hiện?")
    flow.press("BD04", ask, "❌ Không hoàn thành", "Gõ ghi chú")
    after = flow.last_id("BD04")
    flow.telegram.world.send_text(USERS["BD04"], "Chờ số liệu của các phường")
    ask = flow.wait("BD04", "Chấm điểm", after=after)
    ask = flow.press("BD04", ask, "16", "Chấm điểm")
    ask = flow.say("BD04", "40", "Chấm điểm")
    card = flow.press("BD04", ask, "0", "Tự đánh giá kỳ 2026-10")
    assert "Tổng: 56/100 — đề xuất xếp loại C" in card.body
    confirm = flow.press("BD04", card, "📤 Xem lại và gửi", "Kiểm tra trước khi gửi")
    sent = flow.press("BD04", confirm, "✅ Gửi", "Đã gửi tự đánh giá")
    assert "nộp muộn" in sent.body
    waiting = flow.say("BD02", "/duyet", "Hồ sơ chờ bạn xử lý")
    assert "Hoàng Văn Em (BD04)" in waiting.body and "nộp muộn" in waiting.body
    results = flow.say("BD03", "/ketqua", "Kết quả đánh giá của Phạm Thị Dung")
    assert "Kỳ 2026-10: đã quyết định (đã khóa) — loại B (HTTNV)" in results.body
    history = flow.press("BD03", results, "🕘 Lịch sử kỳ 2026-10", "Lịch sử hồ sơ kỳ 2026-10")
    assert "bị trả lại: Bổ sung minh chứng cho việc 2" in history.body
    assert "mở lại hồ sơ: Điều chỉnh theo kết luận" in history.body


def test_the_review_notice_says_the_points_were_lowered(flow: Flow) -> None:
    """Lowered by 2,5 within the same grade: the notice gives both totals with a decimal comma and the change."""
    waiting = flow.say("BD02", "/duyet", "Hồ sơ chờ bạn xử lý")
    card = flow.press("BD02", waiting, "📝 1.", "Hồ sơ Hoàng Văn Em")
    pick = flow.press("BD02", card, "✏️ Điều chỉnh điểm", "Chọn tiêu chí")
    flow.press("BD02", pick, "Kết quả thực hiện nhiệm vụ", "Gõ điểm mới")
    flow.say("BD02", "37,5", "Gõ nhận xét")
    cadre_before = flow.last_id("BD04")
    flow.say("BD02", "Chưa đạt chỉ tiêu báo cáo.", "Đã nhận xét hồ sơ")
    reviewed = flow.wait("BD04", "Người quản lý đã nhận xét", after=cadre_before)
    assert reviewed.body.splitlines() == [
        "📝 Người quản lý đã nhận xét hồ sơ kỳ 2026-10 của bạn: đề nghị loại C (HTNV).",
        "Tổng điểm: 56 (bạn tự chấm) → 53,5 (người quản lý chấm), giảm 2,5 điểm.",
        "Nhận xét: «Chưa đạt chỉ tiêu báo cáo.»",
        "Thủ trưởng sẽ quyết định xếp loại cuối cùng.",
    ]


def test_history_folds_repeated_draft_saves_into_one_line(flow: Flow) -> None:
    results = flow.say("BD03", "/ketqua", "Kết quả đánh giá của Phạm Thị Dung")
    history = flow.press("BD03", results, "🕘 Lịch sử kỳ 2026-10", "Lịch sử hồ sơ kỳ 2026-10")
    lines = history.body.splitlines()[1:]
    drafts = [line for line in lines if "lưu nháp tự đánh giá" in line]
    # Two runs of saves (before the first submission and after the return), each one line with its count and
    # the last save's time in Hà Nội time on the workflow clock (09:00 on 02/11), never UTC (02:00).
    assert len(drafts) == 2, lines
    assert all(" lần, lần cuối 09:00 02/11)" in line for line in drafts), drafts
    assert all(a != b for a, b in itertools.pairwise(lines)), lines
    record = _record(flow, "BD03")
    assert record is not None
    actions = _history_actions(flow, record.id)
    saves = actions.count("save_draft")
    shown = sum(int(line.split("(")[1].split(" lần")[0]) for line in drafts)
    assert saves == shown and saves > 2  # the audit log keeps every save


def _last_with(flow: Flow, code: str, fragment: str):  # type: ignore[no-untyped-def]
    return [m for m in flow.telegram.world.bot_messages(USERS[code]) if fragment in m.body][-1]


def test_a_decided_record_offers_reopen_only_to_whoever_may_reopen(flow: Flow) -> None:
    # The reviewer opens the decided record from their old notice: no «🔓 Mở lại hồ sơ», only the card.
    notice = _last_with(flow, "BD02", "Phạm Thị Dung vừa gửi tự đánh giá kỳ 2026-10")
    card = flow.press("BD02", notice, "📝 Mở hồ sơ", "Hồ sơ Phạm Thị Dung")
    assert "đã quyết định" in card.body
    assert not any(b.startswith("🔓") for b in card.button_texts), card.button_texts
    # The head over the unit sees it.
    notice = _last_with(flow, "BD01", "Phạm Thị Dung kỳ 2026-10 chờ bạn quyết định")
    card = flow.press("BD01", notice, "📝 Mở hồ sơ", "Hồ sơ Phạm Thị Dung")
    assert "🔓 Mở lại hồ sơ" in card.button_texts


def test_permission_refusals(flow: Flow) -> None:
    # A cadre asking for someone else's records.
    refused = flow.say("BD04", "/ketqua BD03", "không có quyền")
    assert "Phạm Thị Dung" not in refused.body
    assert refused.body.startswith("❌ Bạn không có quyền"), refused.body  # a sentence, not «❌ bạn …»
    # A reviewer of another unit.
    refused = flow.say("HK02", "/ketqua BD03", "không có quyền")
    assert "Kỳ 2026-10" not in refused.body
    # The reviewer of the unit may read it.
    allowed = flow.say("BD02", "/ketqua BD03", "Kết quả đánh giá của Phạm Thị Dung")
    assert "Kỳ 2026-10" in allowed.body
    # Nothing waits for a reviewer of another unit.
    flow.say("HK02", "/duyet", "Không có hồ sơ nào đang chờ bạn")


def test_restart_in_the_middle_of_self_assessment_resumes(flow: Flow) -> None:
    plan = flow.say("HK03", "/kehoach 10/2026", "Kế hoạch công việc kỳ 2026-10")
    flow.press("HK03", plan, "➕ Thêm việc", "Gõ một việc theo mẫu")
    saved = flow.say("HK03", "Thẩm định hồ sơ nhân sự | Tờ trình | 30/10", "Đã lưu việc")
    flow.press("HK03", saved, "✅ Xong", "Đã lưu kế hoạch kỳ 2026-10")
    card = flow.say("HK03", "/danhgia 2026-10", "Tự đánh giá kỳ 2026-10")
    ask = flow.press("HK03", card, "1.", "Kết quả thực hiện?")
    note = flow.press("HK03", ask, "✅ Đúng hạn", "Gõ ghi chú")
    after = flow.last_id("HK03")
    flow.telegram.world.press_button(USERS["HK03"], note.chat_id, note.message_id, text="Bỏ qua")
    flow.wait("HK03", "Ý thức tổ chức kỷ luật", after=after)
    flow.restart_hard()
    # The typed answer reaches the new process, which knows the user is entering points.
    ask = flow.say("HK03", "19", "Kết quả thực hiện nhiệm vụ được giao", timeout=40)
    assert "Chấm điểm" in ask.body
    record = _record(flow, "HK03")
    assert record is not None and record.self_points == {"discipline": 19.0}
    assert record.tasks[0].result == "on_time"
    ask = flow.say("HK03", "70", "Điểm thưởng")
    card = flow.say("HK03", "10", "Tự đánh giá kỳ 2026-10")
    assert "Tổng: 99/100 — đề xuất xếp loại A" in card.body


def test_summary_for_staff_with_chart_and_excel(flow: Flow) -> None:
    before = flow.last_id("TU01")
    text = flow.say("TU01", "/tonghop 2026-10 BD", "TỔNG HỢP ĐÁNH GIÁ, XẾP LOẠI KỲ 2026-10")
    assert "Quận ủy Ba Đình (BD)" in text.body
    assert "Đã nộp tự đánh giá: 2 (nộp muộn: 1)" in text.body
    photo = flow.telegram.wait_for(USERS["TU01"], lambda m: m.photo is not None, after=before)
    assert photo.photo is not None and photo.photo.data.startswith(b"\x89PNG")
    doc = flow.telegram.wait_for(USERS["TU01"], lambda m: m.document is not None, after=before)
    assert doc.document is not None and doc.document.file_name == "tong-hop-BD-2026-10.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(doc.document.data))
    cells = [
        str(c)
        for ws in workbook.worksheets
        for row in ws.iter_rows(values_only=True)
        for c in row
        if c is not None
    ]
    assert "Phạm Thị Dung" in cells and "Hoàng Văn Em" in cells
    assert "B" in cells
    # Staff of another unit: refused; a typo in the unit code: named.
    refused = flow.say("HK03", "/tonghop 2026-10 BD", "ngoài phạm vi")
    assert "BD" in refused.body
    flow.say("TU01", "/tonghop 2026-10 XYZ", "«XYZ» không phải mã đơn vị, kỳ hay năm")
    # The whole city: Hoàn Kiếm's head and reviewer never opened 2026-10, yet are listed as not submitted.
    before = flow.last_id("TU01")
    text = flow.say("TU01", "/tonghop 2026-10 TU", "TỔNG HỢP ĐÁNH GIÁ, XẾP LOẠI KỲ 2026-10")
    assert "  • Quận ủy Hoàn Kiếm (HK): 3/3\n" in text.body
    assert "– Bùi Thị Hà (HK01): chưa nộp" in text.body and "– Ngô Văn Khoa (HK02): chưa nộp" in text.body
    assert "– Đỗ Thị Lan (HK03): đang soạn, chưa nộp" in text.body
    assert "– Nguyễn Văn Thành (TU01): chưa nộp" in text.body
    doc = flow.telegram.wait_for(USERS["TU01"], lambda m: m.document is not None, after=before)
    assert doc.document is not None and doc.document.file_name == "tong-hop-TU-2026-10.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(doc.document.data))
    hk = [r[1:6] for r in workbook["HK Quận ủy Hoàn Kiếm"].iter_rows(min_row=3, values_only=True)]
    assert hk == [
        ("HK01", "Bùi Thị Hà", "Bí thư", "HK", "Chưa nộp"),
        ("HK02", "Ngô Văn Khoa", "Trưởng phòng", "HK", "Chưa nộp"),
        ("HK03", "Đỗ Thị Lan", "Chuyên viên Ban Tổ chức", "HK", "Đang soạn, chưa nộp"),
    ]
    flow.say("TU01", "/tonghop 2026-13", "không hợp lệ")


def test_an_unknown_word_gets_the_accepted_forms(flow: Flow) -> None:
    """A word that is no unit code, period or year is not called a unit: the accepted forms are listed."""
    answer = flow.say("TU01", "/tonghop X9", "không phải mã đơn vị")
    assert answer.body.splitlines() == [
        "«X9» không phải mã đơn vị, kỳ hay năm nào tôi nhận ra. /tonghop nhận:",
        "• kỳ: 2026-10 hoặc 10/2026",
        "• năm: 2026",
        "• mã đơn vị: TU",
        "Ví dụ: /tonghop 2026-10 TU",
    ]
    assert "Không có đơn vị mã" not in answer.body
    district = flow.say("HK03", "/tonghop 2026-10 abc", "«abc» không phải mã đơn vị")
    assert "/tonghop 2026-10 HK" in district.body  # the example names the user's own unit
    flow.say("TU01", "/tonghop X9 BD", "«X9» không phải mã đơn vị")  # not silently dropped for BD


def test_a_quarter_under_monthly_rules_says_there_is_no_quarterly_summary(flow: Flow) -> None:
    """«Q4» was answered as an unrecognised word (walk): a quarter typed in any usual form says that the
    monthly rules have no quarterly summary, and what to type instead."""
    for typed, shown in (
        ("/tonghop Q4", "Q4"),
        ("/tonghop Q4 BD", "Q4"),
        ("/tonghop quý 4", "quý 4"),
        ("/tonghop 2026-10 quy4", "quy4"),
        ("/tonghop 2026-Q4", "2026-Q4"),
    ):
        answer = flow.say("TU01", typed, "không có tổng hợp theo quý")
        assert answer.body == (
            f"«{shown}»: quy tắc đánh giá đang dùng tính theo tháng, nên không có tổng hợp theo quý. Xem từng "
            "tháng, ví dụ /tonghop 2026-10, hoặc cả năm: /tonghop 2026 (thêm mã đơn vị nếu cần, ví dụ "
            "/tonghop 2026-10 BD)."
        ), typed


def test_yearly_rollup_for_staff(flow: Flow) -> None:
    """A year typed instead of a period: the year's roll-up, as text and as the workbook's «Cả năm» sheet."""
    before = flow.last_id("TU01")
    text = flow.say("TU01", "/tonghop 2026 BD", "TỔNG HỢP XẾP LOẠI CẢ NĂM 2026")
    assert "Đơn vị: Quận ủy Ba Đình (BD)" in text.body
    assert "  • B — Hoàn thành tốt nhiệm vụ: 1 (100%)" in text.body
    assert "  • Phạm Thị Dung (BD03, BD): B 1 — 1 kỳ đã xếp loại" in text.body
    assert "  • Hoàng Văn Em (BD04, BD): chưa có kỳ nào được xếp loại" in text.body
    # Everyone on the district's roster who had to be evaluated, also those who never opened a period.
    assert "— 4 người phải đánh giá trong năm (2 người chưa có hồ sơ đánh giá nào)" in text.body
    assert "  • Trần Thị Bình (BD01, BD): chưa có hồ sơ đánh giá nào trong năm" in text.body
    doc = flow.telegram.wait_for(USERS["TU01"], lambda m: m.document is not None, after=before)
    assert doc.document is not None and doc.document.file_name == "tong-hop-BD-nam-2026.xlsx"
    assert "kỳ 2026-10" in doc.body  # the other sheets: the last finished period of the year
    workbook = openpyxl.load_workbook(io.BytesIO(doc.document.data))
    rows = {r[0]: r for r in workbook["Cả năm 2026"].iter_rows(min_row=3, values_only=True)}
    assert rows["BD03"][1:3] == ("Phạm Thị Dung", "BD") and rows["BD03"][3 + 9] == "B"  # October
    assert rows["BD01"][1:3] == ("Trần Thị Bình", "BD") and set(rows["BD01"][3:15]) == {None}
    # Another district's staff: refused; a year not begun: what to type instead.
    flow.say("HK03", "/tonghop 2026 BD", "ngoài phạm vi")
    flow.say("TU01", "/tonghop 2031", "Vui lòng gõ một năm từ 2000 đến 2026")


def test_own_data_export(flow: Flow) -> None:
    before = flow.last_id("BD04")
    flow.say("BD04", "/dulieu", "Đang chuẩn bị dữ liệu cá nhân")
    uid = USERS["BD04"]
    json_doc = flow.telegram.wait_for(
        uid, lambda m: m.document is not None and m.document.file_name == "du-lieu-ca-nhan.json", after=before
    )
    xlsx_doc = flow.telegram.wait_for(
        uid, lambda m: m.document is not None and m.document.file_name == "du-lieu-ca-nhan.xlsx", after=before
    )
    assert json_doc.document is not None and xlsx_doc.document is not None
    data = json.loads(json_doc.document.data.decode("utf-8"))
    assert "Hoàng Văn Em" in json.dumps(data, ensure_ascii=False)
    assert "Phạm Thị Dung" not in json.dumps(data, ensure_ascii=False)  # nobody else's records
    assert openpyxl.load_workbook(io.BytesIO(xlsx_doc.document.data)).sheetnames
    # The right to correct: the request goes to committee staff over the unit (not another district's).
    hint = flow.wait("BD04", "đề nghị đính chính", after=before)
    flow.press("BD04", hint, "✏️ Đề nghị đính chính", "Hãy ghi rõ")
    flow.say("BD04", "sai", "quá ngắn")
    before_tu, before_hk = flow.last_id("TU01"), flow.last_id("HK03")
    flow.say("BD04", "Chức vụ của tôi ghi sai, đúng là Phó Trưởng phòng", "Đã ghi nhận và chuyển")
    notice = flow.wait("TU01", "Đề nghị đính chính dữ liệu cá nhân", after=before_tu)
    assert "Hoàng Văn Em" in notice.body and "Phó Trưởng phòng" in notice.body
    assert not [m for m in flow.telegram.world.messages(USERS["HK03"]) if m.message_id > before_hk]


def test_no_message_of_the_month_has_a_doubled_full_stop_or_a_utc_time(flow: Flow) -> None:
    """Every message the bot sent anyone over the month (notices quoting a comment typed with its own full stop,
    «Điểm thưởng chưa đủ minh chứng.», included): no sentence ends in «..», and no time is labelled UTC (#11)."""
    doubled = re.compile(r"(?<![.…])\.\.(?!\.)")
    seen = 0
    for code, uid in USERS.items():
        for m in flow.telegram.world.bot_messages(uid):
            seen += 1
            for text in (m.body, *m.button_texts):
                assert not doubled.search(text), (code, text)
                assert "UTC" not in text, (code, text)
    assert seen > 100
