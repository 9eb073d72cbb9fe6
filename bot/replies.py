"""Sending HTML replies: split under Telegram's limit, buttons on the last part, button presses acknowledged."""

from __future__ import annotations

from typing import Any

from telegram import Message, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.messages import split_message


async def send_html(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    html: str,
    markup: Any = None,
    *,
    reply_to: int | None = None,
) -> Message:
    """Send HTML split under Telegram's limit; `markup` goes on the last message, the first one quotes
    `reply_to` (a group answer shows whose question it answers; sent anyway if that message is gone)."""
    parts = split_message(html)
    message: Message | None = None
    for i, part in enumerate(parts):
        quote = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to is not None and i == 0
            else None
        )
        message = await context.bot.send_message(
            chat_id,
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if i == len(parts) - 1 else None,
            disable_web_page_preview=True,
            reply_parameters=quote,
        )
    assert message is not None
    return message


async def reply_html(
    update: Update, context: ContextTypes.DEFAULT_TYPE, html: str, markup: Any = None
) -> None:
    """Answer in the update's chat (a button press is acknowledged first)."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat = update.effective_chat
    if chat is not None:
        await send_html(context, chat.id, html, markup)
