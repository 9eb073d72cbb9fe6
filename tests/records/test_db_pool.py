"""Server connection pool: idle connections are checked before use, busy ones are not (no round trip per transaction)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from records.db import make_engine
from tests.pg import PgCluster

pytestmark = pytest.mark.postgres


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(cluster: PgCluster, pid: int) -> None:
    with psycopg.connect(
        f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres", autocommit=True
    ) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        # wait until the backend is really gone
        for _ in range(100):
            row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            if row == (0,):
                return
            admin.execute("SELECT pg_sleep(0.02)")
    raise AssertionError(f"backend {pid} still alive")


def test_an_idle_connection_killed_by_the_server_is_replaced_transparently(
    postgres_url: str, pg_cluster: PgCluster
) -> None:
    engine = make_engine(postgres_url, idle_ping_seconds=0.0)
    try:
        first = _backend_pid(engine)
        _terminate(pg_cluster, first)
        second = _backend_pid(engine)  # the ping fails at checkout; the pool hands out a fresh connection
        assert second != first
        assert _backend_pid(engine) == second  # and keeps reusing it
    finally:
        engine.dispose()


def test_a_recently_used_connection_is_not_pinged_and_one_failure_renews_the_pool(
    postgres_url: str, pg_cluster: PgCluster
) -> None:
    engine = make_engine(postgres_url, idle_ping_seconds=3600.0)
    try:
        first = _backend_pid(engine)
        assert _backend_pid(engine) == first  # reused without a new connection
        _terminate(pg_cluster, first)
        # Not idle long enough to be pinged: the dead connection is handed out and its first statement fails...
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        # ...which invalidates the pool: the next transaction gets a fresh connection.
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()
