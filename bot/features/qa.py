"""Regulation Q&A: any private text (or /hoi, or a mention in a group) is a question.

The answer carries its citations, a warning for replaced documents, "full article" buttons and 👍/👎.
When nothing relevant is loaded the asker may pass the question to committee staff, who answer through
the bot ("Trả lời" → the next message is the reply, a conversation step that survives restarts).

```mermaid
sequenceDiagram
    participant U as Asker
    participant B as Bot
    participant S as Staff
    U->>B: question
    B->>U: nothing found + [Chuyển cho Ban Tổ chức]
    U->>B: press (a second press is ignored)
    B->>S: a copy to every staff member: question + [Trả lời] (copy's chat and message id stored)
    S->>B: press, then the reply text (step qa:staff_reply)
    B->>U: staff's reply (only the first reply is sent)
    B->>S: the other staff's copies edited: no [Trả lời], who answered and when
```
A confident answer has no hand-off button: the asker's 👎 on it (newly recorded, not yet handed off) brings a
message offering the same button.
An old «Trả lời» (a copy not yet edited, or pressed by another staff member mid-way) says who answered and
when instead of opening a second reply.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import texts
from bot.access import CurrentUser, current_user, ensure_private, ensure_role, is_private
from bot.conversation import StepRouter, end_step, start_step
from bot.feature import ANYONE, CommandSpec, Feature
from bot.features.workflow import local_time
from bot.jobs import JobRegistry
from bot.messages import escape
from bot.render import article_button_label, render_answer, render_article
from bot.replies import reply_html, send_html
from bot.services import Services, call_qa, services_of
from records import botstate, people
from records.db import session_scope
from records.errors import ConcurrentUpdate, NotFound
from records.localtime import DATE, format_local
from retrieval.errors import RetrievalError

log = logging.getLogger(__name__)

STAFF_REPLY_STEP = "qa:staff_reply"
# The exact shapes of this feature's callback data (anything else falls to the expired-button answer).
QA_BUTTONS = r"^qa:(?:(?:handoff|reply):\d+|art:\d+:\d+|fb:\d+:(?:up|down))$"
MIN_QUESTION_CHARS = 3
MAX_ARTICLE_BUTTONS = 3
STAFF_ROLES = ("staff", "admin")


def _handoff_button(answer_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(texts.BUTTON_HANDOFF, callback_data=f"qa:handoff:{answer_id}")


def _answer_keyboard(answer_id: int, answer: Any) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if answer.found:
        seen: set[str] = set()
        buttons = []
        for index, citation in enumerate(answer.citations):
            label = article_button_label(citation)
            if not label or label in seen:
                continue
            seen.add(label)
            buttons.append(
                InlineKeyboardButton(
                    texts.BUTTON_FULL_ARTICLE.format(label=label), callback_data=f"qa:art:{answer_id}:{index}"
                )
            )
            if len(buttons) == MAX_ARTICLE_BUTTONS:
                break
        rows.extend([b] for b in buttons)
        if answer.uncertain:  # the nearest passage may not answer: staff can still be asked
            rows.append([_handoff_button(answer_id)])
    else:
        rows.append([_handoff_button(answer_id)])
    rows.append(
        [
            InlineKeyboardButton(texts.BUTTON_LIKE, callback_data=f"qa:fb:{answer_id}:up"),
            InlineKeyboardButton(texts.BUTTON_DISLIKE, callback_data=f"qa:fb:{answer_id}:down"),
        ]
    )
    return InlineKeyboardMarkup(rows)


def _ask_and_record(
    services: Services, *, chat_id: int, user_id: int, question: str
) -> tuple[Any, botstate.AnswerRecord]:
    """Retrieve, then store the answer (its id goes into the buttons): one trip to a worker thread."""
    answer = services.qa.ask(question)
    citations = answer.citations if answer.found else answer.nearest
    record = botstate.record_answer(
        services.db,
        chat_id=chat_id,
        user_id=user_id,
        question=question,
        found=bool(answer.found),
        chunk_ids=[c.chunk_id for c in citations],
    )
    return answer, record


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    """Retrieve (off the event loop), store the answer, reply with citations and buttons."""
    services = services_of(context)
    chat, tg_user = update.effective_chat, update.effective_user
    if chat is None or tg_user is None:
        return
    question = " ".join(question.split())
    if len(question) < MIN_QUESTION_CHARS:
        await reply_html(update, context, texts.QUESTION_TOO_SHORT)
        return
    if len(question) > services.max_question_chars:
        await reply_html(update, context, texts.QUESTION_TOO_LONG.format(limit=services.max_question_chars))
        return
    if services.settings.qa_requires_login:
        user = await current_user(update, context)
        if not user.signed_in:
            await reply_html(update, context, texts.LOGIN_REQUIRED)
            return
    if not is_private(update):
        await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
    try:
        answer, record = await call_qa(
            services, _ask_and_record, services, chat_id=chat.id, user_id=tg_user.id, question=question
        )
    except RetrievalError as exc:  # e.g. the Chroma server is down: say what is wrong
        log.warning("question not answered: %s", exc.code)
        await reply_html(update, context, texts.QA_UNAVAILABLE.format(reason=texts.describe_error(exc.code)))
        return
    citations = answer.citations if answer.found else answer.nearest
    log.info("answered question %s found=%s citations=%d", record.id, answer.found, len(citations))
    html = render_answer(
        found=answer.found,
        answer=answer.answer,
        citations=answer.citations,
        nearest=answer.nearest,
        unmentioned=answer.unmentioned,
        missing_documents=answer.missing_documents,
        generated=answer.generated,
    )
    asked = update.effective_message
    await send_html(
        context,
        chat.id,
        html,
        _answer_keyboard(record.id, answer),
        # In a group the answer quotes whose question it is.
        reply_to=asked.message_id if asked is not None and not is_private(update) else None,
    )


async def private_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The router's default: a private text is a question."""
    message = update.effective_message
    if message is not None and message.text:
        await answer_question(update, context, message.text)


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/hoi câu hỏi (private or group)."""
    question = " ".join(context.args or [])
    if not question.strip():
        await reply_html(update, context, texts.ASK_EMPTY)
        return
    await answer_question(update, context, question)


async def group_mention(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group: answer when the bot is mentioned or replied to; ignore other chatter."""
    message = update.effective_message
    if message is None or not message.text:
        return
    username = (services_of(context).bot_username or context.bot.username or "").lower()
    mentioned = False
    text = message.text
    for value in message.parse_entities([MessageEntity.MENTION]).values():
        if value.lstrip("@").lower() == username:
            mentioned = True
            text = text.replace(value, " ")
    replied = (
        message.reply_to_message is not None
        and message.reply_to_message.from_user is not None
        and message.reply_to_message.from_user.id == context.bot.id
    )
    if not (mentioned or replied):
        return
    if not text.strip():
        await reply_html(update, context, texts.ASK_EMPTY)
        return
    await answer_question(update, context, text)


# --- Buttons --------------------------------------------------------------------------------------


async def _load_answer(services: Services, answer_id: int) -> botstate.AnswerRecord | None:
    try:
        return await asyncio.to_thread(botstate.get_answer, services.db, answer_id=answer_id)
    except NotFound:
        return None


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """qa:art:<answer>:<i> | qa:fb:<answer>:up|down | qa:handoff:<answer> | qa:reply:<handoff>."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    parts = query.data.split(":")
    services = services_of(context)
    try:
        action, ident = parts[1], int(parts[2])
    except (IndexError, ValueError):
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)
        return
    if action == "art" and len(parts) == 4 and parts[3].isdigit():
        await _show_article(update, context, services, ident, int(parts[3]))
    elif action == "fb" and len(parts) == 4 and parts[3] in ("up", "down"):
        await _feedback(update, context, services, ident, 1 if parts[3] == "up" else -1)
    elif action == "handoff":
        await _handoff(update, context, services, ident)
    elif action == "reply":
        await _start_staff_reply(update, context, services, ident)
    else:
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)


async def _show_article(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, answer_id: int, index: int
) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    record = await _load_answer(services, answer_id)
    if record is None or record.chat_id != update.effective_chat.id or index >= len(record.chunk_ids):
        await query.answer(texts.ANSWER_EXPIRED, show_alert=True)
        return
    try:
        citation, full_text = await call_qa(services, services.qa.article, record.chunk_ids[index])
    except Exception as exc:  # retrieval's DocumentNotFound (the document was removed since)
        if getattr(exc, "code", None) != "document_not_found":
            raise
        await query.answer(texts.ARTICLE_NOT_AVAILABLE, show_alert=True)
        return
    await query.answer()
    await send_html(context, update.effective_chat.id, render_article(citation, full_text))


async def _feedback(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, answer_id: int, vote: int
) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    record = await _load_answer(services, answer_id)
    if record is None or record.chat_id != update.effective_chat.id:  # a vote only where the answer was given
        await query.answer(texts.ANSWER_EXPIRED, show_alert=True)
        return
    try:
        outcome = await asyncio.to_thread(
            botstate.record_feedback, services.db, answer_id=answer_id, user_id=query.from_user.id, vote=vote
        )
    except NotFound:
        await query.answer(texts.ANSWER_EXPIRED, show_alert=True)
        return
    message = {
        "saved": texts.FEEDBACK_SAVED,
        "changed": texts.FEEDBACK_CHANGED,
    }.get(outcome, texts.FEEDBACK_UNCHANGED)
    await query.answer(message)
    if (
        vote == -1
        and outcome in ("saved", "changed")
        and record.found
        and record.user_id == query.from_user.id
    ):
        await _offer_handoff(update, context, services, record)


async def _offer_handoff(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, record: botstate.AnswerRecord
) -> None:
    """The asker disliked an answer that quoted a text: offer the hand-off its keyboard did not carry.

    A refused answer already has the button, so it gets no offer; neither does one already handed off.
    The button is the usual one, so its double-tap guard and messages are those of `_handoff`."""
    existing = await asyncio.to_thread(botstate.handoff_for_answer, services.db, answer_id=record.id)
    if existing is not None:
        return
    query = update.callback_query
    reply_to = query.message.message_id if query is not None and query.message is not None else None
    await send_html(
        context,
        record.chat_id,
        texts.FEEDBACK_HANDOFF_OFFER.format(button=escape(texts.BUTTON_HANDOFF)),
        InlineKeyboardMarkup([[_handoff_button(record.id)]]),
        reply_to=reply_to if not is_private(update) else None,
    )


def _staff_chats(engine: Any) -> list[int]:
    """Private chats of signed-in committee staff (falling back to admins when there is no staff)."""
    return botstate.linked_chats_with_roles(engine, roles=["staff"]) or botstate.linked_chats_with_roles(
        engine, roles=["admin"]
    )


def _asker_name(engine: Any, telegram_user_id: int) -> str | None:
    with session_scope(engine) as session:
        person = people.find_person_by_telegram(session, telegram_user_id=telegram_user_id)
        return f"{person.full_name} ({person.unit_name})" if person else None


async def _handoff(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, answer_id: int
) -> None:
    query = update.callback_query
    assert query is not None
    record = await _load_answer(services, answer_id)
    if record is None:
        await query.answer(texts.ANSWER_EXPIRED, show_alert=True)
        return
    if record.user_id != query.from_user.id:
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)
        return
    handoff, created = await asyncio.to_thread(botstate.open_handoff, services.db, answer_id=answer_id)
    if not created:
        await query.answer(texts.HANDOFF_ALREADY, show_alert=True)
        return
    await query.answer()
    staff_chats = await asyncio.to_thread(_staff_chats, services.db)
    asker = await asyncio.to_thread(_asker_name, services.db, record.user_id) or texts.ASKER_ANONYMOUS
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.BUTTON_STAFF_REPLY, callback_data=f"qa:reply:{handoff.id}")]]
    )
    html = texts.HANDOFF_TO_STAFF.format(
        id=handoff.id, asker=escape(asker), question=escape(handoff.question)
    )
    reached = 0
    for chat_id in staff_chats:
        reached += await _send_copy(context, services, handoff.id, chat_id, html, markup)
    log.info("question %s handed off to %d of %d staff chats", handoff.id, reached, len(staff_chats))
    # A staff member may have answered while the later copies were still being sent: close those too.
    current = await asyncio.to_thread(botstate.get_handoff, services.db, handoff_id=handoff.id)
    if current.status != "open":
        await _close_copies(context, services, current, except_chat=current.answered_by)  # a private chat
    support = escape(services.settings.support_contact)
    await send_html(
        context,
        record.chat_id,
        texts.HANDOFF_SENT if staff_chats else texts.HANDOFF_NO_STAFF.format(support=support),
    )


async def _send_copy(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    handoff_id: int,
    chat_id: int,
    html: str,
    markup: InlineKeyboardMarkup,
) -> bool:
    """Send one staff member a message with «Trả lời» and remember it (to edit once answered)."""
    try:
        sent = await send_html(context, chat_id, html, markup)
    except Forbidden:
        log.info("hand-off %s not delivered to a staff chat: the bot is blocked", handoff_id)
        return False
    except TelegramError as exc:
        log.warning("hand-off %s not delivered to a staff chat: %s", handoff_id, type(exc).__name__)
        return False
    await asyncio.to_thread(
        botstate.record_handoff_copy,
        services.db,
        handoff_id=handoff_id,
        chat_id=chat_id,
        message_id=sent.message_id,
    )
    return True


def _staff_name(engine: Any, telegram_user_id: int | None) -> str | None:
    if telegram_user_id is None:
        return None
    with session_scope(engine) as session:
        person = people.find_person_by_telegram(session, telegram_user_id=telegram_user_id)
        return person.full_name if person else None


async def _answered_by(
    context: ContextTypes.DEFAULT_TYPE, services: Services, handoff: botstate.HandoffRecord
) -> tuple[str, str]:
    """Who answered the hand-off and when (local time), as plain text."""
    name = await asyncio.to_thread(_staff_name, services.db, handoff.answered_by)
    when = local_time(context, handoff.answered_at, texts.ANSWERED_AT_FORMAT) if handoff.answered_at else "—"
    return name or texts.STAFF_SOMEONE, when


async def _already_answered(
    context: ContextTypes.DEFAULT_TYPE, services: Services, handoff: botstate.HandoffRecord, *, html: bool
) -> str:
    name, when = await _answered_by(context, services, handoff)
    return texts.STAFF_REPLY_ALREADY_BY.format(id=handoff.id, staff=escape(name) if html else name, when=when)


async def _close_copies(
    context: ContextTypes.DEFAULT_TYPE,
    services: Services,
    handoff: botstate.HandoffRecord,
    *,
    except_chat: int | None = None,
) -> int:
    """Edit the staff copies of an answered hand-off (all but `except_chat`'s): no «Trả lời», who answered
    and when. A copy that cannot be edited (deleted, bot blocked) is logged and skipped; returns the edited."""
    copies = await asyncio.to_thread(botstate.handoff_copies, services.db, handoff_id=handoff.id)
    copies = [c for c in copies if c.chat_id != except_chat]
    if not copies:
        return 0
    name, when = await _answered_by(context, services, handoff)
    asker = await asyncio.to_thread(_asker_name, services.db, handoff.asker_user_id) or texts.ASKER_ANONYMOUS
    html = texts.HANDOFF_ANSWERED_COPY.format(
        id=handoff.id, asker=escape(asker), question=escape(handoff.question), staff=escape(name), when=when
    )
    edited = 0
    for copy in copies:
        try:
            await context.bot.edit_message_text(
                html,
                chat_id=copy.chat_id,
                message_id=copy.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=None,
                disable_web_page_preview=True,
            )
            edited += 1
        except (BadRequest, Forbidden) as exc:  # deleted, not modified (already edited), bot blocked
            log.info("copy of hand-off %s not edited: %s", handoff.id, exc.message)
        except TelegramError as exc:
            log.warning("copy of hand-off %s not edited: %s", handoff.id, type(exc).__name__)
    log.info("hand-off %s: %d staff copies marked answered", handoff.id, edited)
    return edited


async def _start_staff_reply(
    update: Update, context: ContextTypes.DEFAULT_TYPE, services: Services, handoff_id: int
) -> None:
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    if not await ensure_private(update, context):
        return
    user = await ensure_role(update, context, *STAFF_ROLES)
    if user is None:
        return
    try:
        handoff = await asyncio.to_thread(botstate.get_handoff, services.db, handoff_id=handoff_id)
    except NotFound:
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)
        return
    if handoff.status != "open":
        await query.answer(await _already_answered(context, services, handoff, html=False), show_alert=True)
        return
    await start_step(
        context,
        chat_id=update.effective_chat.id,
        user_id=query.from_user.id,
        step=STAFF_REPLY_STEP,
        data={"handoff_id": handoff.id},
    )
    await query.answer()
    await send_html(
        context,
        update.effective_chat.id,
        texts.STAFF_REPLY_PROMPT.format(id=handoff.id, question=escape(handoff.question)),
    )


async def staff_reply_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    """The staff member's next message is the reply to the hand-off."""
    services = services_of(context)
    message, chat, tg_user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or tg_user is None:
        return
    reply = (message.text or "").strip()
    if not reply:
        await reply_html(update, context, texts.STAFF_REPLY_EMPTY)
        return
    if len(reply) > 3000:
        await reply_html(update, context, texts.MESSAGE_TOO_LONG.format(limit=3000))
        return
    handoff_id = int(data["handoff_id"])
    try:
        handoff = await asyncio.to_thread(
            botstate.answer_handoff, services.db, handoff_id=handoff_id, staff_user_id=tg_user.id, reply=reply
        )
    except NotFound:
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        await reply_html(update, context, texts.STAFF_REPLY_ALREADY.format(id=handoff_id))
        return
    except ConcurrentUpdate:  # another staff member answered first: say who and when
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        answered = await asyncio.to_thread(botstate.get_handoff, services.db, handoff_id=handoff_id)
        await reply_html(update, context, await _already_answered(context, services, answered, html=True))
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    await send_html(
        context,
        handoff.asker_chat_id,
        texts.REPLY_TO_ASKER.format(question=escape(handoff.question), reply=escape(reply)),
    )
    log.info("hand-off %s answered", handoff.id)
    await reply_html(update, context, texts.STAFF_REPLY_SENT.format(id=handoff.id))
    await _close_copies(context, services, handoff, except_chat=chat.id)


async def list_open_handoffs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cauhoi: staff see unanswered questions, each with a "Trả lời" button."""
    if not await ensure_private(update, context):
        return
    user: CurrentUser | None = await ensure_role(update, context, *STAFF_ROLES)
    if user is None or update.effective_chat is None:
        return
    services = services_of(context)
    handoffs = await asyncio.to_thread(botstate.open_handoffs, services.db)
    if not handoffs:
        await reply_html(update, context, texts.OPEN_HANDOFFS_NONE)
        return
    await reply_html(update, context, texts.OPEN_HANDOFFS_HEADER)
    for handoff in handoffs[:20]:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(texts.BUTTON_STAFF_REPLY, callback_data=f"qa:reply:{handoff.id}")]]
        )
        # Remembered like the hand-off's own copies, so that it too loses «Trả lời» once answered.
        await _send_copy(
            context,
            services,
            handoff.id,
            update.effective_chat.id,
            f"{handoff.id}. {escape(handoff.question)}",
            markup,
        )


async def feedback_report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/gopy: staff review the 👍/👎 totals and the questions whose answers were disliked."""
    if not await ensure_private(update, context):
        return
    if await ensure_role(update, context, *STAFF_ROLES) is None:
        return
    services = services_of(context)
    counts = await asyncio.to_thread(botstate.feedback_counts, services.db)
    disliked = await asyncio.to_thread(botstate.disliked_answers, services.db, limit=20)
    blocks = [texts.FEEDBACK_REPORT.format(up=counts.up, down=counts.down)]
    if disliked:
        lines = [texts.FEEDBACK_DISLIKED_HEADER]
        lines.extend(
            texts.FEEDBACK_DISLIKED_ITEM.format(
                question=escape(a.question), when=format_local(a.created_at, services.settings.timezone, DATE)
            )
            for a in disliked
        )
        blocks.append("\n".join(lines))
    await reply_html(update, context, "\n\n".join(blocks))


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("hoi", ask_command))
    app.add_handler(CommandHandler("cauhoi", list_open_handoffs))
    app.add_handler(CommandHandler("gopy", feedback_report))
    app.add_handler(CallbackQueryHandler(on_button, pattern=QA_BUTTONS))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND, group_mention))
    router.add_step(STAFF_REPLY_STEP, staff_reply_step)
    router.set_default(private_question)


FEATURE = Feature(
    name="qa",
    install=install,
    commands=(
        CommandSpec("hoi", texts.COMMAND_DESCRIPTIONS["hoi"], ANYONE, in_groups=True),
        CommandSpec("cauhoi", texts.COMMAND_DESCRIPTIONS["cauhoi"], frozenset(STAFF_ROLES)),
        CommandSpec("gopy", texts.COMMAND_DESCRIPTIONS["gopy"], frozenset(STAFF_ROLES)),
    ),
    help_lines=((ANYONE, texts.HELP_QA), (ANYONE, texts.HELP_GROUP)),
)
