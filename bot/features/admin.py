"""Administration from the chat: upload regulation documents and the roster, list / replace / remove documents.

```mermaid
stateDiagram-v2
    [*] --> idle
    idle --> ingesting: admin sends PDF/DOCX/TXT/MD/HTML (progress message edited in place)
    ingesting --> idle: found number, title, date, articles, relations / refused with the reason
    idle --> importing: admin sends CSV/XLSX
    importing --> idle: summary / row-level report (nothing imported)
    importing --> confirm_roster: would deactivate people or revoke roles (file kept in roster_upload)
    confirm_roster --> idle: Áp dụng (full) / Chỉ bổ sung (adds only) / Hủy; a second tap: "already done"
    idle --> confirm_remove: /vanban → 🗑 button
    confirm_remove --> idle: confirm (a second tap: "already removed") / cancel
    idle --> ask_replacement: /vanban → ⚠️ button (step doc:replace)
    ask_replacement --> idle: replacing number typed / /huy
```
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import texts
from bot.access import current_user, ensure_private, ensure_role, user_cache
from bot.conversation import StepRouter, end_step, start_step
from bot.feature import ANYONE, CommandSpec, Feature
from bot.jobs import JobRegistry
from bot.locks import KeyedLocks
from bot.messages import escape
from bot.render import render_document_info, render_document_list, render_documents_to_reload
from bot.replies import reply_html, send_html
from bot.services import Services, services_of
from knowledge import find_numbers
from knowledge.loaders import MAX_DOCX_UNPACKED_BYTES, unpacked_size
from records import roster
from records.db import session_scope
from records.errors import ConcurrentUpdate, ImportRejected, PermissionDenied, ValidationFailed

log = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = frozenset({".pdf", ".docx", ".txt", ".md", ".html", ".htm"})
ROSTER_SUFFIXES = frozenset({".csv", ".xlsx"})
REPLACE_STEP = "doc:replace"
# The exact shapes of this feature's callback data (anything else falls to the expired-button answer).
DOCUMENT_BUTTONS = r"^doc:(?:(?:rm|rmok|rep):[0-9a-f]{12}|cancel)$"
ROSTER_BUTTONS = r"^roster:(?:full|add|no):\d+$"
MAX_ROSTER_ISSUES_SHOWN = 30
ADMIN = ("admin",)
DOCUMENT_LOCKS = KeyedLocks()


def doc_key(doc_id: str) -> str:
    """A short, stable key for a document id in callback data (64-byte limit)."""
    return hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:12]


async def _find_document(services: Services, key: str) -> Any | None:
    documents = await asyncio.to_thread(services.qa.documents)
    return next((d for d in documents if doc_key(d.doc_id) == key), None)


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text, parse_mode=ParseMode.HTML)
    except TelegramError as exc:  # e.g. "message is not modified"
        log.debug("progress edit skipped: %s", exc)


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file from an admin: a regulation document or a roster, by extension."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    if not await ensure_private(update, context):
        return
    services = services_of(context)
    support = escape(services.settings.support_contact)
    user = await current_user(update, context)
    if not user.has_role(*ADMIN):
        await message.reply_text(texts.UPLOAD_NOT_ADMIN.format(support=support), parse_mode=ParseMode.HTML)
        return
    document = message.document
    name = Path(document.file_name or "tep").name
    suffix = Path(name).suffix.lower()
    if suffix not in DOCUMENT_SUFFIXES | ROSTER_SUFFIXES:
        await message.reply_text(
            texts.UPLOAD_UNSUPPORTED.format(name=escape(name)), parse_mode=ParseMode.HTML
        )
        return
    limit_mb = services.settings.max_upload_mb
    size = document.file_size or 0
    if size > limit_mb * 1024 * 1024:
        await message.reply_text(
            texts.UPLOAD_TOO_LARGE.format(name=escape(name), size=texts.upload_size_mb(size), limit=limit_mb),
            parse_mode=ParseMode.HTML,
        )
        return
    progress = await message.reply_text(
        texts.UPLOAD_RECEIVED.format(name=escape(name)), parse_mode=ParseMode.HTML
    )
    try:
        tg_file = await document.get_file()
        data = bytes(await tg_file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("download of an uploaded file failed: %s", type(exc).__name__)
        await _edit(progress, texts.UPLOAD_DOWNLOAD_FAILED.format(name=escape(name)))
        return
    if len(data) > limit_mb * 1024 * 1024:
        await _edit(
            progress,
            texts.UPLOAD_TOO_LARGE.format(
                name=escape(name), size=texts.upload_size_mb(len(data)), limit=limit_mb
            ),
        )
        return
    if suffix == ".docx" and unpacked_size(data) > MAX_DOCX_UNPACKED_BYTES:
        log.warning("a .docx upload that unpacks to over %d bytes was refused", MAX_DOCX_UNPACKED_BYTES)
        await _edit(progress, texts.UPLOAD_UNPACKED_TOO_LARGE.format(name=escape(name)))
        return
    if suffix in ROSTER_SUFFIXES:
        await _import_roster(update, context, progress, name=name, data=data, actor_id=user.person_id)
    else:
        await _ingest(context, progress, name=name, data=data)


async def _ingest(context: ContextTypes.DEFAULT_TYPE, progress: Message, *, name: str, data: bytes) -> None:
    services = services_of(context)
    await _edit(progress, texts.UPLOAD_PROCESSING.format(name=escape(name)))
    uploads = services.settings.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=uploads) as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        outcome = await asyncio.to_thread(
            services.qa.ingest_file,
            path,
            allow_classified=services.settings.allow_classified,
            max_bytes=services.settings.max_upload_mb * 1024 * 1024,
        )
    log.info("upload ingested: status=%s code=%s", outcome.status, outcome.error_code)
    escaped = escape(name)
    if outcome.status == "refused" or outcome.document is None:
        await _edit(
            progress,
            texts.UPLOAD_REFUSED.format(name=escaped, reason=texts.describe_error(outcome.error_code)),
        )
        return
    header = {
        "added": texts.UPLOAD_ADDED,
        "updated": texts.UPLOAD_UPDATED,
    }.get(outcome.status, texts.UPLOAD_UNCHANGED)
    await _edit(progress, header.format(name=escaped) + "\n\n" + render_document_info(outcome.document))


@dataclass(frozen=True)
class RosterBlock:
    """Issues to render like a rejected report's."""

    issues: list[roster.RowIssue]


def _roster_report_lines(report: Any) -> list[str]:
    lines = []
    for issue in report.issues[:MAX_ROSTER_ISSUES_SHOWN]:
        template = texts.ROSTER_ISSUES.get(issue.code, texts.ROSTER_ISSUE_FALLBACK)
        message = template.format(
            column=escape(issue.column or ""), value=escape(issue.value or ""), code=escape(issue.code)
        )
        if issue.row > 0:
            lines.append(texts.ROSTER_ROW_ERROR.format(row=issue.row, message=message))
        else:
            lines.append(texts.ROSTER_FILE_ERROR.format(message=message))
    if len(report.issues) > MAX_ROSTER_ISSUES_SHOWN:
        lines.append(texts.ROSTER_MORE_ERRORS.format(count=len(report.issues) - MAX_ROSTER_ISSUES_SHOWN))
    return lines


def _import_or_stage(
    engine: Any, *, data: bytes, filename: str, actor_id: int | None
) -> roster.RosterOutcome:
    with session_scope(engine) as session:
        return roster.import_or_stage(session, data=data, filename=filename, actor_id=actor_id)


def _apply_staged(engine: Any, *, upload_id: int, actor_id: int | None, mode: str) -> roster.RosterReport:
    with session_scope(engine) as session:
        return roster.apply_staged_roster(session, upload_id=upload_id, actor_id=actor_id, mode=mode)


def _cancel_staged(engine: Any, *, upload_id: int, actor_id: int | None) -> None:
    with session_scope(engine) as session:
        roster.cancel_staged_roster(session, upload_id=upload_id, actor_id=actor_id)


def roster_summary(report: roster.RosterReport) -> str:
    """The counts of an applied import, in Vietnamese."""
    summary = texts.roster_counts(report)
    extra = []
    if report.people_reactivated:
        extra.append(texts.ROSTER_SUMMARY_REACTIVATED.format(count=report.people_reactivated))
    if report.people_deactivated:
        extra.append(texts.ROSTER_SUMMARY_DEACTIVATED.format(count=report.people_deactivated))
    if report.roles_revoked:
        extra.append(texts.ROSTER_SUMMARY_REVOKED.format(count=report.roles_revoked))
    return " ".join([summary, *extra])


def roster_preview(outcome: roster.RosterOutcome, *, name: str) -> str:
    """What a destructive import would do, for the admin to confirm (names escaped here)."""
    report = outcome.report
    also = texts.ROSTER_PREVIEW_ALSO.format(
        created=report.people_created,
        updated=report.people_updated,
        reactivated=report.people_reactivated,
        roles=report.roles_granted,
    )
    if outcome.blocked:
        return "\n".join(
            [
                texts.ROSTER_PREVIEW_BLOCKED.format(name=escape(name)),
                *_roster_report_lines(RosterBlock(issues=outcome.blocked)),
                also,
                texts.ROSTER_PREVIEW_ASK_ADD_ONLY,
            ]
        )
    lines = [texts.ROSTER_PREVIEW_HEADER.format(name=escape(name))]
    if report.people_deactivated:
        lines.append(texts.ROSTER_PREVIEW_DEACTIVATE.format(count=report.people_deactivated))
        lines.extend(texts.ROSTER_PREVIEW_NAME.format(name=escape(n)) for n in report.deactivated)
        hidden = report.people_deactivated - len(report.deactivated)
        if hidden > 0:
            lines.append(texts.ROSTER_PREVIEW_MORE.format(count=hidden))
    if report.roles_revoked_unlisted:
        lines.append(texts.ROSTER_PREVIEW_REVOKE.format(count=report.roles_revoked_unlisted))
    lines.append(also)
    if report.roles_kept_outside_scope:
        lines.append(texts.ROSTER_PREVIEW_KEPT.format(count=report.roles_kept_outside_scope))
    lines.append(texts.ROSTER_PREVIEW_ASK)
    return "\n".join(lines)


def _forget_users(context: ContextTypes.DEFAULT_TYPE, report: roster.RosterReport) -> None:
    """Drop cached identities whose access just changed, so their next message sees the new roles."""
    cache = user_cache(context)
    for telegram_user_id in report.telegram_user_ids:
        cache.forget(telegram_user_id)


async def _import_roster(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    progress: Message,
    *,
    name: str,
    data: bytes,
    actor_id: int | None,
) -> None:
    services = services_of(context)
    await _edit(progress, texts.ROSTER_RECEIVED.format(name=escape(name)))
    try:
        outcome = await asyncio.to_thread(
            _import_or_stage, services.db, data=data, filename=name, actor_id=actor_id
        )
    except ImportRejected as exc:
        rejected = exc.params.get("report")
        log.info("roster upload rejected: %d issues", len(getattr(rejected, "issues", [])))
        await _edit(progress, texts.ROSTER_REJECTED.format(name=escape(name)))
        if rejected is not None and update.effective_chat is not None:
            await send_html(context, update.effective_chat.id, "\n".join(_roster_report_lines(rejected)))
        return
    except PermissionDenied:
        log.info("roster upload outside the admin's scope")
        await _edit(progress, texts.ROSTER_NOT_YOURS.format(name=escape(name)))
        return
    report = outcome.report
    if outcome.upload_id is not None:
        upload_id = outcome.upload_id
        choices = [
            InlineKeyboardButton(texts.BUTTON_ROSTER_ADD_ONLY, callback_data=f"roster:add:{upload_id}")
        ]
        if not outcome.blocked:
            choices.insert(
                0, InlineKeyboardButton(texts.BUTTON_ROSTER_APPLY, callback_data=f"roster:full:{upload_id}")
            )
        markup = InlineKeyboardMarkup(
            [choices, [InlineKeyboardButton(texts.BUTTON_CANCEL, callback_data=f"roster:no:{upload_id}")]]
        )
        log.info("roster upload %s waits for confirmation", upload_id)
        await progress.edit_text(
            roster_preview(outcome, name=name), parse_mode=ParseMode.HTML, reply_markup=markup
        )
        return
    _forget_users(context, report)
    log.info("roster imported: %d rows", report.rows)
    await _edit(progress, texts.ROSTER_OK.format(name=escape(name), summary=roster_summary(report)))


async def on_roster_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """roster:full:<id> | roster:add:<id> | roster:no:<id> — the admin's answer to a roster preview."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    if not await ensure_private(update, context):
        return
    user = await ensure_role(update, context, *ADMIN)
    if user is None:
        return
    parts = query.data.split(":")
    if len(parts) != 3 or parts[1] not in ("full", "add", "no") or not parts[2].isdigit():
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)
        return
    services = services_of(context)
    action, upload_id = parts[1], int(parts[2])
    try:
        if action == "no":
            await asyncio.to_thread(_cancel_staged, services.db, upload_id=upload_id, actor_id=user.person_id)
            await query.answer(texts.ACTION_CANCELLED)
            await query.edit_message_text(texts.ROSTER_CANCELLED, parse_mode=ParseMode.HTML)
            return
        mode = "full" if action == "full" else "supplement"
        report = await asyncio.to_thread(
            _apply_staged, services.db, upload_id=upload_id, actor_id=user.person_id, mode=mode
        )
    except ConcurrentUpdate as exc:
        done = exc.params.get("state") == "applied"
        await query.answer(texts.DUPLICATE_ACTION if done else texts.ROSTER_PREVIEW_GONE, show_alert=True)
        return
    except ValidationFailed:  # expired or unknown
        await query.answer(texts.ROSTER_PREVIEW_EXPIRED, show_alert=True)
        await query.edit_message_reply_markup(None)
        return
    except PermissionDenied:
        await query.answer(texts.ROSTER_PREVIEW_NOT_YOURS, show_alert=True)
        return
    except ImportRejected as exc:  # the database changed since the preview and the file no longer fits
        rejected = exc.params.get("report")
        await query.answer()
        await query.edit_message_text(texts.ROSTER_REJECTED_NOW, parse_mode=ParseMode.HTML)
        if rejected is not None and update.effective_chat is not None:
            await send_html(context, update.effective_chat.id, "\n".join(_roster_report_lines(rejected)))
        return
    _forget_users(context, report)
    log.info("roster upload %s applied (%s)", upload_id, mode)
    await query.answer()
    header = texts.ROSTER_APPLIED if mode == "full" else texts.ROSTER_APPLIED_ADD_ONLY
    await query.edit_message_text(header.format(summary=roster_summary(report)), parse_mode=ParseMode.HTML)


# --- /vanban --------------------------------------------------------------------------------------


async def list_documents(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/vanban: documents with their status; admins get replace/remove buttons."""
    services = services_of(context)
    chat = update.effective_chat
    if chat is None:
        return
    user = await current_user(update, context)
    if services.settings.qa_requires_login and not user.signed_in:  # part of Q&A: same rule
        await reply_html(update, context, texts.LOGIN_REQUIRED)
        return
    documents = await asyncio.to_thread(services.qa.documents)
    markup = None
    text = render_document_list(documents)
    if documents and user.has_role(*ADMIN) and chat.type == "private":
        rows = [
            [
                InlineKeyboardButton(
                    texts.BUTTON_DOC_REPLACE.format(index=i), callback_data=f"doc:rep:{doc_key(d.doc_id)}"
                ),
                InlineKeyboardButton(
                    texts.BUTTON_DOC_REMOVE.format(index=i), callback_data=f"doc:rm:{doc_key(d.doc_id)}"
                ),
            ]
            for i, d in enumerate(documents[:50], 1)
        ]
        markup = InlineKeyboardMarkup(rows)
        stale = render_documents_to_reload(documents)
        text += "\n\n" + (stale + "\n\n" if stale else "") + texts.DOCS_ADMIN_HINT
    await send_html(context, chat.id, text, markup)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """doc:rm:<key> | doc:rmok:<key> | doc:rep:<key> | doc:cancel."""
    query = update.callback_query
    if query is None or query.data is None or update.effective_chat is None:
        return
    if not await ensure_private(update, context):
        return
    if await ensure_role(update, context, *ADMIN) is None:
        return
    services = services_of(context)
    parts = query.data.split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action == "cancel":
        await query.answer(texts.ACTION_CANCELLED)
        await query.edit_message_reply_markup(None)
        return
    if len(parts) != 3:
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)
        return
    async with DOCUMENT_LOCKS.hold(parts[2]):  # a double tap waits, then finds the document gone
        await _document_action(update, context, services, action, parts[2])


async def _document_action(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, action: str, key: str
) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    info = await _find_document(services, key)
    if info is None:
        await query.answer(texts.DOC_GONE, show_alert=True)
        return
    number = escape(info.number or info.title)
    if action == "rm":
        await query.answer()
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(texts.BUTTON_CONFIRM_REMOVE, callback_data=f"doc:rmok:{key}"),
                    InlineKeyboardButton(texts.BUTTON_CANCEL, callback_data="doc:cancel"),
                ]
            ]
        )
        await send_html(
            context,
            update.effective_chat.id,
            texts.DOC_REMOVE_CONFIRM.format(number=number, title=escape(info.title)),
            markup,
        )
    elif action == "rmok":
        await asyncio.to_thread(services.qa.remove_document, info.doc_id)
        log.info("document removed by an admin")
        await query.answer()
        await query.edit_message_text(texts.DOC_REMOVED.format(number=number), parse_mode=ParseMode.HTML)
    elif action == "rep":
        await start_step(
            context,
            chat_id=update.effective_chat.id,
            user_id=query.from_user.id,
            step=REPLACE_STEP,
            data={"doc_id": info.doc_id},
        )
        await query.answer()
        await send_html(context, update.effective_chat.id, texts.DOC_REPLACE_PROMPT.format(number=number))
    else:
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)


def _document_number(raw: str) -> str | None:
    """The first document number in what the admin typed ("65-QĐ/TW", "Quy định số 138/2020/NĐ-CP"…)."""
    numbers = find_numbers(raw) if len(raw) <= 200 else []
    return numbers[0] if numbers else None


async def replace_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    """The admin types the number of the replacing document."""
    services = services_of(context)
    message, chat, tg_user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or tg_user is None:
        return
    raw = (message.text or "").strip()
    number = _document_number(raw)
    if number is None:
        await reply_html(update, context, texts.DOC_REPLACE_BAD)
        return
    doc_id = str(data.get("doc_id", ""))
    try:
        await asyncio.to_thread(services.qa.mark_replaced, doc_id, replaced_by=number)
    except Exception as exc:
        if getattr(exc, "code", None) != "document_not_found":
            raise
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        await reply_html(update, context, texts.DOC_GONE)
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    documents = await asyncio.to_thread(services.qa.documents)
    info = next((d for d in documents if d.doc_id == doc_id), None)
    shown = info.number or info.title if info is not None else doc_id
    log.info("document marked replaced by an admin")
    await reply_html(
        update, context, texts.DOC_REPLACED.format(number=escape(shown), replaced_by=escape(number))
    )


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("vanban", list_documents))
    app.add_handler(CallbackQueryHandler(on_button, pattern=DOCUMENT_BUTTONS))
    app.add_handler(CallbackQueryHandler(on_roster_button, pattern=ROSTER_BUTTONS))
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    router.add_step(REPLACE_STEP, replace_step)


FEATURE = Feature(
    name="admin",
    install=install,
    commands=(CommandSpec("vanban", texts.COMMAND_DESCRIPTIONS["vanban"], ANYONE, in_groups=True),),
    help_lines=((frozenset(ADMIN), texts.HELP_ADMIN),),
)
