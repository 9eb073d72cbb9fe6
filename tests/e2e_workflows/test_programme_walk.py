"""Action programmes as a cadre and a head would use them: typed progress and old buttons (issue #11 walk)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from records.db import make_engine, session_scope
from records.evaluations import TaskInput, TaskResultInput, plan_tasks, submit_self_assessment
from records.people import find_person_by_code
from records.programmes import (
    ItemInput,
    ProgrammeInput,
    confirm_programme,
    create_programme,
    list_programmes,
    submit_programme,
)
from records.rules import default_rules
from records.schema import TaskResult
from records.views import ProgrammeView
from tests.e2e_workflows.conftest import USERS, Flow, running_flow

pytestmark = pytest.mark.slow

SEEDED = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    with running_flow(tmp_path_factory.mktemp("programme-walk"), start="2026-10-06T09:00:00+07:00") as world:
        yield world


def seed_programme(flow: Flow, code: str, *, confirm: bool, head_code: str = "BD01") -> None:
    """A draft programme of `code` (or one already confirmed by `head_code`), written through records."""
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code=code)
            head = find_person_by_code(session, cadre_code=head_code)
            assert person is not None and head is not None
            view = create_programme(
                session,
                actor_id=person.id,
                person_id=person.id,
                data=ProgrammeInput(
                    post="Bí thư chi bộ khu dân cư số 3",
                    term_start=date(2026, 10, 1),
                    term_end=date(2029, 9, 30),
                    items=(
                        ItemInput(
                            commitment="Nâng chất lượng sinh hoạt chi bộ",
                            target="95% đảng viên dự họp",
                            deadline=date(2027, 12, 31),
                        ),
                    ),
                ),
                now=SEEDED,
            )
            if confirm:
                submit_programme(session, actor_id=person.id, programme_id=view.id, now=SEEDED)
                confirm_programme(session, actor_id=head.id, programme_id=view.id, now=SEEDED)
    finally:
        engine.dispose()


def programmes_of(flow: Flow, code: str) -> list[ProgrammeView]:
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            return list_programmes(session, actor_id=None, person_id=person.id)
    finally:
        engine.dispose()


def test_progress_with_a_decimal_comma_is_refused_not_truncated(pflow: Flow) -> None:
    seed_programme(pflow, "BD03", confirm=True)
    card = pflow.say("BD03", "/chuongtrinh", "đã xác nhận, đang thực hiện")
    pflow.press("BD03", card, "📈 Tiến độ mục 1", "Gõ tiến độ mới")
    refused = pflow.say("BD03", "86,5 đã họp 3 buổi", "có phần lẻ")
    assert "86,5" in refused.body and "số nguyên" in refused.body
    [programme] = programmes_of(pflow, "BD03")
    assert programme.items[0].progress_percent == 0  # nothing saved, the step still waits
    saved = pflow.say("BD03", "86 đã họp 3 buổi", "Đã cập nhật tiến độ mục 1: 86%")
    assert "tiến độ 86%" in saved.body.replace("<b>", "").replace("</b>", "")


def test_old_buttons_show_the_programme_as_it_is_instead_of_an_error(pflow: Flow) -> None:
    seed_programme(pflow, "BD04", confirm=False)
    card = pflow.say("BD04", "/chuongtrinh", "đang soạn")
    confirm = pflow.press("BD04", card, "📤 Gửi thủ trưởng xác nhận", "Kiểm tra trước khi gửi")
    head_before = pflow.last_id("BD01")
    pflow.press("BD04", confirm, "✅ Gửi", "Đã gửi chương trình hành động")
    # The cadre taps the old «✅ Gửi» again: told it is already sent, not «trạng thái hiện tại không cho phép».
    again = pflow.press("BD04", confirm, "✅ Gửi", "Không cần làm gì thêm")
    assert "«đã gửi, chờ thủ trưởng xác nhận»" in again.body and "❌" not in again.body
    notice = pflow.wait("BD01", "Hoàng Văn Em gửi chương trình hành động", after=head_before)
    shown = pflow.press("BD01", notice, "🎯 Mở chương trình", "chờ thủ trưởng xác nhận")
    pflow.press("BD01", shown, "✅ Xác nhận chương trình", "Đã xác nhận chương trình")
    # The head taps the same card's buttons again: no «người khác vừa thực hiện…», no reason asked for nothing.
    twice = pflow.press("BD01", shown, "✅ Xác nhận chương trình", "Không cần làm gì thêm")
    assert "«đã xác nhận, đang thực hiện»" in twice.body and "người khác" not in twice.body
    late = pflow.press("BD01", shown, "↩️ Trả lại", "Không cần làm gì thêm")
    assert "Gõ lý do" not in late.body
    [programme] = programmes_of(pflow, "BD04")
    assert programme.state == "confirmed"


def seed_submitted_self_assessment(flow: Flow, code: str, period: str) -> None:
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            view = plan_tasks(
                session,
                actor_id=person.id,
                person_id=person.id,
                period=period,
                tasks=[TaskInput(title="Sinh hoạt chi bộ")],
                rules=default_rules(),
                now=SEEDED,
            )
            submit_self_assessment(
                session,
                actor_id=person.id,
                evaluation_id=view.id,
                results=[TaskResultInput(task_id=t.id, result=TaskResult.ON_TIME) for t in view.tasks],
                points={"discipline": 18, "tasks": 60, "bonus": 5},
                rules=default_rules(),
                now=SEEDED,
            )
    finally:
        engine.dispose()


def test_the_reviewer_and_the_head_grade_with_the_programme_evidence(pflow: Flow) -> None:
    seed_programme(pflow, "HK03", confirm=True, head_code="HK01")
    seed_submitted_self_assessment(pflow, "HK03", "2026-10")
    evidence = "Nâng chất lượng sinh hoạt chi bộ — mục tiêu: 95% đảng viên dự họp; hạn 31/12/2027; tiến độ 0%"
    waiting = pflow.say("HK01", "/duyet", "Đỗ Thị Lan (HK03)")
    card = pflow.press("HK01", waiting, "📝", "chờ nhận xét")
    assert "Minh chứng từ chương trình hành động" in card.body and evidence in card.body
    pflow.press("HK01", card, "✅ Đồng ý", "Đã nhận xét hồ sơ của Đỗ Thị Lan")
    waiting = pflow.say("HK01", "/duyet", "người quản lý đề nghị loại B")
    decision = pflow.press("HK01", waiting, "⚖️", "Chọn xếp loại cuối cùng")
    assert evidence in decision.body


def test_after_one_progress_update_the_cadre_is_told_how_to_add_another(pflow: Flow) -> None:
    seed_programme(pflow, "HK02", confirm=True, head_code="HK01")
    card = pflow.say("HK02", "/chuongtrinh", "đã xác nhận, đang thực hiện")
    pflow.press("HK02", card, "📈 Tiến độ mục 1", "Gõ tiến độ mới")
    saved = pflow.say("HK02", "40 đã họp 2 buổi", "Đã cập nhật tiến độ mục 1: 40%")
    assert "Muốn cập nhật thêm (mục này hoặc mục khác), bấm «📈 Tiến độ mục …» bên dưới" in saved.body
    assert "không được ghi vào tiến độ" in saved.body and "📈 Tiến độ mục 1" in saved.button_texts
    # A second line typed now is not taken as progress (the step has ended, as the message said) …
    sent = pflow.telegram.world.send_text(USERS["HK02"], "60% đã họp 3 buổi")
    answer = pflow.telegram.wait_for(USERS["HK02"], lambda m: True, after=sent.message_id, timeout=60)
    assert "Đã cập nhật tiến độ" not in answer.body
    [programme] = programmes_of(pflow, "HK02")
    assert programme.items[0].progress_percent == 40
    # … and the button under the saved card takes the next update.
    again = pflow.press("HK02", saved, "📈 Tiến độ mục 1", "Gõ tiến độ mới")
    assert "(hiện 40%)" in again.body
    pflow.say("HK02", "60 đã họp 3 buổi", "Đã cập nhật tiến độ mục 1: 60%")
    [programme] = programmes_of(pflow, "HK02")
    assert programme.items[0].progress_percent == 60


def test_dates_with_two_digit_years_are_read_as_20xx(pflow: Flow) -> None:
    start = pflow.say("HK01", "/chuongtrinh", "chưa có chương trình hành động")
    pflow.press("HK01", start, "➕ Đăng ký chương trình mới", "Gõ chức vụ mới")
    # A date that is not one is named, instead of «Chưa đúng mẫu» for the whole line.
    wrong = pflow.say("HK01", "Trưởng phòng | 31/02/26 | 30/09/29", "Ngày «31/02/26» không đúng")
    assert "Chưa đúng mẫu" not in wrong.body and "01/11/26" in wrong.body
    pick = pflow.say("HK01", "Trưởng phòng Tổ chức | 1/10/26 | 30/9/29", "Chọn mức công khai")
    pflow.press("HK01", pick, "Công khai trong chi bộ", "Gõ một mục cam kết")
    card = pflow.say("HK01", "Rà soát quy hoạch cán bộ | 100% hồ sơ cập nhật | 31/12/27", "Đã lưu mục")
    assert "01/10/2026" in card.body and "30/09/2029" in card.body and "31/12/2027" in card.body
    [programme] = programmes_of(pflow, "HK01")
    assert (programme.term_start, programme.term_end) == (date(2026, 10, 1), date(2029, 9, 30))
    assert programme.items[0].deadline == date(2027, 12, 31)


def test_cancel_hints_promise_to_keep_only_what_is_saved(pflow: Flow) -> None:
    start = pflow.say("BD02", "/chuongtrinh", "chưa có chương trình hành động")
    ask = pflow.press("BD02", start, "➕ Đăng ký chương trình mới", "Gõ chức vụ mới")
    assert ask.body.endswith("(Gõ /huy để dừng.)") and "phần đã nhập" not in ask.body
    pick = pflow.say("BD02", "Trưởng phòng | 01/10/2026 | 30/09/2029", "Chọn mức công khai")
    first = pflow.press("BD02", pick, "Công khai trong chi bộ", "Gõ một mục cam kết")
    assert "chương trình chỉ được lưu khi có mục cam kết đầu tiên" in first.body
    assert "phần đã nhập" not in first.body
    card = pflow.say("BD02", "Rà soát hồ sơ | 100% hồ sơ | 31/12/2027", "Đã lưu mục")
    more = pflow.press("BD02", card, "➕ Thêm mục", "Gõ một mục cam kết")
    assert more.body.endswith("(Gõ /huy để dừng; phần đã nhập vẫn được lưu.)")  # the first item is saved
    pflow.say("BD02", "/huy", "Đã hủy")
    [programme] = programmes_of(pflow, "BD02")
    assert [item.commitment for item in programme.items] == ["Rà soát hồ sơ"]
    card = pflow.say("BD02", "/chuongtrinh", "đang soạn")
    confirm = pflow.press("BD02", card, "📤 Gửi thủ trưởng xác nhận", "Kiểm tra trước khi gửi")
    head_before = pflow.last_id("BD01")
    pflow.press("BD02", confirm, "✅ Gửi", "Đã gửi chương trình hành động")
    notice = pflow.wait("BD01", "Lê Văn Cường gửi chương trình hành động", after=head_before)
    shown = pflow.press("BD01", notice, "🎯 Mở chương trình", "chờ thủ trưởng xác nhận")
    reason = pflow.press("BD01", shown, "↩️ Trả lại", "lý do trả lại chương trình")
    assert reason.body.endswith("(Gõ /huy để dừng.)") and "phần đã nhập" not in reason.body
