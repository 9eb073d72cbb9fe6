"""Exactly-once handling: every update id is claimed in the database before any handler runs.

A redelivered update (same id) is dropped; one left half-done by a crashed process is handled again by the
next process. When the same update reaches a second live process (two processes polling during a restart
overlap), the second waits until the first has finished it (then drops it) or has died (then handles it):
see bot.leases. Registered as the first (claim) and last (finish) handler groups by bot.app.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.leases import LEASE_TTL
from bot.services import services_of
from records import botstate

log = logging.getLogger(__name__)

CLAIM_GROUP = -100
FINISH_GROUP = 100
BUSY_POLL_S = 1.0
BUSY_WAIT_S = 2 * LEASE_TTL.total_seconds()  # the other process's lease runs out within this


async def claim(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop processing when this update id was already handled (or is being handled)."""
    services = services_of(context)
    waited = 0.0
    while True:
        claim_ = await asyncio.to_thread(
            botstate.claim_update, services.db, update_id=update.update_id, run_id=services.run_id
        )
        if claim_ is botstate.Claim.CLAIMED:
            return
        if claim_ is botstate.Claim.HANDLED or waited >= BUSY_WAIT_S:
            log.info("update %s already handled: ignored", update.update_id)
            raise ApplicationHandlerStop
        if waited == 0.0:
            log.info("update %s is being handled by another process: waiting", update.update_id)
        await asyncio.sleep(BUSY_POLL_S)
        waited += BUSY_POLL_S


async def finish(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Mark the update as fully handled."""
    services = services_of(context)
    await asyncio.to_thread(botstate.finish_update, services.db, update_id=update.update_id)
