"""Scheduled jobs that survive restarts: saved in the database, re-created in PTB's JobQueue at start.

A feature registers a job kind (`jobs.add_kind("remind", callback)`) in its `install`, then schedules with
`await schedule_job(context.application, name=..., kind="remind", run_at=..., interval_s=...)`.

Every process on the database queues every stored job. A one-time job runs in the process that takes its
lease ("job:<name>", bot.leases) while it is still stored, and is deleted after it ran: it runs once. A
repeating job's callback runs in every process; one that must not (the workflow tick) takes a lease itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram.ext import Application, ContextTypes, JobQueue

from bot import leases
from bot.services import SERVICES_KEY, Services
from records import botstate

log = logging.getLogger(__name__)

JobCallback = Callable[[ContextTypes.DEFAULT_TYPE, dict[str, Any]], Awaitable[None]]


class JobRegistry:
    """Job kinds by name: the callback a stored job runs."""

    def __init__(self) -> None:
        self.kinds: dict[str, JobCallback] = {}

    def add_kind(self, kind: str, callback: JobCallback) -> None:
        if kind in self.kinds:
            raise ValueError(f"job kind {kind!r} registered twice")
        self.kinds[kind] = callback


JOBS_KEY = "canbo.jobs"


class DrainingJobQueue(JobQueue):  # type: ignore[type-arg]
    """PTB's JobQueue, but a stop starts no job and cancels none: the running ones finish, nothing new starts.

    PTB's `stop` waits for the jobs running when it is called, then shuts APScheduler down, which cancels
    every job task still pending. The scheduler goes on starting jobs while PTB waits (the polling watch
    every 2 s, the liveness lease every 5 s, the tick and the tick's first storing 1 s after the start): one
    started during that wait and not finished, or submitted in the loop turn the wait ended, was cancelled
    at the shutdown, and APScheduler logged an ERROR on an ordinary stop ("Job … raised an exception" or,
    cancelled before its first step, "Error running job", both a CancelledError). The e2e fixtures fail on
    it; a loaded machine makes the running job (a database write) slow enough to hit it
    (tests/bot/test_app.py: test_a_stop_lets_running_jobs_finish_and_starts_no_new_one).

    Here the scheduler is paused first (a job falling due after that does not start: the stored ones are
    re-queued at the next start, the in-memory ones re-created), then every running job is waited for, also
    one started while waiting, before PTB's own stop."""

    async def stop(self, wait: bool = True) -> None:
        if self.scheduler.running:
            self.scheduler.pause()
        if wait:
            pending = self._executor._pending_futures  # what PTB's own stop waits for
            while running := [f for f in pending if not f.done()]:
                await asyncio.gather(*running, return_exceptions=True)
        await super().stop(wait=wait)


def _queue_job(app: Application, job: botstate.JobRecord) -> None:  # type: ignore[type-arg]
    registry: JobRegistry = app.bot_data[JOBS_KEY]
    callback = registry.kinds.get(job.kind)
    if callback is None:
        log.warning("stored job %s has unknown kind %s: skipped", job.name, job.kind)
        return
    queue = app.job_queue
    if queue is None:
        raise RuntimeError("the JobQueue extra is not installed")
    for old in queue.get_jobs_by_name(job.name):
        old.schedule_removal()

    async def run(context: ContextTypes.DEFAULT_TYPE) -> None:
        if job.interval_s is not None:
            await callback(context, job.data)
            return
        services: Services = context.application.bot_data[SERVICES_KEY]
        async with leases.hold(services.db, f"job:{job.name}", services.run_id) as lease:
            if not lease.held:
                return  # another process is running it
            stored = await asyncio.to_thread(botstate.list_jobs, services.db)
            if not any(s.name == job.name and s.run_at == job.run_at for s in stored):
                return  # another process ran it already (or it was rescheduled)
            await callback(context, job.data)
            await asyncio.to_thread(botstate.delete_job, services.db, name=job.name)

    first = max(job.run_at, datetime.now(UTC) + timedelta(seconds=1))
    if job.interval_s:
        queue.run_repeating(run, interval=job.interval_s, first=first, name=job.name)
    else:
        queue.run_once(run, when=first, name=job.name)


async def schedule_job(
    app: Application,  # type: ignore[type-arg]
    *,
    name: str,
    kind: str,
    run_at: datetime,
    interval_s: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Save the job (replacing one of the same name) and queue it."""
    services: Services = app.bot_data[SERVICES_KEY]
    await asyncio.to_thread(
        botstate.save_job, services.db, name=name, kind=kind, run_at=run_at, interval_s=interval_s, data=data
    )
    _queue_job(
        app, botstate.JobRecord(name=name, kind=kind, run_at=run_at, interval_s=interval_s, data=data or {})
    )


async def restore_jobs(app: Application) -> int:  # type: ignore[type-arg]
    """Queue every stored job (called at start). Returns how many."""
    services: Services = app.bot_data[SERVICES_KEY]
    stored = await asyncio.to_thread(botstate.list_jobs, services.db)
    for job in stored:
        _queue_job(app, job)
    log.info("restored %d scheduled jobs", len(stored))
    return len(stored)
