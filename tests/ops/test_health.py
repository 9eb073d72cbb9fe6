"""`GET /healthz` of the real bot process on Postgres: 200 while the database answers, 503 (naming only the
failing part) while it is down, the bot itself staying up, and 200 again once the database is back."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e_workflows.conftest import running_flow
from tests.pg import started_cluster

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read())


def _wait_for(url: str, status: int, timeout: float = 30.0) -> tuple[int, dict[str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = _get(url)
        except OSError:
            got = (0, {})
        if got[0] == status or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


def test_health_turns_503_while_the_database_is_down_and_recovers(tmp_path: Path) -> None:
    cluster = started_cluster()
    try:
        url = cluster.create_database("health")
        port = _free_port()
        health = f"http://127.0.0.1:{port}/healthz"
        with running_flow(
            tmp_path,
            start="2026-10-02T09:00:00+07:00",
            database_url=url,
            env={"CANBO_HEALTH_PORT": str(port)},
        ) as flow:
            assert _wait_for(health, 200) == (200, {"status": "ok", "database": "ok"})
            cluster.pause()
            assert _wait_for(health, 503) == (503, {"status": "unhealthy", "database": "unavailable"})
            assert flow.bot.process is not None and flow.bot.process.poll() is None  # the bot stays up
            cluster.resume()
            assert _wait_for(health, 200) == (200, {"status": "ok", "database": "ok"})
            flow.say("BD03", "/trogiup", "các lệnh bạn được dùng")  # and serves users again
    finally:
        cluster.stop()
