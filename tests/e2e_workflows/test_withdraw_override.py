"""Through the real bot: a cadre takes back a submitted self-assessment to edit it ("Sửa lại"), and a head
decides over an enforced quota after confirming it with a reason."""

from __future__ import annotations

import pytest

from records.db import make_engine, session_scope
from records.evaluations import evaluation_history, find_evaluation
from records.people import find_person_by_code
from records.views import AuditView, EvaluationView
from tests.e2e_workflows.conftest import USERS, Flow

pytestmark = pytest.mark.slow


def _record(flow: Flow, code: str) -> tuple[EvaluationView, list[AuditView]]:
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            view = find_evaluation(session, actor_id=None, person_id=person.id, period="2026-10")
            assert view is not None
            return view, evaluation_history(session, actor_id=None, evaluation_id=view.id)
    finally:
        engine.dispose()


def _submit(flow: Flow, card_with_send: str) -> None:
    card = flow.say("BD03", "/danhgia", card_with_send)
    confirm = flow.press("BD03", card, "📤 Xem lại và gửi", "Kiểm tra trước khi gửi")
    flow.press("BD03", confirm, "✅ Gửi", "Đã gửi tự đánh giá kỳ 2026-10")


def test_cadre_withdraws_edits_and_resubmits_late(flow: Flow) -> None:
    plan = flow.say("BD03", "/kehoach", "Kế hoạch công việc kỳ 2026-10")
    flow.press("BD03", plan, "➕ Thêm việc", "Gõ một việc theo mẫu")
    saved = flow.say("BD03", "Báo cáo sơ kết quý | Trình Thường trực | 25/10", "Đã lưu việc")
    flow.press("BD03", saved, "✅ Xong", "Đã lưu kế hoạch kỳ 2026-10")
    flow.set_now("2026-11-02T09:00:00+07:00")
    card = flow.say("BD03", "/danhgia", "Tự đánh giá kỳ 2026-10")
    ask = flow.press("BD03", card, "1.", "Kết quả thực hiện?")
    note = flow.press("BD03", ask, "✅ Đúng hạn", "Gõ ghi chú")
    after = flow.last_id("BD03")
    flow.telegram.world.press_button(USERS["BD03"], note.chat_id, note.message_id, text="Bỏ qua")
    flow.wait("BD03", "Ý thức tổ chức kỷ luật", after=after)
    flow.say("BD03", "20", "Kết quả thực hiện nhiệm vụ được giao")
    flow.say("BD03", "68", "Điểm thưởng")
    card = flow.say("BD03", "5", "Tự đánh giá kỳ 2026-10")
    assert "Tổng: 93/100" in card.body
    reviewer_before = flow.last_id("BD02")
    _submit(flow, "Tự đánh giá kỳ 2026-10")
    flow.wait("BD02", "vừa gửi tự đánh giá kỳ 2026-10", after=reviewer_before)
    waiting = flow.say("BD02", "/duyet", "Hồ sơ chờ bạn xử lý")
    assert "Phạm Thị Dung (BD03)" in waiting.body
    review_card = flow.press("BD02", waiting, "📝 1.", "Hồ sơ Phạm Thị Dung")
    # Submitted, not yet reviewed: "Sửa lại" takes it back to draft and reopens the editing card.
    card = flow.say("BD03", "/danhgia", "đang chờ người quản lý nhận xét")
    withdrawn = flow.press("BD03", card, "✏️ Sửa lại", "Đã rút hồ sơ về bản nháp")
    assert "📤 Xem lại và gửi" in withdrawn.button_texts
    record, history = _record(flow, "BD03")
    assert record.state == "draft" and record.self_total == 93
    assert history[-1].action == "withdraw" and history[-1].from_state == "submitted"
    flow.say("BD02", "/duyet", "Không có hồ sơ nào đang chờ bạn")
    # The reviewer's card opened before: approving a withdrawn record is refused with a clear message.
    flow.press("BD02", review_card, "✅ Đồng ý", "đã rút hồ sơ về để sửa lại")
    assert _record(flow, "BD03")[0].state == "draft"
    # The cadre edits after the deadline and sends again: marked late.
    ask = flow.press("BD03", withdrawn, "🔢 Điểm thưởng", "Chấm điểm")
    card = flow.press("BD03", ask, "10", "Tự đánh giá kỳ 2026-10")
    assert "Tổng: 98/100" in card.body
    flow.set_now("2026-11-05T10:00:00+07:00")
    confirm = flow.press("BD03", card, "📤 Xem lại và gửi", "Kiểm tra trước khi gửi")
    sent = flow.press("BD03", confirm, "✅ Gửi", "Đã gửi tự đánh giá kỳ 2026-10")
    assert "nộp muộn" in sent.body
    record, history = _record(flow, "BD03")
    assert record.state == "submitted" and record.late and record.self_total == 98
    assert [e.action for e in history].count("submit") == 2


def test_withdraw_after_the_reviewer_acted_says_so(flow: Flow) -> None:
    stale = flow.say("BD03", "/danhgia", "đang chờ người quản lý nhận xét")
    waiting = flow.say("BD02", "/duyet", "Hồ sơ chờ bạn xử lý")
    card = flow.press("BD02", waiting, "📝 1.", "Hồ sơ Phạm Thị Dung")
    flow.press("BD02", card, "✅ Đồng ý", "Đã nhận xét hồ sơ")
    refused = flow.press("BD03", stale, "✏️ Sửa lại", "Không sửa lại được")
    assert "đã xử lý" in refused.body
    record, _ = _record(flow, "BD03")
    assert record.state == "reviewed"


def test_head_decides_over_an_enforced_quota_with_a_reason(flow: Flow) -> None:
    card = flow.say("BD01", "/duyet", "Hồ sơ chờ bạn xử lý")
    card = flow.press("BD01", card, "⚖️ 1.", "Chọn xếp loại cuối cùng")
    quota = flow.press("BD01", card, "⚖️ Loại A", "Vượt tỉ lệ")
    assert "bắt buộc" in quota.body and "tối đa 0 người" in quota.body
    assert any(b.startswith("⚠️ Vẫn quyết định") for b in quota.button_texts)
    assert any(b.startswith("⚖️ Loại B") for b in quota.button_texts)  # or pick another grade
    flow.press("BD01", quota, "⚠️ Vẫn quyết định", "Gõ lý do quyết định vượt tỉ lệ")
    flow.say("BD01", "   ", "Lý do đang trống")
    cadre_before = flow.last_id("BD03")
    flow.say("BD01", "Thành tích đột xuất được Thành ủy khen thưởng", "Đã quyết định loại A")
    flow.wait("BD03", "thủ trưởng quyết định xếp loại", after=cadre_before)
    record, history = _record(flow, "BD03")
    assert record.state == "decided" and record.final_grade == "A"
    decide = history[-1]
    assert decide.action == "decide" and decide.detail is not None
    assert decide.detail["quota_override"]["reason"] == "Thành tích đột xuất được Thành ủy khen thưởng"
    results = flow.say("BD03", "/ketqua", "Kết quả đánh giá của Phạm Thị Dung")
    shown = flow.press("BD03", results, "🕘 Lịch sử kỳ 2026-10", "Lịch sử hồ sơ kỳ 2026-10")
    assert "rút hồ sơ đã gửi về để sửa lại" in shown.body
    assert "vượt tỉ lệ, lý do: Thành tích đột xuất" in shown.body
