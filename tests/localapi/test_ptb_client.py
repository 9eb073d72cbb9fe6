"""The local Bot API driven by an unmodified python-telegram-bot 22 Application (the product's client paths)."""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram import TEST_TOKEN, FakeTelegram, make_ptb_application, ptb_polling

CADRE = 5_000_000_001
OTHER = 5_000_000_002
GROUP = -1_001_234_567_890


make_application = make_ptb_application
polling = ptb_polling


def wait(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Awaitable[Any]:
    return asyncio.to_thread(fn, *args, **kwargs)


def tiny_png(width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def telegram() -> Any:
    with FakeTelegram() as fake:
        fake.world.add_user(
            CADRE, "Nguyễn Văn", last_name="An", username="an_nv", phone_number="+84901234567"
        )
        fake.world.add_user(OTHER, "Trần Thị", last_name="Bình", phone_number="+84907654321")
        yield fake


def test_get_me_and_get_chat_parse_in_ptb(telegram: FakeTelegram) -> None:
    async def scenario() -> None:
        application = make_application(telegram)
        async with application:
            me = await application.bot.get_me()
            assert (me.id, me.is_bot, me.username) == (123456, True, "canbo_test_bot")
            chat = await application.bot.get_chat(CADRE)
            assert chat.type == "private" and chat.first_name == "Nguyễn Văn"
            with pytest.raises(BadRequest, match=r"(?i)chat not found"):
                await application.bot.get_chat(42)

    asyncio.run(scenario())
    assert telegram.world.calls["getMe"] >= 1


def test_commands_text_and_html_replies_round_trip(telegram: FakeTelegram) -> None:
    seen: list[tuple[str, list[str]]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_chat is not None
        seen.append(("start", list(context.args or [])))
        await update.effective_message.reply_html(
            f"<b>Xin chào</b> {update.effective_chat.id} &amp; chúc mừng 🎉"
        )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text is not None
        seen.append(("echo", []))
        await update.effective_message.reply_text(update.effective_message.text)

    async def scenario() -> None:
        async with polling(telegram, [CommandHandler("start", start), MessageHandler(filters.TEXT, echo)]):
            sent = await wait(telegram.world.send_text, CADRE, "/start ma_moi")
            reply = await wait(telegram.wait_for_text, CADRE, "Xin chào", after=sent.message_id)
            assert reply.text == f"Xin chào {CADRE} & chúc mừng 🎉"
            assert reply.entities == [{"type": "bold", "offset": 0, "length": 8}]
            assert reply.parse_mode == "HTML"
            assert reply.page_html.startswith("<b>Xin chào</b>")
            typed = await wait(telegram.world.send_text, CADRE, "Điều 5 quy định gì <b>?")
            echoed = await wait(telegram.wait_for, CADRE, lambda m: m.message_id > typed.message_id)
            assert echoed.text == "Điều 5 quy định gì <b>?"
            assert echoed.page_html == "Điều 5 quy định gì &lt;b&gt;?"

    asyncio.run(scenario())
    assert seen == [("start", ["ma_moi"]), ("echo", [])]
    assert telegram.world.calls["sendMessage"] == 2


def test_group_command_with_bot_mention_reaches_command_handler(telegram: FakeTelegram) -> None:
    telegram.world.add_group(GROUP, "Chi bộ 1", [CADRE, OTHER], supergroup=True)
    got: list[int] = []

    async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_user is not None and update.effective_message is not None
        got.append(update.effective_user.id)
        await update.effective_message.reply_text("Trợ giúp")

    async def scenario() -> None:
        async with polling(telegram, [CommandHandler("help", help_command)]):
            telegram.world.send_text(OTHER, "/help@canbo_test_bot", chat_id=GROUP)
            await wait(telegram.wait_for_text, GROUP, "Trợ giúp")

    asyncio.run(scenario())
    assert got == [OTHER]
    update = telegram.world.update_log[telegram.world.last_update_id]
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 20}]
    assert update["message"]["chat"]["type"] == "supergroup"


def test_contact_share_and_reply_keyboard(telegram: FakeTelegram) -> None:
    contacts: list[tuple[str, int | None]] = []

    async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = ReplyKeyboardMarkup(
            [[KeyboardButton("Chia sẻ số điện thoại", request_contact=True)]], one_time_keyboard=True
        )
        await update.effective_message.reply_text("Xác minh danh tính", reply_markup=keyboard)

    async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.contact is not None
        contacts.append(
            (update.effective_message.contact.phone_number, update.effective_message.contact.user_id)
        )
        await update.effective_message.reply_text("Đã nhận")

    async def scenario() -> None:
        handlers = [CommandHandler("login", ask), MessageHandler(filters.CONTACT, contact)]
        async with polling(telegram, handlers):
            telegram.world.send_text(CADRE, "/login")
            await wait(telegram.wait_for_text, CADRE, "Xác minh")
            keyboard = telegram.world.chat(CADRE).reply_keyboard
            assert keyboard is not None and keyboard["keyboard"][0][0]["request_contact"] is True
            own = telegram.world.share_contact(CADRE)
            await wait(telegram.wait_for_text, CADRE, "Đã nhận", after=own.message_id)
            assert telegram.world.chat(CADRE).reply_keyboard is None  # one-time keyboard consumed
            other = telegram.world.share_contact(CADRE, phone_number="+84907654321", first_name="Bình")
            await wait(telegram.wait_for_text, CADRE, "Đã nhận", after=other.message_id)

    asyncio.run(scenario())
    assert contacts == [("+84901234567", CADRE), ("+84907654321", None)]


def test_inline_button_press_answer_and_edit_in_place(telegram: FakeTelegram) -> None:
    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("Duyệt", callback_data="eval:approve:7")],
                [InlineKeyboardButton("Trả lại", callback_data="eval:return:7")],
            ]
        )
        await update.effective_message.reply_text("Bản tự đánh giá tháng 10", reply_markup=markup)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None and query.message is not None
        await query.answer("Đã duyệt")
        await query.edit_message_text(f"<i>{query.data}</i> bởi {query.from_user.id}", parse_mode="HTML")

    async def scenario() -> None:
        async with polling(
            telegram, [CommandHandler("menu", menu), CallbackQueryHandler(pressed, pattern=r"^eval:")]
        ):
            telegram.world.send_text(OTHER, "/menu")
            card = await wait(telegram.wait_for_text, OTHER, "tháng 10")
            assert card.button_texts == ["Duyệt", "Trả lại"]
            query_id = telegram.world.press_button(OTHER, OTHER, card.message_id, text="Duyệt")
            edited = await wait(telegram.wait_for, OTHER, lambda m: m.edit_count == 1)
            assert edited.message_id == card.message_id
            assert edited.text == f"eval:approve:7 bởi {OTHER}"
            assert edited.reply_markup is None and edited.edit_date is not None
            answer = telegram.world.callback_answers[query_id]
            assert (answer.text, answer.show_alert) == ("Đã duyệt", False)
            assert len(telegram.world.bot_messages(OTHER)) == 1

    asyncio.run(scenario())
    payload = telegram.world.update_log[telegram.world.last_update_id]["callback_query"]
    assert payload["chat_instance"] and payload["message"]["reply_markup"]["inline_keyboard"]


def test_document_upload_download_and_send_document_and_photo(telegram: FakeTelegram) -> None:
    png = tiny_png(3, 2)

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.document is not None
        file = await message.document.get_file()
        content = bytes(await file.download_as_bytearray())
        await message.reply_document(
            content.decode().upper().encode(),
            filename="KET_QUA.txt",
            caption="<b>Kết quả</b>",
            parse_mode="HTML",
        )
        await message.reply_photo(png, caption="Biểu đồ")

    async def scenario() -> None:
        async with polling(telegram, [MessageHandler(filters.Document.ALL, on_document)]):
            upload = telegram.world.upload_document(
                CADRE, "quy định số 01".encode(), "quy_dinh.txt", mime_type="text/plain"
            )
            photo = await wait(
                telegram.wait_for, CADRE, lambda m: m.photo is not None, after=upload.message_id
            )
            document = telegram.world.bot_messages(CADRE)[0]
            assert document.document is not None
            assert document.document.data == "QUY ĐỊNH SỐ 01".encode()
            assert document.document.file_name == "KET_QUA.txt"
            assert (document.caption, document.caption_entities[0]["type"]) == ("Kết quả", "bold")
            assert photo.photo is not None and photo.photo.data == png
            assert (photo.photo.width, photo.photo.height, photo.caption) == (3, 2, "Biểu đồ")

    asyncio.run(scenario())
    assert telegram.world.calls["getFile"] == 1


def test_html_and_length_errors_are_telegram_shaped(telegram: FakeTelegram) -> None:
    async def scenario() -> None:
        application = make_application(telegram)
        async with application:
            bot = application.bot
            for bad in ("<b>chưa đóng", "<div>x</div>", "<b><i>x</b></i>", "a < b", "&nbsp;"):
                with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
                    await bot.send_message(CADRE, bad, parse_mode="HTML")
            with pytest.raises(BadRequest, match=r"(?i)message is too long"):
                await bot.send_message(CADRE, "đ" * 4097)
            with pytest.raises(BadRequest, match=r"(?i)message is too long"):
                await bot.send_message(CADRE, "<b>" + "x" * 4097 + "</b>", parse_mode="HTML")
            ok = await bot.send_message(CADRE, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
            assert ok.text == "x" * 4096
            with pytest.raises(BadRequest, match=r"(?i)text is empty"):
                await bot.send_message(CADRE, "")
            with pytest.raises(BadRequest, match=r"(?i)chat not found"):
                await bot.send_message(777, "ai đó")

    asyncio.run(scenario())
    assert len(telegram.world.bot_messages(CADRE)) == 1


def test_edit_errors_delete_and_markup_edit(telegram: FakeTelegram) -> None:
    async def scenario() -> None:
        application = make_application(telegram)
        async with application:
            bot = application.bot
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
            sent = await bot.send_message(CADRE, "Một", reply_markup=markup)
            with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
                await bot.edit_message_text(
                    "Một", chat_id=CADRE, message_id=sent.message_id, reply_markup=markup
                )
            changed = await bot.edit_message_reply_markup(
                chat_id=CADRE, message_id=sent.message_id, reply_markup=None
            )
            assert isinstance(changed, object)
            user_message = telegram.world.send_text(CADRE, "xin chào")
            with pytest.raises(BadRequest, match=r"(?i)can't be edited"):
                await bot.edit_message_text("Hai", chat_id=CADRE, message_id=user_message.message_id)
            assert await bot.delete_message(CADRE, sent.message_id) is True
            with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
                await bot.delete_message(CADRE, sent.message_id)
            with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
                await bot.edit_message_text("Ba", chat_id=CADRE, message_id=999)

    asyncio.run(scenario())
    assert telegram.world.bot_messages(CADRE) == []
    deleted = telegram.world.messages(CADRE, include_deleted=True)[0]
    assert deleted.deleted and deleted.reply_markup is None and deleted.edit_count == 1


def test_injected_429s_are_retried_by_the_aio_rate_limiter(telegram: FakeTelegram) -> None:
    telegram.world.fail_next_sends(2, retry_after=1)

    async def scenario() -> float:
        application = make_application(telegram, rate_limiter=AIORateLimiter(max_retries=3))
        async with application:
            started = time.monotonic()
            message = await application.bot.send_message(CADRE, "Sau khi chờ")
            assert message.text == "Sau khi chờ"
            return time.monotonic() - started

    elapsed = asyncio.run(scenario())
    assert telegram.world.calls["sendMessage"] == 3
    assert telegram.world.rejected_sends == 2
    assert elapsed >= 2.0  # honoured retry_after twice
    assert [m.text for m in telegram.world.bot_messages(CADRE)] == ["Sau khi chờ"]


def test_global_rate_limit_answers_429_above_the_limit(telegram: FakeTelegram) -> None:
    telegram.world.set_rate_limit(5)

    async def scenario() -> None:
        application = make_application(telegram)
        async with application:
            for index in range(5):
                await application.bot.send_message(CADRE, f"tin {index}")
            with pytest.raises(RetryAfter) as caught:
                await application.bot.send_message(CADRE, "tin thứ sáu")
            assert "retry" in str(caught.value).lower()

    asyncio.run(scenario())
    assert len(telegram.world.bot_messages(CADRE)) == 5
    assert telegram.world.rejected_sends == 1


def test_redelivered_update_runs_the_handler_twice(telegram: FakeTelegram) -> None:
    received: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        received.append(update.update_id)
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"lần {len(received)}")

    async def scenario() -> None:
        async with polling(telegram, [MessageHandler(filters.TEXT, record)]):
            telegram.world.send_text(CADRE, "nộp bản tự đánh giá")
            await wait(telegram.wait_for_text, CADRE, "lần 1")
            telegram.world.redeliver(telegram.world.last_update_id)
            await wait(telegram.wait_for_text, CADRE, "lần 2")
            telegram.world.send_text(CADRE, "tiếp theo")
            await wait(telegram.wait_for_text, CADRE, "lần 3")

    asyncio.run(scenario())
    assert received[0] == received[1] and received[2] == received[0] + 1


def test_commands_menu_round_trip(telegram: FakeTelegram) -> None:
    async def scenario() -> None:
        application = make_application(telegram)
        async with application:
            bot = application.bot
            await bot.set_my_commands([BotCommand("start", "Bắt đầu"), BotCommand("hoi", "Hỏi quy định")])
            assert [c.command for c in await bot.get_my_commands()] == ["start", "hoi"]
            with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
                await bot.set_my_commands([BotCommand("Hỏi", "sai tên")])
            assert await bot.delete_my_commands() is True
            assert await bot.get_my_commands() == ()
            assert await bot.delete_webhook() is True
            info = await bot.get_webhook_info()
            assert info.url == ""
            await bot.send_chat_action(CADRE, "typing")

    asyncio.run(scenario())
    assert telegram.world.chat_actions == [(CADRE, "typing")]


def test_long_poll_wakes_on_new_update_and_a_second_poller_conflicts(telegram: FakeTelegram) -> None:
    async def scenario() -> None:
        application = make_application(telegram)
        async with application:
            bot = application.bot
            loop = asyncio.get_running_loop()
            loop.call_later(0.3, telegram.world.send_text, CADRE, "xin chào")
            started = time.monotonic()
            updates = await bot.get_updates(timeout=10)
            assert 0.25 <= time.monotonic() - started < 9.0  # woken by the message, not the 10 s timeout
            assert [u.message.text for u in updates if u.message] == ["xin chào"]
            # A second bot instance polling terminates the first one's long poll, as on Telegram.
            async with make_application(telegram) as rival:
                first = asyncio.create_task(bot.get_updates(offset=updates[-1].update_id + 1, timeout=10))
                await asyncio.sleep(0.3)
                second = asyncio.create_task(
                    rival.bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
                )
                with pytest.raises(Conflict):
                    await first
                assert await second == ()

    asyncio.run(scenario())


def test_wrong_token_and_unknown_method(telegram: FakeTelegram) -> None:
    import json
    import urllib.error
    import urllib.request

    def fetch(url: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    assert fetch(f"{telegram.base_url}/bot{TEST_TOKEN}/fooBar") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    status, body = fetch(f"{telegram.base_url}/bot999:{'x' * 35}/getMe")
    assert (status, body["ok"], body["error_code"]) == (401, False, 401)
    status, body = fetch(f"{telegram.base_url}/bot{TEST_TOKEN}/getMe")
    assert status == 200 and body["result"]["is_bot"] is True

    async def scenario() -> None:
        application = (
            ApplicationBuilder().token("999:" + "x" * 35).base_url(f"{telegram.base_url}/bot").build()
        )
        with pytest.raises(InvalidToken):
            async with application:
                pass

    asyncio.run(scenario())


def test_a_user_who_blocked_the_bot_gets_nothing_and_the_bot_sees_forbidden(telegram: FakeTelegram) -> None:
    telegram.world.block_bot(OTHER)

    async def scenario() -> None:
        async with make_application(telegram) as application:
            with pytest.raises(Forbidden, match="blocked"):
                await application.bot.send_message(OTHER, "Nhắc việc")
            telegram.world.block_bot(OTHER, blocked=False)
            assert (await application.bot.send_message(OTHER, "Nhắc việc")).text == "Nhắc việc"

    asyncio.run(scenario())
    assert [m.text for m in telegram.world.bot_messages(OTHER)] == ["Nhắc việc"]


def test_file_ids_resend_caption_edits_and_file_errors(telegram: FakeTelegram) -> None:
    png = tiny_png(4, 4)

    async def scenario() -> None:
        async with make_application(telegram) as application:
            bot = application.bot
            first = await bot.send_photo(CADRE, png, caption="Biểu đồ")
            assert first.photo and (first.photo[-1].width, first.photo[-1].height) == (4, 4)
            again = await bot.send_photo(
                OTHER, first.photo[-1].file_id
            )  # resending by file_id uploads nothing
            assert again.photo[-1].file_id == first.photo[-1].file_id
            edited = await bot.edit_message_caption(
                CADRE, first.message_id, caption="<b>Biểu đồ mới</b>", parse_mode="HTML"
            )
            assert isinstance(edited, Message) and edited.caption == "Biểu đồ mới"
            with pytest.raises(BadRequest, match=r"(?i)there is no text"):
                await bot.edit_message_text("x", chat_id=CADRE, message_id=first.message_id)
            with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
                await bot.send_document(CADRE, "không-có-tệp-này")
            with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
                await bot.get_file("BQAC-unknown")
            file = await bot.get_file(first.photo[-1].file_id)
            assert bytes(await file.download_as_bytearray()) == png

    asyncio.run(scenario())
    assert len(telegram.world.files) == 1
    assert telegram.world.bot_messages(CADRE)[0].page_html == "<b>Biểu đồ mới</b>"


def test_allowed_updates_filter_and_drop_pending_updates(telegram: FakeTelegram) -> None:
    async def scenario() -> None:
        async with make_application(telegram) as application:
            bot = application.bot
            card = await bot.send_message(
                CADRE,
                "Chọn",
                reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
            )
            telegram.world.send_text(CADRE, "tin nhắn")
            telegram.world.press_button(CADRE, CADRE, card.message_id, data="a")
            only_callbacks = await bot.get_updates(allowed_updates=["callback_query"])
            assert [u.callback_query.data for u in only_callbacks if u.callback_query] == ["a"]
            assert len(only_callbacks) == 1  # the message was dropped, as Telegram does
            telegram.world.send_text(CADRE, "cũ")
            assert await bot.delete_webhook(drop_pending_updates=True) is True
            assert await bot.get_updates(offset=only_callbacks[0].update_id + 1) == ()

    asyncio.run(scenario())


def test_a_redelivered_update_comes_in_update_id_order_and_later_ones_run_once(
    telegram: FakeTelegram,
) -> None:
    received: list[str] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text is not None
        received.append(update.effective_message.text)

    async def scenario() -> None:
        first = telegram.world.send_text(CADRE, "một")
        first_update = telegram.world.last_update_id
        async with polling(telegram, [MessageHandler(filters.TEXT, record)]):
            await wait(telegram.world.wait_until, lambda: received == ["một"], 10)
        telegram.world.send_text(CADRE, "hai")  # pending while the bot is down
        telegram.world.redeliver(first_update)
        async with polling(telegram, [MessageHandler(filters.TEXT, record)]):
            await wait(telegram.world.wait_until, lambda: len(received) >= 3, 10)
            telegram.world.send_text(CADRE, "ba")
            await wait(telegram.world.wait_until, lambda: "ba" in received, 10)
        assert first.text == "một"

    asyncio.run(scenario())
    assert received == ["một", "một", "hai", "ba"]
