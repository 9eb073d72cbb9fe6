"""End-to-end fixtures: one local Bot API and one real `canbo run` process per test module, a seeded roster."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from records.db import make_engine, session_scope
from records.migrate import upgrade
from records.roster import import_roster
from tests.fakes.telegram import REPO_ROOT, BotProcess, FakeTelegram

# Telegram user ids are 64-bit: the people use big ones on purpose.
ADMIN_ID = 7_000_000_001
STAFF_ID = 7_000_000_002
CADRE_ID = 7_000_000_003
INVITED_ID = 7_000_000_004
STRANGER_ID = 7_000_000_005
IMPOSTOR_ID = 7_000_000_006

ROSTER_CSV = """Mã cán bộ,Họ và tên,Số điện thoại,Chức vụ,Mã đơn vị,Tên đơn vị,Đơn vị cấp trên,Mã người quản lý,Vai trò,Phạm vi
QT01,Nguyễn Quản Trị,0901000001,Quản trị hệ thống,TU,Thành ủy Hà Nội,,,quản trị; chuyên viên,TU
BT01,Trần Chuyên Viên,0901000002,Chuyên viên,TU,Thành ủy Hà Nội,,,chuyên viên,TU
CB01,Lê Văn Cán,0901000003,Chuyên viên,BD,Quận ủy Ba Đình,TU,BT01,cán bộ,
CB02,Phạm Thị Mời,0901000004,Chuyên viên,BD,Quận ủy Ba Đình,TU,BT01,cán bộ,
"""


@dataclass
class BotWorld:
    telegram: FakeTelegram
    bot: BotProcess
    data_dir: Path

    @property
    def db_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'canbo.db').resolve()}"


# The workflow clock of these tests: a day with no deadline near it, so no reminder joins the replies
# counted (on the real clock, a run on the 6th of a month got a "⏰ Nhắc việc" among them).
QUIET_CLOCK = {"CANBO_NOW": "2026-11-20T09:00:00+07:00"}


def seed_roster(data_dir: Path) -> str:
    """Migrate the bot's database and import the test roster through the records service."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(data_dir / 'canbo.db').resolve()}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            import_roster(session, data=ROSTER_CSV.encode("utf-8"), filename="roster.csv")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def sample_data_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose index holds the sample corpus, built once by `canbo ingest --samples`."""
    template = tmp_path_factory.mktemp("template") / "data"
    template.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CANBO_"))}
    env.update(CANBO_DATA_DIR=str(template), OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ingest", "--samples"],
        env=env,
        cwd=template,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return template


def fresh_data_dir(template: Path, target: Path) -> Path:
    """A copy of the template data directory with a migrated database holding the test roster."""
    shutil.copytree(template, target)
    seed_roster(target)
    return target


@pytest.fixture(scope="module")
def bot_world(tmp_path_factory: pytest.TempPathFactory, sample_data_template: Path) -> Iterator[BotWorld]:
    """A local Bot API with the test users, and the real bot (started once for the module)."""
    data_dir = fresh_data_dir(sample_data_template, tmp_path_factory.mktemp("bot") / "data")
    with FakeTelegram() as telegram:
        world = telegram.world
        world.add_user(ADMIN_ID, "Quản Trị", phone_number="+84901000001")
        world.add_user(STAFF_ID, "Chuyên Viên", phone_number="84901000002")
        world.add_user(CADRE_ID, "Cán", phone_number="+84901000003")
        world.add_user(INVITED_ID, "Mời", phone_number="+84909999999")
        world.add_user(STRANGER_ID, "Lạ", phone_number="+84912345678")
        world.add_user(IMPOSTOR_ID, "Giả", phone_number="+84987654321")
        bot_world = BotWorld(
            telegram=telegram,
            bot=BotProcess(telegram, data_dir, env=QUIET_CLOCK).start(timeout=120),
            data_dir=data_dir,
        )
        try:
            yield bot_world
        finally:
            bot_world.bot.stop()  # the current process (a restart test replaces it)


def button_answer(bw: BotWorld, query_id: str, *, timeout: float = 15.0) -> str:
    """The text the bot answered to a button press (the toast / alert)."""
    world = bw.telegram.world
    answer = world.wait_until(lambda: world.callback_answers.get(query_id), timeout)
    return answer.text or ""


def sign_in(bw: BotWorld, user_id: int) -> None:
    """/start, then share the user's own contact; waits for the confirmation."""
    world = bw.telegram.world
    sent = world.send_text(user_id, "/start")
    bw.telegram.wait_for_text(user_id, "Chia sẻ số điện thoại", after=sent.message_id)
    shared = world.share_contact(user_id)
    bw.telegram.wait_for_text(user_id, "Đã liên kết tài khoản", after=shared.message_id)


def restart_hard(bw: BotWorld) -> None:
    """kill -9 the bot and start a new process on the same data."""
    bw.bot.kill9()
    bw.bot = BotProcess(bw.telegram, bw.data_dir, env=QUIET_CLOCK).start(timeout=120)
