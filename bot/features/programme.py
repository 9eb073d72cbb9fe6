"""/chuongtrinh: the cadre's action programme for a new post (items with measurable targets and deadlines, a
publicity level), submitted to the head, who confirms or returns it; item progress during the term.

```mermaid
stateDiagram-v2
    [*] --> list: /chuongtrinh
    [*] --> unit: /chuongtrinh MÃ_ĐƠN_VỊ
    list --> unit: 👥 Chương trình của đơn vị (the user's own unit)
    unit --> [*]: others' confirmed programmes the user may read (publicity), latest progress per item
    [*] --> public: /chuongtrinh MÃ_ĐƠN_VỊ công khai [tất cả]
    unit --> public: 📄 Excel chương trình công khai (staff, heads, admins over the unit)
    public --> [*]: the workbook of the public programmes in progress (with «tất cả» the ended ones too), for the Fatherland Front and People's Councils
    list --> post: ➕ Đăng ký chương trình mới (step ct:post)
    post --> publicity: "chức vụ | từ ngày | đến ngày" (kept in the step's data)
    publicity --> item: Nội bộ / Chi bộ / Công khai (step ct:item)
    item --> item: "cam kết | chỉ tiêu | hạn" saved (the first one creates the draft)
    item --> confirm: 📤 Gửi thủ trưởng xác nhận
    confirm --> submitted: ✅ Gửi (heads over the unit notified)
    submitted --> confirmed: head ✅ Xác nhận (cadre notified)
    submitted --> returned: head ↩️ Trả lại + reason (step ct:return)
    returned --> item: ➕ Thêm mục, then send again
    confirmed --> confirmed: 📈 Tiến độ mục n (step ct:progress: one "60 ghi chú"; the confirming head notified)
    confirmed --> log: 🕘 Nhật ký tiến độ (every update with its note, for whoever may read the programme)
```

The progress step takes one update and ends, saying that another starts from «📈 Tiến độ mục …» again: left
open, it would read a regulation question typed hours later as a malformed progress figure.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import texts_workflows as tw
from bot.access import CurrentUser, ensure_private, ensure_signed_in
from bot.conversation import StepRouter, end_step, start_step
from bot.feature import SIGNED_IN, CommandSpec, Feature
from bot.features import workflow as wf
from bot.jobs import JobRegistry
from bot.messages import escape
from bot.replies import reply_html
from records import access, people, programmes
from records.errors import ConcurrentUpdate, InvalidTransition, NotFound, PermissionDenied, RecordsError
from records.export_programmes import public_programmes_xlsx_bytes
from records.programmes import PUBLIC_EXPORT_ROLES, ItemInput, ProgrammeInput
from records.schema import Publicity
from records.views import ProgrammeDigest, ProgrammeView, ProgressView, PublicProgrammes

log = logging.getLogger(__name__)

POST_STEP = "ct:post"
ITEM_STEP = "ct:item"
PROGRESS_STEP = "ct:progress"
RETURN_STEP = "ct:return"
# The exact shapes of this feature's callback data (anything else falls to the expired-button answer).
PROGRAMME_BUTTONS = (
    r"^ct:(?:(?:new|item|check|open|unit|log|xls):\d+|(?:send|prog|ok|ret):\d+:\d+|pub:0:[^:]+)$"
)
EDITABLE = ("draft", "returned")
SHARED = ("confirmed", "closed")  # shown to other readers, with a progress log
MAX_COMMITMENT = 1000
MAX_TARGET = 500
_PROGRESS = re.compile(r"^\s*(\d{1,3})\s*%?\s*(.*)$", re.DOTALL)
_PROGRESS_FRACTION = re.compile(r"^\s*\d+[.,]\d")  # "86,5 …": a whole number is asked for
UNIT_LIST_LIMIT = 20  # programmes in one listing; a subtree with more is narrowed by typing a unit code
# /chuongtrinh MÃ_ĐƠN_VỊ công khai [tất cả]: the public list as Excel (in progress / with the ended ones too),
# compared without marks.
PUBLIC_WORDS = {"cong khai": False, "cong khai tat ca": True}


def public_list_request(words: list[str]) -> bool | None:
    """What the words after the unit code ask for: None (not the public list), False («công khai»: the
    programmes in progress) or True («công khai tất cả»: the ended ones too); marks and case optional."""
    typed = unicodedata.normalize("NFD", " ".join(words).replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in typed if not unicodedata.combining(ch)).casefold()
    return PUBLIC_WORDS.get(" ".join(bare.split()))


def parse_post(raw: str) -> tuple[str, date, date] | str:
    """ "Chức vụ | 01/11/2026 | 31/10/2031" → (post, start, end), or the Vietnamese reason it is wrong."""
    parts = [p.strip() for p in raw.split("|")]
    if len(parts) != 3 or not parts[0] or len(parts[0]) > 300:
        return tw.PROGRAMME_POST_BAD
    start, end = wf.parse_day(parts[1]), wf.parse_day(parts[2])
    if start is None or end is None:
        return tw.PROGRAMME_POST_DATE_BAD.format(value=escape((parts[1] if start is None else parts[2])[:30]))
    if end <= start:
        return tw.PROGRAMME_TERM_BAD
    return parts[0], start, end


def parse_item(raw: str, *, start: date, end: date) -> ItemInput | str:
    """ "Cam kết | Chỉ tiêu | 31/12/2027" → ItemInput within the term, or the Vietnamese reason it is wrong."""
    parts = [p.strip() for p in raw.split("|")]
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return tw.PROGRAMME_ITEM_BAD
    if len(parts[0]) > MAX_COMMITMENT or len(parts[1]) > MAX_TARGET:
        return tw.PROGRAMME_ITEM_TOO_LONG.format(
            limit=MAX_TARGET if len(parts[1]) > MAX_TARGET else MAX_COMMITMENT
        )
    due = wf.parse_day(parts[2])
    if due is None:
        return tw.PROGRAMME_ITEM_DATE_BAD.format(value=escape(parts[2][:30]))
    if not start <= due <= end:
        return tw.PROGRAMME_ITEM_OUTSIDE.format(
            value=wf.fmt_date(due), start=wf.fmt_date(start), end=wf.fmt_date(end)
        )
    return ItemInput(commitment=parts[0], target=parts[1], deadline=due)


def _item_lines(view: ProgrammeView) -> list[str]:
    return [
        tw.PROGRAMME_ITEM.format(
            index=index,
            commitment=escape(item.commitment),
            target=escape(item.target),
            deadline=wf.fmt_date(item.deadline),
            percent=item.progress_percent,
        )
        for index, item in enumerate(view.items, 1)
    ]


def render_programme(view: ProgrammeView) -> str:
    lines = [
        tw.PROGRAMME_HEADER.format(
            post=escape(view.post),
            start=wf.fmt_date(view.term_start),
            end=wf.fmt_date(view.term_end),
            publicity=tw.PUBLICITY_NAMES.get(view.publicity, view.publicity),
            state=tw.PROGRAMME_STATES.get(view.state, view.state),
        )
    ]
    if view.state == "returned" and view.return_reason:
        lines.append(tw.PROGRAMME_RETURNED.format(reason=escape(view.return_reason)))
    lines.extend(_item_lines(view))
    return "\n".join(lines)


def render_digest(digest: ProgrammeDigest, when: Callable[[datetime], str]) -> str:
    """Another person's programme: owner, unit, post, state, and each item with its latest progress note."""
    view = digest.programme
    lines = [
        tw.DIGEST_HEADER.format(
            name=escape(view.person_name),
            code=escape(digest.person_code),
            unit=escape(digest.unit_code),
            post=escape(view.post),
            start=wf.fmt_date(view.term_start),
            end=wf.fmt_date(view.term_end),
            publicity=tw.PUBLICITY_NAMES.get(view.publicity, view.publicity),
            state=tw.PROGRAMME_STATES.get(view.state, view.state),
        )
    ]
    for item, line in zip(view.items, _item_lines(view), strict=True):
        latest = digest.latest.get(item.id)
        if latest is None:
            lines.append(line + tw.PROGRAMME_ITEM_NOT_YET)
        else:
            note = escape(latest.note) if latest.note else tw.PROGRAMME_ITEM_NO_NOTE
            lines.append(line + tw.PROGRAMME_ITEM_LATEST.format(at=when(latest.at), note=note))
    return "\n".join(lines)


def owner_keyboard(view: ProgrammeView) -> InlineKeyboardMarkup | None:
    if view.state in EDITABLE:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(tw.BUTTON_PROGRAMME_ITEM, callback_data=f"ct:item:{view.id}")],
                [InlineKeyboardButton(tw.BUTTON_PROGRAMME_SUBMIT, callback_data=f"ct:check:{view.id}")],
            ]
        )
    log_row = [InlineKeyboardButton(tw.BUTTON_PROGRAMME_LOG, callback_data=f"ct:log:{view.id}")]
    if view.state == "confirmed":
        buttons = [
            InlineKeyboardButton(
                tw.BUTTON_PROGRAMME_PROGRESS.format(index=i), callback_data=f"ct:prog:{view.id}:{item.id}"
            )
            for i, item in enumerate(view.items, 1)
        ]
        return InlineKeyboardMarkup([*(buttons[i : i + 2] for i in range(0, len(buttons), 2)), log_row])
    if view.state == "closed":
        return InlineKeyboardMarkup([log_row])
    return None


def render_log(view: ProgrammeView, notes: list[list[ProgressView]], when: Callable[[datetime], str]) -> str:
    """Every progress update of each item, oldest first, with its note."""
    lines = [tw.PROGRAMME_LOG_HEADER.format(post=escape(view.post), name=escape(view.person_name))]
    for index, (item, updates) in enumerate(zip(view.items, notes, strict=True), 1):
        lines.append("")
        lines.append(tw.PROGRAMME_LOG_ITEM.format(index=index, commitment=escape(item.commitment)))
        lines.extend(
            tw.PROGRAMME_LOG_LINE.format(
                at=when(u.at),
                percent=u.percent,
                note=escape(u.note) if u.note else tw.PROGRAMME_ITEM_NO_NOTE,
            )
            for u in updates
        )
        if not updates:
            lines.append(tw.PROGRAMME_LOG_EMPTY)
    return "\n".join(lines)


def heads_over(session: Session, *, unit_id: int, exclude: int) -> list[wf.Recipient]:
    """Signed-in heads whose scope covers `unit_id` (looked for among the people of the unit's chain)."""
    chain = set(access.unit_chain(session, unit_id))
    ids = [
        p.id
        for p in people.list_people(session, unit_ids=chain)
        if p.id != exclude and access.has_role(session, person_id=p.id, roles=["head"], unit_id=unit_id)
    ]
    return wf.chats_of(session, ids)


# --- cadre ---------------------------------------------------------------------------------------------------


async def programme_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/chuongtrinh: the user's programmes (newest first) with the actions their state allows."""
    if not await ensure_private(update, context):
        return
    user = await ensure_signed_in(update, context)
    if user is None or user.person_id is None:
        return
    args = list(context.args or [])
    include_ended = public_list_request(args[1:]) if len(args) > 1 else None
    if include_ended is not None:
        await _export_public(update, context, user, code=args[0], unit_id=None, include_ended=include_ended)
        return
    if len(args) > 1:
        await reply_html(update, context, tw.UNIT_PROGRAMMES_ARGS)
        return
    if args:
        await _unit_programmes(update, context, user, code=args[0])
        return
    views = await wf.call_records(
        context, programmes.list_programmes, actor_id=user.person_id, person_id=user.person_id
    )
    menu = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(tw.BUTTON_PROGRAMME_NEW, callback_data="ct:new:0")],
            [InlineKeyboardButton(tw.BUTTON_PROGRAMME_UNIT, callback_data="ct:unit:0")],
        ]
    )
    if not views:
        await reply_html(update, context, tw.PROGRAMMES_NONE, menu)
        return
    for view in sorted(views, key=lambda v: v.id, reverse=True)[:5]:
        await reply_html(update, context, render_programme(view), owner_keyboard(view))
    await reply_html(update, context, tw.PROGRAMMES_MENU, menu)


async def _unit_programmes(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, *, code: str | None
) -> None:
    """Other people's programmes in a unit's subtree (the user's own unit by default) that the user may read."""

    def load(session: Session) -> tuple[str, str, list[ProgrammeDigest], InlineKeyboardMarkup | None] | None:
        unit = (
            people.find_unit_by_code(session, code=code.upper())
            if code is not None
            else people.unit_view(people.load_unit(session, user.unit_id or 0))
        )
        if unit is None:
            return None
        found = programmes.list_unit_programmes(session, actor_id=user.person_id, unit_id=unit.id)
        markup = None
        if user.person_id is not None and access.has_role(
            session, person_id=user.person_id, roles=PUBLIC_EXPORT_ROLES, unit_id=unit.id
        ):
            button = InlineKeyboardButton(tw.BUTTON_PROGRAMME_PUBLIC_XLSX, callback_data=f"ct:xls:{unit.id}")
            markup = InlineKeyboardMarkup([[button]])
        return f"{unit.name} ({unit.code})", unit.code, found, markup

    try:
        loaded = await wf.in_session(context, load)
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    if loaded is None:
        await reply_html(update, context, tw.SUMMARY_UNKNOWN_UNIT.format(value=escape(code or "")))
        return
    unit_label, unit_code, digests, markup = loaded
    rule = tw.UNIT_PROGRAMMES_RULE.format(example=escape(unit_code))
    if not digests:
        await reply_html(
            update, context, tw.UNIT_PROGRAMMES_NONE.format(unit=escape(unit_label)) + "\n\n" + rule, markup
        )
        return

    def when(at: datetime) -> str:
        return wf.local_time(context, at)

    parts = [tw.UNIT_PROGRAMMES_HEADER.format(unit=escape(unit_label), count=len(digests))]
    parts += [render_digest(d, when) for d in digests[:UNIT_LIST_LIMIT]]
    if len(digests) > UNIT_LIST_LIMIT:
        parts.append(tw.UNIT_PROGRAMMES_MORE.format(more=len(digests) - UNIT_LIST_LIMIT))
    parts.append(rule)
    await reply_html(update, context, "\n\n".join(parts), markup)


async def _export_public(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: CurrentUser,
    *,
    code: str | None,
    unit_id: int | None,
    include_ended: bool = False,
) -> None:
    """The workbook of a unit's public programmes (by code, or the unit of a «📄» button), for staff, heads and
    admins over the unit; records checks the scope and keeps internal and party-cell programmes out. The
    programmes in progress only unless `include_ended`; the caption says how many ended ones were left out."""
    chat = update.effective_chat
    if chat is None:
        return

    def load(session: Session) -> PublicProgrammes:
        if unit_id is not None:
            found = unit_id
        else:
            unit = people.find_unit_by_code(session, code=(code or "").upper())
            if unit is None:
                raise NotFound(f"unit {code}", entity="unit")
            found = unit.id
        return programmes.list_public_programmes(
            session, actor_id=user.person_id, unit_id=found, include_ended=include_ended
        )

    shown = escape((code or "").upper()[:30])
    try:
        listed = await wf.in_session(context, load)
    except NotFound:
        gone = unit_id is not None  # the unit of a «📄» button was removed meanwhile
        await reply_html(
            update, context, tw.RECORD_GONE if gone else tw.SUMMARY_UNKNOWN_UNIT.format(value=shown)
        )
        return
    except PermissionDenied:
        if not shown and unit_id is not None:  # a button for a unit whose scope the user has since lost
            shown = escape(await wf.in_session(context, lambda s: people.load_unit(s, unit_id).code))
        await reply_html(update, context, tw.PUBLIC_PROGRAMMES_OUT_OF_SCOPE.format(value=shown))
        return
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    workbook = await asyncio.to_thread(
        public_programmes_xlsx_bytes, listed, now=wf.now_of(context), tz=wf.timezone_of(context)
    )
    items = sum(len(d.programme.items) for d in listed.programmes)
    unit = escape(f"{listed.unit_name} ({listed.unit_code})")
    if listed.include_ended:
        ended = sum(1 for d in listed.programmes if d.programme.closed_at is not None)
        said = (
            tw.PUBLIC_PROGRAMMES_ENDED_SOME.format(ended=ended) if ended else tw.PUBLIC_PROGRAMMES_ENDED_NONE
        )
        caption = tw.PUBLIC_PROGRAMMES_ALL_XLSX_CAPTION.format(
            unit=unit, count=len(listed.programmes), items=items, ended=said
        )
    else:
        caption = tw.PUBLIC_PROGRAMMES_XLSX_CAPTION.format(
            unit=unit, count=len(listed.programmes), items=items
        )
        if listed.ended_left_out:
            caption += "\n" + tw.PUBLIC_PROGRAMMES_ENDED_LEFT_OUT.format(
                ended=listed.ended_left_out, code=escape(listed.unit_code)
            )
    suffix = "-tat-ca" if listed.include_ended else ""
    await context.bot.send_document(
        chat.id,
        document=io.BytesIO(workbook),
        filename=f"chuong-trinh-cong-khai-{listed.unit_code}{suffix}.xlsx",
        caption=caption,
        parse_mode=ParseMode.HTML,
    )
    log.info(
        "public programmes workbook sent: programmes=%d ended_left_out=%d include_ended=%s",
        len(listed.programmes),
        listed.ended_left_out,
        listed.include_ended,
    )


async def _own(context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, pid: int) -> ProgrammeView | None:
    try:
        view = await wf.call_records(
            context, programmes.get_programme, actor_id=user.person_id, programme_id=pid
        )
    except RecordsError:
        return None
    return view


def _inputs(view: ProgrammeView, extra: ItemInput | None = None) -> ProgrammeInput:
    items = [
        ItemInput(id=i.id, commitment=i.commitment, target=i.target, deadline=i.deadline) for i in view.items
    ]
    return ProgrammeInput(
        post=view.post,
        term_start=view.term_start,
        term_end=view.term_end,
        publicity=Publicity(view.publicity),
        items=tuple([*items, *([extra] if extra else [])]),
    )


async def programme_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ct:new|pub|item|check|send|prog|open|ok|ret:<programme id>[:…]."""
    press = await wf.button_press(update, context)
    if press is None:
        return
    query, user, parts = press.query, press.user, press.parts
    action = parts[1]
    try:
        pid = int(parts[2])
    except (IndexError, ValueError):
        await query.answer(tw.RECORD_GONE, show_alert=True)
        return
    if action == "unit":
        await _unit_programmes(update, context, user, code=None)
        return
    if action == "xls":
        await _export_public(update, context, user, code=None, unit_id=pid)
        return
    if action == "new":
        await start_step(context, chat_id=press.chat_id, user_id=query.from_user.id, step=POST_STEP, data={})
        await reply_html(update, context, tw.PROGRAMME_ASK_POST)
        return
    if action == "pub" and len(parts) == 4 and parts[3] in tw.PUBLICITY_NAMES:
        await _choose_publicity(update, context, parts[3])
        return
    view = await _own(context, user, pid)
    if view is None:
        await query.answer(tw.RECORD_GONE, show_alert=True)
        return
    mine = view.person_id == press.person_id
    try:
        if action == "item" and mine and view.state in EDITABLE:
            await start_step(
                context,
                chat_id=press.chat_id,
                user_id=query.from_user.id,
                step=ITEM_STEP,
                data={"programme_id": view.id},
            )
            await reply_html(update, context, tw.PROGRAMME_ASK_ITEM)
        elif action == "check" and mine and view.state in EDITABLE:
            await end_step(context, chat_id=press.chat_id, user_id=query.from_user.id)
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            tw.BUTTON_SEND, callback_data=f"ct:send:{view.id}:{view.version}"
                        ),
                        InlineKeyboardButton(tw.BUTTON_KEEP_EDITING, callback_data=f"ct:open:{view.id}"),
                    ]
                ]
            )
            await reply_html(
                update, context, tw.PROGRAMME_CONFIRM_SUBMIT.format(card=render_programme(view)), markup
            )
        elif action == "send" and mine and len(parts) == 4:
            if view.state not in EDITABLE:  # a double tap, or an old confirmation screen
                await _show_handled(update, context, user, view)
                return
            await _submit(update, context, user, view, int(parts[3]))
        elif action == "prog" and mine and len(parts) == 4 and view.state == "confirmed":
            found = next(((i, it) for i, it in enumerate(view.items, 1) if it.id == int(parts[3])), None)
            if found is None:
                await query.answer(tw.RECORD_GONE, show_alert=True)
                return
            index, item = found
            await start_step(
                context,
                chat_id=press.chat_id,
                user_id=query.from_user.id,
                step=PROGRESS_STEP,
                data={"programme_id": view.id, "item_id": item.id, "index": index},
            )
            await reply_html(
                update,
                context,
                tw.PROGRAMME_ASK_PROGRESS.format(
                    index=index, commitment=escape(item.commitment), percent=item.progress_percent
                ),
            )
        elif action == "open":
            await _show(update, context, user, view)
        elif action == "log":
            await _show_log(update, context, user, view)
        elif action in ("ok", "ret") and not mine and view.state != "submitted":
            await _show_handled(update, context, user, view)  # confirmed or returned meanwhile
        elif action == "ok" and not mine and len(parts) == 4:
            done = await wf.call_records(
                context,
                programmes.confirm_programme,
                actor_id=press.person_id,
                programme_id=view.id,
                now=wf.now_of(context),
                expected_version=int(parts[3]),
            )
            owner = await wf.in_session(context, lambda s: wf.chats_of(s, [done.person_id]))
            await wf.notify(context, owner, tw.NOTIFY_PROGRAMME_CONFIRMED.format(post=escape(done.post)))
            await reply_html(
                update,
                context,
                tw.PROGRAMME_CONFIRMED.format(name=escape(done.person_name), post=escape(done.post)),
            )
        elif action == "ret" and not mine and len(parts) == 4:
            await start_step(
                context,
                chat_id=press.chat_id,
                user_id=query.from_user.id,
                step=RETURN_STEP,
                data={"programme_id": view.id, "version": int(parts[3])},
            )
            await reply_html(update, context, tw.PROGRAMME_ASK_RETURN)
        else:
            await _show(update, context, user, view)
    except (ConcurrentUpdate, InvalidTransition):
        await _show_fresh(update, context, user, view.id)
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))


async def _show_handled(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, view: ProgrammeView
) -> None:
    """The current card, saying the pressed action was already done (its state named)."""
    state = tw.PROGRAMME_STATES.get(view.state, view.state)
    await _show(update, context, user, view, prefix=tw.PROGRAMME_ALREADY.format(state=state))


async def _show_fresh(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, pid: int
) -> None:
    """After a lost race (a double tap, another head): the programme as it is now."""
    fresh = await _own(context, user, pid)
    if fresh is None:
        await reply_html(update, context, tw.RECORD_GONE)
        return
    await _show_handled(update, context, user, fresh)


async def _show(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: CurrentUser,
    view: ProgrammeView,
    *,
    prefix: str = "",
) -> None:
    lead = prefix + "\n\n" if prefix else ""
    if view.person_id == user.person_id:
        await reply_html(update, context, lead + render_programme(view), owner_keyboard(view))
        return
    markup = None
    if view.state == "submitted":
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        tw.BUTTON_PROGRAMME_CONFIRM, callback_data=f"ct:ok:{view.id}:{view.version}"
                    ),
                    InlineKeyboardButton(
                        tw.BUTTON_PROGRAMME_RETURN, callback_data=f"ct:ret:{view.id}:{view.version}"
                    ),
                ]
            ]
        )
    if view.state in SHARED:
        digest = await wf.call_records(
            context, programmes.programme_digest, actor_id=user.person_id, programme_id=view.id
        )
        log_button = InlineKeyboardButton(tw.BUTTON_PROGRAMME_LOG, callback_data=f"ct:log:{view.id}")
        text = render_digest(digest, lambda at: wf.local_time(context, at))
        await reply_html(update, context, lead + text, InlineKeyboardMarkup([[log_button]]))
        return
    header = f"👤 {escape(view.person_name)}\n"
    await reply_html(update, context, lead + header + render_programme(view), markup)


async def _show_log(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, view: ProgrammeView
) -> None:
    """«🕘 Nhật ký tiến độ»: every update of every item (read access checked by records for each item)."""
    notes = await wf.in_session(
        context,
        lambda s: [programmes.list_progress(s, actor_id=user.person_id, item_id=i.id) for i in view.items],
    )
    await reply_html(update, context, render_log(view, notes, lambda at: wf.local_time(context, at)))


async def _choose_publicity(update: Update, context: ContextTypes.DEFAULT_TYPE, publicity: str) -> None:
    """The publicity button after the post: keep it in the step's data and ask for the first item."""
    chat, tg_user = update.effective_chat, update.effective_user
    if chat is None or tg_user is None:
        return
    state = await wf.load_step(context, chat_id=chat.id, user_id=tg_user.id)
    if state is None or state[0] != ITEM_STEP or "post" not in state[1]:
        await reply_html(update, context, tw.RECORD_GONE)
        return
    data = {**state[1], "publicity": publicity}
    await start_step(context, chat_id=chat.id, user_id=tg_user.id, step=ITEM_STEP, data=data)
    await reply_html(update, context, tw.PROGRAMME_ASK_FIRST_ITEM)


async def _submit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, view: ProgrammeView, version: int
) -> None:
    done = await wf.call_records(
        context,
        programmes.submit_programme,
        actor_id=user.person_id,
        programme_id=view.id,
        now=wf.now_of(context),
        expected_version=version,
    )
    log.info("programme %s submitted through the bot", done.id)
    heads = await wf.in_session(
        context, lambda s: heads_over(s, unit_id=done.unit_id, exclude=done.person_id)
    )
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(tw.BUTTON_OPEN_PROGRAMME, callback_data=f"ct:open:{done.id}")]]
    )
    reached = await wf.notify(
        context,
        heads,
        tw.NOTIFY_PROGRAMME_SUBMITTED.format(name=escape(done.person_name), post=escape(done.post)),
        markup,
    )
    await reply_html(update, context, tw.PROGRAMME_SUBMITTED.format(heads=wf.names(reached)))


async def post_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    message, chat, tg_user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or tg_user is None:
        return
    parsed = parse_post(message.text or "")
    if isinstance(parsed, str):
        await reply_html(update, context, parsed)
        return
    post, start, end = parsed
    await start_step(
        context,
        chat_id=chat.id,
        user_id=tg_user.id,
        step=ITEM_STEP,
        data={"post": post, "start": start.isoformat(), "end": end.isoformat(), "publicity": "internal"},
    )
    buttons = [
        [InlineKeyboardButton(name, callback_data=f"ct:pub:0:{code}")]
        for code, name in tw.PUBLICITY_NAMES.items()
    ]
    await reply_html(update, context, tw.PROGRAMME_ASK_PUBLICITY, InlineKeyboardMarkup(buttons))


async def item_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    """One typed item: the first creates the draft programme (post and term from the step), later ones extend it."""
    message, chat, tg_user = update.effective_message, update.effective_chat, update.effective_user
    user = await ensure_signed_in(update, context)
    if message is None or chat is None or tg_user is None or user is None or user.person_id is None:
        return
    existing = await _own(context, user, int(data["programme_id"])) if "programme_id" in data else None
    if existing is not None:
        start, end = existing.term_start, existing.term_end
    else:
        start, end = date.fromisoformat(str(data["start"])), date.fromisoformat(str(data["end"]))
    parsed = parse_item(message.text or "", start=start, end=end)
    if isinstance(parsed, str):
        await reply_html(update, context, parsed)
        return
    try:
        if existing is None:
            view = await wf.call_records(
                context,
                programmes.create_programme,
                actor_id=user.person_id,
                person_id=user.person_id,
                data=ProgrammeInput(
                    post=str(data["post"]),
                    term_start=start,
                    term_end=end,
                    publicity=Publicity(str(data.get("publicity", "internal"))),
                    items=(parsed,),
                ),
                now=wf.now_of(context),
            )
            await start_step(
                context, chat_id=chat.id, user_id=tg_user.id, step=ITEM_STEP, data={"programme_id": view.id}
            )
        else:
            view = await wf.call_records(
                context,
                programmes.update_programme,
                actor_id=user.person_id,
                programme_id=existing.id,
                data=_inputs(existing, parsed),
                now=wf.now_of(context),
                expected_version=existing.version,
            )
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    await reply_html(
        update,
        context,
        tw.PROGRAMME_ITEM_SAVED.format(commitment=escape(parsed.commitment))
        + "\n\n"
        + render_programme(view),
        owner_keyboard(view),
    )


async def progress_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    message, chat, tg_user = update.effective_message, update.effective_chat, update.effective_user
    user = await ensure_signed_in(update, context)
    if message is None or chat is None or tg_user is None or user is None:
        return
    typed = message.text or ""
    if _PROGRESS_FRACTION.match(typed):
        value = escape(typed.split()[0][:12])
        await reply_html(update, context, tw.PROGRAMME_PROGRESS_FRACTION.format(value=value))
        return
    match = _PROGRESS.match(typed)
    if match is None or not 0 <= int(match.group(1)) <= 100:
        await reply_html(update, context, tw.PROGRAMME_PROGRESS_BAD)
        return
    percent, note = int(match.group(1)), match.group(2).strip()[:1000]
    before = await _own(context, user, int(data["programme_id"]))
    try:
        await wf.call_records(
            context,
            programmes.record_progress,
            actor_id=user.person_id,
            item_id=int(data["item_id"]),
            percent=percent,
            note=note,
            now=wf.now_of(context),
        )
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    view = await _own(context, user, int(data["programme_id"]))
    text = tw.PROGRAMME_PROGRESS_SAVED.format(index=int(data.get("index", 0)), percent=percent)
    if view is not None:
        reached = await _notify_progress(context, before or view, int(data["item_id"]), percent, note)
        text += " " + tw.PROGRAMME_PROGRESS_NOTIFIED.format(heads=wf.names(reached))
        text += "\n\n" + render_programme(view) + "\n\n" + tw.PROGRAMME_PROGRESS_NEXT
    await reply_html(update, context, text, owner_keyboard(view) if view else None)


async def _notify_progress(
    context: ContextTypes.DEFAULT_TYPE, before: ProgrammeView, item_id: int, percent: int, note: str
) -> list[wf.Recipient]:
    """Tell the confirming head (else the unit's heads) who updated which commitment, to what, and why."""
    found = next(((i, it) for i, it in enumerate(before.items, 1) if it.id == item_id), None)
    if found is None:
        return []
    index, item = found
    followers = await wf.in_session(
        context,
        lambda s: wf.chats_of(s, programmes.progress_followers(s, programme_id=before.id)),
    )
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(tw.BUTTON_OPEN_PROGRAMME, callback_data=f"ct:open:{before.id}")],
            [InlineKeyboardButton(tw.BUTTON_PROGRAMME_UNIT, callback_data="ct:unit:0")],
        ]
    )
    html = tw.NOTIFY_PROGRAMME_PROGRESS.format(
        name=escape(before.person_name),
        post=escape(before.post),
        index=index,
        commitment=escape(item.commitment),
        before=item.progress_percent,
        percent=percent,
        note=escape(note) if note else tw.PROGRAMME_ITEM_NO_NOTE,
    )
    return await wf.notify(context, followers, html, markup)


async def return_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    message, chat, tg_user = update.effective_message, update.effective_chat, update.effective_user
    user = await ensure_signed_in(update, context)
    if message is None or chat is None or tg_user is None or user is None:
        return
    reason = (message.text or "").strip()
    if not reason or len(reason) > 2000:
        await reply_html(update, context, tw.REVIEW_REASON_EMPTY)
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    try:
        done = await wf.call_records(
            context,
            programmes.return_programme,
            actor_id=user.person_id,
            programme_id=int(data["programme_id"]),
            reason=reason,
            now=wf.now_of(context),
            expected_version=int(data["version"]),
        )
    except (ConcurrentUpdate, InvalidTransition):
        await _show_fresh(update, context, user, int(data["programme_id"]))
        return
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    owner = await wf.in_session(context, lambda s: wf.chats_of(s, [done.person_id]))
    await wf.notify(
        context, owner, tw.NOTIFY_PROGRAMME_RETURNED.format(post=escape(done.post), reason=escape(reason))
    )
    await reply_html(update, context, tw.PROGRAMME_RETURNED_DONE.format(name=escape(done.person_name)))


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    wf.setup(app)
    app.add_handler(CommandHandler("chuongtrinh", programme_command))
    app.add_handler(CallbackQueryHandler(programme_button, pattern=PROGRAMME_BUTTONS))
    router.add_step(POST_STEP, post_step)
    router.add_step(ITEM_STEP, item_step)
    router.add_step(PROGRESS_STEP, progress_step)
    router.add_step(RETURN_STEP, return_step)


FEATURE = Feature(
    name="programme",
    install=install,
    commands=(CommandSpec("chuongtrinh", tw.PROGRAMME_COMMAND, SIGNED_IN),),
)
