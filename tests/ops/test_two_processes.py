"""Two real bot processes on one PostgreSQL database and one Chroma server (a restart overlap, a second
server): every update is handled once, and the reminder round, the late lists and the scheduled summaries
reach each person once — also when the process doing the round is killed half-way."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from records import botstate
from records.db import make_engine, session_scope
from records.migrate import upgrade
from records.people import find_person_by_code, link_telegram
from records.roster import import_roster
from tests.e2e_workflows.conftest import PHONES, ROSTER_CSV, ROSTER_TIME, USERS
from tests.fakes.telegram import BotProcess, FakeTelegram
from tests.ops.chroma import chroma_server
from tests.pg import PgCluster

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EXTRA = 120  # more people, so that a round lasts long enough to be interrupted
BASE_UID = 8_300_000_000
HEADER = ROSTER_CSV.splitlines()[0]
RATE = "20"


def _seed(url: str) -> list[int]:
    upgrade(url)
    csv = ROSTER_CSV
    for code, phone in PHONES.items():
        line = next(line for line in csv.splitlines() if line.startswith(code + ","))
        cells = line.split(",")
        cells[2] = phone
        csv = csv.replace(line, ",".join(cells))
    extra = [
        f"TP{i:04d},Người Thứ {i},09{30_000_000 + i:08d},Chuyên viên,BD,,,BD02,cán bộ," for i in range(EXTRA)
    ]
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            import_roster(session, data=csv.encode(), filename="roster.csv", now=ROSTER_TIME)
        with session_scope(engine) as session:
            import_roster(
                session, data="\n".join([HEADER, *extra]).encode(), filename="more.csv", now=ROSTER_TIME
            )
        with session_scope(engine) as session:
            for i in range(EXTRA):
                person = find_person_by_code(session, cadre_code=f"TP{i:04d}")
                assert person is not None
                link_telegram(
                    session, person_id=person.id, telegram_user_id=BASE_UID + i, chat_id=BASE_UID + i
                )
    finally:
        engine.dispose()
    return [BASE_UID + i for i in range(EXTRA)]


@dataclass
class Pair:
    telegram: FakeTelegram
    db_url: str
    clock: Path
    env: dict[str, str]
    bots: list[BotProcess]
    root: Path
    extra_uids: list[int]

    def start(self, name: str) -> BotProcess:
        bot = BotProcess(
            self.telegram,
            self.root / name,
            args=("run", "--no-samples"),
            env=self.env,
            log_path=self.root / f"{name}.log",
        ).start(timeout=120)
        self.bots.append(bot)
        return bot

    def count(self, uid: int, fragment: str) -> int:
        return sum(1 for m in self.telegram.world.bot_messages(uid) if fragment in m.body)

    def everyone(self) -> list[int]:
        return [*USERS.values(), *self.extra_uids]

    def holder_process(self) -> BotProcess:
        engine = make_engine(self.db_url)
        try:
            holder = botstate.lease_holder(engine, name="job:workflows:tick")
        finally:
            engine.dispose()
        assert holder is not None
        return next(b for b in self.bots if b.alive and f"(run {holder})" in b.output())


@pytest.fixture(scope="module")
def pair(pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("two-processes")
    db_url = pg_cluster.create_database("two_processes")
    extra = _seed(db_url)
    clock = root / "now.txt"
    clock.write_text("2026-11-08T07:00:00+07:00", encoding="utf-8")  # before 08:00: nothing is sent
    with chroma_server(root / "chroma") as chroma_url, FakeTelegram() as telegram:
        for code, uid in USERS.items():
            telegram.world.add_user(uid, code, phone_number=PHONES[code])
        for uid in extra:
            telegram.world.add_user(uid, f"Người {uid % 1000}")
        telegram.world.set_rate_limit(int(RATE))
        env = {
            "CANBO_DATABASE_URL": db_url,
            "CANBO_CHROMA_URL": chroma_url,
            "CANBO_NOW_FILE": str(clock),
            "CANBO_WORKFLOW_TICK_S": "1",
            "CANBO_TELEGRAM_RATE_LIMIT": RATE,
        }
        world = Pair(telegram, db_url, clock, env, [], root, extra)
        try:
            world.start("server-a")
            world.start("server-b")
            yield world
        finally:
            for bot in world.bots:
                bot.stop()
        problems = [
            line
            for bot in world.bots
            for line in bot.output().splitlines()
            if " ERROR " in line or "Traceback" in line
        ]
        assert not problems, "a bot logged errors:\n" + "\n".join(problems[:20])


def test_sign_ins_through_two_pollers_are_each_handled_once(pair: Pair) -> None:
    world = pair.telegram.world
    for uid in USERS.values():
        shared = world.share_contact(uid)
        pair.telegram.wait_for_text(uid, "Đã liên kết tài khoản", after=shared.message_id, timeout=60)
    time.sleep(2)
    for uid in USERS.values():
        assert pair.count(uid, "Đã liên kết tài khoản") == 1
    # Both processes really polled (Telegram tells the older poll it was replaced: a warning, not an error).
    outputs = [bot.output() for bot in pair.bots]
    assert all("ready (run " in out for out in outputs)


def test_the_days_work_goes_out_once_with_both_processes_running(pair: Pair) -> None:
    pair.clock.write_text("2026-11-08T09:00:00+07:00", encoding="utf-8")  # plans overdue, decisions due 07/11
    world = pair.telegram.world
    world.wait_until(lambda: all(pair.count(u, "quá hạn 3 ngày") for u in pair.everyone()) or None, 90)
    world.wait_until(
        lambda: (
            (pair.count(USERS["TU01"], "Tổng hợp tự động") and pair.count(USERS["HK03"], "Tổng hợp tự động"))
            or None
        ),
        60,
    )
    pair.telegram.wait_for(USERS["HK03"], lambda m: m.document is not None, timeout=30)
    time.sleep(5)  # many more ticks in both processes: nothing is sent again
    assert [pair.count(u, "quá hạn 3 ngày") for u in pair.everyone()] == [1] * len(pair.everyone())
    assert pair.count(USERS["BD01"], "Danh sách chưa tự đánh giá") == 1
    assert pair.count(USERS["HK01"], "Danh sách chưa tự đánh giá") == 1
    for code in ("TU01", "HK03"):
        messages = world.bot_messages(USERS[code])
        assert pair.count(USERS[code], "Tổng hợp tự động") == 1
        assert sum(1 for m in messages if m.document is not None) == 1
        assert sum(1 for m in messages if m.photo) == 1


def test_when_the_process_doing_the_round_dies_the_other_finishes_it(pair: Pair) -> None:
    pair.clock.write_text("2026-11-10T09:00:00+07:00", encoding="utf-8")  # self-assessments overdue 7 days
    world = pair.telegram.world
    fragment = "quá hạn 7 ngày"
    world.wait_until(lambda: sum(1 for u in pair.everyone() if pair.count(u, fragment)) >= 30 or None, 60)
    victim = pair.holder_process()
    victim.kill9()
    reached = sum(1 for u in pair.everyone() if pair.count(u, fragment))
    assert reached < len(pair.everyone())  # really stopped half-way
    world.wait_until(lambda: all(pair.count(u, fragment) for u in pair.everyone()) or None, 120)
    time.sleep(4)
    counts = [pair.count(u, fragment) for u in pair.everyone()]
    assert all(c >= 1 for c in counts)  # nobody skipped
    # Only the one message in flight at the kill (sent, not yet recorded) may go out twice.
    assert sum(c - 1 for c in counts) <= 1, counts
    survivor = next(b for b in pair.bots if b.alive)
    assert re.search(r"round remind:2026-11-10: \d+ to send \(\d+ already sent", survivor.output())
