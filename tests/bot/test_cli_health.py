"""`canbo health` (the docker-compose health check) against real databases and a real Chroma server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _canbo(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CANBO_", "TELEGRAM_"))}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_health_fails_until_the_database_is_migrated(tmp_path: Path) -> None:
    env = {"CANBO_DATA_DIR": str(tmp_path)}
    before = _canbo(["health"], env)
    assert before.returncode == 1
    assert "canbo db upgrade" in before.stdout
    assert _canbo(["db", "upgrade"], env).returncode == 0
    after = _canbo(["health"], env)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "Cơ sở dữ liệu: tốt" in after.stdout


def test_health_reports_an_unreachable_database(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "CANBO_DATA_DIR": str(tmp_path),
        "CANBO_DATABASE_URL": f"postgresql+psycopg://x@127.0.0.1:{port}/x",
    }
    result = _canbo(["health"], env)
    assert result.returncode == 1
    assert "không kết nối được" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.postgres
def test_health_checks_postgres_and_a_chroma_server(tmp_path: Path, postgres_url: str) -> None:
    env = {"CANBO_DATA_DIR": str(tmp_path), "CANBO_DATABASE_URL": postgres_url}
    assert _canbo(["db", "upgrade"], env).returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env["CANBO_CHROMA_URL"] = f"http://127.0.0.1:{port}"
    down = _canbo(["health"], env)
    assert down.returncode == 1 and "Máy chủ Chroma" in down.stdout
    chroma = Path(sys.executable).parent / "chroma"
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "chroma"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        result = _canbo(["health"], env)
        while result.returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.5)
            result = _canbo(["health"], env)
        assert result.returncode == 0, result.stdout
        assert "Máy chủ Chroma: tốt." in result.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
