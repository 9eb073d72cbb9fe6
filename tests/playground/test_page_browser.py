"""The chat page's behaviour in headless Chromium against a small PTB bot (fast; no product code behind it)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.playground import demo_personas
from tests.fakes.telegram import FakeTelegram, ptb_polling
from tests.localapi.test_ptb_client import tiny_png
from tests.playground.test_browser import CHROMIUM, CHROMIUM_ARGS, LoopThread

pytestmark = pytest.mark.browser

PERSONAS = demo_personas()


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await context.bot.set_my_commands([("start", "Bắt đầu"), ("anh", "Gửi ảnh")])
    keyboard = ReplyKeyboardMarkup([["Hỏi quy định", "Trợ giúp"]], input_field_placeholder="Chọn một mục")
    await update.effective_message.reply_text("Chào bạn", reply_markup=keyboard)


async def help_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Sửa", callback_data="edit")],
            [InlineKeyboardButton("Văn bản", url="https://vbpl.vn/")],
        ]
    )
    await update.effective_message.reply_text("Đây là trợ giúp", reply_markup=markup)


async def edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Đã ghi nhận", show_alert=True)
    await query.edit_message_text("<b>Đã sửa</b> <tg-spoiler>bí mật</tg-spoiler>", parse_mode="HTML")


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_chat is not None
    await update.effective_message.reply_photo(tiny_png(40, 30), caption="Biểu đồ")
    doomed = await context.bot.send_message(update.effective_chat.id, "Tin sẽ bị xóa")
    await asyncio.sleep(0.5)
    await doomed.delete()


@pytest.fixture
def page_with_bot() -> Iterator[tuple[FakeTelegram, Any]]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI: .ci/run installs it")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium chromium-driver)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package (dev extra) is missing"
    )
    handlers = [
        CommandHandler("start", start),
        CommandHandler("anh", photo),
        MessageHandler(filters.Regex("^Trợ giúp$"), help_text),
        CallbackQueryHandler(edit, pattern="^edit$"),
    ]
    with FakeTelegram(personas=PERSONAS) as telegram:
        runner = LoopThread()
        polling = ptb_polling(telegram, handlers)
        runner.run(polling.__aenter__(), timeout=30)
        try:
            with sync_api.sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1000, "height": 800})
                page.set_default_timeout(15_000)
                yield telegram, page
                browser.close()
        finally:
            runner.run(polling.__aexit__(None, None, None), timeout=30)
            runner.close()


def test_keyboards_alerts_edits_in_place_photos_and_deletions(
    page_with_bot: tuple[FakeTelegram, Any],
) -> None:
    telegram, page = page_with_bot
    cadre = PERSONAS[0]
    page.goto(f"{telegram.base_url}/playground/#u={cadre.user_id}")
    page.locator("#messages .empty", has_text="/start").wait_for()

    page.fill("#text", "/start")
    page.press("#text", "Enter")
    page.locator(".msg.bot", has_text="Chào bạn").wait_for()
    page.locator("#keyboard button", has_text="Trợ giúp").wait_for()
    assert page.get_attribute("#text", "placeholder") == "Chọn một mục"

    page.locator("#keyboard button", has_text="Trợ giúp").click()  # a plain reply button sends its text
    page.locator(".msg.user", has_text="Trợ giúp").wait_for()
    card = page.locator(".msg.bot", has_text="Đây là trợ giúp")
    card.wait_for()
    message_id = card.get_attribute("data-message-id")
    assert card.locator(".inline-row button").all_inner_texts() == ["Sửa", "Văn bản ↗"]

    card.locator(".inline-row button", has_text="Sửa").click()
    page.locator("#toast.alert", has_text="Đã ghi nhận").wait_for()
    edited = page.locator(f'[data-message-id="{message_id}"]')
    edited.locator("b", has_text="Đã sửa").wait_for()  # the same bubble, updated in place
    assert edited.locator(".tg-spoiler").inner_text() == "bí mật"
    assert "đã sửa" in edited.locator(".meta").inner_text()
    assert edited.locator(".inline-row").count() == 0
    assert page.locator(".msg.bot", has_text="Đây là trợ giúp").count() == 0

    page.click("#menu-button")
    page.locator("#commands button", has_text="/anh").click()
    image = page.locator(".msg.bot img").first
    image.wait_for()
    page.wait_for_function(
        "() => { const i = document.querySelector('.msg.bot img'); return i && i.naturalWidth === 40; }"
    )
    page.locator(".msg.bot", has_text="Tin sẽ bị xóa").wait_for()
    page.locator(".msg.bot", has_text="Tin sẽ bị xóa").wait_for(state="detached")
    assert page.locator(".msg.bot", has_text="Biểu đồ").count() == 1
    assert telegram.world.messages(cadre.user_id, include_deleted=True)[-1].deleted
