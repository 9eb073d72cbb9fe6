"""/dulieu: the signed-in person's own data (everything held about them) as JSON and an Excel workbook,
and a request to correct it, handed to the admins and committee staff over their unit (step mydata:fix)."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import texts_workflows as tw
from bot.access import ensure_private, ensure_signed_in
from bot.conversation import StepRouter, end_step, start_step
from bot.feature import SIGNED_IN, CommandSpec, Feature
from bot.features import workflow as wf
from bot.jobs import JobRegistry
from bot.messages import escape
from bot.replies import reply_html
from records import people
from records.errors import ValidationFailed
from records.personal_data import (
    CORRECTION_MAX_CHARS,
    export_person_data,
    personal_data_json,
    personal_data_xlsx_bytes,
    request_correction,
)
from records.views import PersonView

log = logging.getLogger(__name__)


async def mydata_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Export in a private chat only; the export is audited by records."""
    if not await ensure_private(update, context):
        return
    user = await ensure_signed_in(update, context)
    chat = update.effective_chat
    if user is None or user.person_id is None or chat is None:
        return
    person_id = user.person_id
    await reply_html(update, context, tw.MYDATA_WORKING)
    now, tz = wf.now_of(context), wf.timezone_of(context)

    def export(session: Session) -> dict[str, object]:
        return export_person_data(session, person_id=person_id, actor_id=person_id, now=now, tz=tz)

    data = await wf.in_session(context, export)
    text = personal_data_json(data)
    workbook = await asyncio.to_thread(personal_data_xlsx_bytes, data)
    await context.bot.send_document(
        chat.id,
        document=io.BytesIO(text.encode("utf-8")),
        filename="du-lieu-ca-nhan.json",
        caption=tw.MYDATA_CAPTION_JSON,
    )
    await context.bot.send_document(
        chat.id,
        document=io.BytesIO(workbook),
        filename="du-lieu-ca-nhan.xlsx",
        caption=tw.MYDATA_CAPTION_XLSX,
    )
    log.info("personal data exported for person %s", person_id)
    await reply_html(
        update,
        context,
        tw.MYDATA_FIX_HINT,
        InlineKeyboardMarkup([[InlineKeyboardButton(tw.BUTTON_MYDATA_FIX, callback_data="md:fix")]]),
    )


FIX_STEP = "mydata:fix"


async def fix_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """«Đề nghị đính chính»: the next message is the request (a second tap just asks again)."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    user = await ensure_signed_in(update, context)
    chat = update.effective_chat
    if user is None or user.person_id is None or chat is None or update.effective_user is None:
        return
    await start_step(context, chat_id=chat.id, user_id=update.effective_user.id, step=FIX_STEP)
    await reply_html(update, context, tw.MYDATA_FIX_ASK.format(limit=CORRECTION_MAX_CHARS))


async def fix_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    """Record the request, tell the people who can correct the data, confirm to the requester."""
    message, chat, tg_user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or tg_user is None:
        return
    user = await ensure_signed_in(update, context)
    if user is None or user.person_id is None:
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        return
    person_id, now = user.person_id, wf.now_of(context)

    def submit(session: Session) -> tuple[list[wf.Recipient], PersonView]:
        handlers = request_correction(session, person_id=person_id, text=message.text or "", now=now)
        return wf.chats_of(session, handlers), people.get_person(session, person_id=person_id)

    try:
        handlers, person = await wf.in_session(context, submit)
    except ValidationFailed as exc:
        hint = tw.MYDATA_FIX_TOO_LONG if exc.params.get("reason") == "too_long" else tw.MYDATA_FIX_TOO_SHORT
        await reply_html(update, context, hint.format(limit=CORRECTION_MAX_CHARS))
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    notice = tw.MYDATA_FIX_NOTICE.format(
        name=escape(person.full_name),
        code=escape(person.cadre_code),
        unit=escape(person.unit_name),
        text=escape(" ".join((message.text or "").split())),
    )
    reached = await wf.notify(context, handlers, notice)
    log.info("correction request of person %s handed to %d people", person_id, len(reached))
    await reply_html(update, context, tw.MYDATA_FIX_SENT if reached else tw.MYDATA_FIX_SENT_NOBODY)


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    wf.setup(app)
    app.add_handler(CommandHandler("dulieu", mydata_command))
    app.add_handler(CallbackQueryHandler(fix_button, pattern=r"^md:fix$"))
    router.add_step(FIX_STEP, fix_step)


FEATURE = Feature(
    name="mydata",
    install=install,
    commands=(CommandSpec("dulieu", tw.MYDATA_COMMAND, SIGNED_IN),),
)
