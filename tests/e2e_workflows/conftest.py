"""Workflow end-to-end fixtures: the real bot on a simulated clock (CANBO_NOW_FILE), a small unit, helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.localapi import ChatMessage
from records.db import make_engine, session_scope
from records.migrate import upgrade
from records.roster import import_roster
from tests.fakes.telegram import BotProcess, FakeTelegram

ROSTER_CSV = """Mã cán bộ,Họ và tên,Số điện thoại,Chức vụ,Mã đơn vị,Tên đơn vị,Đơn vị cấp trên,Mã người quản lý,Vai trò,Phạm vi
TU01,Nguyễn Văn Thành,0901000001,Chuyên viên Ban Tổ chức,TU,Thành ủy Hà Nội,,,chuyên viên,TU
BD01,Trần Thị Bình,0902000002,Bí thư,BD,Quận ủy Ba Đình,TU,,thủ trưởng,BD
BD02,Lê Văn Cường,0903000003,Trưởng phòng,BD,,,BD01,người nhận xét,BD
BD03,Phạm Thị Dung,0904000004,Chuyên viên,BD,,,BD02,cán bộ,
BD04,Hoàng Văn Em,0905000005,Chuyên viên,BD,,,BD02,cán bộ,
HK01,Bùi Thị Hà,0906000006,Bí thư,HK,Quận ủy Hoàn Kiếm,TU,,thủ trưởng,HK
HK02,Ngô Văn Khoa,0907000007,Trưởng phòng,HK,,,HK01,người nhận xét,HK
HK03,Đỗ Thị Lan,0908000008,Chuyên viên Ban Tổ chức,HK,,,HK01,chuyên viên,HK
"""

# Telegram ids by cadre code (64-bit on purpose).
USERS: dict[str, int] = {
    "TU01": 8_100_000_001,
    "BD01": 8_100_000_002,
    "BD02": 8_100_000_003,
    "BD03": 8_100_000_004,
    "BD04": 8_100_000_005,
    "HK01": 8_100_000_006,
    "HK02": 8_100_000_007,
    "HK03": 8_100_000_008,
}
ROSTER_TIME = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)  # on the roster from October 2026
PHONES = {code: f"+8490{i}00000{i}" for i, code in enumerate(USERS, 1)}


@dataclass
class Flow:
    """The world, the bot process and the clock file; helpers that act as a user and wait for the bot."""

    telegram: FakeTelegram
    bot: BotProcess
    data_dir: Path
    clock_file: Path
    env: dict[str, str] = field(default_factory=dict)
    database_url: str | None = None  # None: the SQLite file in the data directory

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'canbo.db').resolve()}"

    def set_now(self, iso: str) -> None:
        staged = self.clock_file.with_suffix(
            ".next"
        )  # written aside and renamed: the bot never reads half a file
        staged.write_text(iso, encoding="utf-8")
        os.replace(staged, self.clock_file)

    def say(self, code: str, text: str, expect: str, *, timeout: float = 20.0) -> ChatMessage:
        uid = USERS[code]
        sent = self.telegram.world.send_text(uid, text)
        return self.telegram.wait_for_text(uid, expect, after=sent.message_id, timeout=timeout)

    def last_id(self, code: str) -> int:
        messages = self.telegram.world.messages(USERS[code])
        return messages[-1].message_id if messages else 0

    def press(
        self, code: str, message: ChatMessage, button: str, expect: str, *, timeout: float = 20.0
    ) -> ChatMessage:
        """Press the button whose text starts with `button`; wait for a new bot message containing `expect`."""
        uid = USERS[code]
        texts = [b for b in message.button_texts if b.startswith(button)]
        assert texts, f"no button {button!r} in {message.button_texts!r}"
        after = self.last_id(code)
        self.telegram.world.press_button(uid, message.chat_id, message.message_id, text=texts[0])
        return self.telegram.wait_for_text(uid, expect, after=after, timeout=timeout)

    def wait(self, code: str, expect: str, *, after: int = 0, timeout: float = 20.0) -> ChatMessage:
        return self.telegram.wait_for_text(USERS[code], expect, after=after, timeout=timeout)

    def restart_hard(self) -> None:
        self.bot.kill9()
        self.bot = BotProcess(self.telegram, self.data_dir, env=self.env).start(timeout=120)


def seed(data_dir: Path, *, url: str | None = None, roster: str = ROSTER_CSV) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    url = url or f"sqlite:///{(data_dir / 'canbo.db').resolve()}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            csv = roster
            for code, phone in PHONES.items():
                line = next(line for line in csv.splitlines() if line.startswith(code + ","))
                cells = line.split(",")
                cells[2] = phone
                csv = csv.replace(line, ",".join(cells))
            import_roster(session, data=csv.encode("utf-8"), filename="roster.csv", now=ROSTER_TIME)
    finally:
        engine.dispose()


def sign_in_all(flow: Flow, codes: list[str] | None = None) -> None:
    world = flow.telegram.world
    for code in codes or list(USERS):
        shared = world.share_contact(USERS[code])
        flow.telegram.wait_for_text(USERS[code], "Đã liên kết tài khoản", after=shared.message_id)


@contextmanager
def running_flow(
    root: Path,
    *,
    start: str,
    env: dict[str, str] | None = None,
    database_url: str | None = None,
    roster: str = ROSTER_CSV,
) -> Iterator[Flow]:
    """A seeded database, a local Bot API with the users, the real bot on a clock file starting at `start`.

    `database_url` runs it on another database (Postgres) instead of the data directory's SQLite file."""
    data_dir = root / "data"
    seed(data_dir, url=database_url, roster=roster)
    clock_file = root / "now.txt"
    clock_file.write_text(start, encoding="utf-8")
    full_env = {"CANBO_NOW_FILE": str(clock_file), **(env or {})}
    if database_url:
        full_env["CANBO_DATABASE_URL"] = database_url
    with FakeTelegram() as telegram:
        for code, uid in USERS.items():
            telegram.world.add_user(uid, code, phone_number=PHONES[code])
        bot = BotProcess(telegram, data_dir, env=full_env).start(timeout=120)
        world = Flow(
            telegram=telegram,
            bot=bot,
            data_dir=data_dir,
            clock_file=clock_file,
            env=full_env,
            database_url=database_url,
        )
        try:
            sign_in_all(world)
            yield world
        finally:
            world.bot.stop()
        problems = [
            line for line in world.bot.output().splitlines() if " ERROR " in line or "Traceback" in line
        ]
        assert not problems, "the bot logged errors:\n" + "\n".join(problems[:20])


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    """The real bot on a simulated clock starting 2026-10-02 09:00 (Hà Nội), everyone signed in."""
    with running_flow(tmp_path_factory.mktemp("workflows"), start="2026-10-02T09:00:00+07:00") as world:
        yield world
