"""The cadre's side of the monthly evaluation: /kehoach (work plan), /danhgia (self-assessment), /ketqua (results).

Every answer is saved to the records draft at once (a restart resumes where the user was: the typed-input
step is stored in the database too); the summary is shown before submitting; the reviewer is notified.

```mermaid
stateDiagram-v2
    [*] --> plan: /kehoach [kỳ]
    plan --> plan_task: ➕ Thêm việc (step kh:task)
    plan_task --> plan_task: "tên | kết quả | hạn" saved (bad date → hint)
    plan --> plan: 🗑 Xóa việc n / 📋 Chép việc chưa xong kỳ trước
    plan_task --> [*]: /huy
    plan_task --> sent: ✅ Xong — a new or changed plan goes to the direct manager (once per change)
    sent --> plan: manager's «↩️ Đề nghị sửa» (reason shown, «✏️ Sửa kế hoạch») / «💬 Góp ý» delivered
    [*] --> card: /danhgia [kỳ]
    card --> result: task button
    result --> note: ✅/⏰/❌ saved (step dg:note)
    note --> result: note saved / Bỏ qua → next task without a result
    note --> card: all tasks have a result
    card --> points: 🔢 criterion (step dg:points)
    points --> points: value saved → next criterion without points (bad number → hint)
    points --> card: all criteria have points
    card --> comment: 💬 (step dg:comment)
    comment --> card: saved
    card --> confirm: 📤 Xem lại và gửi (missing items named)
    confirm --> card: ✏️ Sửa tiếp
    confirm --> submitted: ✅ Gửi (late marked; reviewer notified)
    submitted --> card: returned by the reviewer (reason shown)
    submitted --> card: ✏️ Sửa lại before the reviewer acts (dg:wd → draft; "already reviewed" otherwise)
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
from bot.access import CurrentUser, ensure_private, ensure_signed_in
from bot.conversation import StepRouter, end_step, start_step
from bot.feature import SIGNED_IN, CommandSpec, Feature
from bot.features import workflow as wf
from bot.jobs import JobRegistry
from bot.messages import escape
from bot.replies import reply_html
from records import evaluations, people, programmes
from records.errors import ConcurrentUpdate, PermissionDenied, RecordsError
from records.evaluations import MAX_TASKS, TaskInput, TaskResultInput
from records.periods import Period, deadline
from records.rules import Criterion, Rules
from records.schema import TaskResult
from records.views import EvaluationView, PlanSent

log = logging.getLogger(__name__)

PLAN_TASK = "kh:task"
SELF_NOTE = "dg:note"
SELF_POINTS = "dg:points"
SELF_COMMENT = "dg:comment"
# The exact shapes of this feature's callback data: anything else (a forged or mangled button) is answered by
# the app's expired-button handler instead of reaching the handlers below.
PLAN_BUTTONS = r"^kh:(?:(?:add|copy|done|open):[^:]+|del:[^:]+:\d+)$"
SELF_BUTTONS = (
    r"^dg:(?:(?:card|skip|cmt|check):\d+|(?:task|wd|send):\d+:\d+|pts:\d+:[^:]+"
    r"|res:\d+:\d+:[^:]+|val:\d+:[^:]+:[0-9.]+)$"
)
HISTORY_BUTTONS = r"^kq:hist:\d+$"
MAX_TITLE = 500
MAX_EXPECTED = 1000
MAX_NOTE = 1000
MAX_COMMENT = 4000
EDITABLE = ("draft", "returned")
READER_ROLES = ("reviewer", "head", "staff", "admin")


def common_values(max_points: float) -> list[float]:
    """Buttons offered for a criterion: the maximum and a few usual deductions."""
    steps = (1.0, 0.9, 0.8, 0.7, 0.5) if max_points >= 20 else (1.0, 0.8, 0.5, 0.0)
    values: list[float] = []
    for share in steps:
        value = round(max_points * share * 2) / 2
        if value not in values:
            values.append(value)
    return values


async def read_typed_points(
    update: Update, context: ContextTypes.DEFAULT_TYPE, raw: str, criterion: Criterion
) -> float | None:
    """The points typed for `criterion`; None after telling the user what was wrong and what is allowed."""
    value = wf.parse_number(raw)
    if value is None:
        await reply_html(
            update,
            context,
            tw.SELF_POINTS_BAD.format(
                value=escape(raw[:20]),
                max=wf.fmt_points(criterion.max_points),
                example=wf.fmt_points(common_values(criterion.max_points)[1]),
            ),
        )
        return None
    if not 0 <= value <= criterion.max_points:
        await reply_html(
            update,
            context,
            tw.SELF_POINTS_RANGE.format(
                value=wf.fmt_points(value),
                name=escape(criterion.name),
                max=wf.fmt_points(criterion.max_points),
            ),
        )
        return None
    return value


# --- rendering --------------------------------------------------------------------------------------------


def render_plan_items(view: EvaluationView) -> list[str]:
    return [
        tw.PLAN_ITEM.format(
            index=index,
            title=escape(task.title),
            expected=tw.PLAN_ITEM_EXPECTED.format(expected=escape(task.expected_result))
            if task.expected_result
            else "",
            deadline=tw.PLAN_ITEM_DEADLINE.format(deadline=wf.fmt_date(task.deadline))
            if task.deadline
            else "",
            copied=tw.PLAN_ITEM_COPIED if task.copied_from_id else "",
        )
        for index, task in enumerate(view.tasks, 1)
    ]


def render_plan(view: EvaluationView, rules: Rules) -> str:
    period = Period.parse(view.period)
    lines = [
        tw.PLAN_HEADER.format(
            period=view.period,
            name=escape(view.person_name),
            deadline=wf.fmt_date(deadline(rules, period, "plan")),
            state=tw.STATE_NAMES.get(view.state, view.state),
        )
    ]
    if view.plan_change_reason and view.state in EDITABLE:
        lines.append(tw.PLAN_CHANGE_PENDING.format(reason=escape(view.plan_change_reason)))
    if not view.tasks:
        lines.append(tw.PLAN_EMPTY)
    lines += render_plan_items(view)
    return "\n".join(lines)


def render_plan_notice(view: EvaluationView, *, update: bool) -> str:
    """The plan as the direct manager receives it: who, which period, every task."""
    header = tw.NOTIFY_PLAN_UPDATE if update else tw.NOTIFY_PLAN
    lines = [
        header.format(
            name=escape(view.person_name),
            code=escape(view.cadre_code),
            period=view.period,
            count=len(view.tasks),
        ),
        "",
        *render_plan_items(view),
    ]
    return "\n".join(lines)


def plan_notice_keyboard(view: EvaluationView) -> InlineKeyboardMarkup:
    """«💬 Góp ý» and «↩️ Đề nghị sửa» (the latter bound to the plan as sent: a later change makes it stale)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(tw.BUTTON_PLAN_COMMENT, callback_data=f"dy:pcmt:{view.id}"),
                InlineKeyboardButton(
                    tw.BUTTON_PLAN_CHANGE, callback_data=f"dy:pchg:{view.id}:{view.plan_sent_digest or '0'}"
                ),
            ]
        ]
    )


def plan_open_keyboard(view: EvaluationView, label: str) -> InlineKeyboardMarkup:
    """The cadre's button back to their plan of the record's period."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"kh:open:{view.period}")]])


def plan_keyboard(view: EvaluationView) -> InlineKeyboardMarkup | None:
    if view.state not in EDITABLE:
        return None
    rows = [
        [
            InlineKeyboardButton(tw.BUTTON_PLAN_ADD, callback_data=f"kh:add:{view.period}"),
            InlineKeyboardButton(tw.BUTTON_PLAN_COPY, callback_data=f"kh:copy:{view.period}"),
        ]
    ]
    deletes = [
        InlineKeyboardButton(
            tw.BUTTON_PLAN_DELETE.format(index=i), callback_data=f"kh:del:{view.period}:{t.id}"
        )
        for i, t in enumerate(view.tasks, 1)
    ]
    rows += [deletes[i : i + 3] for i in range(0, len(deletes), 3)]
    rows.append([InlineKeyboardButton(tw.BUTTON_PLAN_DONE, callback_data=f"kh:done:{view.period}")])
    return InlineKeyboardMarkup(rows)


def render_points(view: EvaluationView, rules: Rules) -> list[str]:
    points = view.self_points or {}
    lines = [tw.SELF_POINTS_HEADER]
    for criterion in rules.criteria:
        value = points.get(criterion.key)
        lines.append(
            tw.SELF_POINT_LINE.format(
                name=escape(criterion.name),
                value=wf.fmt_points(value) if value is not None else tw.SELF_POINT_NONE,
                max=wf.fmt_points(criterion.max_points),
            )
        )
    if len(points) == len(rules.criteria):
        total = round(sum(points.values()), 2)
        lines.append(
            tw.SELF_TOTAL.format(
                total=wf.fmt_points(total),
                max=wf.fmt_points(rules.max_total),
                grade=escape(grade_label(rules, rules.grade_for(total).code)),
            )
        )
    elif points:
        lines.append(
            tw.SELF_TOTAL_PARTIAL.format(
                total=wf.fmt_points(round(sum(points.values()), 2)), max=wf.fmt_points(rules.max_total)
            )
        )
    return lines


def grade_label(rules: Rules, code: str | None) -> str:
    band = rules.grade(code or "")
    if band is None:
        return code or "—"
    return f"{band.code} ({band.short or band.name})"


def render_tasks(view: EvaluationView) -> list[str]:
    lines = [tw.SELF_TASKS_HEADER]
    for index, task in enumerate(view.tasks, 1):
        lines.append(
            tw.SELF_TASK_LINE.format(
                index=index,
                title=escape(task.title),
                result=tw.RESULT_NAMES.get(task.result or "", tw.RESULT_NONE),
                note=f" — <i>{escape(task.result_note)}</i>" if task.result_note else "",
            )
        )
    return lines


def render_card(view: EvaluationView, rules: Rules, *, today: date, evidence: list[Any] | None = None) -> str:
    """The self-assessment as the cadre sees it: tasks, points, proposed grade, evidence, return reason."""
    due_date = deadline(rules, Period.parse(view.period), "self_assessment")
    lines = [
        tw.SELF_HEADER.format(
            period=view.period,
            name=escape(view.person_name),
            state=tw.STATE_NAMES.get(view.state, view.state),
            late=tw.LATE_MARK if view.late else "",
        ),
        tw.SELF_DEADLINE.format(deadline=wf.fmt_date(due_date)),
    ]
    if view.state in EDITABLE and today > due_date:
        lines.append(tw.PAST_DEADLINE.format(deadline=wf.fmt_date(due_date)))
    if view.state == "returned" and view.return_reason:
        lines.append(tw.SELF_RETURNED.format(reason=escape(view.return_reason)))
    lines.append("")
    lines += render_tasks(view)
    lines.append("")
    lines += render_points(view, rules)
    if view.self_comment:
        lines.append(tw.SELF_COMMENT.format(comment=escape(view.self_comment)))
    lines += render_evidence(evidence or [])
    return "\n".join(lines)


def render_evidence(evidence: list[Any]) -> list[str]:
    """The confirmed action-programme items of the period (a blank line and a header first), or nothing."""
    if not evidence:
        return []
    lines = ["", tw.SELF_EVIDENCE_HEADER]
    for item in evidence:
        lines.append(
            tw.SELF_EVIDENCE_LINE.format(
                commitment=escape(item.commitment),
                target=escape(item.target),
                deadline=wf.fmt_date(item.deadline),
                percent=item.progress_percent,
            )
        )
    return lines


def card_keyboard(view: EvaluationView, rules: Rules) -> InlineKeyboardMarkup | None:
    if view.state not in EDITABLE:
        return None
    eid = view.id
    rows = []
    for index, task in enumerate(view.tasks, 1):
        mark = "✔️" if task.result else "▫️"
        title = task.title if len(task.title) <= 28 else task.title[:27] + "…"
        rows.append(
            [
                InlineKeyboardButton(
                    tw.BUTTON_SELF_TASK.format(index=index, mark=mark, title=title),
                    callback_data=f"dg:task:{eid}:{task.id}",
                )
            ]
        )
    points = view.self_points or {}
    for c in rules.criteria:
        label = c.name if len(c.name) <= 20 else c.name[:19] + "…"
        rows.append(
            [
                InlineKeyboardButton(
                    tw.BUTTON_SELF_POINTS.format(name=label, value=wf.fmt_points(points.get(c.key))),
                    callback_data=f"dg:pts:{eid}:{c.key}",
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(tw.BUTTON_SELF_COMMENT, callback_data=f"dg:cmt:{eid}"),
            InlineKeyboardButton(tw.BUTTON_SELF_REVIEW, callback_data=f"dg:check:{eid}"),
        ]
    )
    return InlineKeyboardMarkup(rows)


# --- records calls --------------------------------------------------------------------------------------


def _choose_period(session: Session, *, person_id: int, current: Period) -> str:
    """The previous period while its record is still editable (also after the deadline), else the current one."""
    previous = evaluations.find_evaluation(
        session, actor_id=person_id, person_id=person_id, period=str(current.previous)
    )
    if previous is not None and previous.state in EDITABLE and previous.tasks:
        return previous.period
    mine = evaluations.find_evaluation(session, actor_id=person_id, person_id=person_id, period=str(current))
    if mine is not None and mine.tasks:
        return mine.period
    if previous is not None:
        return previous.period
    return str(current)


async def _open(context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, period: str) -> EvaluationView:
    assert user.person_id is not None
    return await wf.call_records(
        context,
        evaluations.open_evaluation,
        actor_id=user.person_id,
        person_id=user.person_id,
        period=period,
        rules=wf.rules_of(context),
        now=wf.now_of(context),
    )


async def _own(context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, eid: int) -> EvaluationView | None:
    """The user's own record `eid` (None when it is someone else's or gone)."""
    try:
        view = await wf.call_records(
            context, evaluations.get_evaluation, actor_id=user.person_id, evaluation_id=eid
        )
    except RecordsError:
        return None
    return view if view.person_id == user.person_id else None


async def _send_card(
    update: Update, context: ContextTypes.DEFAULT_TYPE, view: EvaluationView, prefix: str = ""
) -> None:
    rules = wf.rules_of(context)
    evidence = await wf.call_records(
        context, programmes.evidence_for_period, person_id=view.person_id, period=view.period
    )
    text = render_card(view, rules, today=wf.today_of(context), evidence=evidence)
    markup = card_keyboard(view, rules)
    if view.state == "submitted":
        text += "\n\n" + tw.SELF_WAITING
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(tw.BUTTON_WITHDRAW, callback_data=f"dg:wd:{view.id}:{view.version}")]]
        )
    elif view.state in ("reviewed", "decided"):
        text += "\n\n" + tw.SELF_LOCKED.format(state=tw.STATE_NAMES.get(view.state, view.state))
    await reply_html(update, context, (prefix + "\n\n" if prefix else "") + text, markup)


# --- /kehoach ------------------------------------------------------------------------------------------------


async def _period_arg(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Period | bool | None:
    """The period typed after a command; None when absent; False (after a hint) when malformed."""
    args = context.args or []
    if not args:
        return None
    rules = wf.rules_of(context)
    parsed = wf.parse_period(args[0], rules)
    if parsed is None:
        await reply_html(
            update,
            context,
            tw.BAD_PERIOD.format(value=escape(args[0][:20]), example=wf.period_example(rules)),
        )
        return False
    return parsed


async def plan_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/kehoach [kỳ]: the period's work plan with add / delete / copy buttons."""
    if not await ensure_private(update, context):
        return
    user = await ensure_signed_in(update, context)
    if user is None:
        return
    arg = await _period_arg(update, context)
    if arg is False:
        return
    period = arg if isinstance(arg, Period) else wf.current_period(context)
    try:
        view = await _open(context, user, str(period))
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    await _show_plan(update, context, view)


async def _show_plan(
    update: Update, context: ContextTypes.DEFAULT_TYPE, view: EvaluationView, prefix: str = ""
) -> None:
    text = render_plan(view, wf.rules_of(context))
    if view.state not in EDITABLE:
        text += "\n\n" + tw.PLAN_LOCKED.format(state=tw.STATE_NAMES.get(view.state, view.state))
    await reply_html(update, context, (prefix + "\n\n" if prefix else "") + text, plan_keyboard(view))


def parse_task_line(raw: str, period: Period) -> TaskInput | str:
    """ "Tên việc | Kết quả dự kiến | 25/11" → TaskInput, or the Vietnamese reason it is wrong."""
    parts = [p.strip() for p in raw.split("|")]
    title = parts[0] if parts else ""
    expected = parts[1] if len(parts) > 1 else ""
    when = parts[2] if len(parts) > 2 else ""
    if not title:
        return tw.PLAN_TASK_EMPTY
    if len(title) > MAX_TITLE:
        return tw.PLAN_TASK_TOO_LONG.format(limit=MAX_TITLE, length=len(title))
    if len(expected) > MAX_EXPECTED:
        return tw.PLAN_EXPECTED_TOO_LONG.format(limit=MAX_EXPECTED)
    due_date: date | None = None
    if when:
        due_date = wf.parse_day(when, default_year=period.start.year)
        if due_date is None:
            return tw.PLAN_BAD_DATE.format(value=escape(when[:30]))
        if not period.start <= due_date <= period.end:
            return tw.PLAN_DATE_OUTSIDE.format(
                value=wf.fmt_date(due_date),
                period=str(period),
                start=wf.fmt_date(period.start),
                end=wf.fmt_date(period.end),
            )
    return TaskInput(title=title, expected_result=expected, deadline=due_date)


def _keep(view: EvaluationView) -> list[TaskInput]:
    return [
        TaskInput(
            id=t.id,
            title=t.title,
            expected_result=t.expected_result,
            deadline=t.deadline,
            action_item_id=t.action_item_id,
        )
        for t in view.tasks
    ]


async def plan_task_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    """The user typed one task: validate, save the whole plan at once, stay in the step for the next one."""
    message, user_obj = update.effective_message, await ensure_signed_in(update, context)
    if message is None or user_obj is None or user_obj.person_id is None:
        return
    period = Period.parse(str(data["period"]))
    parsed = parse_task_line(message.text or "", period)
    if isinstance(parsed, str):
        await reply_html(update, context, parsed)
        return
    try:
        view = await _open(context, user_obj, str(period))
        if len(view.tasks) >= MAX_TASKS:
            await reply_html(update, context, tw.PLAN_TOO_MANY.format(limit=MAX_TASKS))
            return
        view = await wf.call_records(
            context,
            evaluations.plan_tasks,
            actor_id=user_obj.person_id,
            person_id=user_obj.person_id,
            period=str(period),
            tasks=[*_keep(view), parsed],
            rules=wf.rules_of(context),
            now=wf.now_of(context),
            expected_version=view.version,
        )
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    await _show_plan(update, context, view, prefix=tw.PLAN_ADDED.format(title=escape(parsed.title)))


async def plan_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """kh:add|copy|done:<period> and kh:del:<period>:<task id>."""
    press = await wf.button_press(update, context)
    if press is None:
        return
    query, user, parts = press.query, press.user, press.parts
    period = wf.parse_period(parts[2], wf.rules_of(context)) if len(parts) > 2 else None
    if period is None:
        await query.answer(tw.RECORD_GONE, show_alert=True)
        return
    action = parts[1]
    rules = wf.rules_of(context)
    try:
        view = await _open(context, user, str(period))
        if action == "add":
            if view.state not in EDITABLE:
                await _show_plan(update, context, view)
                return
            await start_step(
                context,
                chat_id=press.chat_id,
                user_id=query.from_user.id,
                step=PLAN_TASK,
                data={"period": str(period)},
            )
            await reply_html(update, context, tw.PLAN_ASK_TASK)
        elif action == "copy":
            before = len(view.tasks)
            view = await wf.call_records(
                context,
                evaluations.copy_unfinished_tasks,
                actor_id=press.person_id,
                person_id=press.person_id,
                period=str(period),
                rules=rules,
                now=wf.now_of(context),
            )
            copied = len(view.tasks) - before
            prefix = tw.PLAN_COPIED.format(count=copied) if copied else tw.PLAN_COPIED_NONE
            await _show_plan(update, context, view, prefix=prefix)
        elif action == "del" and len(parts) == 4:
            task_id = int(parts[3])
            remaining = [t for t in _keep(view) if t.id != task_id]
            if len(remaining) == len(view.tasks) or not remaining:
                await _show_plan(update, context, view)
                return
            view = await wf.call_records(
                context,
                evaluations.plan_tasks,
                actor_id=press.person_id,
                person_id=press.person_id,
                period=str(period),
                tasks=remaining,
                rules=rules,
                now=wf.now_of(context),
                expected_version=view.version,
            )
            await _show_plan(update, context, view)
        elif action == "done":
            await end_step(context, chat_id=press.chat_id, user_id=query.from_user.id)
            if not view.tasks:
                await reply_html(update, context, tw.PLAN_DONE_EMPTY)
                return
            await _finish_plan(update, context, user, view)
        elif action == "open":
            await _show_plan(update, context, view)
        else:
            await query.answer(tw.RECORD_GONE, show_alert=True)
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))


async def _finish_plan(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, view: EvaluationView
) -> None:
    """✅ Xong: a new or changed plan goes to the direct manager; the same plan again is not sent twice."""
    text = tw.PLAN_DONE.format(period=view.period, count=len(view.tasks))
    if view.state not in EDITABLE:  # an old button of a plan that can no longer change
        await reply_html(update, context, text)
        return
    sent: PlanSent | None = None
    for _attempt in range(2):  # a tap at the same moment claims the record first: look again once
        try:
            sent = await wf.call_records(
                context,
                evaluations.send_plan,
                actor_id=user.person_id,
                evaluation_id=view.id,
                now=wf.now_of(context),
            )
            break
        except ConcurrentUpdate:
            continue
    if sent is None or sent.outcome == "unchanged":
        text += "\n" + tw.PLAN_UNCHANGED
    elif sent.outcome == "sent":
        reached = await notify_plan(context, sent)
        log.info("plan of evaluation %s sent to %d of %d", view.id, len(reached), len(sent.reviewer_ids))
        text += "\n" + tw.PLAN_SENT.format(reviewers=wf.names(reached))
    else:
        text += "\n" + tw.PLAN_NOBODY
    await reply_html(update, context, text)


async def notify_plan(context: ContextTypes.DEFAULT_TYPE, sent: PlanSent) -> list[wf.Recipient]:
    """The plan, with «💬 Góp ý» and «↩️ Đề nghị sửa», to the direct manager (or the reviewers over the unit)."""
    view = sent.evaluation
    recipients = await wf.in_session(context, lambda s: wf.chats_of(s, sent.reviewer_ids))
    return await wf.notify(
        context, recipients, render_plan_notice(view, update=sent.update), plan_notice_keyboard(view)
    )


# --- /danhgia ------------------------------------------------------------------------------------------------


async def self_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/danhgia [kỳ]: the self-assessment card of the period (by default the one still to do)."""
    if not await ensure_private(update, context):
        return
    user = await ensure_signed_in(update, context)
    if user is None or user.person_id is None:
        return
    arg = await _period_arg(update, context)
    if arg is False:
        return
    person_id = user.person_id
    if isinstance(arg, Period):
        period = str(arg)
    else:
        current = wf.current_period(context)
        period = await wf.in_session(
            context, lambda s: _choose_period(s, person_id=person_id, current=current)
        )
    try:
        view = await _open(context, user, period)
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    if not view.tasks:
        await reply_html(update, context, tw.SELF_NO_PLAN.format(period=period))
        return
    await _send_card(update, context, view)


async def _ask_result(
    update: Update, context: ContextTypes.DEFAULT_TYPE, view: EvaluationView, task_id: int, prefix: str = ""
) -> None:
    index, task = next((i, t) for i, t in enumerate(view.tasks, 1) if t.id == task_id)
    buttons = [
        [InlineKeyboardButton(label, callback_data=f"dg:res:{view.id}:{task_id}:{code}")]
        for code, label in tw.BUTTON_RESULT.items()
    ]
    buttons.append([InlineKeyboardButton(tw.BUTTON_BACK, callback_data=f"dg:card:{view.id}")])
    expected = f"\n<i>{escape(task.expected_result)}</i>" if task.expected_result else ""
    await reply_html(
        update,
        context,
        (prefix + "\n\n" if prefix else "")
        + tw.SELF_ASK_RESULT.format(index=index, title=escape(task.title), expected=expected),
        InlineKeyboardMarkup(buttons),
    )


async def _ask_points(
    update: Update, context: ContextTypes.DEFAULT_TYPE, view: EvaluationView, key: str, prefix: str = ""
) -> None:
    rules = wf.rules_of(context)
    criterion = rules.criterion(key)
    chat = update.effective_chat
    if criterion is None or chat is None or update.effective_user is None:
        return
    await start_step(
        context,
        chat_id=chat.id,
        user_id=update.effective_user.id,
        step=SELF_POINTS,
        data={"eid": view.id, "key": key},
    )
    values = common_values(criterion.max_points)
    row = [
        InlineKeyboardButton(wf.fmt_points(v), callback_data=f"dg:val:{view.id}:{key}:{v:g}") for v in values
    ]
    await reply_html(
        update,
        context,
        (prefix + "\n\n" if prefix else "")
        + tw.SELF_ASK_POINTS.format(name=escape(criterion.name), max=wf.fmt_points(criterion.max_points)),
        InlineKeyboardMarkup(
            [row, [InlineKeyboardButton(tw.BUTTON_BACK, callback_data=f"dg:card:{view.id}")]]
        ),
    )


async def _next_or_card(
    update: Update, context: ContextTypes.DEFAULT_TYPE, view: EvaluationView, prefix: str
) -> None:
    """After an answer: the next task without a result, else the next criterion without points, else the card."""
    chat, tg_user = update.effective_chat, update.effective_user
    if chat is None or tg_user is None:
        return
    points = view.self_points or {}
    pending = next((t for t in view.tasks if t.result is None), None)
    missing = next((c for c in wf.rules_of(context).criteria if c.key not in points), None)
    if pending is None and missing is not None:
        await _ask_points(update, context, view, missing.key, prefix)  # replaces the stored step
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    if pending is not None:
        await _ask_result(update, context, view, pending.id, prefix)
        return
    await _send_card(update, context, view, prefix=prefix)


async def _save(
    context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, view: EvaluationView, **changes: Any
) -> EvaluationView:
    return await wf.call_records(
        context,
        evaluations.save_self_assessment,
        actor_id=user.person_id,
        evaluation_id=view.id,
        rules=wf.rules_of(context),
        now=wf.now_of(context),
        **changes,
    )


def missing_items(view: EvaluationView, rules: Rules) -> str | None:
    """What still blocks submitting (Vietnamese), or None."""
    parts = []
    tasks = [str(i) for i, t in enumerate(view.tasks, 1) if t.result is None]
    if tasks:
        parts.append(tw.SELF_MISSING_RESULTS.format(tasks=", ".join(tasks)))
    points = view.self_points or {}
    criteria = [escape(c.name) for c in rules.criteria if c.key not in points]
    if criteria:
        parts.append(tw.SELF_MISSING_POINTS.format(names="», «".join(criteria)))
    return "; ".join(parts) or None


async def self_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """dg:card|task|res|skip|pts|val|cmt|check|send:<evaluation id>[:…]."""
    press = await wf.button_press(update, context)
    if press is None:
        return
    query, user, parts = press.query, press.user, press.parts
    try:
        eid = int(parts[2])
    except (IndexError, ValueError):
        await query.answer(tw.RECORD_GONE, show_alert=True)
        return
    view = await _own(context, user, eid)
    if view is None:
        await query.answer(tw.RECORD_GONE, show_alert=True)
        return
    action = parts[1]
    rules = wf.rules_of(context)
    if action not in ("card", "wd") and view.state not in EDITABLE:
        await _send_card(update, context, view)
        return
    try:
        if action == "wd" and len(parts) == 4:
            await _withdraw(update, context, user, view, expected_version=int(parts[3]))
        elif action == "card":
            await end_step(context, chat_id=press.chat_id, user_id=query.from_user.id)
            await _send_card(update, context, view)
        elif action == "task" and len(parts) == 4:
            await _ask_result(update, context, view, int(parts[3]))
        elif action == "res" and len(parts) == 5 and parts[4] in tw.BUTTON_RESULT:
            task_id = int(parts[3])
            view = await _save(
                context, user, view, results=[TaskResultInput(task_id=task_id, result=TaskResult(parts[4]))]
            )
            await start_step(
                context,
                chat_id=press.chat_id,
                user_id=query.from_user.id,
                step=SELF_NOTE,
                data={"eid": eid, "task_id": task_id},
            )
            await reply_html(
                update,
                context,
                tw.SELF_ASK_NOTE.format(result=tw.RESULT_NAMES[parts[4]]),
                InlineKeyboardMarkup(
                    [[InlineKeyboardButton(tw.BUTTON_SKIP, callback_data=f"dg:skip:{eid}")]]
                ),
            )
        elif action == "skip":
            await _next_or_card(update, context, view, tw.SELF_SAVED)
        elif action == "pts" and len(parts) == 4:
            await _ask_points(update, context, view, parts[3])
        elif action == "val" and len(parts) == 5:
            value = wf.parse_number(parts[4])
            criterion = rules.criterion(parts[3])
            if value is None or criterion is None or not 0 <= value <= criterion.max_points:
                await query.answer(tw.RECORD_GONE, show_alert=True)
                return
            view = await _save(context, user, view, points={criterion.key: value})
            await _next_or_card(update, context, view, tw.SELF_SAVED)
        elif action == "cmt":
            await start_step(
                context,
                chat_id=press.chat_id,
                user_id=query.from_user.id,
                step=SELF_COMMENT,
                data={"eid": eid},
            )
            await reply_html(update, context, tw.SELF_ASK_COMMENT.format(limit=MAX_COMMENT))
        elif action == "check":
            await end_step(context, chat_id=press.chat_id, user_id=query.from_user.id)
            missing = missing_items(view, rules)
            if missing is not None:
                await _send_card(update, context, view, prefix=tw.SELF_MISSING.format(missing=missing))
                return
            card = render_card(view, rules, today=wf.today_of(context))
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(tw.BUTTON_SEND, callback_data=f"dg:send:{eid}:{view.version}"),
                        InlineKeyboardButton(tw.BUTTON_KEEP_EDITING, callback_data=f"dg:card:{eid}"),
                    ]
                ]
            )
            await reply_html(update, context, tw.SELF_CONFIRM.format(card=card), markup)
        elif action == "send" and len(parts) == 4:
            await _submit(update, context, user, view, expected_version=int(parts[3]))
        else:
            await query.answer(tw.RECORD_GONE, show_alert=True)
    except RecordsError as exc:
        if exc.code == "concurrent_update":
            fresh = await _own(context, user, eid)
            if fresh is not None:
                already = action == "wd" and fresh.state in ("reviewed", "returned", "decided")
                prefix = (
                    tw.SELF_WITHDRAW_TOO_LATE.format(state=tw.STATE_NAMES.get(fresh.state, fresh.state))
                    if already
                    else tw.STALE
                )
                await _send_card(update, context, fresh, prefix=prefix)
                return
        await reply_html(update, context, wf.describe_records_error(exc))


async def _withdraw(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: CurrentUser,
    view: EvaluationView,
    *,
    expected_version: int,
) -> None:
    """ "Sửa lại": take a submitted record back to draft (before review) and reopen the card for editing."""
    if view.state in EDITABLE:  # already withdrawn (a second tap) or returned: just edit
        await _send_card(update, context, view)
        return
    if view.state != "submitted":
        prefix = tw.SELF_WITHDRAW_TOO_LATE.format(state=tw.STATE_NAMES.get(view.state, view.state))
        await _send_card(update, context, view, prefix=prefix)
        return
    draft = await wf.call_records(
        context,
        evaluations.withdraw_submission,
        actor_id=user.person_id,
        evaluation_id=view.id,
        now=wf.now_of(context),
        expected_version=expected_version,
    )
    log.info("evaluation %s withdrawn through the bot", draft.id)
    await _send_card(update, context, draft, prefix=tw.SELF_WITHDRAWN)


def _reviewers_of(session: Session, *, evaluation_id: int) -> list[wf.Recipient]:
    return wf.chats_of(session, evaluations.next_actors(session, evaluation_id=evaluation_id))


async def _submit(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: CurrentUser,
    view: EvaluationView,
    *,
    expected_version: int,
) -> None:
    rules = wf.rules_of(context)
    settings = wf.services_of(context).settings
    submitted = await wf.call_records(
        context,
        evaluations.submit_self_assessment,
        actor_id=user.person_id,
        evaluation_id=view.id,
        rules=rules,
        now=wf.now_of(context),
        expected_version=expected_version,
        tz=settings.timezone,
    )
    log.info("evaluation %s submitted through the bot", submitted.id)
    reviewers = await wf.in_session(context, lambda s: _reviewers_of(s, evaluation_id=submitted.id))
    late = tw.LATE_MARK if submitted.late else ""
    notice = tw.NOTIFY_SUBMITTED.format(
        name=escape(submitted.person_name),
        period=submitted.period,
        late=late,
        total=wf.fmt_points(submitted.self_total),
        grade=escape(grade_label(rules, submitted.proposed_grade)),
    )
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(tw.BUTTON_NOTIFY_OPEN, callback_data=f"dy:open:{submitted.id}")]]
    )
    reached = await wf.notify(context, reviewers, notice, markup)
    if reached:
        text = tw.SELF_SENT.format(period=submitted.period, late=late, reviewers=wf.names(reached))
    else:
        text = tw.SELF_SENT_NOBODY.format(period=submitted.period, late=late)
    await reply_html(update, context, text)


async def _typed_view(
    update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]
) -> tuple[CurrentUser, EvaluationView] | None:
    """The user and their record for a typed-input step (the step ends when the record is gone or locked)."""
    chat, tg_user = update.effective_chat, update.effective_user
    user = await ensure_signed_in(update, context)
    if user is None or chat is None or tg_user is None:
        return None
    view = await _own(context, user, int(data.get("eid", 0)))
    if view is None:
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        await reply_html(update, context, tw.RECORD_GONE)
        return None
    if view.state not in EDITABLE:
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        await _send_card(update, context, view)
        return None
    return user, view


async def note_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    found = await _typed_view(update, context, data)
    message = update.effective_message
    if found is None or message is None:
        return
    user, view = found
    note = (message.text or "").strip()
    if len(note) > MAX_NOTE:
        await reply_html(update, context, tw.SELF_NOTE_TOO_LONG.format(limit=MAX_NOTE, length=len(note)))
        return
    task = next((t for t in view.tasks if t.id == int(data.get("task_id", 0))), None)
    if task is None or task.result is None:
        await _next_or_card(update, context, view, tw.SELF_SAVED)
        return
    try:
        view = await _save(
            context,
            user,
            view,
            results=[TaskResultInput(task_id=task.id, result=TaskResult(task.result), note=note)],
        )
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    await _next_or_card(update, context, view, tw.SELF_SAVED)


async def points_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    found = await _typed_view(update, context, data)
    message = update.effective_message
    if found is None or message is None:
        return
    user, view = found
    criterion = wf.rules_of(context).criterion(str(data.get("key", "")))
    if criterion is None:
        await _next_or_card(update, context, view, tw.SELF_SAVED)
        return
    value = await read_typed_points(update, context, (message.text or "").strip(), criterion)
    if value is None:
        return
    try:
        view = await _save(context, user, view, points={criterion.key: value})
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    await _next_or_card(update, context, view, tw.SELF_SAVED)


async def comment_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    found = await _typed_view(update, context, data)
    message = update.effective_message
    if found is None or message is None:
        return
    user, view = found
    comment = (message.text or "").strip()
    if len(comment) > MAX_COMMENT:
        await reply_html(
            update, context, tw.SELF_COMMENT_TOO_LONG.format(limit=MAX_COMMENT, length=len(comment))
        )
        return
    try:
        view = await _save(context, user, view, comment=comment)
    except RecordsError as exc:
        await reply_html(update, context, wf.describe_records_error(exc))
        return
    await _next_or_card(update, context, view, tw.SELF_SAVED)


# --- /ketqua ---------------------------------------------------------------------------------------------------


def _results(
    session: Session, *, actor_id: int, cadre_code: str | None, current: Period, back: int = 24
) -> tuple[str, list[EvaluationView]] | None:
    """(name, records newest first) of the actor, or of `cadre_code` when the actor may read them."""
    if cadre_code:
        person = people.find_person_by_code(session, cadre_code=cadre_code)
        if person is None:
            return None
    else:
        person = people.get_person(session, person_id=actor_id)
    views: list[EvaluationView] = []
    period = current.next
    for _ in range(back + 1):
        view = evaluations.find_evaluation(
            session, actor_id=actor_id, person_id=person.id, period=str(period)
        )
        if view is not None:
            views.append(view)
        period = period.previous
    return person.full_name, views


async def results_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ketqua [mã cán bộ]: results by period (own, or of someone the user reviews / heads / serves as staff)."""
    if not await ensure_private(update, context):
        return
    user = await ensure_signed_in(update, context)
    if user is None or user.person_id is None:
        return
    code = context.args[0] if context.args else None
    actor = user.person_id
    current = wf.current_period(context)
    try:
        if code and not user.has_role(*READER_ROLES):
            raise PermissionDenied("a cadre sees only their own records", action="read_evaluation")
        found = await wf.in_session(
            context, lambda s: _results(s, actor_id=actor, cadre_code=code, current=current)
        )
    except PermissionDenied:
        await reply_html(update, context, wf.describe_records_error(PermissionDenied()))
        return
    if found is None:
        await reply_html(update, context, tw.RECORD_GONE)
        return
    name, views = found
    if not views:
        await reply_html(update, context, tw.RESULTS_NONE)
        return
    rules = wf.rules_of(context)
    lines = [tw.RESULTS_HEADER.format(name=escape(name))]
    for view in views:
        grade = view.final_grade or (view.review_grade if view.state == "reviewed" else None)
        lines.append(
            tw.RESULTS_LINE.format(
                period=view.period,
                state=tw.STATE_NAMES.get(view.state, view.state),
                grade=tw.RESULTS_GRADE.format(grade=escape(grade_label(rules, grade))) if grade else "",
                late=tw.LATE_MARK if view.late else "",
            )
        )
    buttons = [
        [InlineKeyboardButton(tw.BUTTON_HISTORY.format(period=v.period), callback_data=f"kq:hist:{v.id}")]
        for v in views[:12]
    ]
    await reply_html(update, context, "\n".join(lines), InlineKeyboardMarkup(buttons))


async def history_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """kq:hist:<evaluation id>: every change of the record, oldest first."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    user = await ensure_signed_in(update, context)
    if user is None:
        return
    try:
        eid = int(query.data.split(":")[2])
        view = await wf.call_records(
            context, evaluations.get_evaluation, actor_id=user.person_id, evaluation_id=eid
        )
        runs = await wf.call_records(
            context, evaluations.evaluation_history_runs, actor_id=user.person_id, evaluation_id=eid
        )
    except (RecordsError, IndexError, ValueError):
        await query.answer(tw.RECORD_GONE, show_alert=True)
        return
    lines = [tw.HISTORY_HEADER.format(period=view.period)]
    for run in runs:
        entry = run.entry
        detail = entry.detail or {}
        reason = detail.get("reason") or detail.get("comment")
        override = detail.get("quota_override")
        if isinstance(override, dict) and override.get("reason"):
            shown = tw.HISTORY_QUOTA_OVERRIDE.format(
                grade=escape(str(detail.get("grade", ""))), reason=escape(str(override["reason"]))
            )
        else:
            shown = f": <i>{escape(reason)}</i>" if reason else ""
        if run.count > 1:
            shown += tw.HISTORY_REPEATED.format(
                count=run.count, last=wf.local_time(context, entry.at, tw.HISTORY_LAST_FORMAT)
            )
        lines.append(
            tw.HISTORY_LINE.format(
                at=wf.local_time(context, run.first_at),
                action=tw.HISTORY_ACTIONS.get(entry.action, escape(entry.action)),
                reason=shown,
            )
        )
    await reply_html(update, context, "\n".join(lines))


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    wf.setup(app)
    app.add_handler(CommandHandler("kehoach", plan_command))
    app.add_handler(CommandHandler("danhgia", self_command))
    app.add_handler(CommandHandler("ketqua", results_command))
    app.add_handler(CallbackQueryHandler(plan_button, pattern=PLAN_BUTTONS))
    app.add_handler(CallbackQueryHandler(self_button, pattern=SELF_BUTTONS))
    app.add_handler(CallbackQueryHandler(history_button, pattern=HISTORY_BUTTONS))
    router.add_step(PLAN_TASK, plan_task_step)
    router.add_step(SELF_NOTE, note_step)
    router.add_step(SELF_POINTS, points_step)
    router.add_step(SELF_COMMENT, comment_step)


FEATURE = Feature(
    name="evaluation",
    install=install,
    commands=(
        CommandSpec("kehoach", tw.COMMAND_DESCRIPTIONS["kehoach"], SIGNED_IN),
        CommandSpec("danhgia", tw.COMMAND_DESCRIPTIONS["danhgia"], SIGNED_IN),
        CommandSpec("ketqua", tw.COMMAND_DESCRIPTIONS["ketqua"], SIGNED_IN),
    ),
    help_lines=((SIGNED_IN, tw.HELP_WORKFLOWS),),
)
