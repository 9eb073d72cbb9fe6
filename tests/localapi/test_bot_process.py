"""The harness starting the real bot process (`python -m bot.cli run`) against the local Bot API."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.fakes.telegram import BotProcess, FakeTelegram, bot_process, fake_telegram  # noqa: F401

pytestmark = pytest.mark.slow

USER = 6_000_000_001


def test_real_bot_answers_survives_kill9_and_output_is_captured(
    fake_telegram: FakeTelegram,  # noqa: F811
    bot_process: Callable[..., BotProcess],  # noqa: F811
) -> None:
    world = fake_telegram.world
    world.add_user(USER, "Nguyễn Văn", last_name="Thử", phone_number="+84912345678")
    bot = bot_process(args=("run", "--no-samples"))  # no regulations needed: faster start
    assert fake_telegram.wait_for_calls("getMe") >= 1
    sent = world.send_text(USER, "/start")
    greeting = fake_telegram.wait_for(USER, after=sent.message_id, timeout=30)
    assert greeting.text and greeting.parse_mode == "HTML"
    assert world.commands_for(USER), "the bot set its command menu"

    bot.kill9()
    assert not bot.alive
    pending = world.send_text(USER, "/start")  # arrives while the bot is down
    restarted = bot_process(args=("run", "--no-samples"))
    reply = fake_telegram.wait_for(USER, after=pending.message_id, timeout=60)
    assert reply.text == greeting.text  # the update sent during the outage was not lost
    assert restarted.alive
    output = restarted.output()
    assert "Application started" in output
    assert fake_telegram.token.split(":", 1)[1] not in output  # the token never reaches the logs
