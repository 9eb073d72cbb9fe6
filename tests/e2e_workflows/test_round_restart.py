"""A reminder round interrupted by kill -9 continues after a restart: nobody is skipped or reminded twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from records.db import make_engine, session_scope
from records.people import find_person_by_code, link_telegram
from records.roster import import_roster
from tests.e2e_workflows.conftest import ROSTER_TIME, seed
from tests.fakes.telegram import BotProcess, FakeTelegram

pytestmark = pytest.mark.slow

PEOPLE = 150
BASE_UID = 8_200_000_000
HEADER = "Mã cán bộ,Họ và tên,Số điện thoại,Chức vụ,Mã đơn vị,Tên đơn vị,Đơn vị cấp trên,Mã người quản lý,Vai trò,Phạm vi\n"


def _seed_many(data_dir: Path) -> list[int]:
    seed(data_dir)
    url = f"sqlite:///{(data_dir / 'canbo.db').resolve()}"
    rows = [
        f"RR{i:04d},Người Thứ {i},09{20_000_000 + i:08d},Chuyên viên,BD,,,BD02,cán bộ," for i in range(PEOPLE)
    ]
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            import_roster(
                session, data=(HEADER + "\n".join(rows)).encode(), filename="more.csv", now=ROSTER_TIME
            )
        with session_scope(engine) as session:
            for i in range(PEOPLE):
                person = find_person_by_code(session, cadre_code=f"RR{i:04d}")
                assert person is not None
                link_telegram(
                    session, person_id=person.id, telegram_user_id=BASE_UID + i, chat_id=BASE_UID + i
                )
    finally:
        engine.dispose()
    return [BASE_UID + i for i in range(PEOPLE)]


def _counts(telegram: FakeTelegram, uids: list[int]) -> list[int]:
    return [sum(1 for m in telegram.world.bot_messages(u) if "Nhắc việc" in m.body) for u in uids]


def test_round_resumes_after_kill9(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    uids = _seed_many(data_dir)
    clock = tmp_path / "now.txt"
    clock.write_text("2026-10-02T09:00:00+07:00", encoding="utf-8")
    env = {"CANBO_NOW_FILE": str(clock), "CANBO_WORKFLOW_TICK_S": "1", "CANBO_TELEGRAM_RATE_LIMIT": "20"}
    with FakeTelegram() as telegram:
        for uid in uids:
            telegram.world.add_user(uid, f"Người {uid % 1000}")
        telegram.world.set_rate_limit(20)
        bot = BotProcess(telegram, data_dir, env=env).start(timeout=120)
        try:
            telegram.world.wait_until(lambda: sum(1 for c in _counts(telegram, uids) if c) >= 30, 60)
            bot.kill9()
            interrupted = sum(1 for c in _counts(telegram, uids) if c)
            assert interrupted < PEOPLE  # really stopped in the middle
            bot = BotProcess(telegram, data_dir, env=env, log_path=data_dir / "bot-output-2.log").start(
                timeout=120
            )
            telegram.world.wait_until(lambda: all(_counts(telegram, uids)), 120)
            time.sleep(3)  # a few more ticks: the finished round is not sent again
            counts = _counts(telegram, uids)
        finally:
            bot.stop()
    assert all(c >= 1 for c in counts)  # nobody skipped
    # At most the one message in flight at the kill can be repeated (sent, not yet recorded).
    assert sum(c - 1 for c in counts) <= 1, counts
