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
    [*] --> line: ➕ Ghi nhận luân chuyển (staff/admin; step lc:new)
    line --> line: wrong shape, bad date, unknown code → hint
    line --> preview: «MÃ | ĐƠN_VỊ | chức vụ | ngày [| tháng]» within the recorder's scope
    preview --> line: typed again (replaces the line)
    preview --> [*]: ✅ Ghi nhận → recorded (audited); the cadre and the receiving heads are notified
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
from records import access, due, localtime, people, rotations
from records.errors import PermissionDenied, RecordsError, ValidationFailed
from records.periods import add_months
from records.rules import Rules
from records.schema import RotationReviewState
from records.views import DueItem, PersonView, RotationView, UnitView

log = logging.getLogger(__name__)

TEXT_STEP = "lc:text"
# The exact shapes of this feature's callback data (anything else falls to the expired-button answer).
ROTATION_BUTTONS = r"^lc:(?:fill|grade):\d+:[^:]+$"
NEW_BUTTONS = r"^lc:(?:new|newok)$"
NEW_STEP = "lc:new"
MAX_MONTHS = 120
MAX_POST = 300
RECORDERS = ("staff", "admin")
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
    recorder = await wf.in_session(
        context, lambda s: bool(access.scope_units(s, person_id=person_id, roles=RECORDERS))
    )
    new_row = [[InlineKeyboardButton(tw.BUTTON_ROTATION_NEW, callback_data="lc:new")]] if recorder else []
    blocks = [describe_mine(context, view, today) for view in mine]
    if received:
        blocks.append(describe_received(received, today))
    if not items:
        blocks.append(tw.ROTATION_NONE)
        await reply_html(
            update, context, "\n\n".join(blocks), InlineKeyboardMarkup(new_row) if new_row else None
        )
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
    await reply_html(update, context, "\n\n".join(blocks), InlineKeyboardMarkup(buttons[:30] + new_row))


async def rotation_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """lc:fill:<review id>:<s|c|e> and lc:grade:<review id>:<grade>."""
    press = await wf.button_press(update, context)
    if press is None:
        return
    query, parts = press.query, press.parts
    try:
        review_id = int(parts[2])
    except (IndexError, ValueError):
        await query.answer(tw.RECORD_GONE, show_alert=True)
        return
    items = await _mine(context, press.person_id)
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
    await start_step(context, chat_id=press.chat_id, user_id=query.from_user.id, step=TEXT_STEP, data=data)
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


def parse_new_line(raw: str) -> tuple[str, str, str, date, int | None] | str:
    """ "BD04 | HK | Phó Trưởng ban | 05/11/2023 [| 48]" → (cadre, unit, post, start, months), or why it is wrong."""
    parts = [p.strip() for p in raw.split("|")]
    if len(parts) not in (4, 5) or not parts[0] or not parts[1]:
        return tw.ROTATION_NEW_BAD
    if not parts[2] or len(parts[2]) > MAX_POST:
        return tw.ROTATION_NEW_BAD_POST.format(max=MAX_POST)
    start = wf.parse_day(parts[3])
    if start is None:
        return tw.ROTATION_NEW_BAD_DATE.format(value=escape(parts[3]))
    months = None
    if len(parts) == 5:
        if not parts[4].isdigit() or not 1 <= int(parts[4]) <= MAX_MONTHS:
            return tw.ROTATION_NEW_BAD_MONTHS.format(value=escape(parts[4]), max=MAX_MONTHS)
        months = int(parts[4])
    return parts[0], parts[1], parts[2], start, months


async def rotation_new_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """lc:new (ask for the line) and lc:newok (record the previewed line)."""
    press = await wf.button_press(update, context)
    if press is None:
        return
    query, actor_id = press.query, press.person_id
    if query.data == "lc:new":
        rules = wf.rules_of(context)
        await start_step(context, chat_id=press.chat_id, user_id=query.from_user.id, step=NEW_STEP, data={})
        await reply_html(update, context, tw.ROTATION_NEW_ASK.format(months=rules.rotation.min_months))
        return
    state = await wf.load_step(context, chat_id=press.chat_id, user_id=query.from_user.id)
    pending = state[1].get("pending") if state is not None and state[0] == NEW_STEP else None
    if not isinstance(pending, dict):
        await query.answer(tw.ROTATION_NEW_GONE, show_alert=True)
        return
    rules, now, tz = wf.rules_of(context), wf.now_of(context), wf.timezone_of(context)
    start = date.fromisoformat(str(pending["start"]))
    months = pending.get("months")
    data = rotations.RotationInput(
        person_id=int(pending["person_id"]),
        to_unit_id=int(pending["unit_id"]),
        to_post=str(pending["post"]),
        start_date=start,
        planned_end=add_months(start, int(months)) if months else None,
    )
    values = {k: escape(str(v)) for k, v in pending.get("values", {}).items()}
    try:
        view = await wf.call_records(
            context, rotations.start_rotation, actor_id=actor_id, data=data, rules=rules, now=now, tz=tz
        )
    except PermissionDenied:
        await end_step(context, chat_id=press.chat_id, user_id=query.from_user.id)
        await reply_html(update, context, refusal(tw.rotation_start_error("permission_denied", values)))
        return
    except ValidationFailed as exc:
        await end_step(context, chat_id=press.chat_id, user_id=query.from_user.id)
        for key in ("min_months", "earliest", "since"):
            if key in exc.params:
                raw = str(exc.params[key])
                values[key] = wf.fmt_date(date.fromisoformat(raw)) if key != "min_months" else raw
        await reply_html(update, context, refusal(tw.rotation_start_error(exc.params.get("reason"), values)))
        return
    except RecordsError as exc:
        await end_step(context, chat_id=press.chat_id, user_id=query.from_user.id)
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    await end_step(context, chat_id=press.chat_id, user_id=query.from_user.id)
    log.info("rotation %s recorded through the bot", view.id)
    term, to_unit = describe_term(view), _unit(view.to_unit_code, view.to_unit_name)
    cadre, heads = await wf.in_session(
        context,
        lambda s: (
            wf.chats_of(s, [view.person_id]),
            wf.chats_of(
                s,
                [
                    p
                    for p in access.role_holders(s, unit_id=view.to_unit_id, roles=["head"])
                    if p != view.person_id
                ],
            ),
        ),
    )
    reached = await wf.notify(
        context,
        cadre,
        tw.NOTIFY_ROTATION_STARTED_CADRE.format(to_unit=to_unit, post=escape(view.to_post), term=term),
    )
    reached += await wf.notify(
        context,
        heads,
        tw.NOTIFY_ROTATION_STARTED_HEAD.format(
            name=escape(view.person_name), to_unit=to_unit, post=escape(view.to_post), term=term
        ),
    )
    started = tw.ROTATION_STARTED.format(
        name=escape(view.person_name),
        code=escape(str(pending.get("code", ""))),
        from_unit=_unit(view.from_unit_code, view.from_unit_name),
        to_unit=to_unit,
        post=escape(view.to_post),
        start=wf.fmt_date(view.start_date),
        end=wf.fmt_date(view.planned_end),
        months=rotations.term_months(view.start_date, view.planned_end) or "—",
    )
    upcoming = rotations.next_review(view)
    if upcoming is not None:
        started += "\n" + tw.ROTATION_STARTED_NEXT.format(
            due=wf.fmt_date(upcoming.due_date),
            kind=tw.ROTATION_REVIEW_KINDS.get(upcoming.kind, upcoming.kind),
        )
    await reply_html(
        update, context, tw.ROTATION_NEW_DONE.format(started=started, notified=wf.names(reached))
    )


def refusal(reason: str) -> str:
    return tw.ERROR_PREFIX + reason[:1].upper() + reason[1:] + "."


async def new_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    """The typed rotation line: checked, then previewed with «✅ Ghi nhận» (typing again replaces it)."""
    message, chat, tg_user = update.effective_message, update.effective_chat, update.effective_user
    user = await ensure_signed_in(update, context)
    if message is None or chat is None or tg_user is None or user is None or user.person_id is None:
        return
    parsed = parse_new_line(message.text or "")
    if isinstance(parsed, str):
        await reply_html(update, context, parsed)
        return
    code, unit_code, post, start, months = parsed
    actor_id, rules = user.person_id, wf.rules_of(context)

    def look_up(session: Session) -> tuple[PersonView | None, UnitView | None, bool]:
        person = people.find_person_by_code(session, cadre_code=code) or people.find_person_by_code(
            session, cadre_code=code.upper()
        )
        unit = people.find_unit_by_code(session, code=unit_code) or people.find_unit_by_code(
            session, code=unit_code.upper()
        )
        allowed = (
            person is not None
            and unit is not None
            and all(
                access.has_role(session, person_id=actor_id, roles=RECORDERS, unit_id=u)
                for u in (person.unit_id, unit.id)
            )
        )
        return person, unit, allowed

    person, unit, allowed = await wf.in_session(context, look_up)
    if person is None:
        await reply_html(update, context, tw.ROTATION_NEW_NO_PERSON.format(code=escape(code)))
        return
    if unit is None:
        await reply_html(update, context, tw.ROTATION_NEW_NO_UNIT.format(code=escape(unit_code)))
        return
    values = {"name": person.full_name, "from_unit": person.unit_code, "to_unit": unit.code}
    if not allowed:
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        await reply_html(
            update,
            context,
            refusal(tw.rotation_start_error("permission_denied", {k: escape(v) for k, v in values.items()})),
        )
        return
    end = add_months(start, months or rules.rotation.min_months)
    if months is not None and months < rules.rotation.min_months:
        earliest = add_months(start, rules.rotation.min_months)
        reason = tw.rotation_start_error(
            "too_short", {"min_months": str(rules.rotation.min_months), "earliest": wf.fmt_date(earliest)}
        )
        await reply_html(update, context, refusal(reason))
        return
    months_shown = rotations.term_months(start, end)
    term = (
        tw.ROTATION_TERM.format(months=months_shown, start=wf.fmt_date(start), end=wf.fmt_date(end))
        if months_shown
        else tw.ROTATION_TERM_DATES.format(start=wf.fmt_date(start), end=wf.fmt_date(end))
    )
    pending = {
        "person_id": person.id,
        "unit_id": unit.id,
        "post": post,
        "start": start.isoformat(),
        "months": months,
        "code": person.cadre_code,
        "values": values,
    }
    await start_step(context, chat_id=chat.id, user_id=tg_user.id, step=NEW_STEP, data={"pending": pending})
    preview = tw.ROTATION_NEW_PREVIEW.format(
        name=escape(person.full_name),
        code=escape(person.cadre_code),
        from_unit=_unit(person.unit_code, person.unit_name),
        from_post=escape(person.position),
        to_unit=_unit(unit.code, unit.name),
        post=escape(post),
        term=term,
    )
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(tw.BUTTON_ROTATION_NEW_OK, callback_data="lc:newok")]]
    )
    await reply_html(update, context, preview, markup)


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    wf.setup(app)
    app.add_handler(CommandHandler("luanchuyen", rotation_command))
    app.add_handler(CallbackQueryHandler(rotation_button, pattern=ROTATION_BUTTONS))
    app.add_handler(CallbackQueryHandler(rotation_new_button, pattern=NEW_BUTTONS))
    router.add_step(TEXT_STEP, text_step)
    router.add_step(NEW_STEP, new_step)


FEATURE = Feature(
    name="rotation",
    install=install,
    commands=(CommandSpec("luanchuyen", tw.ROTATION_COMMAND, SIGNED_IN),),
)
