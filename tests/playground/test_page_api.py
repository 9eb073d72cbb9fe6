"""The playground page's JSON API against the local Bot API, with an unmodified PTB bot on the other side."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.localapi.web import GROUP_CHAT_ID, GROUP_TITLE
from bot.playground import Playground, demo_personas
from bot.settings import Settings
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


# --- The playground group -----------------------------------------------------------------------------
GROUP_ID = GROUP_CHAT_ID
REVIEWER = PERSONAS[1]


async def answer_when_addressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group bot in miniature: answers a mention of itself or a reply to its message, ignores chatter."""
    message = update.effective_message
    assert message is not None and message.text is not None and message.from_user is not None
    mentioned = f"@{context.bot.username}" in message.text
    original = message.reply_to_message
    replied = (
        original is not None and original.from_user is not None and original.from_user.id == context.bot.id
    )
    if not (mentioned or replied):
        return
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Xem Điều 6", callback_data="qa:art:1:0")]])
    await message.reply_text(f"Căn cứ Điều 6 — trả lời {message.from_user.full_name}", reply_markup=markup)


async def open_article(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer("Đang mở Điều 6")
    await context.bot.send_message(query.message.chat.id, "Điều 6. Thời gian luân chuyển")


def test_group_is_listed_and_members_see_each_other_and_the_bot(telegram: FakeTelegram) -> None:
    handlers = [
        MessageHandler(filters.ChatType.GROUPS & filters.TEXT, answer_when_addressed),
        CallbackQueryHandler(open_article),
    ]

    async def scenario() -> dict[str, Any]:
        base = f"{telegram.base_url}/playground/api"
        async with ptb_polling(telegram, handlers), aiohttp.ClientSession() as session:
            _, people = await _json(session, "GET", f"{base}/people")
            _, first = await _json(
                session, "GET", f"{base}/chat?user_id={REVIEWER.user_id}&chat_id={GROUP_ID}&since=0"
            )
            # The cadre's private chat, idle: a group message by someone else ends its long poll early.
            _, private = await _json(session, "GET", f"{base}/chat?user_id={CADRE.user_id}&since=0")
            private_poll = asyncio.ensure_future(
                _json(
                    session,
                    "GET",
                    f"{base}/chat?user_id={CADRE.user_id}&since={private['version']}&wait=20",
                )
            )
            await _json(
                session,
                "POST",
                f"{base}/send",
                json={"user_id": REVIEWER.user_id, "chat_id": GROUP_ID, "text": "Chiều nay họp chi bộ nhé"},
            )
            started = time.monotonic()
            _, woken = await private_poll
            woken_after = time.monotonic() - started
            status, asked = await _json(
                session,
                "POST",
                f"{base}/send",
                json={
                    "user_id": CADRE.user_id,
                    "chat_id": str(GROUP_ID),
                    "text": "@canbo_test_bot thời gian luân chuyển là bao lâu?",
                },
            )
            assert status == 200
            answer = await asyncio.to_thread(
                telegram.wait_for_text, GROUP_ID, "Căn cứ", after=asked["message_id"]
            )
            status, replied = await _json(
                session,
                "POST",
                f"{base}/send",
                json={
                    "user_id": REVIEWER.user_id,
                    "chat_id": GROUP_ID,
                    "text": "Còn với cán bộ nữ thì sao?",
                    "reply_to_message_id": answer.message_id,
                },
            )
            assert status == 200
            second = await asyncio.to_thread(
                telegram.wait_for_text, GROUP_ID, "trả lời Trần Thị Bình", after=replied["message_id"]
            )
            status, pressed = await _json(
                session,
                "POST",
                f"{base}/press",
                json={
                    "user_id": REVIEWER.user_id,
                    "chat_id": GROUP_ID,
                    "message_id": second.message_id,
                    "data": "qa:art:1:0",
                },
            )
            assert status == 200
            await asyncio.to_thread(telegram.wait_for_text, GROUP_ID, "Điều 6. Thời gian")
            await asyncio.to_thread(
                telegram.world.wait_until, lambda: pressed["query_id"] in telegram.world.callback_answers, 10
            )
            views = {}
            for person in (CADRE, REVIEWER):
                _, views[person.role] = await _json(
                    session,
                    "GET",
                    f"{base}/chat?user_id={person.user_id}&chat_id={GROUP_ID}&since={first['version']}",
                )
            _, cadre_private = await _json(
                session, "GET", f"{base}/chat?user_id={CADRE.user_id}&since={private['version']}"
            )
            return {
                "people": people,
                "first": first,
                "woken": woken,
                "woken_after": woken_after,
                "views": views,
                "cadre_private": cadre_private,
                "pressed": pressed,
            }

    result = asyncio.run(scenario())
    assert result["people"]["groups"] == [
        {"chat_id": GROUP_ID, "title": GROUP_TITLE, "member_ids": sorted(p.user_id for p in PERSONAS)}
    ]
    assert result["first"]["messages"] == [] and result["first"]["chat_id"] == GROUP_ID
    assert result["woken_after"] < 10 and result["woken"]["messages"] == []
    assert result["woken"]["activity"][str(GROUP_ID)] > result["woken"]["activity"][str(CADRE.user_id)]

    cadre_view, reviewer_view = result["views"]["cadre"], result["views"]["reviewer"]
    drawn = [(m["sender"], m["from_bot"], m["html"]) for m in cadre_view["messages"]]
    assert drawn == [(m["sender"], m["from_bot"], m["html"]) for m in reviewer_view["messages"]]
    assert drawn == [
        ("Trần Thị Bình", False, "Chiều nay họp chi bộ nhé"),
        ("Nguyễn Văn An", False, "@canbo_test_bot thời gian luân chuyển là bao lâu?"),
        ("Trợ lý Cán bộ", True, "Căn cứ Điều 6 — trả lời Nguyễn Văn An"),
        ("Trần Thị Bình", False, "Còn với cán bộ nữ thì sao?"),
        ("Trợ lý Cán bộ", True, "Căn cứ Điều 6 — trả lời Trần Thị Bình"),
        ("Trợ lý Cán bộ", True, "Điều 6. Thời gian luân chuyển"),
    ]
    by_text = {m["html"]: m for m in cadre_view["messages"]}
    assert by_text["Còn với cán bộ nữ thì sao?"]["reply_to"] == {
        "message_id": by_text["Căn cứ Điều 6 — trả lời Nguyễn Văn An"]["message_id"],
        "sender": "Trợ lý Cán bộ",
        "text": "Căn cứ Điều 6 — trả lời Nguyễn Văn An",
    }
    assert by_text["Chiều nay họp chi bộ nhé"]["from_id"] == REVIEWER.user_id
    # The answer to a button press is shown to the person who pressed it, not to the whole group.
    assert reviewer_view["answers"] == [
        {"query_id": result["pressed"]["query_id"], "text": "Đang mở Điều 6", "show_alert": False}
    ]
    assert cadre_view["answers"] == []
    # Nothing of the group leaks into a private chat.
    assert result["cadre_private"]["messages"] == []
    assert telegram.world.messages(CADRE.user_id) == []


def test_chats_outside_the_persona_are_refused_and_nothing_is_recorded(telegram: FakeTelegram) -> None:
    telegram.world.add_group(-555, "Nhóm khác", [REVIEWER.user_id])
    telegram.world.add_user(42, "Người ngoài")
    before = telegram.world.version

    async def scenario() -> list[tuple[int, Any]]:
        base = f"{telegram.base_url}/playground/api"
        cadre = CADRE.user_id
        async with aiohttp.ClientSession() as session:
            return [
                await _json(session, "GET", f"{base}/chat?user_id={cadre}&chat_id={REVIEWER.user_id}"),
                await _json(session, "GET", f"{base}/chat?user_id={cadre}&chat_id=-555"),
                await _json(session, "GET", f"{base}/chat?user_id={cadre}&chat_id=nhom"),
                await _json(session, "GET", f"{base}/chat?user_id={cadre}&chat_id=--5"),
                await _json(
                    session, "POST", f"{base}/send", json={"user_id": cadre, "chat_id": 42, "text": "chào"}
                ),
                await _json(
                    session,
                    "POST",
                    f"{base}/send",
                    json={"user_id": REVIEWER.user_id, "chat_id": -555, "text": "chào"},
                ),
                await _json(
                    session, "POST", f"{base}/send", json={"user_id": cadre, "chat_id": True, "text": "chào"}
                ),
                await _json(
                    session,
                    "POST",
                    f"{base}/send",
                    json={"user_id": cadre, "chat_id": GROUP_ID, "text": "chào", "reply_to_message_id": 7},
                ),
                await _json(
                    session,
                    "POST",
                    f"{base}/press",
                    json={"user_id": cadre, "chat_id": REVIEWER.user_id, "message_id": 1, "data": "x"},
                ),
                await _json(session, "POST", f"{base}/contact", json={"user_id": cadre, "chat_id": GROUP_ID}),
            ]

    results = asyncio.run(scenario())
    assert [status for status, _ in results] == [403, 403, 400, 400, 403, 403, 400, 400, 403, 400]
    not_member = (
        "Bạn không ở trong cuộc trò chuyện này: chỉ dùng được tin nhắn riêng của mình với bot "
        "và nhóm thử nghiệm."
    )
    assert results[0][1]["error"] == not_member and results[5][1]["error"] == not_member
    assert results[2][1]["error"] == results[3][1]["error"] == "Mã cuộc trò chuyện không hợp lệ."
    assert results[7][1]["error"] == "Tin nhắn bạn muốn trả lời không còn trong cuộc trò chuyện này."
    assert results[9][1]["error"] == "Chỉ chia sẻ số điện thoại trong tin nhắn riêng với bot."
    assert telegram.world.version == before  # nothing was sent, pressed or shared
    assert telegram.world.last_update_id == 700_000_000


def test_the_playground_creates_its_group_with_every_persona(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, CANBO_DATA_DIR=tmp_path)  # type: ignore[call-arg]
    playground = Playground(settings, port=0)
    group = playground.server.world.chat(GROUP_CHAT_ID)
    assert (group.title, group.type) == ("Nhóm Ban Tổ chức (thử nghiệm)", "supergroup")
    assert group.member_ids == {p.user_id for p in playground.personas}
    assert playground.page.chats_of(playground.personas[2]) == [playground.personas[2].user_id, GROUP_CHAT_ID]


def test_upload_goes_to_the_chosen_chat_and_only_to_the_persona_s_chats(telegram: FakeTelegram) -> None:
    async def scenario() -> list[int]:
        statuses = []
        async with aiohttp.ClientSession() as session:
            for chat_id in (GROUP_ID, REVIEWER.user_id):
                form = aiohttp.FormData()
                form.add_field("user_id", str(CADRE.user_id))
                form.add_field("chat_id", str(chat_id))
                form.add_field("file", b"Danh sach", filename="danh_sach.txt", content_type="text/plain")
                async with session.post(f"{telegram.base_url}/playground/api/upload", data=form) as response:
                    statuses.append(response.status)
        return statuses

    assert asyncio.run(scenario()) == [200, 403]
    [uploaded] = telegram.world.messages(GROUP_ID)
    assert uploaded.from_id == CADRE.user_id and uploaded.document is not None
    assert uploaded.document.data == b"Danh sach"
    assert telegram.world.messages(REVIEWER.user_id) == [] and telegram.world.messages(CADRE.user_id) == []
