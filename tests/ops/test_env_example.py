"""The first steps of docs/operations.md as an operator takes them: `.env.example` copied to `.env` with only the
token (and here the local Bot API) and the data directory set, every other line left as shipped, then the real
`canbo db upgrade`, `canbo health` and `canbo run` in that directory, with nothing else in the environment."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.playground import die_with_parent
from tests.fakes.telegram import REPO_ROOT, FakeTelegram

pytestmark = pytest.mark.slow

USER_ID = 7_200_000_001


def _write_env(app: Path, data_dir: Path, telegram: FakeTelegram) -> None:
    text = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    for name, value in (
        ("TELEGRAM_BOT_TOKEN", telegram.token),
        ("TELEGRAM_API_BASE", telegram.base_url),
        ("CANBO_DATA_DIR", str(data_dir)),
    ):
        text, count = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.M)
        assert count == 1, f".env.example has no line {name}="
    (app / ".env").write_text(text, encoding="utf-8")


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CANBO_"))}
    env.update(PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def _canbo(app: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=app,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_copied_env_example_with_the_token_and_data_dir_set_works(tmp_path: Path) -> None:
    app, data_dir = tmp_path / "app", tmp_path / "var-lib-canbo"
    app.mkdir()
    data_dir.mkdir()
    with FakeTelegram() as telegram:
        telegram.world.add_user(USER_ID, "An")
        _write_env(app, data_dir, telegram)

        upgraded = _canbo(app, "db", "upgrade")
        assert upgraded.returncode == 0, (
            upgraded.stdout + upgraded.stderr
        )  # was: CANBO_WEBHOOK_SECRET invalid
        assert (data_dir / "canbo.db").exists()
        health = _canbo(app, "health")
        assert health.returncode == 0, health.stdout + health.stderr
        assert "Cơ sở dữ liệu: tốt" in health.stdout
        assert f"Kho văn bản: Chroma nhúng trong {data_dir / 'index'}" in health.stdout

        log_path = tmp_path / "bot.log"
        with log_path.open("wb") as log_file:
            bot = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--no-samples"],
                cwd=app,
                env=_environment(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        try:
            deadline = time.monotonic() + 90
            while telegram.world.calls["getUpdates"] == 0:  # polling: the .env's empty webhook URL
                assert bot.poll() is None, log_path.read_text(encoding="utf-8", errors="replace")
                assert time.monotonic() < deadline, log_path.read_text(encoding="utf-8", errors="replace")
                time.sleep(0.1)
            sent = telegram.world.send_text(USER_ID, "/trogiup")
            telegram.wait_for_text(USER_ID, "các lệnh bạn được dùng", after=sent.message_id, timeout=30)
        finally:
            if bot.poll() is None:
                bot.send_signal(signal.SIGTERM)
                try:
                    bot.wait(15)
                except subprocess.TimeoutExpired:
                    bot.kill()
                    bot.wait(10)
        assert bot.returncode == 0, log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
