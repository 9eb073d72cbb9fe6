"""An action programme's lifecycle and a rotation review through the real bot."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from records.db import make_engine, session_scope
from records.people import find_person_by_code, find_unit_by_code
from records.programmes import list_programmes
from records.rotations import RotationInput, list_rotations, start_rotation
from records.rules import default_rules
from tests.e2e_workflows.conftest import Flow

pytestmark = pytest.mark.slow


def _programme(flow: Flow, code: str):  # type: ignore[no-untyped-def]
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            return list_programmes(session, actor_id=None, person_id=person.id)
    finally:
        engine.dispose()


def test_action_programme_lifecycle(flow: Flow) -> None:
    flow.set_now("2026-11-02T09:00:00+07:00")
    start = flow.say("BD03", "/chuongtrinh", "chưa có chương trình hành động")
    ask = flow.press("BD03", start, "➕ Đăng ký chương trình mới", "Gõ chức vụ mới")
    flow.say("BD03", "Bí thư chi bộ | 01/11/2026", "Chưa đúng mẫu")
    flow.say("BD03", "Bí thư chi bộ | 01/11/2026 | 01/10/2026", "phải sau ngày bắt đầu")
    pick = flow.say("BD03", "Bí thư chi bộ khu dân cư số 3 | 01/11/2026 | 31/10/2029", "Chọn mức công khai")
    assert ask.message_id < pick.message_id
    flow.press("BD03", pick, "Công khai trong chi bộ", "Gõ một mục cam kết")
    flow.say("BD03", "Nâng chất lượng sinh hoạt", "Chưa đúng mẫu")
    flow.say("BD03", "Nâng chất lượng sinh hoạt | 100% đảng viên dự họp | 31/12/2030", "nằm ngoài nhiệm kỳ")
    card = flow.say(
        "BD03", "Nâng chất lượng sinh hoạt chi bộ | 95% đảng viên dự họp | 31/12/2027", "Đã lưu mục"
    )
    assert "Công khai trong chi bộ" in card.body and "95% đảng viên dự họp" in card.body
    confirm = flow.press("BD03", card, "📤 Gửi thủ trưởng xác nhận", "Kiểm tra trước khi gửi")
    head_before = flow.last_id("BD01")
    sent = flow.press("BD03", confirm, "✅ Gửi", "Đã gửi chương trình hành động")
    assert "Trần Thị Bình" in sent.body
    notice = flow.wait("BD01", "gửi chương trình hành động", after=head_before)
    shown = flow.press("BD01", notice, "🎯 Mở chương trình", "Bí thư chi bộ khu dân cư số 3")
    flow.press("BD01", shown, "↩️ Trả lại", "lý do trả lại chương trình")
    cadre_before = flow.last_id("BD03")
    flow.say("BD01", "Cần thêm chỉ tiêu về phát triển đảng viên", "Đã trả lại chương trình")
    flow.wait("BD03", "Cần thêm chỉ tiêu về phát triển đảng viên", after=cadre_before)
    listing = flow.say("BD03", "/chuongtrinh", "bị trả lại để sửa")
    flow.press("BD03", listing, "➕ Thêm mục", "Gõ một mục cam kết")
    card = flow.say("BD03", "Phát triển đảng viên mới | Kết nạp 2 đảng viên | 30/06/2028", "Đã lưu mục")
    confirm = flow.press("BD03", card, "📤 Gửi thủ trưởng xác nhận", "Kiểm tra trước khi gửi")
    flow.press("BD03", confirm, "✅ Gửi", "Đã gửi chương trình hành động")
    waiting = flow.say("BD01", "/duyet", "Chương trình hành động của Phạm Thị Dung")
    shown = flow.press("BD01", waiting, "🎯", "Bí thư chi bộ khu dân cư số 3")
    cadre_before = flow.last_id("BD03")
    flow.press("BD01", shown, "✅ Xác nhận chương trình", "Đã xác nhận chương trình")
    flow.wait("BD03", "đã được thủ trưởng xác nhận", after=cadre_before)
    listing = flow.say("BD03", "/chuongtrinh", "đã xác nhận, đang thực hiện")
    flow.press("BD03", listing, "📈 Tiến độ mục 2", "Gõ tiến độ mới")
    flow.say("BD03", "150 xong", "số nguyên từ 0 đến 100")
    saved = flow.say("BD03", "50 đã kết nạp 1 đảng viên", "Đã cập nhật tiến độ mục 2: 50%")
    assert "tiến độ 50%" in saved.body
    [programme] = _programme(flow, "BD03")
    assert programme.state == "confirmed" and programme.publicity == "party_cell"
    assert [i.progress_percent for i in programme.items] == [0, 50]
    assert programme.items[1].deadline == date(2028, 6, 30)
    # The confirmed programme is evidence beside the self-assessment of a month in its term.
    plan = flow.say("BD03", "/kehoach", "Kế hoạch công việc kỳ 2026-11")
    flow.press("BD03", plan, "➕ Thêm việc", "Gõ một việc theo mẫu")
    flow.say("BD03", "Sinh hoạt chi bộ tháng 11", "Đã lưu việc")
    card = flow.say("BD03", "/danhgia 2026-11", "Tự đánh giá kỳ 2026-11")
    assert "Minh chứng từ chương trình hành động" in card.body
    assert (
        "Phát triển đảng viên mới — mục tiêu: Kết nạp 2 đảng viên; hạn 30/06/2028; tiến độ 50%" in card.body
    )


def test_rotation_review_reaches_each_person_in_turn(flow: Flow) -> None:
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code="BD04")
            staff = find_person_by_code(session, cadre_code="TU01")
            unit = find_unit_by_code(session, code="HK")
            assert person is not None and staff is not None and unit is not None
            start_rotation(
                session,
                actor_id=staff.id,
                data=RotationInput(
                    person_id=person.id,
                    to_unit_id=unit.id,
                    to_post="Phó Trưởng ban",
                    start_date=date(2026, 5, 1),
                ),
                rules=default_rules(),
                now=datetime(2026, 5, 1, tzinfo=UTC),
            )
    finally:
        engine.dispose()
    flow.set_now("2026-11-02T09:00:00+07:00")  # the first 6-month review was due 01/11/2026
    flow.say("BD03", "/luanchuyen", "Không có việc nhận xét")
    due = flow.say("BD04", "/luanchuyen", "Đánh giá cán bộ luân chuyển đến hạn")
    assert "Tự nhận xét của Hoàng Văn Em (kỳ định kỳ 6 tháng)" in due.body
    form = flow.press("BD04", due, "✍️ 1.", "Gõ bản tự nhận xét")
    assert form.body.endswith("(Gõ /huy để dừng.)") and "phần đã nhập" not in form.body
    flow.say("BD04", "   ", "Nội dung đang trống")
    head_before = flow.last_id("HK01")
    saved = flow.say("BD04", "Đã hoàn thành kế hoạch 6 tháng đầu", "Đã lưu")
    assert "Bùi Thị Hà" in saved.body
    notice = flow.wait("HK01", "chờ bạn: Nhận xét của tập thể nơi đến", after=head_before)
    due = flow.say("HK01", "/luanchuyen", "Nhận xét của tập thể nơi đến về Hoàng Văn Em")
    assert due.button_texts == ["✍️ 1. Điền phiếu"]
    # The notice carries the form's button (named, with its deadline): no need to type /luanchuyen.
    flow.press("HK01", notice, "✍️ Nhận xét Hoàng Văn Em (hạn 01/11/2026)", "Gõ nhận xét của tập thể")
    staff_before = flow.last_id("TU01")
    flow.say("HK01", "Tập thể đánh giá tốt", "Đã lưu")
    notice = flow.wait("TU01", "Đánh giá của cấp có thẩm quyền", after=staff_before)
    flow.say("TU01", "/luanchuyen", "Đánh giá của cấp có thẩm quyền về Hoàng Văn Em")
    grades = flow.press("TU01", notice, "✍️ Đánh giá Hoàng Văn Em (hạn 01/11/2026)", "Chọn mức xếp loại")
    flow.press("TU01", grades, "B —", "Gõ đánh giá")
    cadre_before = flow.last_id("BD04")
    flow.say("TU01", "Hoàn thành tốt nhiệm vụ luân chuyển", "Đã lưu")
    flow.wait("BD04", "đã hoàn tất: xếp loại B (Hoàn thành tốt nhiệm vụ)", after=cadre_before)
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code="BD04")
            assert person is not None
            [rotation] = list_rotations(session, actor_id=None, person_id=person.id)
    finally:
        engine.dispose()
    first = min(rotation.reviews, key=lambda r: r.due_date)
    assert first.state == "evaluated" and first.evaluation_grade == "B"
    assert first.self_review == "Đã hoàn thành kế hoạch 6 tháng đầu"
