"""/tonghop [kỳ] [đơn vị]: the period summary as a message, the PNG chart and the Excel file, within the user's scope.

```mermaid
stateDiagram-v2
    [*] --> check: /tonghop [kỳ] [mã đơn vị]
    check --> refused: bad period / a word neither unit, period nor year (the accepted forms) / outside the scope
    check --> sent: text summary, PNG chart, Excel workbook
    check --> yearly: a year (/tonghop 2026 [mã đơn vị]) → the year's roll-up text and workbook («Cả năm 2026»)
```
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlmodel import Session
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes

from bot import texts_workflows as tw
from bot.access import CurrentUser, ensure_private, ensure_signed_in
from bot.conversation import StepRouter
from bot.feature import CommandSpec, Feature
from bot.features import workflow as wf
from bot.jobs import JobRegistry
from bot.messages import escape
from bot.replies import reply_html, send_html
from records import access, people
from records.charts import render_summary_png
from records.errors import NotFound, PermissionDenied, RecordsError
from records.export_xlsx import summary_xlsx_bytes
from records.periods import Period
from records.rules import Rules
from records.summary import (
    PeriodSummary,
    YearlyRollup,
    periods_of_year,
    render_summary_text,
    render_yearly_text,
    summarize_period,
    yearly_rollup,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

SUMMARY_ROLES = ("staff", "head", "admin")
_YEAR = re.compile(r"^\d{4}$")
# A quarter typed under monthly rules: «Q4», «quý 4», «quy4», «2026-Q4», «Q4/2026» (compared without marks).
_QUARTER_TYPED = re.compile(r"^(?:\d{4}\s*[-/]?\s*)?(?:q|quy)\s*\.?\s*[1-4](?:\s*[-/]\s*\d{4})?$")


def typed_quarter(args: list[str]) -> str | None:
    """The words of `args` that name a quarter (one word, or «quý» and its number), as typed; else None."""
    candidates = [*args[:2], " ".join(args[:2])] if len(args) >= 2 else list(args[:1])
    for raw in candidates:
        bare = unicodedata.normalize("NFD", raw.replace("đ", "d").replace("Đ", "D"))
        bare = "".join(ch for ch in bare if not unicodedata.combining(ch)).casefold().strip()
        if _QUARTER_TYPED.match(bare):
            return raw.strip()
    return None


def default_unit_code(session: Session, *, role_units: tuple[tuple[str, int], ...]) -> str | None:
    """The widest unit the person summarises (staff, head or admin scope), or None."""
    candidates = sorted(
        {unit_id for role, unit_id in role_units if role in SUMMARY_ROLES},
        key=lambda uid: access.unit_depth(session, uid),
    )
    if not candidates:
        return None
    units = {u.id: u.code for u in people.list_units(session)}
    return units.get(candidates[0])


def build_summary(
    session: Session,
    *,
    actor_id: int | None,
    unit_code: str,
    period: str,
    rules: Rules,
    now: datetime,
    tz: str,
) -> PeriodSummary:
    """The summary with its people, made at `now` (the workflow clock's time, shown as «Lập lúc»); the
    period ends at midnight in the deployment's zone `tz`."""
    return summarize_period(
        session,
        unit_code=unit_code,
        period=period,
        rules=rules,
        actor_id=actor_id,
        include_people=True,
        now=now,
        tz=tz,
    )


async def send_summary(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, summary: PeriodSummary, *, header: str = ""
) -> None:
    """The summary text, then the chart and the workbook (rendered off the event loop), times in local time."""
    tz = wf.timezone_of(context)
    text = escape(render_summary_text(summary, tz=tz))
    await send_html(context, chat_id, (header + "\n\n" if header else "") + f"<pre>{text}</pre>")
    png = await asyncio.to_thread(render_summary_png, summary)
    unit = escape(f"{summary.unit_name} ({summary.unit_code})")
    await context.bot.send_photo(
        chat_id,
        photo=png,
        caption=tw.SUMMARY_CHART_CAPTION.format(period=summary.period, unit=unit),
        parse_mode=ParseMode.HTML,
    )
    workbook = await asyncio.to_thread(summary_xlsx_bytes, summary, tz=tz)
    await context.bot.send_document(
        chat_id,
        document=io.BytesIO(workbook),
        filename=f"tong-hop-{summary.unit_code}-{summary.period}.xlsx",
        caption=tw.SUMMARY_XLSX_CAPTION.format(period=summary.period, unit=unit),
        parse_mode=ParseMode.HTML,
    )


async def summary_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/tonghop [kỳ] [mã đơn vị] (either order); defaults: the previous period, the user's widest unit."""
    if not await ensure_private(update, context):
        return
    user = await ensure_signed_in(update, context)
    chat = update.effective_chat
    if user is None or chat is None:
        return
    rules = wf.rules_of(context)
    period = str(wf.current_period(context).previous)
    quarter = typed_quarter(list(context.args or [])) if rules.period == "month" else None
    if quarter is not None and not await _known_unit(context, quarter.upper()):  # a unit «Q4» (Quận 4) wins
        # There is no quarterly summary under monthly rules: say so, not «not a unit code».
        current = wf.current_period(context)
        await reply_html(
            update,
            context,
            tw.SUMMARY_NO_QUARTERS.format(
                value=escape(quarter[:20]), period=current.previous, year=current.year
            ),
        )
        return
    unit_code: str | None = None
    words: list[str] = []  # the other words as typed, for messages; the unit lookup upper-cases them
    year: int | None = None
    for arg in (context.args or [])[:2]:
        parsed = wf.parse_period(arg, rules)
        if parsed is not None:
            period = str(parsed)
        elif _YEAR.match(arg.strip()):
            year = int(arg.strip())
        elif any(ch.isdigit() for ch in arg) and ("-" in arg or "/" in arg):
            await reply_html(
                update,
                context,
                tw.BAD_PERIOD.format(value=escape(arg[:20]), example=wf.period_example(rules)),
            )
            return
        else:
            words.append(arg.strip())
    if len(context.args or []) > 2:
        await reply_html(update, context, tw.SUMMARY_USAGE.format(example=wf.period_example(rules)))
        return
    for word in words:
        if not await _known_unit(context, word.upper()):
            await _reply_unknown_argument(update, context, user, word)
            return
        unit_code = word.upper()
    if year is not None:
        await _reply_yearly(update, context, user, chat.id, year=year, unit_code=unit_code)
        return
    await _reply_summary(update, context, user, chat.id, period=period, unit_code=unit_code)


async def _known_unit(context: ContextTypes.DEFAULT_TYPE, code: str) -> bool:
    return await wf.in_session(context, lambda s: people.find_unit_by_code(s, code=code) is not None)


async def _reply_unknown_argument(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, value: str
) -> None:
    """A word that is neither a unit code nor a period or year: say so, with the accepted forms and a real example
    (the previous period, this year, the user's own unit)."""
    rules, current = wf.rules_of(context), wf.current_period(context)
    previous = current.previous
    role_units = user.role_units
    unit = await wf.in_session(context, lambda s: default_unit_code(s, role_units=role_units)) or "BD"
    periods = (
        tw.SUMMARY_PERIOD_FORMS_MONTH.format(period=previous, slash=f"{previous.index}/{previous.year}")
        if rules.period == "month"
        else tw.SUMMARY_PERIOD_FORMS_QUARTER.format(period=previous)
    )
    await reply_html(
        update,
        context,
        tw.SUMMARY_UNKNOWN_ARG.format(
            value=escape(value[:20]), periods=periods, year=current.year, unit=escape(unit), period=previous
        ),
    )


def sheet_period(year: int, current: Period) -> str:
    """The period whose sheets go with a year's roll-up: the last one finished in that year, else its first."""
    periods = periods_of_year(year, quarterly=current.kind == "quarter")
    if year < current.year:
        return periods[-1]
    return str(current.previous) if current.previous.year == year else periods[0]


async def _built_in_scope(
    update: Update, context: ContextTypes.DEFAULT_TYPE, code: str, build: Callable[[Session], T]
) -> T | None:
    """`build` in a session; an unknown unit, one outside the user's scope or another records error is
    answered (and None returned)."""
    try:
        return await wf.in_session(context, build)
    except NotFound:
        await reply_html(update, context, tw.SUMMARY_UNKNOWN_UNIT.format(value=escape(code)))
    except PermissionDenied:
        await reply_html(update, context, tw.SUMMARY_OUT_OF_SCOPE.format(value=escape(code)))
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))
    return None


async def _reply_yearly(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: CurrentUser,
    chat_id: int,
    *,
    year: int,
    unit_code: str | None,
) -> None:
    """The year's roll-up: each person's final grade per period, as text and as the workbook's «Cả năm» sheet."""
    rules, current = wf.rules_of(context), wf.current_period(context)
    if not 2000 <= year <= current.year:
        await reply_html(update, context, tw.SUMMARY_YEAR_BAD.format(value=year, current=current.year))
        return
    if unit_code is None:
        role_units = user.role_units
        unit_code = await wf.in_session(context, lambda s: default_unit_code(s, role_units=role_units))
        if unit_code is None:
            await reply_html(update, context, tw.SUMMARY_NO_SCOPE)
            return
    code, now, period = unit_code, wf.now_of(context), sheet_period(year, current)
    tz = wf.timezone_of(context)

    def build(session: Session) -> tuple[YearlyRollup, PeriodSummary]:
        rollup = yearly_rollup(
            session, unit_code=code, year=year, rules=rules, actor_id=user.person_id, tz=tz
        )
        summary = build_summary(
            session, actor_id=user.person_id, unit_code=code, period=period, rules=rules, now=now, tz=tz
        )
        return rollup, summary

    built = await _built_in_scope(update, context, code, build)
    if built is None:
        return
    rollup, summary = built
    log.info("yearly roll-up of a unit sent for %s", year)
    await send_html(context, chat_id, f"<pre>{escape(render_yearly_text(rollup))}</pre>")
    tz = wf.timezone_of(context)
    workbook = await asyncio.to_thread(summary_xlsx_bytes, summary, tz=tz, yearly=rollup)
    unit = escape(f"{rollup.unit_name} ({rollup.unit_code})")
    await context.bot.send_document(
        chat_id,
        document=io.BytesIO(workbook),
        filename=f"tong-hop-{rollup.unit_code}-nam-{year}.xlsx",
        caption=tw.SUMMARY_YEAR_XLSX_CAPTION.format(year=year, unit=unit, period=summary.period),
        parse_mode=ParseMode.HTML,
    )


async def _reply_summary(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: CurrentUser,
    chat_id: int,
    *,
    period: str,
    unit_code: str | None,
) -> None:
    rules = wf.rules_of(context)
    role_units = user.role_units
    if unit_code is None:
        unit_code = await wf.in_session(context, lambda s: default_unit_code(s, role_units=role_units))
        if unit_code is None:
            await reply_html(update, context, tw.SUMMARY_NO_SCOPE)
            return
    code, now, tz = unit_code, wf.now_of(context), wf.timezone_of(context)
    summary = await _built_in_scope(
        update,
        context,
        code,
        lambda s: build_summary(
            s, actor_id=user.person_id, unit_code=code, period=period, rules=rules, now=now, tz=tz
        ),
    )
    if summary is None:
        return
    log.info("summary of a unit sent for period %s", period)
    await send_summary(context, chat_id, summary)


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    wf.setup(app)
    app.add_handler(CommandHandler("tonghop", summary_command))


FEATURE = Feature(
    name="summary",
    install=install,
    commands=(CommandSpec("tonghop", tw.COMMAND_DESCRIPTIONS["tonghop"], frozenset(SUMMARY_ROLES)),),
)
