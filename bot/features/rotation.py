"""/luanchuyen: the rotated cadre's own rotation (receiving unit, post, term, next review), the rotations a head's
units receive, and the rotation reviews due (every 6 months and at the end) with the form to fill: the rotated
cadre's self-review, the receiving unit's comment, the deciding authority's evaluation.

```mermaid
stateDiagram-v2
    [*] --> due: /luanchuyen (own rotation, rotations received, forms due), or the ✍️ button of a reminder or of the previous step's notice
    due --> text: ✍️ Điền phiếu (self-review or comment; step lc:text)
    due --> grade: ✍️ Điền phiếu (evaluation)
    grade --> text: grade chosen (step lc:text)
    text --> text: empty or too long → hint
    text --> [*]: saved; the next person in the chain is notified (the cadre when evaluated)
```
"""

from __future__ import annotations

import logging
from datetime import date
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
from records import due, localtime, rotations
from records.errors import RecordsError
from records.rules import Rules
from records.schema import RotationReviewState
from records.views import DueItem, RotationView

log = logging.getLogger(__name__)

TEXT_STEP = "lc:text"
# The exact shapes of this feature's callback data (anything else falls to the expired-button answer).
ROTATION_BUTTONS = r"^lc:(?:fill|grade):\d+:[^:]+$"
KINDS = {"s": "rotation_self_review", "c": "rotation_comment", "e": "rotation_evaluation"}
CODES = {v: k for k, v in KINDS.items()}
NEXT_KIND = {"rotation_self_review": "rotation_comment", "rotation_comment": "rotation_evaluation"}
HORIZON_DAYS = 30
MAX_RECEIVED = 20  # rotations listed to a head; the rest are counted
NOT_REQUIRED = RotationReviewState.NOT_REQUIRED.value


def my_rotation_items(
    session: Session, *, person_id: int, on: date, rules: Rules
) -> list[tuple[DueItem, str]]:
    """(due item, review kind "periodic"/"final") of the rotation reviews waiting for this person."""
    items = [
        i
        for i in due.list_due(
            session, on=on, rules=rules, kinds=list(KINDS.values()), rotation_horizon_days=HORIZON_DAYS
        )
        if i.recipient_id == person_id and i.record_id is not None
    ]
    out = []
    for item in items:
        kind = "periodic"
        for rotation in rotations.list_rotations(session, actor_id=None, person_id=item.subject_person_id):
            review = next((r for r in rotation.reviews if r.id == item.record_id), None)
            if review is not None:
                kind = review.kind
        out.append((item, kind))
    return out


def fill_button(index: int, item: DueItem) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        tw.BUTTON_ROTATION_FILL.format(index=index),
        callback_data=f"lc:fill:{item.record_id}:{CODES[item.kind]}",
    )


def form_button(item: DueItem) -> InlineKeyboardButton:
    """The form's button where the items are not numbered (a reminder, a notice): what to fill and by when."""
    label = tw.BUTTON_ROTATION_FORM[item.kind].format(
        subject=item.subject_name, deadline=wf.fmt_date(item.deadline)
    )
    return InlineKeyboardButton(label, callback_data=f"lc:fill:{item.record_id}:{CODES[item.kind]}")


def describe(item: DueItem, review_kind: str) -> str:
    return tw.ROTATION_KINDS[item.kind].format(
        subject=escape(item.subject_name), kind=tw.ROTATION_REVIEW_KINDS.get(review_kind, review_kind)
    )


async def _mine(context: ContextTypes.DEFAULT_TYPE, person_id: int) -> list[tuple[DueItem, str]]:
    rules, today = wf.rules_of(context), wf.today_of(context)
    return await wf.in_session(
        context, lambda s: my_rotation_items(s, person_id=person_id, on=today, rules=rules)
    )


def _when(due_date: date, today: date) -> str:
    days = (due_date - today).days
    if days > 0:
        return tw.ROTATION_WHEN_LEFT.format(days=days)
    return tw.ROTATION_WHEN_TODAY if days == 0 else tw.ROTATION_WHEN_LATE.format(days=-days)


def describe_term(view: RotationView) -> str:
    """ "36 tháng, từ 05/11/2023 đến 05/11/2026" (the dates alone when the term is not whole months)."""
    start, end = wf.fmt_date(view.start_date), wf.fmt_date(view.planned_end)
    months = rotations.term_months(view.start_date, view.planned_end)
    if months is None:
        return tw.ROTATION_TERM_DATES.format(start=start, end=end)
    return tw.ROTATION_TERM.format(months=months, start=start, end=end)


def describe_next(view: RotationView, today: date, *, mine: bool) -> str:
    """The next review to do: its date, kind, whose turn it is and how long is left."""
    upcoming = rotations.next_review(view)
    if upcoming is None:
        return tw.ROTATION_NEXT_NONE
    states = tw.ROTATION_NEXT_STATE_MINE if mine else tw.ROTATION_NEXT_STATE
    return tw.ROTATION_NEXT.format(
        due=wf.fmt_date(upcoming.due_date),
        kind=tw.ROTATION_REVIEW_KINDS.get(upcoming.kind, upcoming.kind),
        state=states.get(upcoming.state, upcoming.state),
        when=_when(upcoming.due_date, today),
    )


def _unit(code: str, name: str) -> str:
    return f"{escape(name)} ({escape(code)})"


def describe_mine(context: ContextTypes.DEFAULT_TYPE, view: RotationView, today: date) -> str:
    """The rotated cadre's own rotation: where to, which post, the term and the next review."""
    text = (
        tw.ROTATION_MINE_HEADER
        + "\n"
        + tw.ROTATION_MINE.format(
            to_unit=_unit(view.to_unit_code, view.to_unit_name),
            post=escape(view.to_post),
            from_unit=_unit(view.from_unit_code, view.from_unit_name),
            from_post=escape(view.from_post),
            term=describe_term(view),
            next=describe_next(view, today, mine=True),
        )
    )
    skipped = sum(1 for r in view.reviews if r.state == NOT_REQUIRED)
    if skipped:
        recorded = wf.local_time(context, view.created_at, localtime.DATE)
        text += "\n" + tw.ROTATION_NOT_REQUIRED_NOTE.format(count=skipped, recorded=recorded)
    return text


def describe_received(views: list[RotationView], today: date) -> str:
    """The rotations a head's units receive, each with its next review."""
    lines = [tw.ROTATION_RECEIVED_HEADER]
    for index, view in enumerate(views[:MAX_RECEIVED], 1):
        lines.append(
            tw.ROTATION_RECEIVED_LINE.format(
                index=index,
                name=escape(view.person_name),
                post=escape(view.to_post),
                to_unit=_unit(view.to_unit_code, view.to_unit_name),
                term=describe_term(view),
                next=describe_next(view, today, mine=False),
            )
        )
    if len(views) > MAX_RECEIVED:
        lines.append(tw.ROTATION_RECEIVED_MORE.format(count=len(views) - MAX_RECEIVED))
    return "\n".join(lines)


async def rotation_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/luanchuyen: the user's own rotation, the rotations their units receive, then the forms waiting for them."""
    if not await ensure_private(update, context):
        return
    user = await ensure_signed_in(update, context)
    if user is None or user.person_id is None:
        return
    person_id, rules, today = user.person_id, wf.rules_of(context), wf.today_of(context)

    def load(session: Session) -> tuple[list[RotationView], list[RotationView], list[tuple[DueItem, str]]]:
        return (
            rotations.list_active_rotations(session, person_id=person_id),
            rotations.list_received_rotations(session, actor_id=person_id),
            my_rotation_items(session, person_id=person_id, on=today, rules=rules),
        )

    mine, received, items = await wf.in_session(context, load)
    blocks = [describe_mine(context, view, today) for view in mine]
    if received:
        blocks.append(describe_received(received, today))
    if not items:
        blocks.append(tw.ROTATION_NONE)
        await reply_html(update, context, "\n\n".join(blocks))
        return
    lines = [tw.ROTATION_HEADER]
    buttons = []
    for index, (item, kind) in enumerate(items, 1):
        lines.append(
            tw.ROTATION_LINE.format(
                index=index, what=describe(item, kind), deadline=wf.fmt_date(item.deadline)
            )
        )
        buttons.append([fill_button(index, item)])
    blocks.append("\n".join(lines))
    await reply_html(update, context, "\n\n".join(blocks), InlineKeyboardMarkup(buttons[:30]))


async def rotation_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """lc:fill:<review id>:<s|c|e> and lc:grade:<review id>:<grade>."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None or chat is None:
        return
    user = await ensure_signed_in(update, context)
    if user is None or user.person_id is None:
        return
    parts = query.data.split(":")
    try:
        review_id = int(parts[2])
    except (IndexError, ValueError):
        await query.answer(tw.RECORD_GONE, show_alert=True)
        return
    items = await _mine(context, user.person_id)
    found = next(((i, k) for i, k in items if i.record_id == review_id), None)
    if found is None or len(parts) != 4:
        await query.answer(tw.RECORD_GONE, show_alert=True)
        return
    item, _ = found
    data: dict[str, Any] = {"review_id": review_id, "kind": item.kind, "subject": item.subject_name}
    if parts[1] == "fill" and item.kind == "rotation_evaluation":
        rules = wf.rules_of(context)
        buttons = [
            [InlineKeyboardButton(f"{g.code} — {g.name}", callback_data=f"lc:grade:{review_id}:{g.code}")]
            for g in rules.grades
        ]
        await reply_html(
            update,
            context,
            tw.ROTATION_ASK_GRADE.format(subject=escape(item.subject_name)),
            InlineKeyboardMarkup(buttons),
        )
        return
    if parts[1] == "grade":
        data["grade"] = parts[3]
    await start_step(context, chat_id=chat.id, user_id=query.from_user.id, step=TEXT_STEP, data=data)
    await reply_html(
        update,
        context,
        tw.ROTATION_ASK_TEXT[item.kind].format(subject=escape(item.subject_name)) + tw.CANCEL_HINT,
    )


def _next_people(
    session: Session, *, kind: str, review_id: int, on: date, rules: Rules
) -> tuple[list[wf.Recipient], DueItem | None]:
    """Who fills the review's next form, and that form's due item (for its button)."""
    items = due.list_due(session, on=on, rules=rules, kinds=[kind], rotation_horizon_days=3650)
    mine = [i for i in items if i.record_id == review_id]
    return wf.chats_of(session, [i.recipient_id for i in mine]), (mine[0] if mine else None)


async def text_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    message, chat, tg_user = update.effective_message, update.effective_chat, update.effective_user
    user = await ensure_signed_in(update, context)
    if message is None or chat is None or tg_user is None or user is None:
        return
    text = (message.text or "").strip()
    if not text or len(text) > 4000:
        await reply_html(update, context, tw.ROTATION_TEXT_BAD)
        return
    kind, review_id = str(data.get("kind")), int(data.get("review_id", 0))
    rules, now, today = wf.rules_of(context), wf.now_of(context), wf.today_of(context)
    common = {"actor_id": user.person_id, "review_id": review_id, "text": text, "now": now}
    try:
        if kind == "rotation_self_review":
            review = await wf.call_records(context, rotations.submit_rotation_self_review, **common)
        elif kind == "rotation_comment":
            review = await wf.call_records(context, rotations.comment_rotation_review, **common)
        else:
            review = await wf.call_records(
                context, rotations.evaluate_rotation_review, rules=rules, grade=data.get("grade"), **common
            )
    except RecordsError as exc:
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    log.info("rotation review %s: %s saved through the bot", review_id, kind)
    subject = escape(str(data.get("subject", "")))
    if kind in NEXT_KIND:
        following = NEXT_KIND[kind]
        recipients, form = await wf.in_session(
            context, lambda s: _next_people(s, kind=following, review_id=review_id, on=today, rules=rules)
        )
        what = tw.ROTATION_KINDS[following].format(
            subject=subject, kind=tw.ROTATION_REVIEW_KINDS.get(review.kind, review.kind)
        )
        markup = InlineKeyboardMarkup([[form_button(form)]]) if form is not None else None
        reached = await wf.notify(context, recipients, tw.ROTATION_NOTIFY_NEXT.format(what=what), markup)
    else:
        rotation = await wf.call_records(
            context, rotations.get_rotation, actor_id=None, rotation_id=review.rotation_id
        )
        person = await wf.in_session(context, lambda s: wf.chats_of(s, [rotation.person_id]))
        grade_name = next((g.name for g in rules.grades if g.code == review.evaluation_grade), "")
        reached = await wf.notify(
            context,
            person,
            tw.ROTATION_NOTIFY_DONE.format(
                kind=tw.ROTATION_REVIEW_KINDS.get(review.kind, review.kind),
                grade=escape(review.evaluation_grade or ""),
                grade_name=escape(grade_name),
            ),
        )
    await reply_html(update, context, tw.ROTATION_SAVED.format(next=wf.names(reached)))


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    wf.setup(app)
    app.add_handler(CommandHandler("luanchuyen", rotation_command))
    app.add_handler(CallbackQueryHandler(rotation_button, pattern=ROTATION_BUTTONS))
    router.add_step(TEXT_STEP, text_step)


FEATURE = Feature(
    name="rotation",
    install=install,
    commands=(CommandSpec("luanchuyen", tw.ROTATION_COMMAND, SIGNED_IN),),
)
