"""End-to-end fixtures: one local Bot API and one real `canbo run` process per test module, a seeded roster."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from records.db import make_engine, session_scope
from records.migrate import upgrade
from records.roster import import_roster
from tests.fakes.telegram import BotProcess, FakeTelegram

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


@pytest.fixture(scope="module")
def bot_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotWorld]:
    """A local Bot API with the test users, and the real bot (started once for the module)."""
    data_dir = tmp_path_factory.mktemp("bot") / "data"
    seed_roster(data_dir)
    with FakeTelegram() as telegram:
        world = telegram.world
        world.add_user(ADMIN_ID, "Quản Trị", phone_number="+84901000001")
        world.add_user(STAFF_ID, "Chuyên Viên", phone_number="84901000002")
        world.add_user(CADRE_ID, "Cán", phone_number="+84901000003")
        world.add_user(INVITED_ID, "Mời", phone_number="+84909999999")
        world.add_user(STRANGER_ID, "Lạ", phone_number="+84912345678")
        world.add_user(IMPOSTOR_ID, "Giả", phone_number="+84987654321")
        bot = BotProcess(telegram, data_dir).start(timeout=120)
        try:
            yield BotWorld(telegram=telegram, bot=bot, data_dir=data_dir)
        finally:
            bot.stop()
