"""The one global error handler: log with traceback and an incident id, apologise to the user."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes

from bot import texts
from bot.revoked import refused_while_working
from bot.services import services_of
from records import botstate
from records.localtime import format_local

log = logging.getLogger(__name__)

UNANSWERED_KIND = "unanswered_after_token_change"


def new_incident_id() -> str:
    """A short id the user can quote to the administrators."""
    return uuid.uuid4().hex[:10]


async def handle_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure (no personal data: ids only) and answer with an apology and an incident id."""
    error = context.error
    if isinstance(error, (NetworkError, TimedOut, RetryAfter)) and not isinstance(update, Update):
        log.warning("Telegram network problem: %s", type(error).__name__)
        return
    if isinstance(error, Conflict) and not isinstance(update, Update):
        # Another process polls with the same token (a restart overlap, a second server): both keep
        # working, every update is still handled once (bot.updates), but only one poller should be left.
        log.warning("another bot process is polling with this token (Telegram: Conflict)")
        return
    if isinstance(error, InvalidToken):
        await _keep_unanswered(update, context)
        return
    incident = new_incident_id()
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("incident %s while handling update %s", incident, update_id, exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(
            update.effective_chat.id, texts.INCIDENT.format(incident=incident), parse_mode=ParseMode.HTML
        )
    except (Forbidden, NetworkError):
        log.warning("could not tell chat about incident %s", incident)


async def _keep_unanswered(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Telegram refused the token while the bot was working (revoked in @BotFather): nothing can be sent now,
    so the process exits (`canbo run` says why): polling stops by itself, a webhook bot is stopped here (it would
    otherwise go on taking updates it cannot answer, bot.revoked). The update is finished as it is — running it
    again could repeat what it already saved — and the chat is told after the next start, with the new token."""
    if not isinstance(update, Update) or update.effective_chat is None:
        log.warning("Telegram refused the bot token (revoked?): put the new token in .env and restart")
    else:
        await _save_unanswered(update, update.effective_chat.id, context)
    refused_while_working(context)


async def _save_unanswered(update: Update, chat_id: int, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A job telling the chat, after the next start, that this update got no answer."""
    # A sent message carries its time; for a button press (the message is the bot's own) it is about now.
    at = update.message.date if update.message is not None else datetime.now(UTC)
    await asyncio.to_thread(
        botstate.save_job,
        services_of(context).db,
        name=f"unanswered:{update.update_id}",
        kind=UNANSWERED_KIND,
        run_at=datetime.now(UTC),
        data={"chat_id": chat_id, "at": at.isoformat()},
    )
    log.warning(
        "Telegram refused the bot token (revoked?) while handling update %s: its chat is told after the next "
        "start; put the new token in .env and restart",
        update.update_id,
    )


async def tell_unanswered(context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    """The job run after the restart: tell the chat its message got no answer and what to check."""
    when = format_local(datetime.fromisoformat(str(data["at"])), services_of(context).settings.timezone)
    await context.bot.send_message(
        int(data["chat_id"]), texts.UNANSWERED_AFTER_TOKEN_CHANGE.format(when=when), parse_mode=ParseMode.HTML
    )
