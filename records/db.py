"""Database engines and sessions: SQLite (default, with the pragmas it needs) or PostgreSQL."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)

IDLE_PING_SECONDS = 10.0  # a connection idle longer than this is checked before use
RECYCLE_SECONDS = 1800  # and none is kept longer than this (server-side idle limits, failovers)


def make_engine(url: str, *, echo: bool = False, idle_ping_seconds: float = IDLE_PING_SECONDS) -> Engine:
    """Create an engine for `url` ("sqlite:///path.db" or "postgresql+psycopg://...").

    On a server database, pooled connections are pinged at checkout only after `idle_ping_seconds` of idleness
    and recycled after `RECYCLE_SECONDS` (see `_ping_when_idle`).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_recycle=RECYCLE_SECONDS)
    _ping_when_idle(engine, idle_seconds=idle_ping_seconds)
    return engine


def _ping_when_idle(engine: Engine, *, idle_seconds: float) -> None:
    """Check a pooled connection at checkout only when it sat idle longer than `idle_seconds`.

    `pool_pre_ping` costs a round trip on every checkout (one per transaction); a connection returned
    milliseconds ago is almost never dead, one that slept through a server restart or a firewall's idle
    cut-off may be. A dead one is replaced transparently (the pool retries with a fresh connection); a
    disconnect in the middle of a transaction invalidates the whole pool, so only that transaction fails.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any failure means: do not hand this connection out
            log.warning(
                "a pooled database connection was dead after %.0f s idle; replacing it",
                time.monotonic() - since,
            )
            raise DisconnectionError("pooled connection failed its ping") from exc


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
