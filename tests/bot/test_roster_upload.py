"""Roster upload in the chat: a file that takes something away is previewed, applied once on «Áp dụng», survives a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import texts
from bot.app import build_application
from bot.services import Services
from bot.settings import Settings
from records.db import make_engine, session_scope
from records.migrate import upgrade
from records.people import find_person_by_code, link_telegram
from records.roster import import_roster
from records.schema import AuditEntry, Person, RosterUpload, TelegramLink
from tests.bot.test_app import off_loop, running
from tests.fakes.telegram import FakeTelegram

ADMIN_ID, CADRE_ID, LEAVER_ID = 555_100_001, 555_100_002, 555_100_003
HEADER = "Mã cán bộ,Họ và tên,Số điện thoại,Mã đơn vị,Tên đơn vị,Vai trò,Phạm vi\n"
ROWS = {
    "QT01": "QT01,Vũ Quản Trị,0901999001,TU,Thành ủy,quản trị,TU\n",
    "CB01": "CB01,Lê Văn Ở Lại,0901999002,TU,,cán bộ,\n",
    "CB02": "CB02,Trần Thị Nghỉ Hưu,0901999003,TU,,cán bộ,\n",
}
FULL = HEADER + "".join(ROWS.values())
WITHOUT_LEAVER = HEADER + ROWS["QT01"] + ROWS["CB01"]


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.world.add_user(ADMIN_ID, "Quản Trị", phone_number="+84901999001")
        fake.world.add_user(CADRE_ID, "Ở Lại", phone_number="+84901999002")
        fake.world.add_user(LEAVER_ID, "Nghỉ Hưu", phone_number="+84901999003")
        yield fake


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        import_roster(session, data=FULL.encode(), filename="r.csv")
        for code, uid in (("QT01", ADMIN_ID), ("CB01", CADRE_ID), ("CB02", LEAVER_ID)):
            person = find_person_by_code(session, cadre_code=code)
            assert person is not None
            link_telegram(session, person_id=person.id, telegram_user_id=uid, chat_id=uid)
    yield engine
    engine.dispose()


def _services(tmp_path: Path, db: Engine) -> Services:
    settings = Settings(_env_file=None, CANBO_DATA_DIR=str(tmp_path))  # type: ignore[call-arg,arg-type]
    return Services(settings=settings, db=db, qa=None)


def _active(db: Engine, code: str) -> bool:
    with Session(db) as session:
        person = session.exec(select(Person).where(Person.cadre_code == code)).one()
        return person.active


def test_preview_then_apply_once_after_a_restart(telegram: FakeTelegram, tmp_path: Path, db: Engine) -> None:
    services = _services(tmp_path, db)
    world = telegram.world

    async def preview() -> int:
        app = build_application(services, token=telegram.token, api_base=telegram.base_url)
        async with running(app):
            # The leaver still acts before the upload (their identity is cached by the bot).
            sent = world.send_text(LEAVER_ID, "/toi")
            await off_loop(telegram.wait_for_text, LEAVER_ID, "Trần Thị Nghỉ Hưu", after=sent.message_id)
            sent = world.upload_document(
                ADMIN_ID, WITHOUT_LEAVER.encode(), "thang-11.csv", mime_type="text/csv"
            )
            shown = await off_loop(telegram.wait_for_text, ADMIN_ID, "Nếu áp dụng", after=sent.message_id)
            assert "Ngừng kích hoạt 1 người" in shown.body and "Trần Thị Nghỉ Hưu (CB02)" in shown.body
            assert "Thu hồi 1 vai trò" not in shown.body  # the leaver's role goes with the deactivation
            return shown.message_id

    preview_id = asyncio.run(preview())
    assert _active(db, "CB02")  # nothing applied yet
    with Session(db) as session:
        assert session.exec(select(RosterUpload)).one().state == "pending"

    async def confirm() -> tuple[list[str | None], str, str, str]:
        app = build_application(services, token=telegram.token, api_base=telegram.base_url)  # a restart
        async with running(app):
            first = world.press_button(ADMIN_ID, ADMIN_ID, preview_id, text=texts.BUTTON_ROSTER_APPLY)
            second = world.press_button(ADMIN_ID, ADMIN_ID, preview_id, text=texts.BUTTON_ROSTER_APPLY)
            done = await off_loop(
                telegram.wait_for_text, ADMIN_ID, "Đã áp dụng danh sách", after=preview_id - 1
            )
            await off_loop(
                world.wait_until,
                lambda: first in world.callback_answers and second in world.callback_answers,
                10.0,
            )
            answers = [world.callback_answers[q].text for q in (first, second)]
            sent = world.send_text(LEAVER_ID, "/toi")
            refused = await off_loop(telegram.wait_for_text, LEAVER_ID, "đăng nhập", after=sent.message_id)
            shared = world.share_contact(LEAVER_ID)
            unknown = await off_loop(
                telegram.wait_for_text, LEAVER_ID, "chưa có trong danh sách", after=shared.message_id
            )
            return answers, done.body, refused.body, unknown.body

    answers, done, refused, unknown = asyncio.run(confirm())
    assert texts.DUPLICATE_ACTION in answers  # the second tap applied nothing
    assert "Ngừng kích hoạt 1 người" in done
    assert "Trần Thị Nghỉ Hưu" not in refused and texts.LOGIN_REQUIRED.split(".")[0] in refused
    assert unknown
    assert not _active(db, "CB02") and _active(db, "CB01")
    with Session(db) as session:
        assert (
            session.exec(select(TelegramLink).where(TelegramLink.telegram_user_id == LEAVER_ID)).first()
            is None
        )
        deactivations = session.exec(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "deactivate")
        ).one()
        assert deactivations == 1
        upload = session.exec(select(RosterUpload)).one()
        assert (upload.state, upload.data) == ("applied", b"")


def test_cancel_add_only_and_a_harmless_file_applied_at_once(
    telegram: FakeTelegram, tmp_path: Path, db: Engine
) -> None:
    services = _services(tmp_path, db)
    world = telegram.world
    newcomer = HEADER + "CB03,Phạm Văn Mới,0901999004,TU,,cán bộ,\n"

    async def scenario() -> tuple[str, str, str]:
        app = build_application(services, token=telegram.token, api_base=telegram.base_url)
        async with running(app):
            sent = world.upload_document(ADMIN_ID, WITHOUT_LEAVER.encode(), "a.csv", mime_type="text/csv")
            shown = await off_loop(telegram.wait_for_text, ADMIN_ID, "Nếu áp dụng", after=sent.message_id)
            world.press_button(ADMIN_ID, ADMIN_ID, shown.message_id, text=texts.BUTTON_CANCEL)
            cancelled = await off_loop(
                telegram.wait_for_text, ADMIN_ID, texts.ROSTER_CANCELLED, after=sent.message_id
            )
            sent = world.upload_document(ADMIN_ID, newcomer.encode(), "bo-sung.csv", mime_type="text/csv")
            shown = await off_loop(telegram.wait_for_text, ADMIN_ID, "Không thể coi", after=sent.message_id)
            # As the full roster it would deactivate the admin themself: only «Chỉ bổ sung» is offered.
            assert "quản trị viên cuối cùng" in shown.body and "không có trong danh sách" in shown.body
            buttons = [b["text"] for row in shown.inline_keyboard for b in row]
            assert buttons == [texts.BUTTON_ROSTER_ADD_ONLY, texts.BUTTON_CANCEL]
            world.press_button(ADMIN_ID, ADMIN_ID, shown.message_id, text=texts.BUTTON_ROSTER_ADD_ONLY)
            added = await off_loop(telegram.wait_for_text, ADMIN_ID, "Đã bổ sung", after=sent.message_id)
            full = HEADER + "".join(ROWS.values()) + "CB03,Phạm Văn Mới,0901999004,TU,,cán bộ,\n"
            sent = world.upload_document(ADMIN_ID, full.encode(), "du.csv", mime_type="text/csv")
            direct = await off_loop(
                telegram.wait_for_text, ADMIN_ID, "Đã nhập danh sách", after=sent.message_id
            )
            return cancelled.body, added.body, direct.body

    cancelled, added, direct = asyncio.run(scenario())
    assert "không thay đổi" in cancelled
    assert "thêm 1" in added and "Ngừng kích hoạt" not in added
    assert "không đổi 4" in direct
    assert all(_active(db, code) for code in ("QT01", "CB01", "CB02", "CB03"))
    with Session(db) as session:
        assert [u.state for u in session.exec(select(RosterUpload).order_by(RosterUpload.id))] == [  # type: ignore[arg-type]
            "cancelled",
            "applied",
        ]
