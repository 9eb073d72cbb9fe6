"""The one global error handler: log with traceback and an incident id, apologise to the user."""

from __future__ import annotations

import logging
import uuid

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Conflict, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes

from bot import texts

log = logging.getLogger(__name__)


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
