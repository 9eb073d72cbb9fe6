"""The work plan reaches the leader who assigns the work (issue #11), through the real bot on SQLite and Postgres.

A cadre finishes a plan (✅ Xong, tapped twice): the direct manager on the roster gets one notice listing the
tasks with «💬 Góp ý» and «↩️ Đề nghị sửa». The same plan saved again is not sent again. The manager's comment
reaches the cadre and the record's history; a change request (tapped twice, asked a third time) reaches the
cadre once, who opens the plan from the notice, edits it and sends it back; the old notice is then stale.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.localapi import ChatMessage
from bot.texts_workflows import LATE_LIST_HEADER, REMIND_HEADER
from records.db import make_engine, session_scope
from records.evaluations import evaluation_history, find_evaluation
from records.people import find_person_by_code
from tests.e2e_workflows.conftest import USERS, Flow, running_flow

pytestmark = pytest.mark.slow

PLAN_NOTICE = "đăng ký kế hoạch công việc kỳ 2026-10"
COMMENT = "Việc 2 cần nêu rõ sản phẩm & thời hạn"
REASON = "Bổ sung hạn và sản phẩm cho việc rà soát"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def plan_flow(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    """One bot for the module's tests, on SQLite and on a fresh Postgres database."""
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_cluster").create_database(f"t_plan_{uuid.uuid4().hex[:10]}")
    root = tmp_path_factory.mktemp(f"plan-{request.param}")
    with running_flow(root, start="2026-10-02T09:00:00+07:00", database_url=url) as world:
        yield world


def _record(flow: Flow, code: str = "BD03") -> Any:
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            record = find_evaluation(session, actor_id=None, person_id=person.id, period="2026-10")
            assert record is not None
            history = evaluation_history(session, actor_id=None, evaluation_id=record.id)
            manager = find_person_by_code(session, cadre_code="BD02")
            assert manager is not None
            return record, history, manager.id
    finally:
        engine.dispose()


def _bot_messages(flow: Flow, code: str, fragment: str, *, after: int = 0) -> list[ChatMessage]:
    return [
        m
        for m in flow.telegram.world.bot_messages(USERS[code])
        if m.message_id > after and fragment in m.body
    ]


def _responses(flow: Flow, code: str, *, after: int) -> list[ChatMessage]:
    """The bot's messages to `code` after `after` that answer something, not the scheduled ones (a reminder
    round or a late list may fall due while a test presses buttons)."""
    scheduled = (REMIND_HEADER.split()[0], LATE_LIST_HEADER.split()[0])
    return [m for m in _bot_messages(flow, code, "", after=after) if not m.body.startswith(scheduled)]


def test_a_finished_plan_reaches_the_direct_manager_once(plan_flow: Flow) -> None:
    flow, world = plan_flow, plan_flow.telegram.world
    plan = flow.say("BD03", "/kehoach", "Kế hoạch công việc kỳ 2026-10")
    flow.press("BD03", plan, "➕ Thêm việc", "Gõ một việc theo mẫu")
    flow.say("BD03", "Báo cáo sơ kết quý | Trình Thường trực | 25/10", "Đã lưu việc")
    saved = flow.say("BD03", "Rà soát quy hoạch cán bộ", "Đã lưu việc «Rà soát quy hoạch cán bộ»")
    before = {code: flow.last_id(code) for code in ("BD01", "BD02", "BD04", "HK01")}
    # ✅ Xong tapped twice: both taps are answered, the manager is told once.
    world.press_button(USERS["BD03"], saved.chat_id, saved.message_id, text="✅ Xong")
    world.press_button(USERS["BD03"], saved.chat_id, saved.message_id, text="✅ Xong")
    world.wait_until(
        lambda: len(_bot_messages(flow, "BD03", "Đã lưu kế hoạch", after=saved.message_id)) >= 2, 20
    )
    replies = [m.body for m in _bot_messages(flow, "BD03", "Đã lưu kế hoạch", after=saved.message_id)]
    assert sum("Đã gửi kế hoạch cho người quản lý: Lê Văn Cường" in r for r in replies) == 1, replies
    assert sum("không thay đổi so với bản đã gửi" in r for r in replies) == 1, replies
    (notice,) = _bot_messages(flow, "BD02", PLAN_NOTICE, after=before["BD02"])
    assert "Phạm Thị Dung" in notice.body and "(BD03)" in notice.body and "(2 việc)" in notice.body
    assert "Báo cáo sơ kết quý" in notice.body and "Trình Thường trực" in notice.body
    assert "25/10/2026" in notice.body and "Rà soát quy hoạch cán bộ" in notice.body
    assert notice.button_texts == ["💬 Góp ý", "↩️ Đề nghị sửa"]
    for code in ("BD01", "BD04", "HK01"):  # the head, a peer, another unit: nothing
        assert not _bot_messages(flow, code, "kế hoạch", after=before[code])

    # Saved again without changes, and after adding and deleting a task: not sent again.
    plan = flow.say("BD03", "/kehoach", "Kế hoạch công việc kỳ 2026-10")
    again = flow.press("BD03", plan, "✅ Xong", "Đã lưu kế hoạch kỳ 2026-10")
    assert "không thay đổi so với bản đã gửi" in again.body
    flow.press("BD03", plan, "➕ Thêm việc", "Gõ một việc theo mẫu")
    card = flow.say("BD03", "Việc thêm nhầm", "Đã lưu việc «Việc thêm nhầm»")
    card = flow.press("BD03", card, "🗑 Xóa việc 3", "Kế hoạch công việc kỳ 2026-10")
    assert "Việc thêm nhầm" not in card.body
    again = flow.press("BD03", card, "✅ Xong", "Đã lưu kế hoạch kỳ 2026-10")
    assert "không thay đổi so với bản đã gửi" in again.body
    assert len(_bot_messages(flow, "BD02", PLAN_NOTICE, after=before["BD02"])) == 1
    record, history, manager_id = _record(flow)
    assert [e.action for e in history].count("plan_sent") == 1
    sent = next(e for e in history if e.action == "plan_sent")
    assert sent.detail is not None and sent.detail["to"] == [manager_id]
    assert record.plan_sent_at is not None


def test_the_managers_comment_reaches_the_cadre_and_the_history(plan_flow: Flow) -> None:
    flow = plan_flow
    (notice,) = _bot_messages(flow, "BD02", PLAN_NOTICE)
    flow.press("BD02", notice, "💬 Góp ý", "Gõ góp ý cho kế hoạch kỳ 2026-10 của Phạm Thị Dung")
    flow.say("BD02", "   ", "Nội dung đang trống")
    before = flow.last_id("BD03")
    flow.say("BD02", COMMENT, "Đã gửi góp ý cho Phạm Thị Dung")
    told = flow.wait("BD03", "góp ý kế hoạch kỳ 2026-10", after=before)
    assert "Lê Văn Cường" in told.body and COMMENT in told.body
    assert told.button_texts == ["🗓 Xem kế hoạch"]
    flow.press("BD03", told, "🗓 Xem kế hoạch", "Kế hoạch công việc kỳ 2026-10")
    _, history, manager_id = _record(flow)
    (entry,) = [e for e in history if e.action == "plan_comment"]
    assert entry.actor_id == manager_id and entry.detail == {"comment": COMMENT}
    results = flow.say("BD03", "/ketqua", "Kết quả đánh giá của Phạm Thị Dung")
    shown = flow.press("BD03", results, "🕘 Lịch sử kỳ 2026-10", "Lịch sử hồ sơ kỳ 2026-10")
    assert "gửi kế hoạch cho người quản lý" in shown.body
    assert f"người quản lý góp ý kế hoạch: {COMMENT}" in shown.body


def test_a_change_request_reaches_the_cadre_once_and_the_changed_plan_comes_back(plan_flow: Flow) -> None:
    flow, world = plan_flow, plan_flow.telegram.world
    (notice,) = _bot_messages(flow, "BD02", PLAN_NOTICE)
    # Tapped twice: one step, one request.
    flow.press("BD02", notice, "↩️ Đề nghị sửa", "Gõ lý do đề nghị Phạm Thị Dung sửa kế hoạch kỳ 2026-10")
    flow.press("BD02", notice, "↩️ Đề nghị sửa", "Gõ lý do đề nghị Phạm Thị Dung sửa kế hoạch kỳ 2026-10")
    before = flow.last_id("BD03")
    flow.say("BD02", REASON, "Đã đề nghị Phạm Thị Dung sửa kế hoạch kỳ 2026-10")
    told = flow.wait("BD03", "đề nghị bạn sửa kế hoạch kỳ 2026-10", after=before)
    assert "Lê Văn Cường" in told.body and REASON in told.body
    assert told.button_texts == ["✏️ Sửa kế hoạch"]
    # Asked again on the same plan: refused, no step (the next text is a question to the Q&A).
    again = flow.press("BD02", notice, "↩️ Đề nghị sửa", "đã được đề nghị sửa rồi")
    assert REASON in again.body
    sent = world.send_text(USERS["BD02"], "Lý do khác nữa")
    flow.telegram.wait_for(USERS["BD02"], lambda m: True, after=sent.message_id, timeout=40)
    assert len(_bot_messages(flow, "BD03", "đề nghị bạn sửa kế hoạch")) == 1
    record, history, _ = _record(flow)
    assert [e.detail for e in history if e.action == "plan_change_request"] == [{"reason": REASON}]
    assert record.plan_change_reason == REASON

    # The cadre opens the plan from the notice: the reason is there and the plan can be edited.
    card = flow.press("BD03", told, "✏️ Sửa kế hoạch", "Kế hoạch công việc kỳ 2026-10")
    assert "Người quản lý đề nghị sửa kế hoạch" in card.body and REASON in card.body
    card = flow.press("BD03", card, "🗑 Xóa việc 2", "Kế hoạch công việc kỳ 2026-10")
    flow.press("BD03", card, "➕ Thêm việc", "Gõ một việc theo mẫu")
    saved = flow.say("BD03", "Rà soát quy hoạch cán bộ | Danh sách rà soát | 30/10", "Đã lưu việc")
    before = flow.last_id("BD02")
    done = flow.press("BD03", saved, "✅ Xong", "Đã lưu kế hoạch kỳ 2026-10")
    assert "Đã gửi kế hoạch cho người quản lý: Lê Văn Cường" in done.body
    changed = flow.wait("BD02", "đã sửa kế hoạch công việc kỳ 2026-10", after=before)
    assert "Danh sách rà soát" in changed.body and "30/10/2026" in changed.body
    assert changed.button_texts == ["💬 Góp ý", "↩️ Đề nghị sửa"]
    card = flow.say("BD03", "/kehoach", "Kế hoạch công việc kỳ 2026-10")
    assert "đề nghị sửa" not in card.body  # the request is settled by the changed plan

    # The first notice is stale now: its «↩️ Đề nghị sửa» shows the newest plan and asks nothing.
    stale = flow.press("BD02", notice, "↩️ Đề nghị sửa", "đã được Phạm Thị Dung sửa sau thông báo")
    assert "30/10/2026" in stale.body and stale.button_texts == ["💬 Góp ý", "↩️ Đề nghị sửa"]
    _, history, _ = _record(flow)
    actions = [e.action for e in history]
    assert actions.count("plan_change_request") == 1 and actions.count("plan_sent") == 2


def test_only_the_manager_may_comment_or_ask_for_changes(plan_flow: Flow) -> None:
    flow, world = plan_flow, plan_flow.telegram.world
    record, history, _ = _record(flow)
    for code in ("BD01", "BD04", "HK02"):  # the head over the unit, a peer, another unit
        anchor = world.bot_messages(USERS[code])[-1]
        for data in (f"dy:pcmt:{record.id}", f"dy:pchg:{record.id}:{record.plan_sent_digest}"):
            before = flow.last_id(code)
            query = world.forge_callback(USERS[code], USERS[code], anchor.message_id, data)
            world.wait_until(
                lambda q=query, c=code, b=before: (
                    world.callback_answers.get(q)
                    and (world.callback_answers[q].text or _responses(flow, c, after=b))
                ),
                20,
            )
            answer = world.callback_answers[query].text or ""
            texts = answer + " ".join(m.body for m in _responses(flow, code, after=before))
            assert any(r in texts for r in ("không có quyền", "không còn", "không phải")), (code, data, texts)
            assert "Gõ" not in texts and "Phạm Thị Dung" not in texts, (code, data, texts)
    _, after, _ = _record(flow)
    assert len(after) == len(history)
