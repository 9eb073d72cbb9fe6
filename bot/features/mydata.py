"""/dulieu: the signed-in person's own data (everything held about them) as JSON and an Excel workbook."""

from __future__ import annotations

import asyncio
import io
import logging

from sqlmodel import Session
from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot import texts_workflows as tw
from bot.access import ensure_private, ensure_signed_in
from bot.conversation import StepRouter
from bot.feature import SIGNED_IN, CommandSpec, Feature
from bot.features import workflow as wf
from bot.jobs import JobRegistry
from bot.replies import reply_html
from records.personal_data import export_person_data, personal_data_json, personal_data_xlsx_bytes

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
    now = wf.now_of(context)

    def export(session: Session) -> dict[str, object]:
        return export_person_data(session, person_id=person_id, actor_id=person_id, now=now)

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


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    wf.setup(app)
    app.add_handler(CommandHandler("dulieu", mydata_command))


FEATURE = Feature(
    name="mydata",
    install=install,
    commands=(CommandSpec("dulieu", tw.MYDATA_COMMAND, SIGNED_IN),),
)
