"""The bot process's HTTP health endpoint (`GET /healthz`) for reverse proxies and load balancers.

Served by the bot's own event loop when `CANBO_HEALTH_PORT` is set, in polling and webhook mode alike: a 200
means the loop is answering and the database took a query within `CHECK_TIMEOUT_S`; anything else is a 503.
It reveals nothing but "ok" or the name of the failing part.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

PATH = "/healthz"
CHECK_TIMEOUT_S = 3.0
MAX_REQUEST_BYTES = 8192


def _database_ok(engine: Engine) -> bool:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1")).scalar()
    return True


async def _status(engine: Engine) -> tuple[int, dict[str, str]]:
    try:
        await asyncio.wait_for(asyncio.to_thread(_database_ok, engine), CHECK_TIMEOUT_S)
    except Exception as exc:  # any driver error or the timeout: not healthy
        log.warning("health check: database not answering (%s)", type(exc).__name__)
        return 503, {"status": "unhealthy", "database": "unavailable"}
    return 200, {"status": "ok", "database": "ok"}


def _response(status: int, body: dict[str, str] | None) -> bytes:
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[status]
    payload = json.dumps(body or {"status": reason.lower()}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + payload


def make_handler(engine: Engine) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CHECK_TIMEOUT_S)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            writer.close()
            return
        parts = head.split(b"\r\n", 1)[0].split()
        method, target = (parts[0], parts[1].split(b"?")[0]) if len(parts) >= 2 else (b"", b"")
        if target != PATH.encode():
            status, body = 404, None
        elif method not in (b"GET", b"HEAD"):
            status, body = 405, None
        else:
            status, body = await _status(engine)
        response = _response(status, body)
        writer.write(response.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" if method == b"HEAD" else response)
        try:
            await writer.drain()
        finally:
            writer.close()

    return handle


async def start_health_server(engine: Engine, *, host: str, port: int) -> asyncio.Server:
    """Listen on host:port; the caller closes the server at shutdown."""
    server = await asyncio.start_server(make_handler(engine), host, port, limit=MAX_REQUEST_BYTES)
    log.info("health endpoint on %s:%d%s", host, port, PATH)
    return server
