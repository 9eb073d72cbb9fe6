"""Database leases for several bot processes on one database: one runs a job, all show they are alive.

A lease is a row in `bot_lease` (records.botstate) taken for `LEASE_TTL` and renewed every `RENEW_EVERY`
while held. Of two processes (a restart overlap, a second server) only the holder of "job:<name>" runs that
job; progress is saved together with a renewal (`botstate.save_job_under_lease`), so a process that lost
its lease cannot overwrite the progress of the one that took over. A crashed holder's lease runs out
after `LEASE_TTL` and the next process continues from the saved progress.

Every process also holds "run:<run id>" for its lifetime: an update started by a process that still holds
it is being handled (bot.updates waits), one whose owner's lease ran out was left by a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine

from records import botstate

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(seconds=20)
RENEW_EVERY = 5.0  # seconds: three renewals can fail before a held lease runs out


@dataclass
class HeldLease:
    """The state of one `hold` block: `acquired` at the start, `lost` once a renewal failed."""

    name: str
    holder: str
    acquired: bool
    lost: bool = False

    @property
    def held(self) -> bool:
        return self.acquired and not self.lost


async def _renew_until_cancelled(engine: Engine, lease: HeldLease, ttl: timedelta, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            renewed = await asyncio.to_thread(
                botstate.acquire_lease, engine, name=lease.name, holder=lease.holder, ttl=ttl
            )
        except Exception as exc:  # a database outage: keep trying until the lease would have run out
            log.warning("lease %s not renewed: %s", lease.name, type(exc).__name__)
            continue
        if not renewed:
            log.warning("lease %s was taken over by another process", lease.name)
            lease.lost = True
            return


@contextlib.asynccontextmanager
async def hold(
    engine: Engine, name: str, holder: str, *, ttl: timedelta = LEASE_TTL, every: float = RENEW_EVERY
) -> AsyncIterator[HeldLease]:
    """`async with hold(db, "job:x", run_id) as lease: if lease.held: ...` — renewed while inside,
    released on the way out (also on errors and cancellation)."""
    acquired = await asyncio.to_thread(botstate.acquire_lease, engine, name=name, holder=holder, ttl=ttl)
    lease = HeldLease(name=name, holder=holder, acquired=acquired)
    if not acquired:
        yield lease
        return
    keeper = asyncio.create_task(_renew_until_cancelled(engine, lease, ttl, every), name=f"lease:{name}")
    try:
        yield lease
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        with contextlib.suppress(Exception):  # an unreleased lease simply runs out
            await asyncio.to_thread(botstate.release_lease, engine, name=name, holder=holder)


async def keep_alive(engine: Engine, run_id: str) -> None:
    """Take or renew this process's "run:" lease (called at start and every `RENEW_EVERY`)."""
    try:
        await asyncio.to_thread(
            botstate.acquire_lease, engine, name=botstate.run_lease_name(run_id), holder=run_id, ttl=LEASE_TTL
        )
    except Exception as exc:
        log.warning("liveness lease not renewed: %s", type(exc).__name__)


async def end_run(engine: Engine, run_id: str) -> None:
    """Give up the "run:" lease at a clean stop: another process need not wait for it to run out."""
    with contextlib.suppress(Exception):
        await asyncio.to_thread(
            botstate.release_lease, engine, name=botstate.run_lease_name(run_id), holder=run_id
        )
