"""Hostile-input fixtures: one real bot for the package on a seeded organisation of two sibling units.

Unit BD (Quận ủy Ba Đình) holds the records under attack: BD03's submitted evaluation, BD04's draft, BD03's
submitted action programme, BD04's rotation with its reviews, BD03's unanswered question handed to staff and an
admin's staged roster file. Unit HK (Quận ủy Hoàn Kiếm) holds the attackers; a stranger is on no roster.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.localapi import ChatMessage
from records import botstate
from records.db import make_engine, session_scope
from records.dbcopy import table_digests
from records.evaluations import (
    TaskInput,
    TaskResultInput,
    open_evaluation,
    plan_tasks,
    submit_self_assessment,
)
from records.migrate import upgrade
from records.people import find_person_by_code, find_unit_by_code, link_telegram
from records.programmes import ItemInput, ProgrammeInput, create_programme, submit_programme
from records.roster import import_or_stage, import_roster
from records.rotations import RotationInput, start_rotation
from records.rules import default_rules
from records.schema import TaskResult
from tests.fakes.telegram import BotProcess, FakeTelegram

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
PERIOD = "2026-10"

ROSTER_CSV = """Mã cán bộ,Họ và tên,Số điện thoại,Chức vụ,Mã đơn vị,Tên đơn vị,Đơn vị cấp trên,Mã người quản lý,Vai trò,Phạm vi
QT01,Nguyễn Quản Trị,0901000009,Quản trị hệ thống,TU,Thành ủy Hà Nội,,,quản trị,TU
TU01,Nguyễn Văn Thành,0901000001,Chuyên viên Ban Tổ chức,TU,,,,chuyên viên,TU
BD01,Trần Thị Bình,0902000002,Bí thư,BD,Quận ủy Ba Đình,TU,,thủ trưởng,BD
BD02,Lê Văn Cường,0903000003,Trưởng phòng,BD,,,BD01,người nhận xét,BD
BD03,Phạm Thị Dung,0904000004,Chuyên viên,BD,,,BD02,cán bộ,
BD04,Hoàng Văn Em,0905000005,Chuyên viên,BD,,,BD02,cán bộ,
BD05,Vũ Thị Giang,0905000015,Chuyên viên,BDP,Phường Phúc Xá,BD,BD01,cán bộ,
BD06,Lý Văn Nam,0905000016,Phó Trưởng phòng,BD,,,BD01,người nhận xét,BD
HK01,Bùi Thị Hà,0906000006,Bí thư,HK,Quận ủy Hoàn Kiếm,TU,,thủ trưởng,HK
HK02,Ngô Văn Khoa,0907000007,Trưởng phòng,HK,,,HK01,người nhận xét,HK
HK03,Đỗ Thị Lan,0908000008,Chuyên viên Ban Tổ chức,HK,,,HK01,chuyên viên,HK
HK04,Đinh Văn Mạnh,0908000018,Chuyên viên,HK,,,HK02,cán bộ,
"""
CODES = [line.split(",")[0] for line in ROSTER_CSV.splitlines()[1:]]
USERS: dict[str, int] = {code: 8_200_000_001 + i for i, code in enumerate(CODES)}
STRANGER = 8_299_999_999
BD_NAMES = ("Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Vũ Thị Giang", "Lý Văn Nam")


@dataclass
class Seeded:
    """Ids of the BD records the attackers aim at."""

    submitted_eid: int = 0
    submitted_version: int = 0
    task_id: int = 0
    draft_eid: int = 0
    draft_task_id: int = 0
    programme_id: int = 0
    programme_version: int = 0
    item_id: int = 0
    rotation_review_ids: list[int] = field(default_factory=list)
    answer_id: int = 0
    handoff_id: int = 0
    upload_id: int = 0
    unit_id: int = 0  # unit BD itself (the public-programmes export button)


def _person_id(session, code: str) -> int:  # type: ignore[no-untyped-def]
    person = find_person_by_code(session, cadre_code=code)
    assert person is not None, code
    return person.id


def seed(url: str) -> Seeded:
    """Migrate, import the roster, link every account, then create the BD records through the services."""
    upgrade(url)
    rules = default_rules()
    out = Seeded()
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            import_roster(session, data=ROSTER_CSV.encode(), filename="roster.csv", now=datetime(2026, 9, 1))
        with session_scope(engine) as session:
            for code, uid in USERS.items():
                link_telegram(session, person_id=_person_id(session, code), telegram_user_id=uid, chat_id=uid)
        with session_scope(engine) as session:
            bd = find_unit_by_code(session, code="BD")
            assert bd is not None and bd.id is not None
            out.unit_id = bd.id
        with session_scope(engine) as session:
            ids = {code: _person_id(session, code) for code in CODES}
            for code in ("BD03", "BD04"):
                view = open_evaluation(
                    session, actor_id=ids[code], person_id=ids[code], period=PERIOD, rules=rules, now=NOW
                )
                view = plan_tasks(
                    session,
                    actor_id=ids[code],
                    person_id=ids[code],
                    period=PERIOD,
                    tasks=[
                        TaskInput(title=f"Báo cáo tổ chức của {code}", expected_result="Trình Thường trực")
                    ],
                    rules=rules,
                    now=NOW,
                )
                if code == "BD04":
                    out.draft_eid, out.draft_task_id = view.id, view.tasks[0].id
                    continue
                view = submit_self_assessment(
                    session,
                    actor_id=ids[code],
                    evaluation_id=view.id,
                    rules=rules,
                    results=[TaskResultInput(task_id=view.tasks[0].id, result=TaskResult.ON_TIME)],
                    points={c.key: c.max_points for c in rules.criteria},
                    comment="Hoàn thành tốt nhiệm vụ",
                    now=NOW,
                )
                out.submitted_eid, out.submitted_version, out.task_id = (
                    view.id,
                    view.version,
                    view.tasks[0].id,
                )
            programme = create_programme(
                session,
                actor_id=ids["BD03"],
                person_id=ids["BD03"],
                data=ProgrammeInput(
                    post="Chuyên viên",
                    term_start=date(2026, 1, 1),
                    term_end=date(2030, 12, 31),
                    items=(ItemInput(commitment="Số hóa hồ sơ", target="100%", deadline=date(2027, 6, 30)),),
                ),
                now=NOW,
            )
            programme = submit_programme(session, actor_id=ids["BD03"], programme_id=programme.id, now=NOW)
            out.programme_id, out.programme_version = programme.id, programme.version
            out.item_id = programme.items[0].id
            bdp = find_unit_by_code(session, code="BDP")
            assert bdp is not None
            rotation = start_rotation(
                session,
                actor_id=ids["TU01"],
                data=RotationInput(
                    person_id=ids["BD04"],
                    to_unit_id=bdp.id,
                    to_post="Phó Bí thư",
                    start_date=date(2026, 4, 1),
                ),
                rules=rules,
                allow_shorter=True,
                now=NOW,
            )
            out.rotation_review_ids = [r.id for r in rotation.reviews]
        answer = botstate.record_answer(
            engine,
            chat_id=USERS["BD03"],
            user_id=USERS["BD03"],
            question="Phụ cấp thu hút?",
            found=False,
            chunk_ids=[],
        )
        out.answer_id = answer.id
        out.handoff_id = botstate.open_handoff(engine, answer_id=answer.id)[0].id
        with session_scope(engine) as session:  # a roster that takes BD04 away: staged, awaiting confirmation
            smaller = "\n".join(line for line in ROSTER_CSV.splitlines() if not line.startswith("BD04"))
            staged = import_or_stage(
                session, data=smaller.encode(), filename="ds.csv", actor_id=_person_id(session, "QT01")
            )
            assert staged.upload_id is not None
            out.upload_id = staged.upload_id
    finally:
        engine.dispose()
    return out


# Tables whose rows a hostile update must never change (bot_update, conversations, leases and jobs are the
# bot's own bookkeeping and change with every update).
PROTECTED = frozenset(
    {
        "unit",
        "person",
        "telegram_link",
        "role_assignment",
        "invite_code",
        "evaluation",
        "evaluation_task",
        "action_programme",
        "action_item",
        "action_progress",
        "rotation",
        "rotation_review",
        "audit_log",
        "roster_upload",
        "bot_answer",
        "bot_feedback",
        "bot_handoff",
    }
)


@dataclass
class Outcome:
    """What the bot did with one update: the answer to the button (toast/alert) and the messages it sent."""

    answer: str | None
    messages: list[ChatMessage]

    @property
    def texts(self) -> list[str]:
        return ([self.answer] if self.answer else []) + [m.body for m in self.messages]

    @property
    def everything(self) -> str:
        return "\n".join(self.texts)


@dataclass
class Arena:
    """The world, the bot, the seeded ids; helpers to attack and to check nothing changed."""

    telegram: FakeTelegram
    bot: BotProcess
    data_dir: Path
    seeded: Seeded
    env: dict[str, str]
    _anchors: dict[int, int] = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'canbo.db').resolve()}"

    def digest(self) -> dict[str, tuple[int, str]]:
        engine = make_engine(self.db_url)
        try:
            return {d.name: (d.rows, d.sha256) for d in table_digests(engine, names=set(PROTECTED))}
        finally:
            engine.dispose()

    def wait_handled(self, update_id: int, *, timeout: float = 20.0) -> None:
        """Until the bot has marked the update done (every reply and button answer is sent by then)."""
        engine = make_engine(self.db_url)
        try:
            deadline = time.monotonic() + timeout
            while True:
                with engine.connect() as conn:
                    status = conn.execute(
                        text("SELECT status FROM bot_update WHERE update_id = :u"), {"u": update_id}
                    ).scalar()
                if status == "done":
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"update {update_id} not handled within {timeout}s (status {status})"
                    )
                time.sleep(0.05)
        finally:
            engine.dispose()

    def _last_message_id(self, chat_id: int) -> int:
        messages = self.telegram.world.messages(chat_id)
        return messages[-1].message_id if messages else 0

    def _outcome(self, chat_id: int, update_id: int, after: int, query_id: str | None = None) -> Outcome:
        self.wait_handled(update_id)
        world = self.telegram.world
        answer = world.callback_answers.get(query_id) if query_id else None
        sent = [m for m in world.bot_messages(chat_id) if m.message_id > after]
        return Outcome(answer=answer.text if answer else None, messages=sent)

    def anchor(self, uid: int) -> int:
        """A bot message in the user's private chat to hang forged buttons on."""
        if uid not in self._anchors:
            world = self.telegram.world
            sent = world.send_text(uid, "/trogiup")
            reply = self.telegram.wait_for(uid, after=sent.message_id)
            self._anchors[uid] = reply.message_id
        return self._anchors[uid]

    def forge(self, uid: int, data: str) -> Outcome:
        """`uid` sends callback `data` on a bot message of their own chat; waits until it is handled."""
        anchor = self.anchor(uid)
        after = self._last_message_id(uid)
        query_id = self.telegram.world.forge_callback(uid, uid, anchor, data)
        update_id = next(
            u
            for u, body in self.telegram.world.update_log.items()
            if body.get("callback_query", {}).get("id") == query_id
        )
        return self._outcome(uid, update_id, after, query_id)

    def press(self, uid: int, message: ChatMessage, button: str) -> Outcome:
        """`uid` presses the button labelled `button` on a bot message of their chat; waits until handled."""
        after = self._last_message_id(message.chat_id)
        query_id = self.telegram.world.press_button(uid, message.chat_id, message.message_id, text=button)
        return self._outcome(message.chat_id, self.telegram.world.last_update_id, after, query_id)

    def say(self, uid: int, message: str, *, chat_id: int | None = None) -> Outcome:
        chat = uid if chat_id is None else chat_id
        after = self._last_message_id(chat)
        self.telegram.world.send_text(uid, message, chat_id=chat_id)
        return self._outcome(chat, self.telegram.world.last_update_id, after)

    def upload(self, uid: int, data: bytes, name: str, **kwargs: str) -> Outcome:
        after = self._last_message_id(uid)
        self.telegram.world.upload_document(uid, data, name, **kwargs)
        return self._outcome(uid, self.telegram.world.last_update_id, after)

    def restart_hard(self) -> None:
        self.bot.kill9()
        self.bot = BotProcess(self.telegram, self.data_dir, env=self.env).start(timeout=120)


def bot_problems(bot: BotProcess) -> list[str]:
    return [line for line in bot.output().splitlines() if " ERROR " in line or "Traceback" in line]


@pytest.fixture(scope="package")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arena]:
    """The seeded organisation and the real bot (with the sample regulations), every account linked."""
    data_dir = tmp_path_factory.mktemp("hostile") / "data"
    data_dir.mkdir(parents=True)
    seeded = seed(f"sqlite:///{(data_dir / 'canbo.db').resolve()}")
    env = {"CANBO_NOW": NOW.isoformat()}
    with FakeTelegram() as telegram:
        for code, uid in USERS.items():
            telegram.world.add_user(uid, code)
        telegram.world.add_user(STRANGER, "Người lạ", phone_number="+84912345678")
        bot = BotProcess(telegram, data_dir, env=env).start(timeout=180)
        world = Arena(telegram=telegram, bot=bot, data_dir=data_dir, seeded=seeded, env=env)
        try:
            yield world
        finally:
            world.bot.stop()
        problems = bot_problems(world.bot)
        assert not problems, "the bot logged errors:\n" + "\n".join(problems[:20])
