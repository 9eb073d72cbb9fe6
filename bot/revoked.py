"""A token refused by Telegram (revoked in @BotFather) stops the bot, in polling and in webhook mode.

A bot whose token was revoked can still receive (a webhook keeps being called, a long poll may already be
waiting) but can send nothing: alive for systemd and /healthz, yet deaf. So the first refusal stops the whole
application and `canbo run` exits 2 with its clear message (bot.cli_run); systemd restarts it, refused the same
way, until `.env` has the new token.

Polling finds out by itself (getUpdates is refused within one long poll, bot.app._watch_polling). A webhook bot
calls Telegram only to answer, so it finds out on the first answer it tries (bot.incidents, a reminder round in
bot.features.reminders) or, when nobody writes, from `watch_token`: a getWebhookInfo every
`CANBO_TOKEN_CHECK_S` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application, ContextTypes

from bot.services import services_of

log = logging.getLogger(__name__)

REFUSED_KEY = "canbo.token_refused"
STOPPING_KEY = "canbo.token_refused_stop"
TOKEN_WATCH_JOB = "bot:token"


def stop_for_refused_token(app: Application) -> None:  # type: ignore[type-arg]
    """Stop the application (once) because Telegram refused the token; `canbo run` then exits 2.

    The updater (polling or the webhook server) is stopped first, here, so that PTB's own shutdown then stops
    the application gracefully: the updates already taken are handled to the end (what they save, saved once;
    their chats told after the next start, bot.incidents) rather than abandoned half-done. Left to PTB, a
    polling task ended by the refusal re-raises in `Updater.stop` and the application is never stopped."""
    if app.bot_data.get(REFUSED_KEY):
        return
    app.bot_data[REFUSED_KEY] = True
    log.warning("Telegram refused the bot token (revoked?): stopping; put the new token in .env and restart")
    app.bot_data[STOPPING_KEY] = asyncio.get_running_loop().create_task(
        _stop(app), name="canbo:token-refused"
    )


async def _stop(app: Application) -> None:  # type: ignore[type-arg]
    updater = app.updater
    try:
        if updater is not None and updater.running:
            with contextlib.suppress(InvalidToken):  # the polling task ended on the refusal: why we stop
                await updater.stop()
    finally:
        app.stop_running()


def refused_while_working(context: ContextTypes.DEFAULT_TYPE) -> None:
    """A call refused for the token while handling an update or running a job: a webhook bot stops now (polling
    stops by itself once getUpdates is refused, bot.app._watch_polling)."""
    if services_of(context).settings.webhook_url:
        stop_for_refused_token(context.application)


def token_was_refused(app: Application) -> bool:  # type: ignore[type-arg]
    """True when the application stopped because Telegram refused the token."""
    return bool(app.bot_data.get(REFUSED_KEY))


async def watch_token(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Webhook mode: ask Telegram about the webhook; a refused token stops the bot even when nobody writes."""
    try:
        await context.bot.get_webhook_info()
    except InvalidToken:
        stop_for_refused_token(context.application)
    except NetworkError as exc:  # Telegram unreachable for a moment: the next check tells
        log.warning("token check: Telegram network problem: %s", type(exc).__name__)
