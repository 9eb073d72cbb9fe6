"""Rotating the bot token on a live bot, as docs/operations.md says: @BotFather revokes token A and gives B, the
operator puts B in `.env` and restarts. The real bot process against the fake Bot API (which models /revoke and,
in webhook mode, delivers updates to the bot's webhook as Telegram does): updates sent while nobody could fetch
them are answered once after the restart, a conversation in progress and the sign-ins survive, and token A is not
used again; a start with the revoked token stops with a clear message. In polling and in webhook mode; in webhook
mode the new secret replaces the old one too, and a post signed with the old secret is refused unread.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlmodel import select

from bot.localapi import ChatMessage, World
from records.botstate import BotUpdate
from records.db import make_engine, session_scope
from records.evaluations import find_evaluation
from records.people import find_person_by_code
from tests.e2e_workflows.conftest import PHONES, USERS, seed
from tests.fakes.telegram import BotProcess, FakeTelegram, free_port, post_webhook, text_update

pytestmark = pytest.mark.slow

TOKEN_A = "123456:AAE_token-A-before-the-revoke-0123456789abc"
TOKEN_B = "123456:AAF_token-B-after-the-revoke-9876543210xyz"
TASK = "Báo cáo sơ kết quý | Trình Thường trực | 25/10"
NOTICE = "chưa được trả lời vì bot đang được đổi khóa truy cập"
REFUSED = "Telegram từ chối TELEGRAM_BOT_TOKEN (token sai hoặc đã bị thu hồi)"
STOPPING = "Telegram refused the bot token (revoked?): stopping; put the new token in .env and restart"
PUBLIC_HOOK = "https://canbo.example.vn/tg-hook"  # CANBO_WEBHOOK_URL, behind the reverse proxy
SECRET_A = "hook-secret-A_before-the-rotation"
SECRET_B = "hook-secret-B_after-the-rotation"


def _seeded(tmp_path: Path) -> tuple[Path, Path]:
    """A data dir with the roster seeded, and the workflow clock file at 2 Oct 2026, 09:00 Hà Nội time."""
    data = tmp_path / "data"
    seed(data)
    clock = tmp_path / "now.txt"
    clock.write_text("2026-10-02T09:00:00+07:00", encoding="utf-8")
    return data, clock


def _bot(telegram: FakeTelegram, data: Path, env: dict[str, str], log: str) -> BotProcess:
    """`canbo run` reading TELEGRAM_BOT_TOKEN from `.env` in its working directory, as on the server."""
    return BotProcess(
        telegram,
        data,
        args=("run", "--no-samples"),
        env=env,
        unset=("TELEGRAM_BOT_TOKEN",),
        log_path=data.parent / log,
    )


def _replies(telegram: FakeTelegram, code: str, fragment: str, after: int) -> list[str]:
    return [
        m.body
        for m in telegram.world.bot_messages(USERS[code])
        if m.message_id > after and fragment in m.body
    ]


def _sign_in_and_start_a_task(telegram: FakeTelegram) -> None:
    """BD02 (manager) and BD03 sign in; BD03 opens /kehoach and presses «Thêm việc»: the bot waits for the task."""
    world = telegram.world
    for code in ("BD02", "BD03"):
        world.add_user(USERS[code], code, phone_number=PHONES[code])
    for code in ("BD02", "BD03"):
        shared = world.share_contact(USERS[code])
        telegram.wait_for_text(USERS[code], "Đã liên kết tài khoản", after=shared.message_id)
    sent = world.send_text(USERS["BD03"], "/kehoach")
    plan = telegram.wait_for_text(USERS["BD03"], "Kế hoạch công việc kỳ 2026-10", after=sent.message_id)
    label = next(b for b in plan.button_texts if b.startswith("➕ Thêm việc"))
    world.press_button(USERS["BD03"], plan.chat_id, plan.message_id, text=label)
    telegram.wait_for_text(USERS["BD03"], "Gõ một việc theo mẫu", after=plan.message_id)


def _finish_after_restart(
    telegram: FakeTelegram, task: ChatMessage, help_: ChatMessage, queued: ChatMessage
) -> None:
    """After the restart with token B: each message sent around the revoke gets one answer — its reply, or
    (when the old process had taken it and could not answer) a notice saying so; the conversation goes on and
    BD02, signed in before the rotation, still is and gets the plan as manager."""
    world = telegram.world
    telegram.wait_for(
        USERS["BD03"], lambda m: "Đã lưu việc «Báo cáo sơ kết quý»" in m.body or NOTICE in m.body,
        after=task.message_id,
    )  # fmt: skip
    telegram.wait_for(
        USERS["BD02"], lambda m: "/kehoach" in m.body or NOTICE in m.body, after=help_.message_id
    )
    plan = telegram.wait_for_text(USERS["BD03"], "Báo cáo sơ kết quý", after=queued.message_id)
    label = next(b for b in plan.button_texts if b.startswith("✅ Xong"))
    world.press_button(USERS["BD03"], plan.chat_id, plan.message_id, text=label)
    telegram.wait_for_text(USERS["BD03"], "Đã lưu kế hoạch kỳ 2026-10 (1 việc)", after=plan.message_id)
    telegram.wait_for_text(USERS["BD02"], "Báo cáo sơ kết quý", after=help_.message_id)


def _assert_each_answered_once(
    telegram: FakeTelegram, task: ChatMessage, help_: ChatMessage, queued: ChatMessage
) -> None:
    task_replies = _replies(telegram, "BD03", "Đã lưu việc «Báo cáo sơ kết quý»", task.message_id)
    task_notices = _replies(telegram, "BD03", NOTICE, task.message_id)
    assert len(task_replies) + len(task_notices) == 1, (task_replies, task_notices)
    plans = _replies(telegram, "BD03", "Kế hoạch công việc kỳ 2026-10", queued.message_id)
    assert len(plans) == 1, plans  # the queued message answered once
    help_replies = [
        m.body for m in telegram.world.bot_messages(USERS["BD02"]) if m.message_id > help_.message_id
    ]
    assert sum(("/kehoach" in b and "/danhgia" in b) or NOTICE in b for b in help_replies) == 1, help_replies


def _revoke_while_two_people_write(
    telegram: FakeTelegram, bot: BotProcess
) -> tuple[ChatMessage, ChatMessage]:
    """@BotFather: /revoke, then BD03 sends the step its conversation waits for and BD02 asks for help. The
    bot sees Telegram refuse token A and exits 2 with the reason."""
    world = telegram.world
    telegram.revoke_token(TOKEN_B)
    revoked = time.monotonic()
    task = world.send_text(USERS["BD03"], TASK)  # the step the conversation waits for
    help_ = world.send_text(USERS["BD02"], "/trogiup")
    assert bot.process is not None and bot.process.wait(60) == 2
    assert REFUSED in bot.output()
    assert any(r[3] == 401 for r in telegram.requests_with(TOKEN_A, since=revoked))
    return task, help_


def _saved_tasks(data: Path) -> list[str]:
    """The titles of BD03's tasks for 2026-10 in the bot's database."""
    engine = make_engine(f"sqlite:///{data / 'canbo.db'}")
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code="BD03")
            assert person is not None
            record = find_evaluation(session, actor_id=person.id, person_id=person.id, period="2026-10")
            assert record is not None
            return [t.title for t in record.tasks]
    finally:
        engine.dispose()


def test_token_rotated_on_a_live_bot_loses_and_repeats_nothing(tmp_path: Path) -> None:
    data, clock = _seeded(tmp_path)
    env = {"CANBO_NOW_FILE": str(clock)}
    env_file = data / ".env"
    env_file.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN_A}\n", encoding="utf-8")
    with FakeTelegram(token=TOKEN_A) as telegram:
        world = telegram.world
        bot_a = _bot(telegram, data, env, "bot-a.log").start(timeout=120)
        _sign_in_and_start_a_task(telegram)

        # @BotFather: /revoke. Token A stops working at once. What users send now reaches nobody, or — when the
        # running bot's long poll was already waiting — the old process, which can no longer answer. The bot
        # sees Telegram refuse the token, stops polling and exits with the reason (systemd restarts it).
        task, help_ = _revoke_while_two_people_write(telegram, bot_a)

        # The restart before .env is edited (systemd's Restart=always): the same clear refusal, exit 2.
        stale = _bot(telegram, data, env, "bot-stale.log").start(wait_polling=False)
        assert stale.process is not None and stale.process.wait(60) == 2
        assert REFUSED in stale.output()
        assert "Traceback" not in stale.output()

        # Sent while no bot runs: it waits at Telegram for the new token.
        queued = world.send_text(USERS["BD03"], "/kehoach")

        # As documented: the new token in .env, restart.
        env_file.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN_B}\n", encoding="utf-8")
        restarted = time.monotonic()
        bot_b = _bot(telegram, data, env, "bot-b.log").start(timeout=120)
        _finish_after_restart(telegram, task, help_, queued)
        time.sleep(2.0)  # room for a duplicate answer to show up
        bot_b.stop()

    _assert_each_answered_once(telegram, task, help_, queued)
    # Token A is not used again once the new token is in place, and Telegram accepted B.
    assert telegram.requests_with(TOKEN_A, since=restarted) == []
    with_b = telegram.requests_with(TOKEN_B, since=restarted)
    assert any(r[2] == "getUpdates" and r[3] == 200 for r in with_b)
    assert not [
        r for r in with_b if r[3] == 401
    ]  # (a 409 is the last poll meeting the cancelled one at stop)
    assert _saved_tasks(data) == ["Báo cáo sơ kết quý"]  # saved once
    ours = [x for x in bot_a.output().splitlines() if " ERROR " in x and " telegram.ext" not in x]
    assert not ours, ours  # no incident: only PTB's own line about the refused token
    assert TOKEN_B not in bot_b.output() and TOKEN_A not in bot_a.output()  # the token is never logged
    problems = [line for line in bot_b.output().splitlines() if " ERROR " in line or "Traceback" in line]
    assert not problems, problems


def _webhook_env(clock: Path, port: int, **extra: str) -> dict[str, str]:
    """Webhook mode as in docs/operations.md (the token and the secret come from `.env`)."""
    return {
        "CANBO_NOW_FILE": str(clock),
        "CANBO_WEBHOOK_URL": PUBLIC_HOOK,
        "CANBO_WEBHOOK_LISTEN": "127.0.0.1",
        "CANBO_WEBHOOK_PORT": str(port),
        **extra,
    }


def _update_id(world: World, message: ChatMessage) -> int:
    """The id of the update that carried a user's `message`."""
    return next(
        update_id
        for update_id, update in world.update_log.items()
        if isinstance(update.get("message"), dict)
        and update["message"]["message_id"] == message.message_id
        and update["message"]["chat"]["id"] == message.chat_id
    )


def _statuses(telegram: FakeTelegram, update_id: int) -> list[int | None]:
    """What the bot's webhook answered to each delivery of `update_id` (None: nothing listened)."""
    return [status for _, delivered, status in telegram.webhook_deliveries if delivered == update_id]


def _handled(data: Path, update_id: int) -> bool:
    """The bot started handling this update id (bot.updates claims every update before any handler runs)."""
    engine = make_engine(f"sqlite:///{data / 'canbo.db'}")
    try:
        with session_scope(engine) as session:
            return session.exec(select(BotUpdate).where(BotUpdate.update_id == update_id)).first() is not None
    finally:
        engine.dispose()


def test_token_rotated_on_a_webhook_bot_loses_and_repeats_nothing(tmp_path: Path) -> None:
    data, clock = _seeded(tmp_path)
    port = free_port()
    local_hook = f"http://127.0.0.1:{port}/tg-hook"  # where the reverse proxy forwards PUBLIC_HOOK
    # The hourly check is not what finds the revoke here: the first answer the bot tries is.
    env = _webhook_env(clock, port, CANBO_TOKEN_CHECK_S="3600")
    env_file = data / ".env"
    env_file.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN_A}\nCANBO_WEBHOOK_SECRET={SECRET_A}\n", encoding="utf-8")
    with FakeTelegram(token=TOKEN_A) as telegram:
        world = telegram.world
        telegram.route_webhook(PUBLIC_HOOK, local_hook)
        bot_a = _bot(telegram, data, env, "hook-a.log").start(wait_webhook=True, timeout=120)
        assert (world.webhook_url, world.webhook_secret) == (PUBLIC_HOOK, SECRET_A)
        _sign_in_and_start_a_task(telegram)

        # @BotFather: /revoke. Telegram keeps calling the webhook (with the registered secret), but the bot can
        # answer nothing with token A: the first refused answer stops it, with the reason, exit 2.
        task, help_ = _revoke_while_two_people_write(telegram, bot_a)
        assert STOPPING in bot_a.output()
        assert 200 in _statuses(
            telegram, _update_id(world, task)
        )  # the old process took it, could not answer

        # The restart before .env is edited (systemd's Restart=always): refused at once, exit 2, no webhook server.
        stale = _bot(telegram, data, env, "hook-stale.log").start(wait_polling=False)
        assert stale.process is not None and stale.process.wait(60) == 2
        assert REFUSED in stale.output()
        assert "Traceback" not in stale.output()

        # Sent while no bot runs: Telegram cannot deliver it (nothing listens behind the proxy), keeps it, retries.
        queued = world.send_text(USERS["BD03"], "/kehoach")
        queued_id = _update_id(world, queued)
        world.wait_until(lambda: None in _statuses(telegram, queued_id), 30)

        # As documented: the new token and a new webhook secret in .env, restart.
        env_file.write_text(
            f"TELEGRAM_BOT_TOKEN={TOKEN_B}\nCANBO_WEBHOOK_SECRET={SECRET_B}\n", encoding="utf-8"
        )
        restarted = time.monotonic()
        bot_b = _bot(telegram, data, env, "hook-b.log").start(wait_webhook=True, timeout=120)
        # setWebhook again, with token B and the new secret; Telegram now signs its deliveries with it.
        assert any(
            r[2] == "setWebhook" and r[3] == 200 for r in telegram.requests_with(TOKEN_B, since=restarted)
        )
        assert (world.webhook_url, world.webhook_secret) == (PUBLIC_HOOK, SECRET_B)
        _finish_after_restart(telegram, task, help_, queued)
        assert _statuses(telegram, queued_id)[-1] == 200

        # A post signed with the old secret (or none) is refused and never handled.
        forged_id = 900_000_001
        forged = text_update(forged_id, USERS["BD02"], "/trogiup", first_name="BD02")
        assert post_webhook(local_hook, forged, SECRET_A) == 403
        assert post_webhook(local_hook, forged, None) == 403
        # Telegram redelivers an update it had already delivered: handled once.
        world.redeliver(queued_id)
        world.wait_until(lambda: _statuses(telegram, queued_id).count(200) >= 2, 30)
        time.sleep(2.0)  # room for a duplicate answer (or the forged update's) to show up
        bot_b.stop()

    _assert_each_answered_once(telegram, task, help_, queued)
    assert not _handled(data, forged_id)
    assert _saved_tasks(data) == ["Báo cáo sơ kết quý"]  # saved once
    # Token A is not used again once the new token is in place; B was never refused; the bot never polled.
    assert telegram.requests_with(TOKEN_A, since=restarted) == []
    assert not [r for r in telegram.requests_with(TOKEN_B, since=restarted) if r[3] == 401]
    assert world.calls["getUpdates"] == 0
    ours = [x for x in bot_a.output().splitlines() if " ERROR " in x and " telegram.ext" not in x]
    assert not ours, ours  # no incident: a refused token is not a bug
    for output in (bot_a.output(), stale.output(), bot_b.output()):
        for secret in (TOKEN_A, TOKEN_B, SECRET_A, SECRET_B):
            assert secret not in output  # neither token nor secret is ever logged
    problems = [line for line in bot_b.output().splitlines() if " ERROR " in line or "Traceback" in line]
    assert not problems, problems


def test_an_idle_webhook_bot_stops_when_its_token_is_revoked(tmp_path: Path) -> None:
    """Nobody writes, so no answer is refused: the periodic check (CANBO_TOKEN_CHECK_S) finds the revoke."""
    data, clock = _seeded(tmp_path)
    port = free_port()
    env = _webhook_env(clock, port, CANBO_TOKEN_CHECK_S="1")
    (data / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN_A}\nCANBO_WEBHOOK_SECRET={SECRET_A}\n", encoding="utf-8"
    )
    with FakeTelegram(token=TOKEN_A) as telegram:
        telegram.route_webhook(PUBLIC_HOOK, f"http://127.0.0.1:{port}/tg-hook")
        bot = _bot(telegram, data, env, "hook-idle.log").start(wait_webhook=True, timeout=120)
        telegram.wait_for_calls("getWebhookInfo", 2, timeout=30)  # checking, and still accepted
        assert bot.alive
        telegram.revoke_token(TOKEN_B)
        revoked = time.monotonic()
        assert bot.process is not None and bot.process.wait(30) == 2
    assert REFUSED in bot.output() and STOPPING in bot.output()
    refused = [r for r in telegram.requests_with(TOKEN_A, since=revoked) if r[3] == 401]
    assert refused and refused[0][2] == "getWebhookInfo", refused
    assert "Traceback" not in bot.output() and TOKEN_A not in bot.output()
