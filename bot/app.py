"""Wiring: the PTB Application with every feature's handlers, exactly-once updates and one error handler.

To add a feature: write `bot/features/<name>.py` exposing `FEATURE = Feature(...)` and append it to
`FEATURES` (see docs/bot.md).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.error import InvalidToken
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import leases, texts, updates
from bot.conversation import StepRouter
from bot.feature import Feature
from bot.features import (
    admin,
    auth,
    evaluation,
    general,
    mydata,
    programme,
    qa,
    reminders,
    review,
    rotation,
    summary,
)
from bot.health import start_health_server
from bot.incidents import UNANSWERED_KIND, handle_error, tell_unanswered
from bot.jobs import JOBS_KEY, DrainingJobQueue, JobRegistry, restore_jobs
from bot.menu import set_default_menus, sync_menu
from bot.revoked import TOKEN_WATCH_JOB, stop_for_refused_token, watch_token
from bot.services import FEATURES_KEY, SERVICES_KEY, Services
from records import botstate, roster
from records.db import session_scope

log = logging.getLogger(__name__)

# Order matters for the menu and /trogiup; `general` stays last (its catch-all handler).
FEATURES: tuple[Feature, ...] = (
    auth.FEATURE,
    qa.FEATURE,
    admin.FEATURE,
    evaluation.FEATURE,
    review.FEATURE,
    summary.FEATURE,
    programme.FEATURE,
    rotation.FEATURE,
    mydata.FEATURE,
    reminders.FEATURE,
    general.FEATURE,
)
ROUTER_KEY = "canbo.router"
IGNORE_GROUP = -99
MENU_GROUP = -98
MAIN_GROUP = 0
UPDATE_RETENTION = timedelta(days=2)  # Telegram keeps undelivered updates for 24 hours
PRUNE_EVERY = timedelta(hours=6)
FREEZE_EVERY = timedelta(minutes=10)
FREEZE_KEY = "canbo.freeze_heap"
HEALTH_KEY = "canbo.health_server"
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 controls but tab and line ends


async def _ignore_unhandled_kinds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Edited messages, channel posts and other update kinds are not acted upon."""
    if update.message is None and update.callback_query is None:
        raise ApplicationHandlerStop
    message = update.message
    if message is not None and CONTROL_CHARACTERS.search(message.text or message.caption or ""):
        # PostgreSQL cannot store a NUL, a worksheet no control character: refused before anything is saved
        log.info("update %s refused: control characters in the text", update.update_id)
        await message.reply_text(texts.CONTROL_CHARACTERS)
        await updates.finish(update, context)
        raise ApplicationHandlerStop


async def _expired_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(texts.BUTTON_EXPIRED, show_alert=True)


async def _post_init(app: Application) -> None:  # type: ignore[type-arg]
    services: Services = app.bot_data[SERVICES_KEY]
    services.bot_username = app.bot.username or ""
    pruned, purged = await asyncio.to_thread(_housekeeping, services.db)
    log.info(
        "bot @%s ready (run %s); %d old update ids pruned, %d expired roster files erased",
        services.bot_username,
        services.run_id,
        pruned,
        purged,
    )
    await leases.keep_alive(services.db, services.run_id)
    if services.settings.health_port is not None:
        app.bot_data[HEALTH_KEY] = await start_health_server(
            services.db, host=services.settings.health_listen, port=services.settings.health_port
        )
    await set_default_menus(app.bot, app.bot_data[FEATURES_KEY])
    await restore_jobs(app)
    if app.job_queue is not None:  # in memory on purpose: re-created at every start
        app.job_queue.run_repeating(
            _keep_alive, interval=leases.RENEW_EVERY, first=leases.RENEW_EVERY, name="bot:alive"
        )
        app.job_queue.run_repeating(_prune_updates, interval=PRUNE_EVERY, first=PRUNE_EVERY, name="bot:prune")
        if services.settings.webhook_url:  # nothing else would notice a revoked token while nobody writes
            every = services.settings.token_check_s
            app.job_queue.run_repeating(watch_token, interval=every, first=every, name=TOKEN_WATCH_JOB)
        else:
            app.job_queue.run_repeating(
                _watch_polling, interval=POLLING_WATCH_EVERY, first=0.5, name="bot:polling"
            )
    if app.bot_data.get(FREEZE_KEY):
        freeze_heap()
        if app.job_queue is not None:
            app.job_queue.run_repeating(_refreeze, interval=FREEZE_EVERY, first=FREEZE_EVERY, name="bot:gc")


# The name PTB gives the task running getUpdates (telegram.ext.Updater.start_polling).
POLLING_TASK_NAME = "Updater:start_polling:polling_task"
POLLING_WATCH_EVERY = 2.0
POLLING_WATCHED_KEY = "canbo.polling_watched"


async def _watch_polling(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop the whole bot when polling ends because Telegram refused the token (revoked in @BotFather).

    PTB stops polling on a refused token but leaves the process running: alive for systemd and /healthz, yet
    deaf. Stopping makes `canbo run` exit with its clear message (exit 2), so the operator sees it at once
    (webhook mode: bot.revoked). PTB ends its polling task only on a refused token or on stop, so a polling
    task gone while the updater still runs has ended that way (before the first check)."""
    app = context.application  # scheduled in polling mode only (_post_init)
    updater = app.updater
    if updater is None or not updater.running or app.bot_data.get(POLLING_WATCHED_KEY):
        return
    app.bot_data[POLLING_WATCHED_KEY] = True

    task = next((t for t in asyncio.all_tasks() if t.get_name() == POLLING_TASK_NAME), None)
    if task is None:
        stop_for_refused_token(app)
        return

    def ended(finished: asyncio.Task[Any]) -> None:
        if not finished.cancelled() and isinstance(finished.exception(), InvalidToken):
            stop_for_refused_token(app)

    task.add_done_callback(ended)


async def _keep_alive(context: ContextTypes.DEFAULT_TYPE) -> None:
    services: Services = context.application.bot_data[SERVICES_KEY]
    await leases.keep_alive(services.db, services.run_id)


async def _post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
    services: Services = app.bot_data[SERVICES_KEY]
    health = app.bot_data.pop(HEALTH_KEY, None)
    if health is not None:
        health.close()
    await leases.end_run(services.db, services.run_id)


def freeze_heap() -> None:
    """Collect, then move every surviving object out of the garbage collector's sight.

    The index snapshot, the models and the libraries are hundreds of thousands of long-lived objects; a
    full collection walked them all (100-300 ms with the GIL held, stalling every reply). Frozen objects
    are still freed by reference counting; only what is created later is scanned. Repeated every few
    minutes so a snapshot reloaded after an ingest is frozen too (the collection first keeps cyclic
    garbage from being frozen).
    """
    gc.collect()
    gc.freeze()


async def _refreeze(context: ContextTypes.DEFAULT_TYPE) -> None:
    freeze_heap()


def _housekeeping(db: Engine) -> tuple[int, int]:
    """Forget old update ids; erase roster files nobody confirmed in time (names and phone numbers)."""
    pruned = botstate.prune_updates(db, older_than=UPDATE_RETENTION)
    with session_scope(db) as session:
        purged = roster.purge_expired_uploads(session)
    return pruned, purged


async def _prune_updates(context: ContextTypes.DEFAULT_TYPE) -> None:
    services: Services = context.application.bot_data[SERVICES_KEY]
    pruned, purged = await asyncio.to_thread(_housekeeping, services.db)
    log.info("%d old update ids pruned, %d expired roster files erased", pruned, purged)


def install_features(
    app: Application,  # type: ignore[type-arg]
    services: Services,
    *,
    features: Sequence[Feature] = FEATURES,
) -> StepRouter:
    """Register everything on `app` (also used by tests building their own Application)."""
    router = StepRouter()
    jobs = JobRegistry()
    app.bot_data[SERVICES_KEY] = services
    app.bot_data[FEATURES_KEY] = tuple(features)
    app.bot_data[JOBS_KEY] = jobs
    app.bot_data[ROUTER_KEY] = router
    app.add_handler(TypeHandler(Update, updates.claim), group=updates.CLAIM_GROUP)
    app.add_handler(TypeHandler(Update, _ignore_unhandled_kinds), group=IGNORE_GROUP)
    app.add_handler(TypeHandler(Update, sync_menu), group=MENU_GROUP)
    jobs.add_kind(UNANSWERED_KIND, tell_unanswered)
    for feature in features:
        feature.install(app, router, jobs)
    app.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, router.route_text),
        group=MAIN_GROUP,
    )
    # Last in the main group: only buttons no feature claimed (within a group the first match wins).
    app.add_handler(CallbackQueryHandler(_expired_button), group=MAIN_GROUP)
    app.add_handler(TypeHandler(Update, updates.finish), group=updates.FINISH_GROUP)
    app.add_error_handler(handle_error)
    return router


def build_application(
    services: Services,
    *,
    token: str,
    api_base: str,
    features: Sequence[Feature] = FEATURES,
    concurrency: int = 64,
    rate_limit: float = 30.0,
    gc_freeze: bool = False,
) -> Application:  # type: ignore[type-arg]
    """The bot, talking to the Bot API at `api_base` (Telegram's, or a local one in tests).

    `gc_freeze` (the `canbo run` process) keeps the long-lived heap out of garbage collections.
    """
    base = api_base.rstrip("/")
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .rate_limiter(AIORateLimiter(overall_max_rate=rate_limit, max_retries=3))
        .concurrent_updates(concurrency)
        .job_queue(DrainingJobQueue())  # a stop lets running jobs finish and starts none (bot.jobs)
        .connection_pool_size(concurrency + 8)
        # Polling has its own pool. With one connection, the last getUpdates at shutdown (which confirms the
        # offset) waits for the cancelled long poll's connection and, on a busy machine, times out with an
        # ERROR log; a second connection lets it go straight through.
        .get_updates_connection_pool_size(2)
        .get_updates_pool_timeout(5.0)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    install_features(app, services, features=features)
    app.bot_data[FREEZE_KEY] = gc_freeze
    return app
