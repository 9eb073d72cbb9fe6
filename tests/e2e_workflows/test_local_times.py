"""Every time a user sees is in the configured zone, on the workflow clock (issue #11), through the real bot.

A self-assessment stored at 02:00 UTC (09:00 in Hà Nội), then /tonghop on a simulated clock at 23:45 UTC: the
Excel file says «Lập lúc» 06:45 the next day (the clock's time in Hà Nội, not the machine's) and the submission
at 09:00. `canbo invite` against the running bot's database prints the expiry in Hà Nội time, and the code signs
a new user in through the bot.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlmodel import Session, select

from records.db import make_engine, session_scope
from records.evaluations import TaskInput, TaskResultInput, plan_tasks, submit_self_assessment
from records.export_xlsx import PEOPLE_HEADERS, SUMMARY_SHEET
from records.invites import issue_invite
from records.people import find_person_by_code
from records.rules import default_rules
from records.schema import InviteCode, TaskResult
from tests.e2e_workflows.conftest import ROSTER_CSV, USERS, Flow, running_flow
from tests.fakes.telegram import REPO_ROOT

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
SUBMITTED = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
NEWCOMER = "BD05"
NEWCOMER_ID = 8_100_000_099

pytestmark = pytest.mark.slow


@pytest.fixture
def zoned_flow(tmp_path: Path) -> Iterator[Flow]:
    roster = ROSTER_CSV + "BD05,Trịnh Văn Mới,0909000099,Chuyên viên,BD,,,BD02,cán bộ,\n"
    with running_flow(tmp_path, start="2026-11-02T09:00:00+07:00", roster=roster) as world:
        yield world


def _submit_at_two_utc(flow: Flow) -> None:
    """BD03's October self-assessment through the real records services, stored at 02:00 UTC."""
    rules = default_rules()
    engine = make_engine(flow.db_url)
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code="BD03")
            assert person is not None
            view = plan_tasks(
                session,
                actor_id=person.id,
                person_id=person.id,
                period="2026-10",
                tasks=[TaskInput(title="Báo cáo quý", expected_result="Hoàn thành")],
                rules=rules,
                now=datetime(2026, 10, 5, 2, 0, tzinfo=UTC),
            )
        with session_scope(engine) as session:
            submit_self_assessment(
                session,
                actor_id=person.id,
                evaluation_id=view.id,
                results=[TaskResultInput(task_id=t.id, result=TaskResult.ON_TIME) for t in view.tasks],
                points={"discipline": 18, "tasks": 60, "bonus": 5},
                comment="Hoàn thành",
                rules=rules,
                now=SUBMITTED,
                tz="Asia/Ho_Chi_Minh",
            )
    finally:
        engine.dispose()


def test_summary_workbook_and_invite_show_hanoi_time(zoned_flow: Flow) -> None:
    flow = zoned_flow
    _submit_at_two_utc(flow)
    flow.set_now("2026-11-20T23:45:00+00:00")  # 06:45 on 21 November in Hà Nội
    before = flow.last_id("TU01")
    flow.say("TU01", "/tonghop 2026-10 BD", "TỔNG HỢP ĐÁNH GIÁ, XẾP LOẠI KỲ 2026-10")
    doc = flow.telegram.wait_for(
        USERS["TU01"],
        lambda m: m.document is not None and m.document.file_name == "tong-hop-BD-2026-10.xlsx",
        after=before,
        timeout=60,
    )
    assert doc.document is not None
    workbook = openpyxl.load_workbook(io.BytesIO(doc.document.data))
    assert workbook[SUMMARY_SHEET]["A3"].value == "Lập lúc: 21/11/2026 06:45"
    column = PEOPLE_HEADERS.index("Thời điểm nộp")
    rows = workbook["BD Quận ủy Ba Đình"].iter_rows(min_row=3, values_only=True)
    assert {r[1]: r[column] for r in rows}["BD03"] == datetime(2026, 11, 2, 9, 0)

    # The command line's invite, against the running bot's database, then redeemed through the bot.
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "invite", NEWCOMER],
        env=flow.bot.environment(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = make_engine(flow.db_url)
    try:
        with Session(engine) as session:
            expires = session.exec(select(InviteCode.expires_at)).one()
    finally:
        engine.dispose()
    local = expires.astimezone(HANOI)
    assert f"Hết hạn lúc {local:%H:%M} ngày {local:%d/%m/%Y}." in result.stdout
    assert "UTC" not in result.stdout
    match = re.search(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b", result.stdout)
    assert match is not None
    flow.telegram.world.add_user(NEWCOMER_ID, "Mới")
    sent = flow.telegram.world.send_text(NEWCOMER_ID, f"/start {match.group(1)}")
    linked = flow.telegram.wait_for_text(NEWCOMER_ID, "Đã liên kết tài khoản", after=sent.message_id)
    assert "Trịnh Văn Mới" in linked.body


def test_an_invite_expires_on_the_workflow_clock(tmp_path: Path) -> None:
    """An invite's validity follows the same clock as every deadline (CANBO_NOW_FILE here), not the machine's:
    one issued for 01/11/2026 with a week to run signs in on 05/11/2026 by that clock (the machine's clock is
    weeks later), one issued for 2030 is refused once that clock passes its week (the machine's is years
    earlier)."""
    roster = (
        ROSTER_CSV
        + "BD05,Trịnh Văn Mới,0909000099,Chuyên viên,BD,,,BD02,cán bộ,\n"
        + "BD06,Lý Thị Sau,0909000098,Chuyên viên,BD,,,BD02,cán bộ,\n"
    )
    with running_flow(tmp_path, start="2026-11-05T09:00:00+07:00", roster=roster) as flow:
        engine = make_engine(flow.db_url)
        try:
            with session_scope(engine) as session:
                codes = {}
                for code, issued in (
                    ("BD05", datetime(2026, 11, 1, 2, 0, tzinfo=UTC)),
                    ("BD06", datetime(2030, 1, 1, 2, 0, tzinfo=UTC)),
                ):
                    person = find_person_by_code(session, cadre_code=code)
                    assert person is not None
                    codes[code] = issue_invite(
                        session, actor_id=None, person_id=person.id, ttl=timedelta(days=7), now=issued
                    ).code
        finally:
            engine.dispose()
        world = flow.telegram.world
        world.add_user(NEWCOMER_ID, "Mới")
        sent = world.send_text(NEWCOMER_ID, f"/start {codes['BD05']}")
        linked = flow.telegram.wait_for_text(NEWCOMER_ID, "Đã liên kết tài khoản", after=sent.message_id)
        assert "Trịnh Văn Mới" in linked.body
        flow.set_now("2030-01-09T09:00:00+07:00")  # eight days after the second invite was issued
        later = NEWCOMER_ID + 1
        world.add_user(later, "Sau")
        sent = world.send_text(later, f"/start {codes['BD06']}")
        flow.telegram.wait_for_text(later, "đã hết hạn", after=sent.message_id)
        assert all("Đã liên kết" not in m.body for m in world.messages(later))
