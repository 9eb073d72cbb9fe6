"""Test harness around the local Bot API: a server in a background thread, waiting helpers, the real bot process.

Use it as context managers or as pytest fixtures (import the fixtures into your test module or conftest):

    from tests.fakes.telegram import bot_process, fake_telegram  # noqa: F401  (pytest fixtures)

    def test_start(fake_telegram, bot_process):
        fake_telegram.world.add_user(1001, "An", phone_number="+84901234567")
        bot = bot_process()                       # the real `python -m bot.cli run`, polling our server
        sent = fake_telegram.world.send_text(1001, "/start")
        reply = fake_telegram.wait_for(1001, lambda m: "Xin chào" in m.body, after=sent.message_id)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from telegram.ext import Application, ApplicationBuilder, BaseHandler

from bot.localapi import ChatMessage, LocalBotApi, ServerThread, World
from bot.localapi.web import Persona, PlaygroundPage
from bot.playground import die_with_parent

TEST_TOKEN = "123456:AAE_test-token-for-the-local-bot-api-0123456789"
REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeTelegram:
    """A LocalBotApi running in a background thread, with helpers that wait on what the bot sent."""

    def __init__(
        self,
        *,
        token: str = TEST_TOKEN,
        bot_username: str = "canbo_test_bot",
        personas: list[Persona] | None = None,
    ):
        self.token = token
        self.server = LocalBotApi(token=token, bot_username=bot_username)
        # With personas, the playground page and its API are served too (and the personas exist as users).
        self.page = PlaygroundPage(self.server, personas) if personas is not None else None
        # Every Bot API request as (monotonic time, token, method, HTTP status), e.g. to see which token polls.
        self.requests: list[tuple[float, str, str, int]] = []

        @web.middleware
        async def record_request(request: web.Request, handler: Any) -> web.StreamResponse:
            response: web.StreamResponse = await handler(request)
            info = request.match_info
            self.requests.append(
                (time.monotonic(), info.get("token", ""), info.get("method", ""), response.status)
            )
            return response

        self.server.app.middlewares.append(record_request)
        self._thread = ServerThread(self.server)

    def revoke_token(self, new_token: str) -> None:
        """What @BotFather's /revoke does: from now on the old token is refused (401 Unauthorized) and
        `new_token` works, for the same bot (same id, same chats, same updates waiting to be fetched)."""
        if new_token.split(":", 1)[0] != self.token.split(":", 1)[0]:
            raise ValueError("a new token of the same bot keeps its numeric id")
        self.server.token = new_token
        self.token = new_token

    def route_webhook(self, public_url: str, local_url: str) -> None:
        """Deliver updates, as Telegram does, to the bot's webhook registered as `public_url` at `local_url`
        (the reverse proxy): POSTed with the registered secret, retried until the bot answers 2xx."""
        self.server.route_webhook(public_url, local_url)

    @property
    def webhook_deliveries(self) -> list[tuple[float, int, int | None]]:
        """Every webhook delivery attempt as (monotonic time, update_id, HTTP status or None)."""
        return list(self.server.webhook_deliveries)

    def requests_with(self, token: str, *, since: float = float("-inf")) -> list[tuple[float, str, str, int]]:
        """The requests made with `token` at or after the monotonic time `since`."""
        return [r for r in self.requests if r[1] == token and r[0] >= since]

    def start(self) -> FakeTelegram:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._thread.stop()

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def world(self) -> World:
        return self.server.world

    @property
    def base_url(self) -> str:
        """The value for TELEGRAM_API_BASE."""
        return self.server.base_url

    def wait_for(
        self,
        chat_id: int,
        predicate: Callable[[ChatMessage], bool] = lambda m: True,
        *,
        after: int = 0,
        timeout: float = 15.0,
    ) -> ChatMessage:
        """The first bot message in the chat with id > `after` matching `predicate` (edits count)."""

        def found() -> ChatMessage | None:
            for message in self.world.bot_messages(chat_id):
                if message.message_id > after and predicate(message):
                    return message
            return None

        try:
            return self.world.wait_until(found, timeout)
        except TimeoutError:
            seen = [m.body[:120] for m in self.world.bot_messages(chat_id) if m.message_id > after]
            raise AssertionError(
                f"no matching bot message in chat {chat_id} within {timeout}s; bot sent: {seen!r}"
            ) from None

    def wait_for_text(
        self, chat_id: int, fragment: str, *, after: int = 0, timeout: float = 15.0
    ) -> ChatMessage:
        """The first bot message containing `fragment` in its text or caption."""
        return self.wait_for(chat_id, lambda m: fragment in m.body, after=after, timeout=timeout)

    def wait_for_calls(self, method: str, count: int = 1, *, timeout: float = 15.0) -> int:
        """Wait until the bot has called `method` at least `count` times."""
        return self.world.wait_until(
            lambda: self.world.calls[method] >= count and self.world.calls[method], timeout
        )


class BotProcess:
    """The real bot (`python -m bot.cli run`) as a subprocess talking to a FakeTelegram."""

    def __init__(
        self,
        telegram: FakeTelegram,
        data_dir: Path,
        *,
        args: tuple[str, ...] = ("run",),
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        unset: tuple[str, ...] = (),
    ):
        self.telegram = telegram
        self.data_dir = data_dir
        self.args = args
        self.extra_env = env or {}
        self.unset = (
            unset  # variables left out, e.g. TELEGRAM_BOT_TOKEN to have it read from .env in data_dir
        )
        self.log_path = log_path or data_dir / "bot-output.log"
        self.process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "CANBO_")) and key != "PYTEST_CURRENT_TEST"
        }
        env.update(
            TELEGRAM_BOT_TOKEN=self.telegram.token,
            TELEGRAM_API_BASE=self.telegram.base_url,
            CANBO_DATA_DIR=str(self.data_dir),
            OMP_NUM_THREADS="1",
            HF_HUB_OFFLINE="1",
            ANONYMIZED_TELEMETRY="False",
            PYTHONPATH=str(REPO_ROOT),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        for name in self.unset:
            env.pop(name, None)
        return env

    def start(
        self, *, wait_polling: bool = True, wait_webhook: bool = False, timeout: float = 60.0
    ) -> BotProcess:
        """Start the bot; by default wait until it polls for updates. With `wait_webhook` (webhook mode) wait
        instead until it has registered its webhook (setWebhook) and its webhook port accepts connections."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        polls_before = self.telegram.world.calls["getUpdates"]
        webhooks_before = self.telegram.world.calls["setWebhook"]
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", *self.args],
                env=self.environment(),
                cwd=self.data_dir,  # no stray .env from the repository
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # no orphan bot polling forever if pytest is killed
            )
        if wait_webhook:
            port = int(self.environment()["CANBO_WEBHOOK_PORT"])
            self._wait(
                lambda: self.telegram.world.calls["setWebhook"] > webhooks_before and _accepts(port),
                "register its webhook",
                timeout,
            )
        elif wait_polling:
            self._wait(lambda: self.telegram.world.calls["getUpdates"] > polls_before, "poll", timeout)
        return self

    def _wait(self, ready: Callable[[], bool], what: str, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while not ready():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the bot exited with {self.process.returncode}:\n{self.output()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot did not {what} within {timeout}s:\n{self.output()[-3000:]}")
            time.sleep(0.05)

    def output(self) -> str:
        """Everything the bot printed so far (stdout and stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        """Kill the bot hard (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """Ask the bot to stop (SIGTERM), then kill it if it does not."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        return self.process.returncode


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for the bot's webhook or health server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post_webhook(url: str, update: dict[str, object], secret: str | None) -> int:
    """POST `update` to the bot's webhook as Telegram does (JSON, the secret header unless None): the status."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def text_update(update_id: int, user_id: int, text: str, *, first_name: str = "Web") -> dict[str, object]:
    """A Telegram update: `user_id` writes `text` in their private chat (a leading /command gets its entity)."""
    user = {"id": user_id, "is_bot": False, "first_name": first_name}
    message: dict[str, object] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": first_name},
        "from": user,
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def _accepts(port: int) -> bool:
    """Something listens on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def make_ptb_application(telegram: FakeTelegram, *, rate_limiter: Any = None) -> Application:  # type: ignore[type-arg]
    """An unmodified PTB Application pointed at the local server (for tests without the real bot)."""
    builder = (
        ApplicationBuilder()
        .token(telegram.token)
        .base_url(f"{telegram.base_url}/bot")
        .base_file_url(f"{telegram.base_url}/file/bot")
    )
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    return builder.build()


@asynccontextmanager
async def ptb_polling(
    telegram: FakeTelegram, handlers: Sequence[BaseHandler[Any, Any, Any]], **kwargs: Any
) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """A PTB application polling the local server with the given handlers, stopped on exit."""
    application = make_ptb_application(telegram, **kwargs)
    for handler in handlers:
        application.add_handler(handler)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=5)
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A fresh local Bot API on a free port, stopped after the test."""
    with FakeTelegram() as telegram:
        yield telegram


@pytest.fixture
def bot_process(fake_telegram: FakeTelegram, tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    """Factory starting the real bot against `fake_telegram` (data in tmp_path/data); all stopped at teardown."""
    started: list[BotProcess] = []

    def start(**kwargs: Any) -> BotProcess:
        data_dir = kwargs.pop("data_dir", tmp_path / "data")
        wait_polling = kwargs.pop("wait_polling", True)
        process = BotProcess(fake_telegram, data_dir, **kwargs)
        started.append(process)
        return process.start(wait_polling=wait_polling)

    yield start
    for process in started:
        process.stop()
