"""Reminders, late lists and automatic summaries on a simulated clock, with injected 429s, through the real bot."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from bot.localapi import ChatMessage
from records.db import make_engine, session_scope
from records.evaluations import (
    TaskInput,
    TaskResultInput,
    find_evaluation,
    plan_tasks,
    submit_self_assessment,
)
from records.people import find_person_by_code, find_unit_by_code
from records.rotations import RotationInput, start_rotation
from records.rules import default_rules
from tests.e2e_workflows.conftest import USERS, Flow, running_flow

pytestmark = pytest.mark.slow

SETTLE_S = 4.0  # a few ticks (1 s each) with nothing new to send


@pytest.fixture(scope="module")
def rflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    with running_flow(
        tmp_path_factory.mktemp("reminders"),
        start="2026-10-02T07:00:00+07:00",  # before 08:00: nothing is sent yet
        env={"CANBO_WORKFLOW_TICK_S": "1"},
    ) as world:
        yield world


def reminders_of(flow: Flow, code: str, fragment: str = "Nhắc việc") -> list[ChatMessage]:
    return [m for m in flow.telegram.world.bot_messages(USERS[code]) if fragment in m.body]


def wait_reminders(
    flow: Flow, codes: list[str], count: int, fragment: str = "Nhắc việc", timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(len(reminders_of(flow, c, fragment)) >= count for c in codes):
            return
        time.sleep(0.2)
    got = {c: len(reminders_of(flow, c, fragment)) for c in codes}
    raise AssertionError(f"expected {count} message(s) with {fragment!r} each, got {got}")


def test_nothing_before_the_sending_hour(rflow: Flow) -> None:
    time.sleep(SETTLE_S)
    assert all(not reminders_of(rflow, code) for code in USERS)


def test_plan_reminder_goes_to_everyone_once_despite_429s(rflow: Flow) -> None:
    rflow.telegram.world.fail_next_sends(6, retry_after=1)
    rejected_before = rflow.telegram.world.rejected_sends
    rflow.set_now("2026-10-02T09:00:00+07:00")
    wait_reminders(rflow, list(USERS), 1)
    time.sleep(SETTLE_S)
    for code in USERS:
        messages = reminders_of(rflow, code)
        assert len(messages) == 1, code
        assert "Đăng ký kế hoạch kỳ 2026-10" in messages[0].body and "còn 3 ngày" in messages[0].body
    assert rflow.telegram.world.rejected_sends >= rejected_before + 6


def test_only_those_who_still_have_to_act_are_reminded(rflow: Flow) -> None:
    engine = make_engine(rflow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code="BD03")
            assert person is not None
            plan_tasks(
                session,
                actor_id=person.id,
                person_id=person.id,
                period="2026-10",
                tasks=[TaskInput(title="Báo cáo sơ kết")],
                rules=default_rules(),
            )
    finally:
        engine.dispose()
    rflow.set_now("2026-10-04T08:30:00+07:00")  # one day before the plan deadline
    others = [c for c in USERS if c != "BD03"]
    wait_reminders(rflow, others, 2)
    time.sleep(SETTLE_S)
    assert len(reminders_of(rflow, "BD03")) == 1
    assert all(len(reminders_of(rflow, c)) == 2 for c in others)
    assert "còn 1 ngày" in reminders_of(rflow, "BD04")[-1].body


def test_no_automatic_summary_of_a_period_nobody_was_evaluated_in(rflow: Flow) -> None:
    """The roster starts in October: September's decision deadline passing sends staff no empty summary."""
    rflow.set_now("2026-10-08T09:00:00+07:00")  # September's decisions were due 07/10
    wait_reminders(rflow, [c for c in USERS if c != "BD03"], 3)  # the day's round: plans 3 days late
    time.sleep(SETTLE_S)
    assert not reminders_of(rflow, "TU01", "Tổng hợp tự động")
    assert not reminders_of(rflow, "HK03", "Tổng hợp tự động")
    assert not any(m.document for m in rflow.telegram.world.bot_messages(USERS["TU01"]))


def test_after_the_deadline_late_lists_reach_heads_and_summaries_reach_staff(rflow: Flow) -> None:
    rflow.set_now("2026-11-04T09:00:00+07:00")  # self-assessment of 2026-10 was due 03/11
    wait_reminders(rflow, ["BD01", "HK01"], 1, fragment="Danh sách chưa tự đánh giá kỳ 2026-10")
    ba_dinh = reminders_of(rflow, "BD01", "Danh sách chưa tự đánh giá")[0].body
    # Each person with code and unit and what is missing; the head's next step with the real period and unit.
    assert ba_dinh.splitlines() == [
        "📋 Danh sách chưa tự đánh giá kỳ 2026-10 (hạn 03/11/2026 đã qua):",
        "• Lê Văn Cường (BD02, BD): chưa tự đánh giá",
        "• Phạm Thị Dung (BD03, BD): đang soạn, chưa gửi tự đánh giá",  # planned, never submitted
        "• Hoàng Văn Em (BD04, BD): chưa tự đánh giá",
        "",
        "Xem tổng hợp: /tonghop 2026-10 BD",
    ]
    hoan_kiem = reminders_of(rflow, "HK01", "Danh sách chưa tự đánh giá")[0].body
    assert "• Ngô Văn Khoa (HK02, HK): chưa tự đánh giá" in hoan_kiem and "Phạm Thị Dung" not in hoan_kiem
    assert hoan_kiem.endswith("Xem tổng hợp: /tonghop 2026-10 HK")
    assert not reminders_of(rflow, "BD03", "Danh sách chưa tự đánh giá")
    overdue = reminders_of(rflow, "BD03")[-1].body
    assert "Tự đánh giá kỳ 2026-10" in overdue and "quá hạn 1 ngày" in overdue
    _submit_late(rflow, "BD03")  # waits for the reviewer, who never reviews it
    rflow.set_now("2026-11-08T09:00:00+07:00")  # decisions were due 07/11
    wait_reminders(rflow, ["TU01", "HK03"], 1, fragment="Tổng hợp tự động")
    assert "Thành ủy Hà Nội (TU)" in reminders_of(rflow, "TU01", "Tổng hợp tự động")[0].body
    assert "Quận ủy Hoàn Kiếm (HK)" in reminders_of(rflow, "HK03", "Tổng hợp tự động")[0].body
    world = rflow.telegram.world
    rflow.telegram.wait_for(USERS["TU01"], lambda m: m.document is not None)
    time.sleep(SETTLE_S)
    assert len(reminders_of(rflow, "TU01", "Tổng hợp tự động")) == 1
    assert len([m for m in world.bot_messages(USERS["BD01"]) if "Danh sách chưa tự đánh giá" in m.body]) == 1


def _submit_late(flow: Flow, code: str) -> None:
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            record = find_evaluation(session, actor_id=None, person_id=person.id, period="2026-10")
            assert record is not None
            submit_self_assessment(
                session,
                actor_id=person.id,
                evaluation_id=record.id,
                rules=default_rules(),
                results=[TaskResultInput(task_id=t.id, result="on_time") for t in record.tasks],
                points={"discipline": 18, "tasks": 60, "bonus": 5},
                now=datetime(2026, 11, 5, 3, 0, tzinfo=UTC),
            )
    finally:
        engine.dispose()


UNDECIDED = "Danh sách chưa có quyết định xếp loại kỳ 2026-10"


def test_past_the_decision_deadline_heads_and_staff_get_one_list_of_the_undecided(rflow: Flow) -> None:
    """Sent with the automatic summary (the previous test moved the clock past 07/11): who is still without a
    decided grade and what is missing, to the head and to the staff over the unit; once, even after a restart."""
    ba_dinh = reminders_of(rflow, "BD01", UNDECIDED)
    assert len(ba_dinh) == 1
    assert ba_dinh[0].body.splitlines() == [
        "📋 Danh sách chưa có quyết định xếp loại kỳ 2026-10 (hạn quyết định 07/11/2026 đã qua):",
        "• Lê Văn Cường (BD02, BD): chưa tự đánh giá",
        "• Phạm Thị Dung (BD03, BD): chưa được người quản lý nhận xét (Lê Văn Cường)",
        "• Hoàng Văn Em (BD04, BD): chưa tự đánh giá",
        "",
        "Xem tổng hợp: /tonghop 2026-10 BD",
    ]
    [city] = reminders_of(rflow, "TU01", UNDECIDED)  # staff over the whole city: every unit, with its code
    assert "• Phạm Thị Dung (BD03, BD): chưa được người quản lý nhận xét (Lê Văn Cường)" in city.body
    assert "• Bùi Thị Hà (HK01, HK): chưa tự đánh giá" in city.body and "(TU01, TU)" not in city.body
    assert city.body.endswith("Xem tổng hợp: /tonghop 2026-10 TU")
    [district] = reminders_of(rflow, "HK03", UNDECIDED)  # staff of Hoàn Kiếm: only Hoàn Kiếm
    assert "(HK01, HK)" in district.body and "BD" not in district.body
    assert len(reminders_of(rflow, "HK01", UNDECIDED)) == 1
    assert not reminders_of(rflow, "BD02", UNDECIDED) and not reminders_of(rflow, "BD03", UNDECIDED)
    rflow.restart_hard()
    rflow.set_now("2026-11-08T10:00:00+07:00")
    time.sleep(SETTLE_S * 2)
    for code in ("BD01", "HK01", "TU01", "HK03"):
        assert len(reminders_of(rflow, code, UNDECIDED)) == 1, code


def test_a_rotation_reminder_names_the_form_on_its_button(rflow: Flow) -> None:
    """The reminder's lines are not numbered, so its ✍️ button says which form it opens and by when."""
    engine = make_engine(rflow.db_url)
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
                    start_date=date(2026, 5, 12),
                ),
                rules=default_rules(),
                now=datetime(2026, 5, 12, tzinfo=UTC),
            )
    finally:
        engine.dispose()
    rflow.set_now("2026-11-09T09:00:00+07:00")  # the first 6-month review is due 12/11: 3 days left
    wait_reminders(rflow, ["BD04"], 1, fragment="Tự nhận xét trong thời gian luân chuyển")
    [reminder] = reminders_of(rflow, "BD04", "Tự nhận xét trong thời gian luân chuyển")
    assert "hạn 12/11/2026 (còn 3 ngày)" in reminder.body
    assert reminder.button_texts == ["✍️ Tự nhận xét (hạn 12/11/2026)"]
    rflow.press("BD04", reminder, "✍️ Tự nhận xét", "Gõ bản tự nhận xét")
