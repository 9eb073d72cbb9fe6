"""Scheduled workflow messages: reminders before/after deadlines, late lists to heads, automatic summaries to staff.

One stored repeating job ("workflows:tick", every `CANBO_WORKFLOW_TICK_S` seconds, default 60) looks at the
workflow clock. From `SEND_HOUR` local time each day it runs, at most once per day or period:
- the reminder round of the day: `records.due.list_reminders` (the rules' days before/after each deadline), one
  message per person listing exactly what they still have to do. Recipients go in person-id order and the last
  one reached is saved after every message in the job's stored data, so a restart continues after them (a
  kill -9 between a send and its save can repeat that one message; nobody is skipped). A 429 is retried by the
  rate limiter and then by the round itself (waiting `retry_after`); a network error stops the round until the
  next tick; a person who blocked the bot is passed over;
- once the self-assessment deadline of the previous period has passed: to each head, who in their units
  has still not submitted (name, code, unit, what is missing), ending with the /tonghop of their unit;
- once the decision deadline has passed: to each head and staff member, everyone in their units still
  without a decided grade and what is missing (self-assessment, review or decision), then the period summary (text, PNG, Excel) to each staff member, with
  the same cursor (none for a scope where nobody was to be evaluated in the period).

With several processes on one database (a restart overlap, a second server) each one ticks, but only the
holder of the lease "job:workflows:tick" (bot.leases) does the work; the cursor is saved together with a
renewal of that lease, so when the holder dies the next one continues after the last person it reached,
and a process that lost the lease stops before its next message. Each person gets each message once.

```mermaid
stateDiagram-v2
    [*] --> tick: every CANBO_WORKFLOW_TICK_S
    tick --> round: today's round not finished (resume after the saved person)
    round --> round: message sent → cursor saved
    round --> tick: network error (resume next tick)
    round --> late_lists: round finished (marked done for the day)
    late_lists --> undecided_lists: after the self-assessment deadline, once per period
    undecided_lists --> summaries: after the decision deadline, once per period
    summaries --> tick: after the decision deadline, once per period
```
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes

from bot import leases
from bot import texts_workflows as tw
from bot.conversation import StepRouter
from bot.feature import Feature
from bot.features import workflow as wf
from bot.features.rotation import form_button
from bot.features.summary import build_summary, default_unit_code, send_summary
from bot.jobs import JobRegistry, schedule_job
from bot.messages import escape
from bot.revoked import refused_while_working
from bot.services import services_of
from records import access, botstate, due, localtime, people
from records.errors import LeaseLost, RecordsError
from records.periods import Period, Stage, deadline
from records.rules import Rules
from records.views import DueItem

log = logging.getLogger(__name__)

TICK_JOB = "workflows:tick"
TICK_LEASE = f"job:{TICK_JOB}"
TICK_KIND = "workflow_tick"
RUNNING_KEY = "canbo.workflow.running"
SEND_HOUR = 8  # local time: nothing is sent before 08:00
MAX_LATE_LINES = 60
MAX_SEND_ATTEMPTS = 8
ROUND_SHARE = 0.9  # a round uses at most this share of the outgoing rate limit
LIMITER_RETRIES = 20  # the rate limiter waits out this many 429s in a row before the round's own retry
ROTATION_CODES = {"rotation_self_review": "s", "rotation_comment": "c", "rotation_evaluation": "e"}


@dataclass(frozen=True)
class Reminder:
    """One person's reminder of the day."""

    person_id: int
    chat_id: int
    html: str
    buttons: tuple[tuple[str, str], ...] = ()  # (text, callback data): the forms to fill


def render_reminder(items: Sequence[DueItem]) -> str:
    lines = [tw.REMIND_HEADER]
    for item in items:
        what = tw.REMIND_KINDS.get(item.kind, item.kind).format(
            period=item.period or "", subject=escape(item.subject_name)
        )
        if item.days_left == 0:
            left = tw.REMIND_LEFT_TODAY
        elif item.days_left > 0:
            left = tw.REMIND_LEFT_DAYS.format(days=item.days_left)
        else:
            left = tw.REMIND_OVERDUE.format(days=-item.days_left)
        lines.append("• " + tw.REMIND_DUE.format(what=what, deadline=wf.fmt_date(item.deadline), left=left))
    return "\n".join(lines)


def plan_reminders(
    session: Session, *, on: date, rules: Rules, tz: str = localtime.DEFAULT_TZ
) -> list[Reminder]:
    """The day's reminders, one per signed-in person, in person-id order (the round's stable order)."""
    by_person: dict[int, list[DueItem]] = {}
    chats: dict[int, int] = {}
    for item in due.list_reminders(session, on=on, rules=rules, tz=tz):
        chat = item.chat_id or item.telegram_user_id
        if chat is None:
            continue
        by_person.setdefault(item.recipient_id, []).append(item)
        chats[item.recipient_id] = chat
    return [
        Reminder(pid, chats[pid], render_reminder(by_person[pid]), form_buttons(by_person[pid]))
        for pid in sorted(by_person)
    ]


def form_buttons(items: Sequence[DueItem]) -> tuple[tuple[str, str], ...]:
    """A ✍️ button per rotation review to fill (opens the form of /luanchuyen), named: the lines are not numbered."""
    out = []
    for item in items:
        if item.kind in ROTATION_CODES and item.record_id is not None:
            button = form_button(item)
            out.append((button.text, str(button.callback_data)))
    return tuple(out)


@dataclass(frozen=True)
class LateEntry:
    """One person in a late list: who (code and unit) and what is still missing."""

    person_id: int
    name: str
    cadre_code: str
    unit_id: int
    unit_code: str
    missing: str


def _late_entries(
    session: Session, *, on: date, period: Period, rules: Rules, kinds: Sequence[str], tz: str
) -> list[LateEntry]:
    """Everyone whose step of `kinds` in `period` is past its deadline on `on`, once each, in cadre-code order."""
    by_subject: dict[int, list[DueItem]] = {}
    for item in due.list_due(session, on=on, rules=rules, kinds=kinds, tz=tz):
        if item.period == str(period) and item.days_left < 0:
            by_subject.setdefault(item.subject_person_id, []).append(item)
    out = []
    for pid, items in by_subject.items():
        person = people.get_person(session, person_id=pid)
        state = items[0].record_state or "none"
        holders = ", ".join(escape(n) for n in sorted({i.recipient_name for i in items}))
        missing = tw.LATE_MISSING.get(state, tw.LATE_MISSING["none"]).format(names=holders)
        out.append(
            LateEntry(pid, person.full_name, person.cadre_code, person.unit_id, person.unit_code, missing)
        )
    return sorted(out, key=lambda e: e.cadre_code)


def _late_messages(
    session: Session, entries: Sequence[LateEntry], *, roles: Sequence[str], header: str, period: Period
) -> list[Reminder]:
    """For each signed-in holder of `roles`: the entries of their units (not themselves), the next step last."""
    if not entries:
        return []
    out = []
    for person in people.list_people(session):
        scope = access.scope_units(session, person_id=person.id, roles=roles)
        if not scope:
            continue
        mine = [e for e in entries if e.unit_id in scope and e.person_id != person.id]
        link = people.telegram_link_of(session, person_id=person.id)
        if not mine or link is None:
            continue
        lines = [header]
        lines += [
            tw.LATE_LIST_LINE.format(
                name=escape(e.name), code=escape(e.cadre_code), unit=escape(e.unit_code), missing=e.missing
            )
            for e in mine[:MAX_LATE_LINES]
        ]
        if len(mine) > MAX_LATE_LINES:
            lines.append(tw.LATE_LIST_MORE.format(count=len(mine) - MAX_LATE_LINES))
        commands = "; ".join(
            f"/tonghop {period} {escape(code)}" for code in _summary_units(session, person.id, roles, mine)
        )
        lines += ["", tw.LATE_LIST_NEXT.format(commands=commands)]
        out.append(Reminder(person.id, link.chat_id or link.telegram_user_id, "\n".join(lines)))
    return out


def _summary_units(
    session: Session, person_id: int, roles: Sequence[str], entries: Sequence[LateEntry]
) -> list[str]:
    """The codes of the person's scope units (of `roles`) holding any of `entries`, none inside another."""
    assigned = {
        r.unit_id: r.unit_code for r in access.roles_of(session, person_id=person_id) if r.role in roles
    }
    subtrees = {uid: access.unit_subtree(session, uid) for uid in assigned}
    wanted = {uid for uid, tree in subtrees.items() if any(e.unit_id in tree for e in entries)}
    tops = [uid for uid in wanted if not any(uid in subtrees[o] for o in wanted if o != uid)]
    return sorted(assigned[uid] for uid in tops)


def plan_late_lists(
    session: Session, *, on: date, period: Period, rules: Rules, tz: str = localtime.DEFAULT_TZ
) -> list[Reminder]:
    """For each signed-in head: who in their units has not submitted the period's self-assessment."""
    entries = _late_entries(session, on=on, period=period, rules=rules, kinds=["self_assessment"], tz=tz)
    header = tw.LATE_LIST_HEADER.format(
        period=str(period), deadline=wf.fmt_date(deadline(rules, period, "self_assessment"))
    )
    return _late_messages(session, entries, roles=["head"], header=header, period=period)


def plan_undecided_lists(
    session: Session, *, on: date, period: Period, rules: Rules, tz: str = localtime.DEFAULT_TZ
) -> list[Reminder]:
    """Once the decision deadline has passed: to each signed-in head and staff member, everyone in their units
    still without a decided grade for the period and what is missing (self-assessment, review, decision)."""
    entries = _late_entries(
        session, on=on, period=period, rules=rules, kinds=["self_assessment", "review", "decision"], tz=tz
    )
    header = tw.UNDECIDED_LIST_HEADER.format(
        period=str(period), deadline=wf.fmt_date(deadline(rules, period, "decision"))
    )
    return _late_messages(session, entries, roles=["head", "staff"], header=header, period=period)


def staff_recipients(session: Session) -> list[tuple[int, int, str]]:
    """(person id, chat id, unit code) of every signed-in staff member with a scope."""
    out = []
    for person in people.list_people(session):
        roles = access.roles_of(session, person_id=person.id)
        role_units = tuple((r.role, r.unit_id) for r in roles if r.role == "staff")
        if not role_units:
            continue
        link = people.telegram_link_of(session, person_id=person.id)
        code = default_unit_code(session, role_units=role_units)
        if link is not None and code is not None:
            out.append((person.id, link.chat_id or link.telegram_user_id, code))
    return out


# --- the stored state of the tick job --------------------------------------------------------------------


def _load_state(engine: Any) -> dict[str, Any]:
    for job in botstate.list_jobs(engine):
        if job.name == TICK_JOB:
            return dict(job.data)
    return {}


def _save_state(engine: Any, state: dict[str, Any], interval_s: int, holder: str) -> None:
    """The tick's progress, saved only while this process still holds the tick's lease (`LeaseLost`)."""
    botstate.save_job_under_lease(
        engine,
        lease=TICK_LEASE,
        holder=holder,
        ttl=leases.LEASE_TTL,
        name=TICK_JOB,
        kind=TICK_KIND,
        run_at=datetime.now(UTC),
        interval_s=interval_s,
        data=state,
    )


async def _send_one(context: ContextTypes.DEFAULT_TYPE, reminder: Reminder) -> bool:
    """Deliver one message, waiting out 429s; False on a network problem (the round stops, resumes later)."""
    for attempt in range(MAX_SEND_ATTEMPTS):
        try:
            markup = (
                InlineKeyboardMarkup(
                    [[InlineKeyboardButton(t, callback_data=d)] for t, d in reminder.buttons]
                )
                if reminder.buttons
                else None
            )
            limiter: dict[str, Any] = {"rate_limit_args": LIMITER_RETRIES} if context.bot.rate_limiter else {}
            await context.bot.send_message(
                reminder.chat_id, reminder.html, parse_mode=ParseMode.HTML, reply_markup=markup, **limiter
            )
            return True
        except RetryAfter as exc:
            wait = (
                exc.retry_after.total_seconds()
                if isinstance(exc.retry_after, timedelta)
                else float(exc.retry_after)
            )
            await asyncio.sleep(max(wait, 0.5))
        except Forbidden:
            log.info("person %s blocked the bot: passed over", reminder.person_id)
            return True
        except InvalidToken:  # revoked in @BotFather: no retry helps; the next start (new token) resumes
            log.warning(
                "Telegram refused the bot token: the reminder round stops here and resumes after a restart"
            )
            refused_while_working(context)
            return False
        except TelegramError as exc:
            log.warning(
                "send to person %s failed (%s), attempt %d",
                reminder.person_id,
                type(exc).__name__,
                attempt + 1,
            )
            await asyncio.sleep(min(2.0**attempt, 30.0))
    return False


Send = Callable[[ContextTypes.DEFAULT_TYPE, Any], Awaitable[bool]]


@dataclass
class Round:
    """What one tick run needs to send and record: the context, the held lease and the stored state."""

    context: ContextTypes.DEFAULT_TYPE
    lease: leases.HeldLease
    state: dict[str, Any]
    interval_s: int

    async def save(self) -> None:
        engine = services_of(self.context).db
        await asyncio.to_thread(_save_state, engine, self.state, self.interval_s, self.lease.holder)

    async def run(self, key: str, items: Sequence[Any], send: Send, *, paced: bool = True) -> bool:
        """Send `items` (each with a `person_id`, in that order) after the saved cursor of round `key`;
        True when the round finished, False when it stopped (network, or the lease was lost)."""
        current = self.state.get("round") or {}
        cursor = int(current.get("cursor", 0)) if current.get("key") == key else 0
        pending = [r for r in items if r.person_id > cursor]
        log.info(
            "round %s: %d to send (%d already sent before a restart)",
            key,
            len(pending),
            len(items) - len(pending),
        )
        rate = services_of(self.context).settings.telegram_rate_limit * ROUND_SHARE
        spacing = 1.0 / rate if rate > 0 and paced else 0.0
        last_start = 0.0
        for item in pending:
            # Strictly paced under the bot's limit (no catch-up bursts after a slow send): no 429 storms, and
            # interactive replies keep a share of the budget.
            await asyncio.sleep(max(0.0, last_start + spacing - time.monotonic()))
            last_start = time.monotonic()
            if not self.lease.held:
                log.warning("round %s stopped: another process took it over", key)
                return False
            if not await send(self.context, item):
                return False
            self.state["round"] = {"key": key, "cursor": item.person_id}
            await self.save()
        self.state["round"] = {}
        return True


@dataclass(frozen=True)
class SummaryRecipient:
    person_id: int
    chat_id: int
    unit_code: str


async def tick(context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    """The repeating job: start today's work in the background unless it is already running."""
    app = context.application
    if not app.running:
        # The bot is stopping (PTB's stop no longer awaits a task created now: the round would go on sending
        # while the connection to Telegram is closed). Today's work is done after the next start.
        return
    if app.bot_data.get(RUNNING_KEY):
        return
    app.bot_data[RUNNING_KEY] = True

    async def work() -> None:
        try:
            services = services_of(context)
            async with leases.hold(services.db, TICK_LEASE, services.run_id) as lease:
                if lease.held:  # otherwise another process is doing today's work
                    await run_due_work(context, lease)
        except LeaseLost:
            log.warning("workflow tick stopped: another process took it over")
        except RecordsError as exc:
            log.warning("workflow tick stopped: %s", exc.code)
        finally:
            app.bot_data[RUNNING_KEY] = False

    app.create_task(work(), name="workflow-tick")


async def run_due_work(context: ContextTypes.DEFAULT_TYPE, lease: leases.HeldLease) -> None:
    """Reminders of the day, late lists and summaries of the previous period, each once."""
    services = services_of(context)
    rules = wf.rules_of(context)
    interval_s = wf.tick_seconds(context)
    zone = wf.timezone_of(context)
    local = localtime.to_local(wf.now_of(context), zone)
    if local.hour < SEND_HOUR:
        return
    today = local.date()
    # Read after taking the lease: the progress the previous holder saved.
    state = await asyncio.to_thread(_load_state, services.db)
    done: dict[str, str] = dict(state.get("done") or {})
    state["done"] = done
    work = Round(context=context, lease=lease, state=state, interval_s=interval_s)
    if done.get("remind") != today.isoformat():
        reminders = await wf.in_session(context, lambda s: plan_reminders(s, on=today, rules=rules, tz=zone))
        if not await work.run(f"remind:{today.isoformat()}", reminders, _send_one):
            return
        done["remind"] = today.isoformat()
        await work.save()
        log.info("reminder round of %s finished: %d people", today.isoformat(), len(reminders))
    previous = Period.containing(today, rules.period).previous
    lists_after: tuple[tuple[str, Stage, Callable[..., list[Reminder]]], ...] = (
        ("late", "self_assessment", plan_late_lists),
        ("undecided", "decision", plan_undecided_lists),
    )
    for key, step, plan in lists_after:  # each list once per period, after its step's deadline
        if today <= deadline(rules, previous, step) or done.get(key) == str(previous):
            continue
        lists = await wf.in_session(context, partial(plan, on=today, period=previous, rules=rules, tz=zone))
        if not await work.run(f"{key}:{previous}", lists, _send_one):
            return
        done[key] = str(previous)
        await work.save()
    if today > deadline(rules, previous, "decision") and done.get("summary") != str(previous):
        staff = await wf.in_session(context, staff_recipients)
        recipients = sorted((SummaryRecipient(*row) for row in staff), key=lambda r: r.person_id)

        async def send(context: ContextTypes.DEFAULT_TYPE, recipient: SummaryRecipient) -> bool:
            return await _send_summary_to(context, recipient, previous, rules)

        if not await work.run(f"summary:{previous}", recipients, send, paced=False):
            return
        done["summary"] = str(previous)
        await work.save()


async def _send_summary_to(
    context: ContextTypes.DEFAULT_TYPE, recipient: SummaryRecipient, period: Period, rules: Rules
) -> bool:
    now, tz = wf.now_of(context), wf.timezone_of(context)
    summary = await wf.in_session(
        context,
        lambda s: build_summary(
            s,
            actor_id=recipient.person_id,
            unit_code=recipient.unit_code,
            period=str(period),
            rules=rules,
            now=now,
            tz=tz,
        ),
    )
    if summary.total.expected == 0:  # e.g. the month before the roster was loaded: nothing to report
        log.info(
            "no automatic summary for person %s: nobody was evaluated in %s", recipient.person_id, period
        )
        return True
    try:
        await send_summary(context, recipient.chat_id, summary, header=tw.SUMMARY_AUTO_HEADER)
    except TelegramError as exc:
        log.warning("summary to person %s failed: %s", recipient.person_id, type(exc).__name__)
    return True


ENSURE_TICK_RETRY_S = 5


async def _ensure_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store the tick job (once); restore_jobs re-creates it at every later start."""
    services = services_of(context)
    interval_s = wf.tick_seconds(context)
    try:
        stored = await asyncio.to_thread(botstate.list_jobs, services.db)
    except OperationalError:
        # The database is unreachable right after the start (/healthz says 503): without a retry the tick would
        # never be stored on a first start, and no reminder would go out until a restart.
        log.warning("database unreachable: storing the reminder tick again in %d s", ENSURE_TICK_RETRY_S)
        if context.application.job_queue is not None:
            context.application.job_queue.run_once(
                _ensure_tick, when=ENSURE_TICK_RETRY_S, name="workflows:ensure-tick"
            )
        return
    existing = next((j for j in stored if j.name == TICK_JOB), None)
    if existing is not None and existing.interval_s == interval_s:
        return
    await schedule_job(
        context.application,
        name=TICK_JOB,
        kind=TICK_KIND,
        run_at=datetime.now(UTC) + timedelta(seconds=1),
        interval_s=interval_s,
        data=existing.data if existing is not None else {},
    )


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    wf.setup(app)
    jobs.add_kind(TICK_KIND, tick)
    if app.job_queue is not None:
        app.job_queue.run_once(_ensure_tick, when=1, name="workflows:ensure-tick")


FEATURE = Feature(name="reminders", install=install)
