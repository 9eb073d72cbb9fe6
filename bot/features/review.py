"""The reviewer's and the head's side: /duyet lists what waits (oldest first, late marked); approve, adjust, return;
the head decides the final grade after the quota check, and may reopen a locked record with a reason.

```mermaid
stateDiagram-v2
    [*] --> waiting: /duyet or the "Mở hồ sơ" button of a notice
    waiting --> record: open one
    record --> approved: ✅ Đồng ý (head notified, cadre told)
    record --> adjusting: ✏️ Điều chỉnh điểm → criterion (step dy:points)
    adjusting --> commenting: points typed (bad number → hint; step dy:comment)
    commenting --> adjusting: another criterion
    commenting --> approved: comment typed (required)
    record --> returning: ↩️ Trả lại (step dy:reason)
    returning --> returned: reason typed (cadre notified with the reason)
    record --> quota: head picks a grade
    quota --> confirm: within the quota
    quota --> override: breach named (enforced too) → "Vẫn quyết định" (step dy:override, reason → audit)
    quota --> confirm: or another grade button
    confirm --> decided: ✅ Xác nhận (locked; cadre notified)
    override --> decided
    decided --> record: 🔓 Mở lại (step dy:reopen, reason required)
    [*] --> plan: a cadre's new or changed work plan arrives (tasks listed)
    plan --> plan_comment: 💬 Góp ý (step dy:pcomment) → delivered to the cadre, kept in the history
    plan --> plan_change: ↩️ Đề nghị sửa (step dy:pchange, reason required) → the cadre is told, edits, resends
    plan_change --> plan: once per sent plan (a second request, or one on a stale notice, is refused)
```
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import texts_workflows as tw
from bot.access import CurrentUser, current_user, ensure_private, ensure_signed_in
from bot.conversation import StepRouter, end_step, load_state, start_step
from bot.feature import CommandSpec, Feature
from bot.features import workflow as wf
from bot.features.evaluation import (
    EDITABLE,
    grade_label,
    plan_notice_keyboard,
    plan_open_keyboard,
    read_typed_points,
    render_evidence,
    render_plan_notice,
    render_tasks,
)
from bot.jobs import JobRegistry
from bot.messages import escape
from bot.replies import reply_html
from records import evaluations, programmes
from records.errors import ConcurrentUpdate, InvalidTransition, QuotaExceeded, RecordsError
from records.rules import Rules
from records.views import EvaluationView

log = logging.getLogger(__name__)

REVIEW_POINTS = "dy:points"
REVIEW_COMMENT = "dy:comment"
REVIEW_REASON = "dy:reason"
DECIDE_OVERRIDE = "dy:override"
REOPEN_REASON = "dy:reopen"
PLAN_COMMENT = "dy:pcomment"
PLAN_CHANGE = "dy:pchange"
# The exact shapes of this feature's callback data (anything else falls to the expired-button answer).
REVIEW_BUTTONS = (
    r"^dy:(?:(?:open|adj|reopen):\d+|(?:ok|ret):\d+:\d+|(?:adjk|dec):\d+:[^:]+"
    r"|(?:decok|decover):\d+:[^:]+:\d+|pcmt:\d+|pchg:\d+:[0-9a-f]{1,16})$"
)
REVIEWER_ROLES = ("reviewer", "head", "cadre")  # direct managers may hold only the cadre role
MAX_TEXT = 2000


# --- rendering ---------------------------------------------------------------------------------------------


def render_review_card(view: EvaluationView, rules: Rules) -> str:
    lines = [
        tw.REVIEW_CARD_HEADER.format(
            name=escape(view.person_name),
            code=escape(view.cadre_code),
            period=view.period,
            state=tw.STATE_NAMES.get(view.state, view.state),
            late=tw.LATE_MARK if view.late else "",
        ),
        "",
        *render_tasks(view),
        "",
        tw.SELF_POINTS_HEADER,
    ]
    own = view.self_points or {}
    reviewed = view.review_points or {}
    for c in rules.criteria:
        lines.append(
            tw.REVIEW_POINT_LINE.format(
                name=escape(c.name),
                self_value=wf.fmt_points(own.get(c.key)),
                review_value=wf.fmt_points(reviewed.get(c.key)),
                max=wf.fmt_points(c.max_points),
            )
        )
    if view.self_total is not None:
        lines.append(
            tw.SELF_TOTAL.format(
                total=wf.fmt_points(view.self_total),
                max=wf.fmt_points(rules.max_total),
                grade=escape(grade_label(rules, view.proposed_grade)),
            )
        )
    if view.self_comment:
        lines.append(tw.SELF_COMMENT.format(comment=escape(view.self_comment)))
    if view.review_total is not None:
        lines.append(
            tw.REVIEW_TOTAL.format(
                total=wf.fmt_points(view.review_total), grade=escape(grade_label(rules, view.review_grade))
            )
        )
    if view.review_comment:
        lines.append(tw.REVIEW_COMMENT.format(comment=escape(view.review_comment)))
    return "\n".join(lines)


def review_keyboard(
    view: EvaluationView, rules: Rules, allowed: frozenset[str]
) -> InlineKeyboardMarkup | None:
    """The buttons of what the viewer may do now (`allowed`, from the records service), nothing else."""
    eid = view.id
    if "review" in allowed and view.state == "submitted":
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        tw.BUTTON_APPROVE.format(grade=view.proposed_grade or "—"),
                        callback_data=f"dy:ok:{eid}:{view.version}",
                    )
                ],
                [
                    InlineKeyboardButton(tw.BUTTON_ADJUST, callback_data=f"dy:adj:{eid}"),
                    InlineKeyboardButton(tw.BUTTON_RETURN, callback_data=f"dy:ret:{eid}:{view.version}"),
                ],
            ]
        )
    if "decide" in allowed and view.state == "reviewed":
        return grade_keyboard(view, rules)
    if "reopen" in allowed and view.state == "decided":
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(tw.BUTTON_REOPEN, callback_data=f"dy:reopen:{eid}")]]
        )
    return None


def grade_keyboard(view: EvaluationView, rules: Rules) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            tw.BUTTON_DECIDE.format(grade=g.code, mark=" ⭐" if g.code == view.review_grade else ""),
            callback_data=f"dy:dec:{view.id}:{g.code}",
        )
        for g in rules.grades
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


# --- records calls -------------------------------------------------------------------------------------------


def _next(session: Session, *, evaluation_id: int) -> list[wf.Recipient]:
    """Who acts next on the record (records decides: manager or reviewers, heads over the unit, the cadre)."""
    return wf.chats_of(session, evaluations.next_actors(session, evaluation_id=evaluation_id))


async def _view(context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, eid: int) -> EvaluationView:
    return await wf.call_records(
        context, evaluations.get_evaluation, actor_id=user.person_id, evaluation_id=eid
    )


async def _notify_cadre(
    context: ContextTypes.DEFAULT_TYPE,
    view: EvaluationView,
    html: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    cadre = await wf.in_session(context, lambda s: wf.chats_of(s, [view.person_id]))
    await wf.notify(context, cadre, html, markup)


async def _notify_heads(context: ContextTypes.DEFAULT_TYPE, view: EvaluationView) -> list[wf.Recipient]:
    rules = wf.rules_of(context)
    heads = await wf.in_session(context, lambda s: _next(s, evaluation_id=view.id))
    notice = tw.NOTIFY_TO_HEAD.format(
        name=escape(view.person_name), period=view.period, grade=escape(grade_label(rules, view.review_grade))
    )
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(tw.BUTTON_NOTIFY_OPEN, callback_data=f"dy:open:{view.id}")]]
    )
    return await wf.notify(context, heads, notice, markup)


# --- /duyet -----------------------------------------------------------------------------------------------------


async def waiting_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/duyet: the records waiting for this reviewer or head, oldest first, late ones marked."""
    if not await ensure_private(update, context):
        return
    user = await ensure_signed_in(update, context)
    if user is None or user.person_id is None:
        return
    actor = user.person_id

    def load(session: Session) -> tuple[list[Any], list[Any], list[Any]]:
        return (
            evaluations.list_waiting_reviews(session, reviewer_id=actor),
            evaluations.list_waiting_decisions(session, head_id=actor),
            programmes.list_waiting_confirmations(session, head_id=actor),
        )

    reviews, decisions, plans = await wf.in_session(context, load)
    if not reviews and not decisions and not plans:
        await reply_html(update, context, tw.WAIT_NONE)
        return
    rules = wf.rules_of(context)
    lines = [tw.WAIT_HEADER]
    buttons = []
    for index, item in enumerate(reviews, 1):
        lines.append(
            tw.WAIT_REVIEW_LINE.format(
                index=index,
                name=escape(item.person_name),
                code=escape(item.cadre_code),
                period=item.period,
                total=wf.fmt_points(item.self_total),
                grade=escape(grade_label(rules, item.proposed_grade)),
                late=tw.LATE_MARK if item.late else "",
            )
        )
        buttons.append(
            InlineKeyboardButton(
                tw.BUTTON_WAIT_REVIEW.format(index=index, name=item.person_name[:24], period=item.period),
                callback_data=f"dy:open:{item.evaluation_id}",
            )
        )
    for index, item in enumerate(decisions, len(reviews) + 1):
        lines.append(
            tw.WAIT_DECISION_LINE.format(
                index=index,
                name=escape(item.person_name),
                code=escape(item.cadre_code),
                period=item.period,
                grade=escape(grade_label(rules, item.review_grade)),
                late=tw.LATE_MARK if item.late else "",
            )
        )
        buttons.append(
            InlineKeyboardButton(
                tw.BUTTON_WAIT_DECISION.format(index=index, name=item.person_name[:24], period=item.period),
                callback_data=f"dy:open:{item.evaluation_id}",
            )
        )
    for index, programme in enumerate(plans, len(reviews) + len(decisions) + 1):
        lines.append(
            tw.WAIT_PROGRAMME_LINE.format(
                index=index, name=escape(programme.person_name), post=escape(programme.post)
            )
        )
        buttons.append(
            InlineKeyboardButton(
                tw.BUTTON_WAIT_PROGRAMME.format(index=index, name=programme.person_name[:24]),
                callback_data=f"ct:open:{programme.id}",
            )
        )
    await reply_html(update, context, "\n".join(lines), InlineKeyboardMarkup([[b] for b in buttons[:40]]))


async def _show(
    update: Update, context: ContextTypes.DEFAULT_TYPE, view: EvaluationView, prefix: str = ""
) -> None:
    rules = wf.rules_of(context)
    user = await current_user(update, context)
    allowed: frozenset[str] = frozenset()
    if user.person_id is not None:
        allowed = await wf.call_records(
            context, evaluations.allowed_actions, actor_id=user.person_id, evaluation_id=view.id
        )
    # The reviewer and the head grade with the confirmed action programme beside the record, as the cadre sees it.
    evidence = await wf.call_records(
        context, programmes.evidence_for_period, person_id=view.person_id, period=view.period
    )
    text = "\n".join([render_review_card(view, rules), *render_evidence(evidence)])
    if "decide" in allowed and view.state == "reviewed":
        text += "\n\n" + tw.DECIDE_HINT
    await reply_html(
        update, context, (prefix + "\n\n" if prefix else "") + text, review_keyboard(view, rules, allowed)
    )


async def review_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """dy:open|ok|adj|adjk|ret|dec|decok|decover|reopen:<evaluation id>[:…]."""
    press = await wf.button_press(update, context)
    if press is None:
        return
    query, user, parts = press.query, press.user, press.parts
    try:
        eid = int(parts[2])
    except (IndexError, ValueError):
        await query.answer(tw.RECORD_GONE, show_alert=True)
        return
    action = parts[1]
    rules = wf.rules_of(context)
    try:
        view = await _view(context, user, eid)
        if view.person_id == press.person_id and action != "open":
            await reply_html(update, context, tw.NOT_YOUR_REVIEW)
            return
        if action == "open":
            await end_step(context, chat_id=press.chat_id, user_id=query.from_user.id)
            await _show(update, context, view)
        elif action == "ok" and len(parts) == 4:
            await _approve(update, context, user, view, points=None, comment=None, version=int(parts[3]))
        elif action == "adj":
            await _pick_criterion(update, context, view, {})
        elif action == "adjk" and len(parts) == 4:
            criterion = rules.criterion(parts[3])
            if criterion is None or view.state != "submitted":
                await _show(update, context, view)
                return
            adjusted = await _adjusted_so_far(context, press.chat_id, query.from_user.id, eid)
            await start_step(
                context,
                chat_id=press.chat_id,
                user_id=query.from_user.id,
                step=REVIEW_POINTS,
                data={"eid": eid, "key": criterion.key, "points": adjusted, "version": view.version},
            )
            await reply_html(
                update,
                context,
                tw.REVIEW_ASK_POINTS.format(
                    name=escape(criterion.name),
                    max=wf.fmt_points(criterion.max_points),
                    value=wf.fmt_points((view.self_points or {}).get(criterion.key)),
                ),
            )
        elif action == "ret" and len(parts) == 4:
            if view.state != "submitted":
                await _show(
                    update, context, view, prefix=tw.REVIEW_ALREADY.format(state=tw.STATE_NAMES[view.state])
                )
                return
            await start_step(
                context,
                chat_id=press.chat_id,
                user_id=query.from_user.id,
                step=REVIEW_REASON,
                data={"eid": eid, "version": int(parts[3])},
            )
            await reply_html(update, context, tw.REVIEW_ASK_REASON)
        elif action == "dec" and len(parts) == 4:
            await _quota_step(update, context, view, parts[3])
        elif action == "decok" and len(parts) == 5:
            await _decide(update, context, user, view, grade=parts[3], comment=None, version=int(parts[4]))
        elif action == "decover" and len(parts) == 5:
            await start_step(
                context,
                chat_id=press.chat_id,
                user_id=query.from_user.id,
                step=DECIDE_OVERRIDE,
                data={"eid": eid, "grade": parts[3], "version": int(parts[4])},
            )
            await reply_html(update, context, tw.DECIDE_ASK_REASON)
        elif action == "pcmt":
            await _start_plan_comment(update, context, user, view)
        elif action == "pchg" and len(parts) == 4:
            await _start_plan_change(update, context, user, view, parts[3])
        elif action == "reopen":
            allowed = await wf.call_records(
                context, evaluations.allowed_actions, actor_id=press.person_id, evaluation_id=eid
            )
            if "reopen" not in allowed:
                await query.answer(tw.ACTION_NOT_ALLOWED, show_alert=True)
                return
            await start_step(
                context,
                chat_id=press.chat_id,
                user_id=query.from_user.id,
                step=REOPEN_REASON,
                data={"eid": eid},
            )
            await reply_html(update, context, tw.REOPEN_ASK_REASON)
        else:
            await query.answer(tw.RECORD_GONE, show_alert=True)
    except RecordsError as exc:
        await _records_error(update, context, user, eid, exc)


async def _records_error(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, eid: int, exc: RecordsError
) -> None:
    if exc.code == "concurrent_update":
        try:
            fresh = await _view(context, user, eid)
        except RecordsError:
            fresh = None
        if fresh is not None:
            await _show(
                update,
                context,
                fresh,
                prefix=tw.REVIEW_ALREADY.format(state=tw.STATE_NAMES.get(fresh.state, fresh.state)),
            )
            return
    if exc.code == "invalid_transition":
        try:
            fresh = await _view(context, user, eid)
        except RecordsError:
            fresh = None
        if fresh is not None and fresh.state == "draft":  # the cadre took it back to edit ("Sửa lại")
            await reply_html(update, context, tw.REVIEW_WITHDRAWN.format(name=escape(fresh.person_name)))
            return
    if exc.code == "permission_denied":
        await reply_html(update, context, tw.ERROR_PREFIX + tw.NOT_YOUR_REVIEW)
        return
    await reply_html(update, context, wf.describe_records_error(exc))


async def _adjusted_so_far(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, user_id: int, eid: int
) -> dict[str, float]:
    state = await load_state(context, chat_id=chat_id, user_id=user_id)
    if state is None or state.state != REVIEW_COMMENT or int(state.data.get("eid", 0)) != eid:
        return {}
    return {str(k): float(v) for k, v in dict(state.data.get("points", {})).items()}


async def _pick_criterion(
    update: Update, context: ContextTypes.DEFAULT_TYPE, view: EvaluationView, adjusted: dict[str, float]
) -> None:
    rules = wf.rules_of(context)
    current = {**(view.self_points or {}), **adjusted}
    buttons = [
        [
            InlineKeyboardButton(
                tw.BUTTON_ADJUST_CRITERION.format(name=c.name[:30], value=wf.fmt_points(current.get(c.key))),
                callback_data=f"dy:adjk:{view.id}:{c.key}",
            )
        ]
        for c in rules.criteria
    ]
    buttons.append([InlineKeyboardButton(tw.BUTTON_BACK, callback_data=f"dy:open:{view.id}")])
    await reply_html(update, context, tw.REVIEW_PICK_CRITERION, InlineKeyboardMarkup(buttons))


async def _approve(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: CurrentUser,
    view: EvaluationView,
    *,
    points: dict[str, float] | None,
    comment: str | None,
    version: int,
) -> None:
    rules = wf.rules_of(context)
    done = await wf.call_records(
        context,
        evaluations.approve_review,
        actor_id=user.person_id,
        evaluation_id=view.id,
        rules=rules,
        points=points,
        comment=comment,
        now=wf.now_of(context),
        expected_version=version,
    )
    log.info("evaluation %s approved through the bot", done.id)
    heads = await _notify_heads(context, done)
    await _notify_cadre(context, done, reviewed_notice(rules, done))
    await reply_html(
        update,
        context,
        tw.REVIEW_APPROVED.format(
            name=escape(done.person_name),
            period=done.period,
            grade=escape(grade_label(rules, done.review_grade)),
            heads=wf.names(heads),
        ),
    )


def reviewed_notice(rules: Rules, view: EvaluationView) -> str:
    """The cadre's notice of the review: the proposed grade, what the reviewer changed in the total (self-assessed
    → reviewed, decimal comma) and the comment quoted on its own line."""
    proposed = (
        tw.NOTIFY_REVIEWED_PROPOSED.format(grade=escape(grade_label(rules, view.proposed_grade)))
        if view.proposed_grade and view.proposed_grade != view.review_grade
        else ""
    )
    lines = [
        tw.NOTIFY_REVIEWED.format(
            period=view.period, grade=escape(grade_label(rules, view.review_grade)), proposed=proposed
        )
    ]
    own, reviewed = view.self_total, view.review_total
    if own is not None and reviewed is not None and round(own - reviewed, 2) != 0:
        delta = wf.fmt_points(round(abs(own - reviewed), 2))
        change = (tw.NOTIFY_REVIEWED_LOWERED if reviewed < own else tw.NOTIFY_REVIEWED_RAISED).format(
            delta=delta
        )
        lines.append(
            tw.NOTIFY_REVIEWED_POINTS.format(
                self_total=wf.fmt_points(own), review_total=wf.fmt_points(reviewed), change=change
            )
        )
    elif reviewed is not None:
        lines.append(tw.NOTIFY_REVIEWED_POINTS_KEPT.format(total=wf.fmt_points(reviewed)))
    comment = (view.review_comment or "").strip()
    if comment:
        lines.append(tw.NOTIFY_REVIEWED_COMMENT.format(comment=escape(comment)))
    lines.append(tw.NOTIFY_REVIEWED_NEXT)
    return "\n".join(lines)


async def _quota_step(
    update: Update, context: ContextTypes.DEFAULT_TYPE, view: EvaluationView, grade: str
) -> None:
    rules = wf.rules_of(context)
    band = rules.grade(grade)
    if band is None or view.state != "reviewed":
        await _show(update, context, view)
        return
    broken = await wf.call_records(
        context, evaluations.preview_quota, evaluation_id=view.id, grade=band.code, rules=rules
    )
    confirm = tw.DECIDE_CONFIRM.format(
        grade=band.code, grade_name=escape(band.name), name=escape(view.person_name), period=view.period
    )
    other = InlineKeyboardButton(tw.BUTTON_DECIDE_OTHER, callback_data=f"dy:open:{view.id}")
    if not broken:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        tw.BUTTON_DECIDE_CONFIRM.format(grade=band.code),
                        callback_data=f"dy:decok:{view.id}:{band.code}:{view.version}",
                    ),
                    other,
                ]
            ]
        )
        await reply_html(
            update, context, tw.DECIDE_QUOTA_OK.format(grade=band.code) + "\n\n" + confirm, markup
        )
        return
    await _breach(update, context, view, band.code, broken, confirm=confirm)


def quota_calculation(breach: dict[str, Any]) -> str:
    """ "Cách tính: 30% của 1 người được đánh giá = 0,3, làm tròn xuống → tối đa 0 người.": why the limit is
    what it is (a small unit reads «tối đa 0 người» otherwise without knowing why); "" for an older breach."""
    if "limit" not in breach:
        return ""
    limit, base = float(breach["limit"]), int(breach.get("base", 0) or 0)
    exact = limit * base

    def number(value: float) -> str:
        return f"{round(value, 2):g}".replace(".", ",")  # Vietnamese decimal comma

    of_grade = str(breach.get("of_grade") or "")
    what = (
        tw.DECIDE_QUOTA_HOW_OF_GRADE.format(grade=escape(of_grade))
        if of_grade
        else tw.DECIDE_QUOTA_HOW_GRADED
    )
    at_least = int(breach.get("at_least", 0) or 0)
    return tw.DECIDE_QUOTA_HOW.format(
        limit=number(100 * limit),
        base=base,
        what=what,
        exact=number(exact),
        rounding=tw.DECIDE_QUOTA_ROUNDING.get(str(breach.get("rounding")), ""),
        allowed=breach.get("allowed"),
        floor=tw.DECIDE_QUOTA_FLOOR.format(at_least=at_least) if at_least else "",
    )


async def _breach(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    view: EvaluationView,
    grade: str,
    broken: list[dict[str, Any]],
    *,
    confirm: str = "",
) -> None:
    """Name the breach; offer the grade buttons (another grade) or "Vẫn quyết định" with a reason (also when
    the quota is enforced: records then stores the reason with the breaches in the audit entry)."""
    first = broken[0]
    text = tw.DECIDE_QUOTA_BREACH.format(
        grade=escape(grade),
        count=first.get("count"),
        graded=first.get("graded"),
        allowed=first.get("allowed"),
    )
    how = quota_calculation(first)
    if how:
        text += "\n" + how
    if any(b.get("enforce") for b in broken):
        text += "\n" + tw.DECIDE_QUOTA_ENFORCED
    others = grade_keyboard(view, wf.rules_of(context)).inline_keyboard  # "pick another grade"
    override = InlineKeyboardButton(
        tw.BUTTON_DECIDE_OVERRIDE, callback_data=f"dy:decover:{view.id}:{grade}:{view.version}"
    )
    markup = InlineKeyboardMarkup([[override], *others])
    await reply_html(update, context, text + ("\n\n" + confirm if confirm else ""), markup)


async def _decide(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    user: CurrentUser,
    view: EvaluationView,
    *,
    grade: str,
    comment: str | None,
    version: int,
    quota_override_reason: str | None = None,
) -> None:
    rules = wf.rules_of(context)
    try:
        done = await wf.call_records(
            context,
            evaluations.decide_evaluation,
            actor_id=user.person_id,
            evaluation_id=view.id,
            rules=rules,
            final_grade=grade,
            comment=comment,
            now=wf.now_of(context),
            expected_version=version,
            quota_override_reason=quota_override_reason,
        )
    except QuotaExceeded as exc:  # someone else's decision filled the quota since the preview
        await _breach(update, context, view, grade.strip().upper(), [dict(exc.params)])
        return
    log.info("evaluation %s decided through the bot", done.id)
    band = rules.grade(done.final_grade or "")
    await _notify_cadre(
        context,
        done,
        tw.NOTIFY_DECIDED.format(
            period=done.period,
            grade=escape(done.final_grade or ""),
            grade_name=escape(band.name if band else ""),
        ),
    )
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(tw.BUTTON_REOPEN, callback_data=f"dy:reopen:{done.id}")]]
    )
    await reply_html(
        update,
        context,
        tw.DECIDED.format(
            grade=escape(done.final_grade or ""), name=escape(done.person_name), period=done.period
        ),
        markup,
    )


# --- the cadre's work plan -------------------------------------------------------------------------------------


async def _may_give_plan_feedback(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, view: EvaluationView
) -> bool:
    """The direct manager or a reviewer over the unit; anyone else gets an alert."""
    allowed = await wf.call_records(
        context, evaluations.may_give_plan_feedback, actor_id=user.person_id, evaluation_id=view.id
    )
    if not allowed and update.callback_query is not None:
        await update.callback_query.answer(tw.ACTION_NOT_ALLOWED, show_alert=True)
    return bool(allowed)


async def _show_current_plan(
    update: Update, context: ContextTypes.DEFAULT_TYPE, view: EvaluationView
) -> None:
    """The plan changed since the notice the manager acted on: the newest one, with fresh buttons."""
    prefix = tw.PLAN_CHANGED_SINCE.format(name=escape(view.person_name))
    markup = plan_notice_keyboard(view) if view.plan_sent_digest and view.state in EDITABLE else None
    await reply_html(
        update,
        context,
        prefix + "\n\n" + render_plan_notice(view, update=view.plan_sent_at is not None),
        markup,
    )


async def _plan_not_open(update: Update, context: ContextTypes.DEFAULT_TYPE, view: EvaluationView) -> bool:
    """True (after saying so) when the plan can no longer change or a change request is already pending."""
    if view.state not in EDITABLE:
        await reply_html(
            update,
            context,
            tw.PLAN_NOT_EDITABLE.format(
                period=view.period,
                name=escape(view.person_name),
                state=tw.STATE_NAMES.get(view.state, view.state),
            ),
        )
        return True
    if view.plan_change_reason:
        await reply_html(
            update,
            context,
            tw.PLAN_CHANGE_ALREADY.format(
                period=view.period, name=escape(view.person_name), reason=escape(view.plan_change_reason)
            ),
        )
        return True
    return False


async def _start_plan_comment(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, view: EvaluationView
) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or not await _may_give_plan_feedback(update, context, user, view):
        return
    await start_step(
        context, chat_id=chat.id, user_id=query.from_user.id, step=PLAN_COMMENT, data={"eid": view.id}
    )
    await reply_html(
        update,
        context,
        tw.PLAN_ASK_COMMENT.format(period=view.period, name=escape(view.person_name), limit=MAX_TEXT),
    )


async def _start_plan_change(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, view: EvaluationView, digest: str
) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or not await _may_give_plan_feedback(update, context, user, view):
        return
    if view.state in EDITABLE and view.plan_sent_digest != digest:
        await _show_current_plan(update, context, view)
        return
    if await _plan_not_open(update, context, view):
        return
    await start_step(
        context,
        chat_id=chat.id,
        user_id=query.from_user.id,
        step=PLAN_CHANGE,
        data={"eid": view.id, "digest": digest},
    )
    await reply_html(
        update,
        context,
        tw.PLAN_ASK_CHANGE.format(period=view.period, name=escape(view.person_name), limit=MAX_TEXT),
    )


async def _plan_request_refused(
    update: Update, context: ContextTypes.DEFAULT_TYPE, user: CurrentUser, eid: int, exc: RecordsError
) -> None:
    """The plan changed, was asked to change already, or can no longer change: say which, from the record."""
    try:
        fresh = await _view(context, user, eid)
    except RecordsError:
        await reply_html(update, context, tw.RECORD_GONE)
        return
    if exc.params.get("reason") == "plan_changed":
        await _show_current_plan(update, context, fresh)
    elif not await _plan_not_open(update, context, fresh):
        await reply_html(update, context, wf.describe_records_error(exc))


async def plan_comment_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    """The manager's comment on a plan: saved in the record's history, delivered to the cadre."""
    found = await _step_context(update, context, data)
    chat, tg_user = update.effective_chat, update.effective_user
    if found is None or chat is None or tg_user is None:
        return
    user, view, text = found
    if not text or len(text) > MAX_TEXT:
        await reply_html(update, context, tw.PLAN_FEEDBACK_EMPTY.format(limit=MAX_TEXT))
        return
    try:
        done = await wf.call_records(
            context,
            evaluations.comment_on_plan,
            actor_id=user.person_id,
            evaluation_id=view.id,
            comment=text,
            now=wf.now_of(context),
        )
    except RecordsError as exc:
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        await _records_error(update, context, user, view.id, exc)
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    log.info("plan of evaluation %s commented through the bot", done.id)
    await _notify_cadre(
        context,
        done,
        tw.NOTIFY_PLAN_COMMENT.format(
            reviewer=escape(user.full_name), period=done.period, comment=escape(text)
        ),
        plan_open_keyboard(done, tw.BUTTON_PLAN_OPEN),
    )
    await reply_html(
        update, context, tw.PLAN_COMMENT_SENT.format(name=escape(done.person_name), period=done.period)
    )


async def plan_change_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    """The manager's reason for asking the cadre to change the plan (once per sent plan)."""
    found = await _step_context(update, context, data)
    chat, tg_user = update.effective_chat, update.effective_user
    if found is None or chat is None or tg_user is None:
        return
    user, view, text = found
    if not text or len(text) > MAX_TEXT:
        await reply_html(update, context, tw.PLAN_FEEDBACK_EMPTY.format(limit=MAX_TEXT))
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    done: EvaluationView | None = None
    for attempt in range(2):
        try:
            done = await wf.call_records(
                context,
                evaluations.request_plan_changes,
                actor_id=user.person_id,
                evaluation_id=view.id,
                reason=text,
                sent_digest=str(data.get("digest", "")),
                now=wf.now_of(context),
            )
            break
        except ConcurrentUpdate as exc:
            if exc.params.get("reason") is None and attempt == 0:
                continue  # the record moved on (e.g. the cadre edited a task): the checks run again
            await _plan_request_refused(update, context, user, view.id, exc)
            return
        except InvalidTransition as exc:
            await _plan_request_refused(update, context, user, view.id, exc)
            return
        except RecordsError as exc:
            await _records_error(update, context, user, view.id, exc)
            return
    if done is None:
        return
    log.info("changes to the plan of evaluation %s requested through the bot", done.id)
    await _notify_cadre(
        context,
        done,
        tw.NOTIFY_PLAN_CHANGE.format(
            reviewer=escape(user.full_name), period=done.period, reason=escape(text)
        ),
        plan_open_keyboard(done, tw.BUTTON_PLAN_EDIT),
    )
    await reply_html(
        update, context, tw.PLAN_CHANGE_SENT.format(name=escape(done.person_name), period=done.period)
    )


# --- typed steps ---------------------------------------------------------------------------------------------------


async def _step_context(
    update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]
) -> tuple[CurrentUser, EvaluationView, str] | None:
    chat, tg_user, message = update.effective_chat, update.effective_user, update.effective_message
    user = await ensure_signed_in(update, context)
    if user is None or chat is None or tg_user is None or message is None:
        return None
    try:
        view = await _view(context, user, int(data.get("eid", 0)))
    except RecordsError:
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        await reply_html(update, context, tw.RECORD_GONE)
        return None
    return user, view, (message.text or "").strip()


async def points_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    found = await _step_context(update, context, data)
    chat, tg_user = update.effective_chat, update.effective_user
    if found is None or chat is None or tg_user is None:
        return
    _, view, raw = found
    rules = wf.rules_of(context)
    criterion = rules.criterion(str(data.get("key", "")))
    if criterion is None:
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        return
    value = await read_typed_points(update, context, raw, criterion)
    if value is None:
        return
    adjusted = {**dict(data.get("points", {})), criterion.key: value}
    merged = {**(view.self_points or {}), **adjusted}
    total = round(sum(merged.values()), 2)
    await start_step(
        context,
        chat_id=chat.id,
        user_id=tg_user.id,
        step=REVIEW_COMMENT,
        data={"eid": view.id, "points": adjusted, "version": int(data.get("version", view.version))},
    )
    changes = ", ".join(
        f"{escape(c.name)} {wf.fmt_points(adjusted[c.key])}" for c in rules.criteria if c.key in adjusted
    )
    buttons = [
        [
            InlineKeyboardButton(
                tw.BUTTON_ADJUST_CRITERION.format(name=c.name[:30], value=wf.fmt_points(merged.get(c.key))),
                callback_data=f"dy:adjk:{view.id}:{c.key}",
            )
        ]
        for c in rules.criteria
    ]
    await reply_html(
        update,
        context,
        tw.REVIEW_ASK_COMMENT.format(
            changes=changes,
            total=wf.fmt_points(total),
            grade=escape(grade_label(rules, rules.grade_for(total).code)),
        ),
        InlineKeyboardMarkup(buttons),
    )


async def comment_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    found = await _step_context(update, context, data)
    chat, tg_user = update.effective_chat, update.effective_user
    if found is None or chat is None or tg_user is None:
        return
    user, view, text = found
    if not text or len(text) > MAX_TEXT:
        await reply_html(update, context, tw.REVIEW_COMMENT_EMPTY)
        return
    points = {str(k): float(v) for k, v in dict(data.get("points", {})).items()}
    try:
        await _approve(
            update,
            context,
            user,
            view,
            points=points,
            comment=text,
            version=int(data.get("version", view.version)),
        )
    except RecordsError as exc:
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        await _records_error(update, context, user, view.id, exc)
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)


async def reason_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    found = await _step_context(update, context, data)
    chat, tg_user = update.effective_chat, update.effective_user
    if found is None or chat is None or tg_user is None:
        return
    user, view, text = found
    if not text or len(text) > MAX_TEXT:
        await reply_html(update, context, tw.REVIEW_REASON_EMPTY)
        return
    try:
        done = await wf.call_records(
            context,
            evaluations.return_for_revision,
            actor_id=user.person_id,
            evaluation_id=view.id,
            reason=text,
            now=wf.now_of(context),
            expected_version=int(data.get("version", view.version)),
        )
    except RecordsError as exc:
        await end_step(context, chat_id=chat.id, user_id=tg_user.id)
        await _records_error(update, context, user, view.id, exc)
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    log.info("evaluation %s returned through the bot", done.id)
    await _notify_cadre(context, done, tw.NOTIFY_RETURNED.format(period=done.period, reason=escape(text)))
    await reply_html(
        update, context, tw.REVIEW_RETURNED.format(name=escape(done.person_name), period=done.period)
    )


async def override_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    found = await _step_context(update, context, data)
    chat, tg_user = update.effective_chat, update.effective_user
    if found is None or chat is None or tg_user is None:
        return
    user, view, text = found
    if not text or len(text) > MAX_TEXT:
        await reply_html(update, context, tw.DECIDE_REASON_EMPTY.format(limit=MAX_TEXT))
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    try:
        await _decide(
            update,
            context,
            user,
            view,
            grade=str(data.get("grade", "")),
            comment=text,
            version=int(data.get("version", 0)),
            quota_override_reason=text,
        )
    except RecordsError as exc:
        await _records_error(update, context, user, view.id, exc)


async def reopen_step(update: Update, context: ContextTypes.DEFAULT_TYPE, data: dict[str, Any]) -> None:
    found = await _step_context(update, context, data)
    chat, tg_user = update.effective_chat, update.effective_user
    if found is None or chat is None or tg_user is None:
        return
    user, view, text = found
    if not text or len(text) > MAX_TEXT:
        await reply_html(update, context, tw.REVIEW_REASON_EMPTY)
        return
    await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    try:
        done = await wf.call_records(
            context,
            evaluations.reopen_evaluation,
            actor_id=user.person_id,
            evaluation_id=view.id,
            reason=text,
            now=wf.now_of(context),
        )
    except RecordsError as exc:
        await _records_error(update, context, user, view.id, exc)
        return
    log.info("evaluation %s reopened through the bot", done.id)
    await _notify_cadre(context, done, tw.NOTIFY_REOPENED.format(period=done.period, reason=escape(text)))
    await _show(
        update, context, done, prefix=tw.REOPENED.format(name=escape(done.person_name), period=done.period)
    )


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    wf.setup(app)
    app.add_handler(CommandHandler("duyet", waiting_command))
    app.add_handler(CallbackQueryHandler(review_button, pattern=REVIEW_BUTTONS))
    router.add_step(REVIEW_POINTS, points_step)
    router.add_step(REVIEW_COMMENT, comment_step)
    router.add_step(REVIEW_REASON, reason_step)
    router.add_step(DECIDE_OVERRIDE, override_step)
    router.add_step(REOPEN_REASON, reopen_step)
    router.add_step(PLAN_COMMENT, plan_comment_step)
    router.add_step(PLAN_CHANGE, plan_change_step)


FEATURE = Feature(
    name="review",
    install=install,
    commands=(CommandSpec("duyet", tw.COMMAND_DESCRIPTIONS["duyet"], frozenset({"reviewer", "head"})),),
)
