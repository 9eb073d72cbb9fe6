"""Rotating the bot token on a live bot, as docs/operations.md says: @BotFather revokes token A and gives B, the
operator puts B in `.env` and restarts. The real bot process against the fake Bot API (which models /revoke):
updates sent while nobody could fetch them are answered once after the restart, a conversation in progress and
the sign-ins survive, and token A is not used again; a start with the revoked token stops with a clear message."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from records.db import make_engine, session_scope
from records.evaluations import find_evaluation
from records.people import find_person_by_code
from tests.e2e_workflows.conftest import PHONES, USERS, seed
from tests.fakes.telegram import BotProcess, FakeTelegram

pytestmark = pytest.mark.slow

TOKEN_A = "123456:AAE_token-A-before-the-revoke-0123456789abc"
TOKEN_B = "123456:AAF_token-B-after-the-revoke-9876543210xyz"
TASK = "Báo cáo sơ kết quý | Trình Thường trực | 25/10"
NOTICE = "chưa được trả lời vì bot đang được đổi khóa truy cập"


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


def test_token_rotated_on_a_live_bot_loses_and_repeats_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seed(data)
    clock = tmp_path / "now.txt"
    clock.write_text("2026-10-02T09:00:00+07:00", encoding="utf-8")
    env = {"CANBO_NOW_FILE": str(clock)}
    env_file = data / ".env"
    env_file.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN_A}\n", encoding="utf-8")
    with FakeTelegram(token=TOKEN_A) as telegram:
        world = telegram.world
        for code in ("BD02", "BD03"):
            world.add_user(USERS[code], code, phone_number=PHONES[code])
        bot_a = _bot(telegram, data, env, "bot-a.log").start(timeout=120)
        for code in ("BD02", "BD03"):
            shared = world.share_contact(USERS[code])
            telegram.wait_for_text(USERS[code], "Đã liên kết tài khoản", after=shared.message_id)
        sent = world.send_text(USERS["BD03"], "/kehoach")
        plan = telegram.wait_for_text(USERS["BD03"], "Kế hoạch công việc kỳ 2026-10", after=sent.message_id)
        label = next(b for b in plan.button_texts if b.startswith("➕ Thêm việc"))
        world.press_button(USERS["BD03"], plan.chat_id, plan.message_id, text=label)
        telegram.wait_for_text(USERS["BD03"], "Gõ một việc theo mẫu", after=plan.message_id)

        # @BotFather: /revoke. Token A stops working at once. What users send now reaches nobody, or — when the
        # running bot's long poll was already waiting — the old process, which can no longer answer.
        telegram.revoke_token(TOKEN_B)
        revoked = time.monotonic()
        task = world.send_text(USERS["BD03"], TASK)  # the step the conversation waits for
        help_ = world.send_text(USERS["BD02"], "/trogiup")
        # The bot sees Telegram refuse the token, stops polling and exits with the reason (systemd restarts it).
        assert bot_a.process is not None and bot_a.process.wait(60) == 2
        assert "Telegram từ chối TELEGRAM_BOT_TOKEN (token sai hoặc đã bị thu hồi)" in bot_a.output()
        assert any(r[3] == 401 for r in telegram.requests_with(TOKEN_A, since=revoked))

        # The restart before .env is edited (systemd's Restart=always): the same clear refusal, exit 2.
        stale = _bot(telegram, data, env, "bot-stale.log").start(wait_polling=False)
        assert stale.process is not None and stale.process.wait(60) == 2
        assert "Telegram từ chối TELEGRAM_BOT_TOKEN (token sai hoặc đã bị thu hồi)" in stale.output()
        assert "Traceback" not in stale.output()

        # Sent while no bot runs: it waits at Telegram for the new token.
        queued = world.send_text(USERS["BD03"], "/kehoach")

        # As documented: the new token in .env, restart.
        env_file.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN_B}\n", encoding="utf-8")
        restarted = time.monotonic()
        bot_b = _bot(telegram, data, env, "bot-b.log").start(timeout=120)
        # Each message sent around the revoke gets one answer: its reply, or (when the old process had taken it
        # and could not answer) a notice saying so — never none, never both.
        telegram.wait_for(
            USERS["BD03"], lambda m: "Đã lưu việc «Báo cáo sơ kết quý»" in m.body or NOTICE in m.body,
            after=task.message_id,
        )  # fmt: skip
        telegram.wait_for(
            USERS["BD02"], lambda m: "/kehoach" in m.body or NOTICE in m.body, after=help_.message_id
        )
        # The conversation goes on; BD02, signed in before the rotation, still is and gets the plan as manager.
        plan = telegram.wait_for_text(USERS["BD03"], "Báo cáo sơ kết quý", after=queued.message_id)
        label = next(b for b in plan.button_texts if b.startswith("✅ Xong"))
        world.press_button(USERS["BD03"], plan.chat_id, plan.message_id, text=label)
        telegram.wait_for_text(USERS["BD03"], "Đã lưu kế hoạch kỳ 2026-10 (1 việc)", after=plan.message_id)
        telegram.wait_for_text(USERS["BD02"], "Báo cáo sơ kết quý", after=help_.message_id)
        time.sleep(2.0)  # room for a duplicate answer to show up
        bot_b.stop()

    task_replies = _replies(telegram, "BD03", "Đã lưu việc «Báo cáo sơ kết quý»", task.message_id)
    task_notices = _replies(telegram, "BD03", NOTICE, task.message_id)
    assert len(task_replies) + len(task_notices) == 1, (task_replies, task_notices)
    plans = _replies(telegram, "BD03", "Kế hoạch công việc kỳ 2026-10", queued.message_id)
    assert len(plans) == 1, plans  # the queued message answered once
    help_replies = [m.body for m in world.bot_messages(USERS["BD02"]) if m.message_id > help_.message_id]
    assert sum(("/kehoach" in b and "/danhgia" in b) or NOTICE in b for b in help_replies) == 1
    # Token A is not used again once the new token is in place, and Telegram accepted B.
    assert telegram.requests_with(TOKEN_A, since=restarted) == []
    with_b = telegram.requests_with(TOKEN_B, since=restarted)
    assert any(r[2] == "getUpdates" and r[3] == 200 for r in with_b)
    assert not [
        r for r in with_b if r[3] == 401
    ]  # (a 409 is the last poll meeting the cancelled one at stop)
    engine = make_engine(f"sqlite:///{data / 'canbo.db'}")
    try:
        with session_scope(engine) as session:
            person = find_person_by_code(session, cadre_code="BD03")
            assert person is not None
            record = find_evaluation(session, actor_id=person.id, person_id=person.id, period="2026-10")
            assert record is not None and [t.title for t in record.tasks] == [
                "Báo cáo sơ kết quý"
            ]  # saved once
    finally:
        engine.dispose()
    ours = [x for x in bot_a.output().splitlines() if " ERROR " in x and " telegram.ext" not in x]
    assert not ours, ours  # no incident: only PTB's own line about the refused token
    assert TOKEN_B not in bot_b.output() and TOKEN_A not in bot_a.output()  # the token is never logged
    problems = [line for line in bot_b.output().splitlines() if " ERROR " in line or "Traceback" in line]
    assert not problems, problems
