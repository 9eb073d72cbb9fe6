"""Conversation steps are cached write-through: later messages need no database read, the database stays
the truth across restarts, and a cached value never leaks mutations between messages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.app import FEATURES, build_application
from bot.conversation import ConversationCache, StepRouter, end_step, start_step
from bot.feature import ANYONE, CommandSpec, Feature
from bot.jobs import JobRegistry
from records import botstate
from tests.bot.test_app import USER_ID, make_services, off_loop, running
from tests.fakes.telegram import FakeTelegram

STEP = "test:count"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        fake.world.add_user(USER_ID, "Khách", phone_number="+84900000111")
        yield fake


async def begin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None and update.effective_user is not None
    await start_step(
        context,
        chat_id=update.effective_chat.id,
        user_id=update.effective_user.id,
        step=STEP,
        data={"seen": []},
    )
    await context.bot.send_message(update.effective_chat.id, "Bắt đầu đếm")


async def count(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    assert update.effective_chat is not None and update.effective_user is not None
    assert update.effective_message is not None and update.effective_message.text is not None
    chat_id, user_id = update.effective_chat.id, update.effective_user.id
    seen = data["seen"]
    seen.append(update.effective_message.text)  # mutating what was read must not change the cache
    if update.effective_message.text == "xong":
        await end_step(context, chat_id=chat_id, user_id=user_id)
        await context.bot.send_message(chat_id, f"Kết thúc sau {len(seen)} tin")
        return
    await start_step(context, chat_id=chat_id, user_id=user_id, step=STEP, data={"seen": seen})
    await context.bot.send_message(chat_id, f"Đã nhận {len(seen)}: {', '.join(seen)}")


def install_counter(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("dem", begin))
    router.add_step(STEP, count)


COUNTER = Feature(name="counter", install=install_counter, commands=(CommandSpec("dem", "Đếm thử", ANYONE),))


def test_cache_returns_fresh_copies_and_stays_bounded() -> None:
    cache = ConversationCache(max_entries=2)
    state = botstate.ConversationState(
        chat_id=1, user_id=1, state="a", data={"items": [1]}, updated_at=datetime.now(UTC)
    )
    cache.put((1, 1), state)
    cached, first = cache.get((1, 1))
    assert cached and first is not None and first.data == {"items": [1]}
    first.data["items"].append(2)
    assert cache.get((1, 1))[1] == state  # the mutation did not reach the cache
    cache.put((2, 2), None)
    assert cache.get((2, 2)) == (True, None)  # "idle" is cached too
    assert cache.get((3, 3)) == (False, None)
    cache.get((1, 1))  # most recently used
    cache.put((3, 3), None)
    assert cache.has((1, 1)) and cache.has((3, 3)) and not cache.has((2, 2))
    cache.forget((1, 1))
    assert not cache.has((1, 1))


def test_cached_steps_expire_so_changes_by_other_processes_are_seen() -> None:
    now = [1000.0]
    cache = ConversationCache(ttl_s=300, clock=lambda: now[0])
    cache.put((1, 1), None)
    now[0] += 299
    assert cache.get((1, 1)) == (True, None)
    now[0] += 2  # 301 s after it was stored: the database is asked again
    assert cache.get((1, 1)) == (False, None) and not cache.has((1, 1))


def test_steps_are_read_from_the_database_once_and_survive_a_restart(
    telegram: FakeTelegram, tmp_path: Path, state_engine: Engine
) -> None:
    db = state_engine
    services = make_services(tmp_path, db)
    reads: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "bot_conversation" in statement:
            reads.append(statement)

    event.listen(db, "before_cursor_execute", on_execute)

    async def first_run() -> list[str]:
        app = build_application(
            services,
            token=telegram.token,
            api_base=telegram.base_url,
            features=(*FEATURES[:-1], COUNTER, FEATURES[-1]),
        )
        bodies = []
        async with running(app):
            sent = telegram.world.send_text(USER_ID, "/dem")
            await off_loop(telegram.wait_for_text, USER_ID, "Bắt đầu đếm", after=sent.message_id)
            for word in ("một", "hai", "ba"):
                sent = telegram.world.send_text(USER_ID, word)
                reply = await off_loop(telegram.wait_for_text, USER_ID, "Đã nhận", after=sent.message_id)
                bodies.append(reply.body)
        return bodies

    bodies = asyncio.run(first_run())
    assert bodies == ["Đã nhận 1: một", "Đã nhận 2: một, hai", "Đã nhận 3: một, hai, ba"]
    assert reads == []  # /dem wrote the step first; every later message was served from the cache
    stored = botstate.load_conversation(db, chat_id=USER_ID, user_id=USER_ID)
    assert stored is not None and stored.data == {"seen": ["một", "hai", "ba"]}

    async def second_run() -> tuple[str, str]:  # a new process: nothing cached, the database decides
        app = build_application(
            services,
            token=telegram.token,
            api_base=telegram.base_url,
            features=(*FEATURES[:-1], COUNTER, FEATURES[-1]),
        )
        async with running(app):
            sent = telegram.world.send_text(USER_ID, "bốn")
            resumed = await off_loop(telegram.wait_for_text, USER_ID, "Đã nhận", after=sent.message_id)
            sent = telegram.world.send_text(USER_ID, "xong")
            done = await off_loop(telegram.wait_for_text, USER_ID, "Kết thúc", after=sent.message_id)
            return resumed.body, done.body

    reads.clear()
    resumed, done = asyncio.run(second_run())
    assert resumed == "Đã nhận 4: một, hai, ba, bốn" and done == "Kết thúc sau 5 tin"
    assert len(reads) == 1  # the first message after the restart
    assert botstate.load_conversation(db, chat_id=USER_ID, user_id=USER_ID) is None
