"""Exactly-once handling: every update id is claimed in the database before any handler runs.

A redelivered update (same id) is dropped; one left half-done by a crashed process is handled again by the
next process. Registered as the first (claim) and last (finish) handler groups by bot.app.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.services import services_of
from records import botstate

log = logging.getLogger(__name__)

CLAIM_GROUP = -100
FINISH_GROUP = 100


async def claim(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop processing when this update id was already handled (or is being handled)."""
    services = services_of(context)
    claimed = await asyncio.to_thread(
        botstate.claim_update, services.db, update_id=update.update_id, run_id=services.run_id
    )
    if not claimed:
        log.info("update %s already handled: ignored", update.update_id)
        raise ApplicationHandlerStop


async def finish(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Mark the update as fully handled."""
    services = services_of(context)
    await asyncio.to_thread(botstate.finish_update, services.db, update_id=update.update_id)
