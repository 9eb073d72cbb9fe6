"""Webhook mode: the real `canbo run` registers its webhook with the secret and refuses unsigned posts; its
health endpoint answers the proxy."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import fresh_data_dir
from tests.fakes.telegram import BotProcess, FakeTelegram, free_port, post_webhook, text_update

pytestmark = pytest.mark.slow

USER_ID = 7_100_000_001
SECRET = "webhook-secret_123"


def _get(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def test_webhook_mode_with_secret_token(tmp_path: Path, sample_data_template: Path) -> None:
    data_dir = fresh_data_dir(sample_data_template, tmp_path / "data")
    port, health_port = free_port(), free_port()
    with FakeTelegram() as telegram:
        telegram.world.add_user(USER_ID, "Web")
        env = {
            "CANBO_WEBHOOK_URL": "https://canbo.example.vn/tg-hook",
            "CANBO_WEBHOOK_SECRET": SECRET,
            "CANBO_WEBHOOK_LISTEN": "127.0.0.1",
            "CANBO_WEBHOOK_PORT": str(port),
            "CANBO_HEALTH_PORT": str(health_port),
        }
        bot = BotProcess(telegram, data_dir, env=env).start(wait_polling=False)
        try:
            telegram.world.wait_until(lambda: telegram.world.webhook_url or None, 120)
            assert telegram.world.webhook_url == "https://canbo.example.vn/tg-hook"
            local = f"http://127.0.0.1:{port}/tg-hook"
            deadline = time.monotonic() + 60
            while True:  # the webhook server starts right after setWebhook
                try:
                    status = post_webhook(local, text_update(1, USER_ID, "/trogiup"), "wrong-secret")
                    break
                except OSError:
                    assert time.monotonic() < deadline, bot.output()[-2000:]
                    time.sleep(0.2)
            assert status == 403
            assert post_webhook(local, text_update(2, USER_ID, "/trogiup"), SECRET) == 200
            reply = telegram.wait_for_text(USER_ID, "các lệnh bạn được dùng", timeout=30)
            assert "/hoi" in reply.body
            assert (
                post_webhook(local, text_update(2, USER_ID, "/trogiup"), SECRET) == 200
            )  # Telegram retries: handled once
            marker = post_webhook(local, text_update(3, USER_ID, "/huy"), SECRET)
            assert marker == 200
            telegram.wait_for_text(USER_ID, "Không có thao tác", after=reply.message_id)
            helps = [m for m in telegram.world.bot_messages(USER_ID) if "các lệnh bạn được dùng" in m.body]
            assert len(helps) == 1
            assert telegram.world.calls["getUpdates"] == 0
            health = f"http://127.0.0.1:{health_port}"
            status, body = _get(f"{health}/healthz")
            assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok"})
            assert _get(f"{health}/healthz", method="HEAD")[0] == 200
            assert _get(f"{health}/healthz", method="POST")[0] == 405
            assert _get(f"{health}/tg-hook")[0] == 404
        finally:
            bot.stop()
        assert SECRET not in bot.output() and telegram.token.split(":")[1] not in bot.output()
