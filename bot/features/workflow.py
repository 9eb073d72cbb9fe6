"""Shared pieces of the workflow features: the clock seam, the rules, records calls off the event loop, notices.

The clock comes from the settings `CANBO_NOW` (a fixed ISO datetime) or `CANBO_NOW_FILE` (a file holding one,
re-read on every call, so a test can move time forward without restarting the bot): test and demo seams that
replace the real time of the workflow features only. Unset (production): the real UTC time. A clock file caught
mid-write (empty or unreadable) keeps the last value read from it rather than jumping to the real time.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session
from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ContextTypes

from bot import texts
from bot import texts_workflows as tw
from bot.access import CurrentUser, ensure_signed_in
from bot.conversation import load_state
from bot.messages import escape
from bot.replies import send_html
from bot.services import SERVICES_KEY, Services, services_of
from bot.settings import Settings
from records import localtime, people
from records.db import session_scope
from records.errors import RecordsError, ValidationFailed
from records.periods import Period
from records.rules import Rules, load_rules

log = logging.getLogger(__name__)

T = TypeVar("T")
RULES_KEY = "canbo.workflow.rules"
CLOCK_KEY = "canbo.workflow.clock"
_DAY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}|\d{2}))?$")


class Clock:
    """ "Now" for the workflow features: fixed, read from a file, or the real time."""

    def __init__(self, *, fixed: datetime | None = None, path: Path | None = None) -> None:
        self.fixed = fixed
        self.path = path
        self._last_read: datetime | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Clock:
        return cls(fixed=settings.now, path=settings.now_file)

    def now(self) -> datetime:
        if self.path is not None:
            try:
                value = _parse_instant(self.path.read_text(encoding="utf-8"))
            except OSError:
                value = None
            if value is not None:
                self._last_read = value
                return value
            if self._last_read is not None:  # the file is being rewritten: time does not jump to today
                return self._last_read
        return self.fixed or datetime.now(UTC)


def _parse_instant(raw: str) -> datetime | None:
    text = raw.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        log.warning("ignoring a clock value that is not an ISO datetime")
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ButtonPress:
    """An inline button pressed by a signed-in user: the query, its data split on «:», the chat and the user."""

    query: CallbackQuery
    parts: list[str]
    chat_id: int
    user: CurrentUser
    person_id: int


async def button_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> ButtonPress | None:
    """The preamble of every feature's button handler: None for an update without a query, data or chat,
    and for a user not signed in (after telling them how to sign in)."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None or chat is None:
        return None
    user = await ensure_signed_in(update, context)
    if user is None or user.person_id is None:
        return None
    return ButtonPress(
        query=query, parts=query.data.split(":"), chat_id=chat.id, user=user, person_id=user.person_id
    )


def setup(app: Application) -> None:  # type: ignore[type-arg]
    """Load the rules and the clock once (idempotent; called by every workflow feature's install)."""
    if RULES_KEY in app.bot_data:
        return
    services: Services = app.bot_data[SERVICES_KEY]
    app.bot_data[RULES_KEY] = load_rules(services.settings.rules_file)
    app.bot_data[CLOCK_KEY] = Clock.from_settings(services.settings)


def rules_of(context: ContextTypes.DEFAULT_TYPE) -> Rules:
    rules: Rules = context.application.bot_data[RULES_KEY]
    return rules


def now_of(context: ContextTypes.DEFAULT_TYPE) -> datetime:
    clock: Clock = context.application.bot_data[CLOCK_KEY]
    return clock.now()


def tick_seconds(context: ContextTypes.DEFAULT_TYPE) -> int:
    """Seconds between runs of the scheduled workflow job (`CANBO_WORKFLOW_TICK_S`, a test/demo seam)."""
    return services_of(context).settings.workflow_tick_s


def timezone_of(context: ContextTypes.DEFAULT_TYPE) -> str:
    """The deployment's time zone (`CANBO_TIMEZONE`), in which every time shown to a user is written."""
    return services_of(context).settings.timezone


def today_of(context: ContextTypes.DEFAULT_TYPE) -> date:
    """Today's date in the deployment's timezone, by the workflow clock."""
    return localtime.local_date(now_of(context), timezone_of(context))


def current_period(context: ContextTypes.DEFAULT_TYPE) -> Period:
    return Period.containing(today_of(context), rules_of(context).period)


def period_example(rules: Rules) -> str:
    return "2026-10" if rules.period == "month" else "2026-Q4"


def parse_period(raw: str, rules: Rules) -> Period | None:
    """A period typed by a user ("2026-10", "10/2026", "2026-q4"), or None when malformed or of the wrong kind."""
    text = raw.strip()
    if "/" in text:
        parts = text.split("/")
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            text = f"{parts[1]}-{int(parts[0]):02d}"
    try:
        parsed = Period.parse(text)
    except ValidationFailed:
        return None
    return parsed if parsed.kind == rules.period else None


def _in_session(engine: Engine, fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
    with session_scope(engine) as session:
        return fn(session, **kwargs)


async def call_records(context: ContextTypes.DEFAULT_TYPE, fn: Callable[..., T], **kwargs: Any) -> T:
    """Run a records service `fn(session, **kwargs)` in a committed transaction, off the event loop."""
    return await asyncio.to_thread(_in_session, services_of(context).db, fn, kwargs)


async def in_session(context: ContextTypes.DEFAULT_TYPE, fn: Callable[[Session], T]) -> T:
    """Run `fn(session)` (several records calls in one transaction), off the event loop."""
    return await asyncio.to_thread(_in_session_plain, services_of(context).db, fn)


def _in_session_plain(engine: Engine, fn: Callable[[Session], T]) -> T:
    with session_scope(engine) as session:
        return fn(session)


def describe_records_error(exc: RecordsError) -> str:
    """Vietnamese wording for a records error (escaped HTML), as a sentence: «❌ Bạn không có quyền …»."""
    reason = texts.describe_error(exc.code)  # written to follow a colon elsewhere, so in lower case
    return tw.ERROR_PREFIX + reason[:1].upper() + reason[1:]


def fmt_points(value: float | None) -> str:
    if value is None:
        return "—"
    return texts.format_decimal(value, 2)  # points are kept to two places: «17,5», «83,25», «90»


def fmt_date(value: date | None) -> str:
    """A calendar date (a deadline, a term's start), "—" when there is none; never an instant."""
    return localtime.format_date(value) if value is not None else "—"


def local_time(context: ContextTypes.DEFAULT_TYPE, at: datetime, fmt: str = localtime.DATE_TIME) -> str:
    """A stored instant as users read it: in the configured zone (stored naive values are UTC)."""
    return localtime.format_local(at, timezone_of(context), fmt)


def parse_day(raw: str, *, default_year: int | None = None) -> date | None:
    """A date typed on a phone: day/month/year with a four- or two-digit year ("1/10/26" is 2026), or
    day/month in `default_year` when one is given; None when it is not a calendar date.

    The one parser of dates typed in the chat (plan deadlines, programme terms and deadlines)."""
    match = _DAY.match(raw.strip())
    if match is None:
        return None
    day, month, typed_year = match.groups()
    if typed_year is None:
        if default_year is None:
            return None
        year = default_year
    else:
        year = int(typed_year) + (2000 if len(typed_year) == 2 else 0)
    try:
        return date(year, int(month), int(day))
    except ValueError:
        return None


def parse_number(raw: str) -> float | None:
    """A number typed on a phone: "17,5", "17.5", " 18 "."""
    text = raw.strip().replace(" ", "").replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


@dataclass(frozen=True)
class Recipient:
    """A person to notify in their private chat."""

    person_id: int
    name: str
    chat_id: int


def chats_of(session: Session, person_ids: Iterable[int]) -> list[Recipient]:
    """The signed-in people among `person_ids`, with their private chat ids (order kept, no duplicates)."""
    wanted = list(dict.fromkeys(person_ids))
    links = people.telegram_links(session, person_ids=set(wanted))
    out: list[Recipient] = []
    for pid in wanted:
        link = links.get(pid)
        if link is None:
            continue
        person = people.get_person(session, person_id=pid)
        out.append(Recipient(pid, person.full_name, link.chat_id or link.telegram_user_id))
    return out


async def notify(
    context: ContextTypes.DEFAULT_TYPE,
    recipients: Iterable[Recipient],
    html: str,
    markup: InlineKeyboardMarkup | None = None,
) -> list[Recipient]:
    """Send `html` to each recipient; returns those reached (a blocked bot is logged, not raised)."""
    reached = []
    for recipient in recipients:
        try:
            await send_html(context, recipient.chat_id, html, markup)  # split under Telegram's limit
            reached.append(recipient)
        except Forbidden:
            log.info("person %s blocked the bot: notice not delivered", recipient.person_id)
        except TelegramError as exc:
            log.warning("notice to person %s failed: %s", recipient.person_id, type(exc).__name__)
    return reached


def names(recipients: Iterable[Recipient]) -> str:
    return ", ".join(escape(r.name) for r in recipients) or tw.REVIEWER_NOTIFIED_NONE


async def load_step(
    context: ContextTypes.DEFAULT_TYPE, *, chat_id: int, user_id: int
) -> tuple[str, dict[str, Any]] | None:
    """The user's stored conversation step and its data, if any."""
    state = await load_state(context, chat_id=chat_id, user_id=user_id)
    return None if state is None else (state.state, dict(state.data))
