"""The real bot process on Postgres, the database going down right after the start, before the first job runs:
the reminder tick is stored once the database is back (it used to fail once with an ERROR and never be stored,
so no reminder went out until a restart), and a due reminder reaches Telegram."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.features.reminders import TICK_JOB
from records import botstate
from records.db import make_engine
from tests.e2e_workflows.conftest import PHONES, USERS, Flow, seed, sign_in_all
from tests.fakes.telegram import BotProcess, FakeTelegram
from tests.pg import started_cluster

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# PTB calls deleteWebhook when it starts polling: after post_init (which needs the database), before the job
# queue starts (the tick is stored by a job 1 s later). Holding that call lets the test stop the database in
# between, whatever the machine's load.
HELD_METHOD = "deleteWebhook"


class Gate:
    """Holds the fake Telegram's answer to one Bot API method until `release()`."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.arrived = threading.Event()
        self.released = threading.Event()

    def middleware(self) -> Callable[..., Any]:
        @web.middleware
        async def hold(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.match_info.get("method") == self.method and not self.released.is_set():
                self.arrived.set()
                while not self.released.is_set():
                    await asyncio.sleep(0.02)
            response: web.StreamResponse = await handler(request)
            return response

        return hold

    def release(self) -> None:
        self.released.set()


def _wait_until(ready: Callable[[], bool], what: str, bot: BotProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if not bot.alive:
            raise AssertionError(f"the bot exited while waiting for {what}:\n{bot.output()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s\n{bot.output()[-3000:]}")
        time.sleep(0.2)


def _tick_stored(url: str) -> bool:
    engine = make_engine(url)
    try:
        return any(job.name == TICK_JOB for job in botstate.list_jobs(engine))
    finally:
        engine.dispose()


def _problems(output: str) -> list[str]:
    return [line for line in output.splitlines() if " ERROR " in line or "Traceback" in line]


def test_the_reminder_tick_is_stored_once_the_database_is_back(tmp_path: Path) -> None:
    cluster = started_cluster()
    try:
        url = cluster.create_database("dbdown")
        data_dir = tmp_path / "data"
        seed(data_dir, url=url)
        clock_file = tmp_path / "now.txt"
        clock_file.write_text("2026-10-02T07:00:00+07:00", encoding="utf-8")  # before 08:00: nothing due
        env = {
            "CANBO_NOW_FILE": str(clock_file),
            "CANBO_DATABASE_URL": url,
            "CANBO_WORKFLOW_TICK_S": "1",
        }
        gate = Gate(HELD_METHOD)
        telegram = FakeTelegram()
        telegram.server.app.middlewares.append(gate.middleware())  # before the server starts
        with telegram:
            for code, uid in USERS.items():
                telegram.world.add_user(uid, code, phone_number=PHONES[code])
            bot = BotProcess(telegram, data_dir, env=env).start(wait_polling=False)
            flow = Flow(
                telegram=telegram,
                bot=bot,
                data_dir=data_dir,
                clock_file=clock_file,
                env=env,
                database_url=url,
            )
            try:
                _wait_until(gate.arrived.is_set, f"the bot calling {HELD_METHOD}", bot, timeout=120)
                # The database goes down before the bot's first job runs. Nothing else happens while the call
                # is held: PTB gives up on it after 5 s and the bot would exit.
                cluster.pause()
                gate.release()
                # Down until the bot has tried to store the tick (and failed): its warning, or on the old code
                # an ERROR. Had the tick been stored before the database went down, neither would come and this
                # wait would fail.
                _wait_until(
                    lambda: "database unreachable" in bot.output() or bool(_problems(bot.output())),
                    "the bot trying to store the reminder tick",
                    bot,
                )
                cluster.resume()
                _wait_until(
                    lambda: _tick_stored(url), "the reminder tick stored once the database is back", bot
                )
                sign_in_all(flow)
                flow.set_now("2026-10-02T09:00:00+07:00")  # the plan reminder of October is due
                reminder = flow.wait("BD03", "Nhắc việc", timeout=30)
                assert "Đăng ký kế hoạch kỳ 2026-10" in reminder.body
            finally:
                bot.stop()
        problems = _problems(bot.output())
        assert not problems, "the bot logged errors:\n" + "\n".join(problems[:20])
    finally:
        cluster.stop()
