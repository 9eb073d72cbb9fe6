"""The local Telegram Bot API over HTTP (aiohttp): `/bot<token>/<method>` and `/file/bot<token>/<path>`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
from typing import Any

import aiohttp
from aiohttp import web

from bot.localapi.methods import BotApiError, Methods, Params, Upload, bad_request
from bot.localapi.world import World

log = logging.getLogger(__name__)

DEFAULT_BOT_ID = 123456
MAX_REQUEST_BYTES = 60 * 1024 * 1024
WORLD_KEY: web.AppKey[World] = web.AppKey("world", World)


def bot_id_from_token(token: str | None) -> int:
    """The bot's user id is the token's numeric prefix, as on Telegram."""
    if token and token.split(":", 1)[0].isdigit():
        return int(token.split(":", 1)[0])
    return DEFAULT_BOT_ID


class LocalBotApi:
    """An in-memory Bot API good enough for python-telegram-bot 22; one instance per bot token.

    Build it, add routes to `app` if needed (the playground does), then `await start()` inside a running loop
    (or use `ServerThread` to run it in a background thread).
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        world: World | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "canbo_local_bot",
    ):
        self.token = token
        self.world = world or World(bot_id=bot_id_from_token(token), bot_username=bot_username)
        self.methods = Methods(self.world)
        self.host = host
        self.port = port
        self.app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        self.app[WORLD_KEY] = self.world
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._poll_generation = 0
        self._stopping = False
        self._polls_in_progress = 0
        self._last_poll_end = float("-inf")
        # Webhook delivery, as Telegram does it: each waiting update is POSTed to the registered URL with the
        # secret header, in update_id order, and forgotten only on a 2xx; anything else is retried. A public
        # https URL is mapped to a local address standing for the reverse proxy (`route_webhook`); without a
        # route nothing is delivered (tests may then post to the bot themselves).
        self.webhook_routes: dict[str, str] = {}
        self.webhook_retry_s = 0.5
        # Every delivery attempt as (monotonic time, update_id, HTTP status; None when nobody answered).
        self.webhook_deliveries: list[tuple[float, int, int | None]] = []
        self._delivery: asyncio.Task[None] | None = None

    @property
    def bot_online(self) -> bool:
        """A bot is polling now or polled within the last 15 seconds."""
        return self._polls_in_progress > 0 or time.monotonic() - self._last_poll_end < 15.0

    @property
    def stopping(self) -> bool:
        """True once stop() began: long polls return at once."""
        return self._stopping

    @property
    def base_url(self) -> str:
        """What the bot's TELEGRAM_API_BASE should be."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self.world.add_listener(self._on_world_change)
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError:  # e.g. the port is taken: leave nothing behind, the caller may retry
            self.world.remove_listener(self._on_world_change)
            await self._runner.cleanup()
            self._runner = None
            raise
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self._delivery = asyncio.create_task(self._deliver_webhooks(), name="local-bot-api:webhook")
        log.info("local Bot API listening on %s", self.base_url)

    async def stop(self) -> None:
        self._stopping = True
        self.world.remove_listener(self._on_world_change)
        self._wake()
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
            self._delivery = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- waking long polls ----------------------------------------------------------------------
    def _on_world_change(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    async def wait_for_change(self, timeout: float) -> None:
        """Sleep until the world changes or `timeout` passes (used by long polls)."""
        event = self._changed
        if event is None or timeout <= 0 or self._stopping:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    # --- webhook delivery -----------------------------------------------------------------------
    def route_webhook(self, public_url: str, local_url: str) -> None:
        """Deliver updates for a webhook registered as `public_url` to `local_url` (the reverse proxy)."""
        self.webhook_routes[public_url] = local_url
        self._on_world_change()

    async def _deliver_webhooks(self) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not self._stopping:
                target = self.webhook_routes.get(self.world.webhook_url) if self.world.webhook_url else None
                waiting = self.world.take_updates(None, 1, None) if target else []
                if target is None or not waiting:
                    await self.wait_for_change(1.0)
                    continue
                update = waiting[0]
                headers = {"Content-Type": "application/json"}
                if self.world.webhook_secret:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self.world.webhook_secret
                status: int | None = None
                try:
                    async with session.post(target, data=json.dumps(update), headers=headers) as response:
                        status = response.status
                        await response.read()
                except (aiohttp.ClientError, OSError, TimeoutError):
                    pass  # the bot is down or the proxy unreachable: Telegram tries again later
                self.webhook_deliveries.append((time.monotonic(), int(update["update_id"]), status))
                if status is not None and 200 <= status < 300:
                    self.world.confirm_update(int(update["update_id"]))
                else:
                    await asyncio.sleep(self.webhook_retry_s)

    # --- HTTP handlers --------------------------------------------------------------------------
    @staticmethod
    def _nodelay(request: web.Request) -> None:
        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _token_ok(self, token: str) -> bool:
        return token == self.token if self.token else ":" in token

    async def _handle_method(self, request: web.Request) -> web.Response:
        self._nodelay(request)
        if not self._token_ok(request.match_info["token"]):
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        try:
            params = await read_params(request)
            if method.lower() == "getupdates":
                self.world.count_call("getUpdates")
                self._polls_in_progress += 1
                try:
                    result: Any = await self._get_updates(params)
                finally:
                    self._polls_in_progress -= 1
                    self._last_poll_end = time.monotonic()
            else:
                result = self.methods.call(method, params)
        except BotApiError as exc:
            return web.json_response(exc.to_api(), status=exc.code)
        except Exception:  # a bug of the fake itself: Telegram-shaped for the client, loud for the tests
            log.exception("local Bot API method %s crashed", method)
            body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            return web.json_response(body, status=500)
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, params: Params) -> list[dict[str, Any]]:
        if self.world.webhook_url:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                "the webhook first",
            )
        offset = params.integer("offset")
        limit = max(1, min(100, params.integer("limit") or 100))
        timeout = max(0, params.integer("timeout") or 0)
        allowed = params.json("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad_request("can't parse allowed_updates JSON object")
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older poll still waiting is terminated, as on Telegram
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise BotApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
                    "is running",
                )
            updates = self.world.take_updates(offset, limit, allowed or None)
            remaining = deadline - loop.time()
            if updates or remaining <= 0 or self._stopping:
                return updates
            await self.wait_for_change(remaining)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        self._nodelay(request)
        if not self._token_ok(request.match_info["token"]):
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        stored = self.world.file_by_path(request.match_info["path"])
        if stored is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")


async def read_params(request: web.Request) -> Params:
    """Method arguments from the query string, a form (urlencoded or multipart) or a JSON body."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "POST" and request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON body") from None
            if not isinstance(body, dict):
                raise bad_request("JSON body must be an object")
            values.update(body)
        else:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    uploads[name] = Upload(
                        data=value.file.read(), file_name=value.filename, mime_type=value.content_type
                    )
                else:
                    values[name] = value
    return Params(values, uploads)


class ServerThread:
    """Runs a LocalBotApi in a background thread with its own event loop (for tests and benches)."""

    def __init__(self, server: LocalBotApi):
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="local-bot-api", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        # Nothing may be left pending (it would be reported as destroyed later, in some other test).
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        if pending:
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def start(self, timeout: float = 10.0) -> LocalBotApi:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("local Bot API did not start")
        if self._error is not None:
            raise self._error
        return self.server

    def stop(self, timeout: float = 10.0) -> None:
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop)
        with contextlib.suppress(Exception):
            future.result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
