"""The playground page's JSON API against the local Bot API, with an unmodified PTB bot on the other side."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.playground import demo_personas
from tests.fakes.telegram import FakeTelegram, ptb_polling

PERSONAS = demo_personas()
CADRE = PERSONAS[0]


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(personas=PERSONAS) as fake:
        yield fake


async def _json(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with session.request(method, url, **kwargs) as response:
        return response.status, await response.json()


def test_people_are_the_demo_roster_one_per_role(telegram: FakeTelegram) -> None:
    async def scenario() -> Any:
        async with aiohttp.ClientSession() as session:
            return await _json(session, "GET", f"{telegram.base_url}/playground/api/people")

    status, body = asyncio.run(scenario())
    assert status == 200
    assert [p["role"] for p in body["people"]] == ["cadre", "reviewer", "head", "staff", "admin"]
    assert all(p["phone"].startswith("+84") and p["role_label"] for p in body["people"])
    assert body["bot"]["username"] == "canbo_test_bot"
    assert telegram.world.user(CADRE.user_id).phone_number == CADRE.phone


def test_chat_round_trip_keyboard_contact_buttons_edits_and_commands(telegram: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await context.bot.set_my_commands([("start", "Bắt đầu")])
        keyboard = ReplyKeyboardMarkup(
            [[KeyboardButton("Chia sẻ số", request_contact=True)]], one_time_keyboard=True
        )
        await update.effective_message.reply_html("<b>Chào</b> &lt;bạn&gt;", reply_markup=keyboard)

    async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.contact is not None
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Duyệt", callback_data="eval:ok")]])
        await message.reply_text(f"Số {message.contact.phone_number}", reply_markup=markup)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Đã duyệt", show_alert=True)
        await query.edit_message_text("Đã duyệt xong")

    async def scenario() -> None:
        handlers = [
            CommandHandler("start", start),
            MessageHandler(filters.CONTACT, contact),
            CallbackQueryHandler(pressed),
        ]
        base = f"{telegram.base_url}/playground/api"
        async with ptb_polling(telegram, handlers), aiohttp.ClientSession() as session:
            status, first = await _json(session, "GET", f"{base}/chat?user_id={CADRE.user_id}&since=0")
            assert status == 200 and first["messages"] == [] and first["reset"] is True
            version = first["version"]
            status, _ = await _json(
                session, "POST", f"{base}/send", json={"user_id": CADRE.user_id, "text": "/start"}
            )
            assert status == 200
            # Long poll until the bot's greeting arrives.
            greeting: dict[str, Any] | None = None
            keyboard = None
            deadline = time.monotonic() + 10
            while greeting is None and time.monotonic() < deadline:
                _, data = await _json(
                    session, "GET", f"{base}/chat?user_id={CADRE.user_id}&since={version}&wait=5"
                )
                version = data["version"]
                greeting = next((m for m in data["messages"] if m["from_bot"]), None)
                keyboard = data["keyboard"]
            assert greeting is not None and greeting["html"] == "<b>Chào</b> &lt;bạn&gt;"
            assert keyboard is not None and keyboard["keyboard"][0][0]["request_contact"] is True
            _, data = await _json(session, "GET", f"{base}/chat?user_id={CADRE.user_id}&since=0")
            assert data["commands"] == [{"command": "start", "description": "Bắt đầu"}]
            assert data["bot_online"] is True

            await _json(session, "POST", f"{base}/contact", json={"user_id": CADRE.user_id})
            reply = await asyncio.to_thread(telegram.wait_for_text, CADRE.user_id, "Số ")
            assert reply.text == f"Số {CADRE.phone}"
            status, pressed_body = await _json(
                session,
                "POST",
                f"{base}/press",
                json={"user_id": CADRE.user_id, "message_id": reply.message_id, "data": "eval:ok"},
            )
            assert status == 200
            await asyncio.to_thread(telegram.wait_for, CADRE.user_id, lambda m: m.edit_count == 1)
            _, data = await _json(session, "GET", f"{base}/chat?user_id={CADRE.user_id}&since={version}")
            edited = [m for m in data["messages"] if m["message_id"] == reply.message_id]
            assert edited and edited[0]["edited"] is True and edited[0]["html"] == "Đã duyệt xong"
            assert edited[0]["inline_keyboard"] == []
            assert data["answers"] == [
                {"query_id": pressed_body["query_id"], "text": "Đã duyệt", "show_alert": True}
            ]
            assert data["keyboard"] is None  # the one-time keyboard went away after the contact

    asyncio.run(scenario())
    contact_message = telegram.world.messages(CADRE.user_id)[2]
    assert contact_message.contact == {
        "phone_number": CADRE.phone,
        "first_name": "Nguyễn Văn",
        "last_name": "An",
        "user_id": CADRE.user_id,
    }


def test_upload_reaches_the_bot_and_files_download_from_the_page(telegram: FakeTelegram) -> None:
    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.document is not None
        data = bytes(await (await message.document.get_file()).download_as_bytearray())
        await message.reply_document(data[::-1], filename="Bảng tổng hợp.xlsx")

    async def scenario() -> tuple[bytes, str]:
        base = f"{telegram.base_url}/playground/api"
        handlers = [MessageHandler(filters.Document.ALL, on_document)]
        async with ptb_polling(telegram, handlers), aiohttp.ClientSession() as session:
            form = aiohttp.FormData()
            form.add_field("user_id", str(CADRE.user_id))
            form.add_field("file", b"abc\x00def", filename="danh_sach.csv", content_type="text/csv")
            status, _ = await _json(session, "POST", f"{base}/upload", data=form)
            assert status == 200
            sent = await asyncio.to_thread(telegram.wait_for, CADRE.user_id, lambda m: m.document is not None)
            assert sent.document is not None
            async with session.get(f"{base}/file/{sent.document.file_id}?download=1") as response:
                return await response.read(), response.headers["Content-Disposition"]

    body, disposition = asyncio.run(scenario())
    assert body == b"fed\x00cba"
    assert disposition == "attachment; filename*=UTF-8''B%E1%BA%A3ng%20t%E1%BB%95ng%20h%E1%BB%A3p.xlsx"
    uploaded = telegram.world.messages(CADRE.user_id)[0]
    assert uploaded.document is not None and uploaded.document.file_name == "danh_sach.csv"


def test_bad_requests_get_vietnamese_errors_and_nothing_is_recorded(telegram: FakeTelegram) -> None:
    async def scenario() -> list[tuple[int, Any]]:
        base = f"{telegram.base_url}/playground/api"
        async with aiohttp.ClientSession() as session:
            return [
                await _json(session, "POST", f"{base}/send", json={"user_id": 1, "text": "xin chào"}),
                await _json(session, "POST", f"{base}/send", json={"user_id": CADRE.user_id, "text": "  "}),
                await _json(session, "POST", f"{base}/send", data=b"not json"),
                await _json(
                    session,
                    "POST",
                    f"{base}/press",
                    json={"user_id": CADRE.user_id, "message_id": 99, "data": "x"},
                ),
                await _json(session, "GET", f"{base}/chat?user_id={CADRE.user_id}&since=abc"),
            ]

    results = asyncio.run(scenario())
    assert [status for status, _ in results] == [400, 400, 400, 400, 400]
    assert results[0][1]["error"] == "Không có người dùng này trong chế độ thử nghiệm."
    assert results[1][1]["error"] == "Tin nhắn trống."
    assert results[3][1]["error"] == "Nút này không còn dùng được."
    assert telegram.world.messages(CADRE.user_id) == []
    assert telegram.world.last_update_id == 700_000_000


def test_static_page_and_long_poll_timeout(telegram: FakeTelegram) -> None:
    async def scenario() -> tuple[str, int, float, Any]:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{telegram.base_url}/playground/") as response:
                page = await response.text()
            async with session.get(f"{telegram.base_url}/playground/static/secret.py") as response:
                missing = response.status
            _, first = await _json(
                session, "GET", f"{telegram.base_url}/playground/api/chat?user_id={CADRE.user_id}&since=0"
            )
            started = time.monotonic()
            _, idle = await _json(
                session,
                "GET",
                f"{telegram.base_url}/playground/api/chat?user_id={CADRE.user_id}&since={first['version']}&wait=0.5",
            )
            return page, missing, time.monotonic() - started, idle

    page, missing, waited, idle = asyncio.run(scenario())
    assert '<html lang="vi">' in page and "/playground/static/app.js" in page
    assert missing == 404
    assert 0.45 <= waited < 3.0
    assert idle["messages"] == [] and idle["reset"] is False and idle["bot_online"] is False


def test_typing_status_shows_until_the_bot_answers(telegram: FakeTelegram) -> None:
    async def slow_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_message is not None
        await context.bot.send_chat_action(update.effective_chat.id, "typing")
        await asyncio.sleep(0.8)
        await update.effective_message.reply_text("Trả lời")

    async def scenario() -> tuple[str | None, str | None]:
        base = f"{telegram.base_url}/playground/api"
        async with (
            ptb_polling(telegram, [MessageHandler(filters.TEXT, slow_answer)]),
            aiohttp.ClientSession() as session,
        ):
            _, first = await _json(session, "GET", f"{base}/chat?user_id={CADRE.user_id}&since=0")
            await _json(session, "POST", f"{base}/send", json={"user_id": CADRE.user_id, "text": "Hỏi"})
            version, typing = first["version"], None
            while typing is None:  # the long poll returns for the chat action
                _, data = await _json(
                    session, "GET", f"{base}/chat?user_id={CADRE.user_id}&since={version}&wait=5"
                )
                version, typing = data["version"], data["chat_action"]
            await asyncio.to_thread(telegram.wait_for_text, CADRE.user_id, "Trả lời")
            _, after = await _json(session, "GET", f"{base}/chat?user_id={CADRE.user_id}&since={version}")
            return typing, after["chat_action"]

    typing, after = asyncio.run(scenario())
    assert (typing, after) == ("typing", None)
    assert telegram.world.chat_actions == [(CADRE.user_id, "typing")]
