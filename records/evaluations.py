"""The periodic evaluation workflow: plan (sent to the direct manager, who may comment or ask for changes) →
self-assess → review → decide (locked) → reopen, with permissions."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import bindparam, or_
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, func, select

from records.access import has_role, require_role, role_holders, scope_units
from records.audit import collapse_repeats, list_audit, record_audit
from records.clock import utc_now
from records.errors import (
    ConcurrentUpdate,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    ValidationFailed,
)
from records.guard import check_expected_version, claim_version, claim_with_changes
from records.localtime import DEFAULT_TZ, local_date
from records.people import load_person
from records.periods import Period, deadline
from records.rules import Rules
from records.schema import (
    ActionItem,
    ActionProgramme,
    Evaluation,
    EvaluationState,
    EvaluationTask,
    Person,
    Role,
    TaskResult,
    Unit,
)
from records.views import AuditRun, AuditView, EvaluationView, PlanSent, TaskView, WaitingReview

log = logging.getLogger(__name__)

S = EvaluationState
EDITABLE = (S.DRAFT.value, S.RETURNED.value)
# Allowed transitions (the reopen of a decided record is the only way back from the lock).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT.value: frozenset({S.SUBMITTED.value}),
    S.SUBMITTED.value: frozenset({S.RETURNED.value, S.REVIEWED.value, S.DRAFT.value}),  # draft: withdraw
    S.RETURNED.value: frozenset({S.SUBMITTED.value}),
    S.REVIEWED.value: frozenset({S.DECIDED.value}),
    S.DECIDED.value: frozenset({S.REVIEWED.value, S.RETURNED.value}),  # reopen only
}
MAX_TASKS = 50
MAX_PLAN_FEEDBACK = 2000


class TaskInput(BaseModel):
    """A planned task; give `id` to keep (and edit) an existing task, omit it to add one."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    id: int | None = None
    title: str = Field(min_length=1, max_length=500)
    expected_result: str = Field(default="", max_length=1000)
    deadline: date | None = None
    action_item_id: int | None = None


class TaskResultInput(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    task_id: int
    result: TaskResult
    note: str = Field(default="", max_length=1000)


def validate_points(rules: Rules, points: Mapping[str, float], *, complete: bool) -> dict[str, float]:
    """Check each criterion's points against its maximum; `complete` requires every criterion."""
    clean: dict[str, float] = {}
    for key, value in points.items():
        criterion = rules.criterion(key)
        if criterion is None:
            raise ValidationFailed(
                f"unknown criterion {key!r}", field="points", key=key, allowed=[c.key for c in rules.criteria]
            )
        number = float(value)
        if not math.isfinite(number) or number < 0 or number > criterion.max_points:
            raise ValidationFailed(
                f"{key}: {value} is outside 0–{criterion.max_points:g}",
                field="points",
                key=key,
                value=value,
                max=criterion.max_points,
            )
        clean[key] = round(number, 2)
    if complete:
        missing = [c.key for c in rules.criteria if c.key not in clean]
        if missing:
            raise ValidationFailed(
                f"points missing for {', '.join(missing)}", field="points", missing=missing
            )
    return clean


def compute_grade(rules: Rules, points: Mapping[str, float]) -> tuple[float, str]:
    """(total, grade code) for complete, validated points."""
    total = round(sum(points.values()), 2)
    return total, rules.grade_for(total).code


# --- loading and views ----------------------------------------------------------------------------


# Built once: statement construction and coercion cost more than their execution on SQLite.
_LOAD_WITH_PERSON = (
    select(Evaluation, Person)
    .join(Person, col(Person.id) == col(Evaluation.person_id))
    .where(col(Evaluation.id) == bindparam("evaluation_id"))
)
_LOAD_WITH_TASKS = (
    select(Evaluation, Person, EvaluationTask)
    .join(Person, col(Person.id) == col(Evaluation.person_id))
    .outerjoin(EvaluationTask, col(EvaluationTask.evaluation_id) == col(Evaluation.id))
    .where(col(Evaluation.id) == bindparam("evaluation_id"))
    .order_by(col(EvaluationTask.position), col(EvaluationTask.id))
)
_TASKS_OF = (
    select(EvaluationTask)
    .where(col(EvaluationTask.evaluation_id) == bindparam("evaluation_id"))
    .order_by(col(EvaluationTask.position), col(EvaluationTask.id))
)


def _load(session: Session, evaluation_id: int) -> Evaluation:
    return _load_pair(session, evaluation_id)[0]


def _load_pair(session: Session, evaluation_id: int) -> tuple[Evaluation, Person]:
    """The record and its person in one query (every view needs both).

    Keep the person referenced while working: the session only holds loaded objects weakly.
    """
    row = None
    if session.identity_key(Evaluation, evaluation_id) in session.identity_map:
        row = session.get(Evaluation, evaluation_id)  # no query unless expired
    if row is not None:
        return row, load_person(session, row.person_id)
    found = session.exec(_LOAD_WITH_PERSON, params={"evaluation_id": evaluation_id}).first()
    if found is None:
        raise NotFound(f"evaluation {evaluation_id}", entity="evaluation", id=evaluation_id)
    return found[0], found[1]


def _load_for_edit(session: Session, evaluation_id: int) -> tuple[Evaluation, Person, list[EvaluationTask]]:
    """The record, its person and its tasks (in plan order) in one query, for the self-assessment paths."""
    if session.identity_key(Evaluation, evaluation_id) in session.identity_map:
        row, person = _load_pair(session, evaluation_id)
        assert row.id is not None
        return row, person, _tasks(session, row.id)
    found = session.exec(_LOAD_WITH_TASKS, params={"evaluation_id": evaluation_id}).all()
    if not found:
        raise NotFound(f"evaluation {evaluation_id}", entity="evaluation", id=evaluation_id)
    return found[0][0], found[0][1], [task for _, _, task in found if task is not None]


def _tasks(session: Session, evaluation_id: int) -> list[EvaluationTask]:
    return list(session.exec(_TASKS_OF, params={"evaluation_id": evaluation_id}).all())


def _view(
    session: Session,
    row: Evaluation,
    *,
    person: Person | None = None,
    tasks: Sequence[EvaluationTask] | None = None,
) -> EvaluationView:
    """The public view; pass `person` and `tasks` (in plan order) when they are already loaded and current."""
    if person is None:
        person = load_person(session, row.person_id)
    assert row.id is not None
    loaded = _tasks(session, row.id) if tasks is None else tasks
    tasks_view = tuple(TaskView.model_validate(t, from_attributes=True) for t in loaded)
    return EvaluationView(
        id=row.id,
        person_id=row.person_id,
        person_name=person.full_name,
        cadre_code=person.cadre_code,
        unit_id=row.unit_id,
        period=row.period,
        period_kind=row.period_kind,
        state=row.state,
        version=row.version,
        plan_registered_at=row.plan_registered_at,
        tasks=tasks_view,
        plan_sent_digest=row.plan_sent_digest,
        plan_sent_at=row.plan_sent_at,
        plan_change_reason=row.plan_change_reason,
        self_points=row.self_points,
        self_total=row.self_total,
        proposed_grade=row.proposed_grade,
        self_comment=row.self_comment,
        submitted_at=row.submitted_at,
        late=row.late,
        reviewer_id=row.reviewer_id,
        review_points=row.review_points,
        review_total=row.review_total,
        review_grade=row.review_grade,
        review_comment=row.review_comment,
        reviewed_at=row.reviewed_at,
        return_reason=row.return_reason,
        decided_by_id=row.decided_by_id,
        final_grade=row.final_grade,
        final_total=row.final_total,
        decision_comment=row.decision_comment,
        decided_at=row.decided_at,
        reopen_count=row.reopen_count,
    )


# --- permissions ------------------------------------------------------------------------------------


def _require_owner(session: Session, actor_id: int | None, person_id: int, action: str) -> None:
    if actor_id is None or actor_id == person_id:
        return
    raise PermissionDenied(f"{action}: only the cadre themself may do this", action=action)


def may_review(session: Session, *, actor_id: int, row: Evaluation) -> bool:
    """The direct manager, or a reviewer whose scope covers the record's unit (never oneself)."""
    if actor_id == row.person_id:
        return False
    person = load_person(session, row.person_id)
    if person.manager_id == actor_id:
        return True
    return has_role(session, person_id=actor_id, roles=[Role.REVIEWER], unit_id=row.unit_id)


def may_decide(session: Session, *, actor_id: int, row: Evaluation) -> bool:
    """A head whose scope covers the record's unit (never for their own record)."""
    return actor_id != row.person_id and has_role(
        session, person_id=actor_id, roles=[Role.HEAD], unit_id=row.unit_id
    )


def may_read(session: Session, *, actor_id: int | None, row: Evaluation) -> bool:
    if actor_id is None or actor_id == row.person_id:
        return True
    if may_review(session, actor_id=actor_id, row=row):
        return True
    return has_role(session, person_id=actor_id, roles=[Role.HEAD, Role.STAFF], unit_id=row.unit_id)


def allowed_actions(session: Session, *, actor_id: int, evaluation_id: int) -> frozenset[str]:
    """What the actor may do to the record now, given its state: "review" (approve, adjust, return), "decide",
    "reopen". Empty when they may only read it. The same checks the actions themselves make."""
    row = _load(session, evaluation_id)
    if row.state == S.SUBMITTED.value and may_review(session, actor_id=actor_id, row=row):
        return frozenset({"review"})
    if row.state == S.REVIEWED.value and may_decide(session, actor_id=actor_id, row=row):
        return frozenset({"decide"})
    if row.state == S.DECIDED.value and may_decide(session, actor_id=actor_id, row=row):
        return frozenset({"reopen"})
    return frozenset()


def _require_read(session: Session, actor_id: int | None, row: Evaluation) -> None:
    if not may_read(session, actor_id=actor_id, row=row):
        raise PermissionDenied("this evaluation is outside your scope", action="read_evaluation")


def _require_transition(row: Evaluation, *, to: str, action: str) -> None:
    if to not in TRANSITIONS.get(row.state, frozenset()):
        raise InvalidTransition(
            f"cannot {action} an evaluation in state {row.state}", state=row.state, action=action
        )


def _transition(
    session: Session,
    row: Evaluation,
    *,
    to: str,
    actor_id: int | None,
    action: str,
    now: datetime,
    detail: dict | None = None,
) -> None:
    _require_transition(row, to=to, action=action)
    assert row.id is not None
    record_audit(
        session,
        actor_id=actor_id,
        entity="evaluation",
        entity_id=row.id,
        action=action,
        from_state=row.state,
        to_state=to,
        now=now,
        detail=detail,
    )
    row.state = to
    row.updated_at = now


def _require_period(rules: Rules, period: str) -> Period:
    parsed = Period.parse(period)
    if parsed.kind != rules.period:
        raise ValidationFailed(
            f"this deployment evaluates by {rules.period}: {period!r} does not fit",
            field="period",
            expected=rules.period,
        )
    return parsed


# --- plan ---------------------------------------------------------------------------------------------


def open_evaluation(
    session: Session,
    *,
    actor_id: int | None,
    person_id: int,
    period: str,
    rules: Rules,
    now: datetime | None = None,
) -> EvaluationView:
    """The person's record for the period, created as a draft when missing."""
    return _view(
        session, _open(session, actor_id=actor_id, person_id=person_id, period=period, rules=rules, now=now)
    )


def _open(
    session: Session, *, actor_id: int | None, person_id: int, period: str, rules: Rules, now: datetime | None
) -> Evaluation:
    moment = utc_now(now)
    parsed = _require_period(rules, period)
    person = load_person(session, person_id)
    existing = session.exec(
        select(Evaluation).where(Evaluation.person_id == person_id, Evaluation.period == str(parsed))
    ).first()
    if existing is not None:
        if not may_read(session, actor_id=actor_id, row=existing):
            raise PermissionDenied("this evaluation is outside your scope", action="open_evaluation")
        return existing
    _require_owner(session, actor_id, person_id, "open_evaluation")
    if not person.active:
        raise ValidationFailed("person is not active", field="person", id=person_id)
    row = Evaluation(
        person_id=person_id,
        unit_id=person.unit_id,
        period=str(parsed),
        period_kind=parsed.kind,
        created_at=moment,
        updated_at=moment,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    record_audit(
        session,
        actor_id=actor_id,
        entity="evaluation",
        entity_id=row.id,
        action="create",
        to_state=row.state,
        now=moment,
        detail={"period": row.period},
    )
    return row


def plan_tasks(
    session: Session,
    *,
    actor_id: int | None,
    person_id: int,
    period: str,
    tasks: Sequence[TaskInput],
    rules: Rules,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> EvaluationView:
    """Register (or edit) the work plan: the list replaces the current tasks (kept by id, removals audited)."""
    moment = utc_now(now)
    _require_owner(session, actor_id, person_id, "plan_tasks")
    if not tasks:
        raise ValidationFailed("a work plan needs at least one task", field="tasks")
    if len(tasks) > MAX_TASKS:
        raise ValidationFailed(f"at most {MAX_TASKS} tasks", field="tasks", max=MAX_TASKS)
    row = _open(session, actor_id=actor_id, person_id=person_id, period=period, rules=rules, now=moment)
    assert row.id is not None
    if row.state not in EDITABLE:
        raise InvalidTransition(
            f"the plan cannot change in state {row.state}", state=row.state, action="plan_tasks"
        )
    claim_version(session, row, expected_version=expected_version, what="evaluation")
    current = {t.id: t for t in _tasks(session, row.id)}
    kept: set[int] = set()
    for position, task in enumerate(tasks):
        if task.action_item_id is not None:
            item = session.get(ActionItem, task.action_item_id)
            programme = session.get(ActionProgramme, item.programme_id) if item is not None else None
            if programme is None or programme.person_id != person_id:
                raise ValidationFailed(
                    "not an item of your action programme", field="action_item_id", value=task.action_item_id
                )
        if task.id is not None:
            existing = current.get(task.id)
            if existing is None:
                raise ValidationFailed("task does not belong to this plan", field="tasks", task_id=task.id)
            existing.title, existing.expected_result, existing.deadline = (
                task.title,
                task.expected_result,
                task.deadline,
            )
            existing.action_item_id = task.action_item_id
            existing.position = position
            session.add(existing)
            kept.add(task.id)
        else:
            session.add(
                EvaluationTask(
                    evaluation_id=row.id,
                    position=position,
                    title=task.title,
                    expected_result=task.expected_result,
                    deadline=task.deadline,
                    action_item_id=task.action_item_id,
                    created_at=moment,
                )
            )
    removed = [t for tid, t in current.items() if tid not in kept]
    if removed:  # a copy made into a later period keeps its text, not the link to a task that is gone
        session.execute(
            sa_update(EvaluationTask)
            .where(col(EvaluationTask.copied_from_id).in_([t.id for t in removed]))
            .values(copied_from_id=None)
        )
    for gone in removed:
        session.delete(gone)
    record_audit(
        session,
        actor_id=actor_id,
        entity="evaluation",
        entity_id=row.id,
        action="plan",
        now=moment,
        detail={"tasks": len(tasks), "removed": [{"id": t.id, "title": t.title} for t in removed]},
    )
    if row.plan_registered_at is None:
        row.plan_registered_at = moment
    row.updated_at = moment
    session.add(row)
    session.flush()
    return _view(session, row)


def copy_unfinished_tasks(
    session: Session,
    *,
    actor_id: int | None,
    person_id: int,
    period: str,
    rules: Rules,
    now: datetime | None = None,
) -> EvaluationView:
    """Carry the previous period's tasks that were not done on time into this period's plan (once each)."""
    moment = utc_now(now)
    _require_owner(session, actor_id, person_id, "copy_unfinished_tasks")
    parsed = _require_period(rules, period)
    row = _open(session, actor_id=actor_id, person_id=person_id, period=period, rules=rules, now=moment)
    assert row.id is not None
    if row.state not in EDITABLE:
        raise InvalidTransition(
            f"the plan cannot change in state {row.state}", state=row.state, action="copy_tasks"
        )
    previous = session.exec(
        select(Evaluation).where(Evaluation.person_id == person_id, Evaluation.period == str(parsed.previous))
    ).first()
    if previous is None or previous.id is None:
        return _view(session, row)
    existing = _tasks(session, row.id)
    already = {t.copied_from_id for t in existing}
    position = len(existing)
    copied = 0
    for old in _tasks(session, previous.id):
        if old.result == TaskResult.ON_TIME.value or old.id in already:
            continue
        session.add(
            EvaluationTask(
                evaluation_id=row.id,
                position=position,
                title=old.title,
                expected_result=old.expected_result,
                deadline=None,
                copied_from_id=old.id,
                action_item_id=old.action_item_id,
                created_at=moment,
            )
        )
        position += 1
        copied += 1
    if copied:
        claim_version(session, row, expected_version=None, what="evaluation")
        record_audit(
            session,
            actor_id=actor_id,
            entity="evaluation",
            entity_id=row.id,
            action="copy_tasks",
            now=moment,
            detail={"copied": copied, "from_period": previous.period},
        )
        if row.plan_registered_at is None:
            row.plan_registered_at = moment
        row.updated_at = moment
        session.add(row)
    session.flush()
    return _view(session, row)


# --- the plan and the direct manager ------------------------------------------------------------------


def plan_digest(tasks: Sequence[EvaluationTask | TaskView]) -> str:
    """What the manager saw of a plan: its tasks' titles, expected results and deadlines, in order."""
    content = [[t.title, t.expected_result, t.deadline.isoformat() if t.deadline else None] for t in tasks]
    encoded = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()[:16]


def _reviewer_ids(session: Session, row: Evaluation) -> list[int]:
    """The person's direct manager (per the roster) when active, else the reviewers over the record's unit."""
    person = load_person(session, row.person_id)
    manager = session.get(Person, person.manager_id) if person.manager_id else None
    if manager is not None and manager.active and manager.id is not None:
        return [manager.id]
    holders = role_holders(session, unit_id=row.unit_id, roles=[Role.REVIEWER])
    return sorted(pid for pid in holders if pid != row.person_id)


def send_plan(
    session: Session, *, actor_id: int | None, evaluation_id: int, now: datetime | None = None
) -> PlanSent:
    """The cadre finished the plan: mark it sent to the direct manager when it is new or changed since it was
    last sent ("sent", with whom to tell), else "unchanged" (nothing written). A pending change request is
    settled by the changed plan. Two taps at once: one is "sent", the other `ConcurrentUpdate`."""
    moment = utc_now(now)
    row, person, tasks = _load_for_edit(session, evaluation_id)
    _require_owner(session, actor_id, row.person_id, "send_plan")
    if row.state not in EDITABLE:
        raise InvalidTransition(
            f"the plan cannot change in state {row.state}", state=row.state, action="send_plan"
        )
    if not tasks:
        raise ValidationFailed("a work plan needs at least one task", field="tasks")
    digest = plan_digest(tasks)
    if row.plan_sent_digest == digest:
        return PlanSent(evaluation=_view(session, row, person=person, tasks=tasks), outcome="unchanged")
    reviewers = _reviewer_ids(session, row)
    if not reviewers:
        return PlanSent(evaluation=_view(session, row, person=person, tasks=tasks), outcome="nobody")
    update = row.plan_sent_digest is not None
    row.plan_sent_digest, row.plan_sent_at = digest, moment
    row.plan_change_reason, row.plan_change_requested_at = None, None
    row.updated_at = moment
    claim_with_changes(session, row, expected_version=None, what="evaluation")
    assert row.id is not None
    record_audit(
        session,
        actor_id=actor_id,
        entity="evaluation",
        entity_id=row.id,
        action="plan_sent",
        now=moment,
        detail={"tasks": len(tasks), "to": reviewers, "update": update},
    )
    session.flush()
    return PlanSent(
        evaluation=_view(session, row, person=person, tasks=tasks),
        outcome="sent",
        update=update,
        reviewer_ids=tuple(reviewers),
    )


def _plan_feedback_text(value: str, *, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(f"{field} is empty", field=field)
    if len(text) > MAX_PLAN_FEEDBACK:
        raise ValidationFailed(f"{field} too long", field=field, max=MAX_PLAN_FEEDBACK)
    return text


def may_give_plan_feedback(session: Session, *, actor_id: int, evaluation_id: int) -> bool:
    """The direct manager or a reviewer over the unit (the same people who review the self-assessment)."""
    return may_review(session, actor_id=actor_id, row=_load(session, evaluation_id))


def _require_plan_feedback(session: Session, actor_id: int | None, row: Evaluation, action: str) -> None:
    if actor_id is not None and not may_review(session, actor_id=actor_id, row=row):
        raise PermissionDenied(
            "only the direct manager or a reviewer over the unit may give feedback on the plan", action=action
        )


def comment_on_plan(
    session: Session, *, actor_id: int | None, evaluation_id: int, comment: str, now: datetime | None = None
) -> EvaluationView:
    """The manager's comment on the plan, kept in the record's history (the bot delivers it to the cadre)."""
    moment = utc_now(now)
    text = _plan_feedback_text(comment, field="comment")
    row, person = _load_pair(session, evaluation_id)
    _require_plan_feedback(session, actor_id, row, "comment_on_plan")
    assert row.id is not None
    record_audit(
        session,
        actor_id=actor_id,
        entity="evaluation",
        entity_id=row.id,
        action="plan_comment",
        now=moment,
        detail={"comment": text},
    )
    session.flush()
    return _view(session, row, person=person)


def request_plan_changes(
    session: Session,
    *,
    actor_id: int | None,
    evaluation_id: int,
    reason: str,
    sent_digest: str | None = None,
    now: datetime | None = None,
) -> EvaluationView:
    """The manager asks the cadre to change the plan, with a reason (kept on the record until a changed plan is
    sent, and in the history). Once per sent plan: `ConcurrentUpdate` with reason "already_requested" while a
    request is pending, "plan_changed" when `sent_digest` (the plan the manager saw) is no longer the one sent."""
    moment = utc_now(now)
    text = _plan_feedback_text(reason, field="reason")
    row, person = _load_pair(session, evaluation_id)
    _require_plan_feedback(session, actor_id, row, "request_plan_changes")
    if row.state not in EDITABLE:
        raise InvalidTransition(
            f"the plan cannot change in state {row.state}", state=row.state, action="request_plan_changes"
        )
    if sent_digest is not None and row.plan_sent_digest != sent_digest:
        raise ConcurrentUpdate(
            "the plan was changed since", entity="evaluation", id=row.id, reason="plan_changed"
        )
    if row.plan_change_reason is not None:
        raise ConcurrentUpdate(
            "changes were already requested", entity="evaluation", id=row.id, reason="already_requested"
        )
    row.plan_change_reason, row.plan_change_requested_at = text, moment
    row.updated_at = moment
    claim_with_changes(session, row, expected_version=None, what="evaluation")
    assert row.id is not None
    record_audit(
        session,
        actor_id=actor_id,
        entity="evaluation",
        entity_id=row.id,
        action="plan_change_request",
        now=moment,
        detail={"reason": text},
    )
    session.flush()
    return _view(session, row, person=person)


# --- self-assessment --------------------------------------------------------------------------------


def _apply_self_assessment(
    session: Session,
    row: Evaluation,
    *,
    results: Sequence[TaskResultInput],
    points: Mapping[str, float] | None,
    comment: str | None,
    rules: Rules,
    complete: bool,
    ordered: list[EvaluationTask],
) -> None:
    """Apply results, points and comment to the record and its tasks (`ordered`, all of them), in memory."""
    tasks = {t.id: t for t in ordered}
    for item in results:
        task = tasks.get(item.task_id)
        if task is None:
            raise ValidationFailed(
                "task does not belong to this evaluation", field="results", task_id=item.task_id
            )
        task.result = item.result.value
        task.result_note = item.note or None
        session.add(task)
    if points is not None:
        merged = {**(row.self_points or {}), **points}
        row.self_points = validate_points(rules, merged, complete=False)
    if comment is not None:
        if len(comment) > 4000:
            raise ValidationFailed("comment too long", field="comment", max=4000)
        row.self_comment = comment.strip() or None
    if complete:
        if not tasks:
            raise ValidationFailed("register the work plan before self-assessing", field="tasks")
        missing = [t.id for t in tasks.values() if t.result is None]
        if missing:
            raise ValidationFailed("every task needs a result", field="results", missing=missing)
        clean = validate_points(rules, row.self_points or {}, complete=True)
        row.self_total, row.proposed_grade = compute_grade(rules, clean)
    elif row.self_points:
        row.self_total = round(sum(row.self_points.values()), 2)
        row.proposed_grade = (
            rules.grade_for(row.self_total).code if len(row.self_points) == len(rules.criteria) else None
        )


def save_self_assessment(
    session: Session,
    *,
    actor_id: int | None,
    evaluation_id: int,
    rules: Rules,
    results: Sequence[TaskResultInput] = (),
    points: Mapping[str, float] | None = None,
    comment: str | None = None,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> EvaluationView:
    """Save a draft self-assessment (partial is fine); the state does not change."""
    moment = utc_now(now)
    row, person, tasks = _load_for_edit(session, evaluation_id)
    _require_owner(session, actor_id, row.person_id, "self_assess")
    if row.state not in EDITABLE:
        raise InvalidTransition(
            f"cannot edit a self-assessment in state {row.state}", state=row.state, action="self_assess"
        )
    check_expected_version(row, expected_version=expected_version, what="evaluation")
    _apply_self_assessment(
        session,
        row,
        results=results,
        points=points,
        comment=comment,
        rules=rules,
        complete=False,
        ordered=tasks,
    )
    row.updated_at = moment
    # Nothing is written before the version claim, which carries the record's own changes.
    claim_with_changes(session, row, expected_version=None, what="evaluation")
    record_audit(
        session,
        actor_id=actor_id,
        entity="evaluation",
        entity_id=evaluation_id,
        action="save_draft",
        now=moment,
    )
    session.flush()  # the tasks' results
    return _view(session, row, person=person, tasks=tasks)


def submit_self_assessment(
    session: Session,
    *,
    actor_id: int | None,
    evaluation_id: int,
    rules: Rules,
    results: Sequence[TaskResultInput] = (),
    points: Mapping[str, float] | None = None,
    comment: str | None = None,
    now: datetime | None = None,
    expected_version: int | None = None,
    tz: str = DEFAULT_TZ,
) -> EvaluationView:
    """Complete and submit for review: needs every task's result and every criterion's points.

    The proposed grade comes from the bands. Submitting after the deadline is accepted and marked late.
    """
    moment = utc_now(now)
    row, person, tasks = _load_for_edit(session, evaluation_id)
    _require_owner(session, actor_id, row.person_id, "submit_self_assessment")
    if row.state not in EDITABLE:
        raise InvalidTransition(f"cannot submit in state {row.state}", state=row.state, action="submit")
    check_expected_version(row, expected_version=expected_version, what="evaluation")
    _apply_self_assessment(
        session,
        row,
        results=results,
        points=points,
        comment=comment,
        rules=rules,
        complete=True,
        ordered=tasks,
    )
    due = deadline(rules, Period.parse(row.period), "self_assessment")
    late = local_date(moment, tz) > due
    from_state, to_state = row.state, S.SUBMITTED.value
    _require_transition(row, to=to_state, action="submit")
    row.state = to_state
    row.updated_at = moment
    row.late = row.late or late
    row.submitted_at = moment
    # Nothing is written before the version claim, which carries the record's own changes.
    claim_with_changes(session, row, expected_version=None, what="evaluation")
    assert row.id is not None
    record_audit(
        session,
        actor_id=actor_id,
        entity="evaluation",
        entity_id=row.id,
        action="submit",
        from_state=from_state,
        to_state=to_state,
        now=moment,
        detail={"total": row.self_total, "proposed_grade": row.proposed_grade, "late": late},
    )
    session.flush()  # the tasks' results
    log.info("evaluation %s submitted (late=%s)", evaluation_id, late)
    return _view(session, row, person=person, tasks=tasks)


def withdraw_submission(
    session: Session,
    *,
    actor_id: int | None,
    evaluation_id: int,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> EvaluationView:
    """Take back a submitted self-assessment to edit it again (submitted → draft), only by its owner.

    Allowed only while the reviewer has not acted: a record already reviewed, returned or decided reports
    `ConcurrentUpdate` ("already reviewed"). The points and results stay; `late` and `submitted_at` stay too,
    and a later re-submit past the deadline is marked late again.
    """
    moment = utc_now(now)
    row, person = _load_pair(session, evaluation_id)
    _require_owner(session, actor_id, row.person_id, "withdraw_submission")
    _claim_for_stage(
        session,
        row,
        stage_state=S.SUBMITTED.value,
        expected_version=expected_version,
        past=(S.REVIEWED.value, S.DECIDED.value, S.RETURNED.value),
        what="reviewed",
    )
    _transition(
        session,
        row,
        to=S.DRAFT.value,
        actor_id=actor_id,
        action="withdraw",
        now=moment,
        detail={"submitted_at": row.submitted_at.isoformat() if row.submitted_at else None},
    )
    session.add(row)
    session.flush()
    log.info("evaluation %s withdrawn for editing", evaluation_id)
    return _view(session, row, person=person)


# --- review -----------------------------------------------------------------------------------------


def _claim_for_stage(
    session: Session,
    row: Evaluation,
    *,
    stage_state: str,
    expected_version: int | None,
    past: tuple[str, ...],
    what: str,
) -> None:
    """A record that already moved past this stage reports a concurrent update ("already reviewed")."""
    if row.state in past:
        raise ConcurrentUpdate(f"already {what}", entity="evaluation", id=row.id, state=row.state)
    if row.state != stage_state:
        raise InvalidTransition(f"the evaluation is in state {row.state}", state=row.state, action=what)
    claim_version(session, row, expected_version=expected_version, what="evaluation")


def approve_review(
    session: Session,
    *,
    actor_id: int | None,
    evaluation_id: int,
    rules: Rules,
    points: Mapping[str, float] | None = None,
    comment: str | None = None,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> EvaluationView:
    """Approve a submitted self-assessment, optionally adjusting points (the grade follows the bands)."""
    moment = utc_now(now)
    row, person = _load_pair(session, evaluation_id)
    if actor_id is not None and not may_review(session, actor_id=actor_id, row=row):
        raise PermissionDenied(
            "only the direct manager or a reviewer over the unit may review", action="review"
        )
    _claim_for_stage(
        session,
        row,
        stage_state=S.SUBMITTED.value,
        expected_version=expected_version,
        past=(S.REVIEWED.value, S.DECIDED.value),
        what="reviewed",
    )
    base = {**(row.self_points or {}), **(points or {})}
    clean = validate_points(rules, base, complete=True)
    total, grade = compute_grade(rules, clean)
    _transition(
        session,
        row,
        to=S.REVIEWED.value,
        actor_id=actor_id,
        action="approve",
        now=moment,
        detail={
            "total": total,
            "grade": grade,
            "adjusted": sorted(k for k in (points or {}) if (row.self_points or {}).get(k) != clean[k]),
        },
    )
    row.reviewer_id = actor_id
    row.review_points, row.review_total, row.review_grade = clean, total, grade
    row.review_comment = (comment or "").strip() or None
    row.reviewed_at = moment
    row.return_reason = None
    session.add(row)
    session.flush()
    return _view(session, row, person=person)


def return_for_revision(
    session: Session,
    *,
    actor_id: int | None,
    evaluation_id: int,
    reason: str,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> EvaluationView:
    """Send a submitted self-assessment back to the cadre with a reason."""
    moment = utc_now(now)
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required to return a self-assessment", field="reason")
    row, person = _load_pair(session, evaluation_id)
    if actor_id is not None and not may_review(session, actor_id=actor_id, row=row):
        raise PermissionDenied(
            "only the direct manager or a reviewer over the unit may review", action="return"
        )
    _claim_for_stage(
        session,
        row,
        stage_state=S.SUBMITTED.value,
        expected_version=expected_version,
        past=(S.REVIEWED.value, S.DECIDED.value, S.RETURNED.value),
        what="reviewed",
    )
    _transition(
        session,
        row,
        to=S.RETURNED.value,
        actor_id=actor_id,
        action="return",
        now=moment,
        detail={"reason": reason.strip()},
    )
    row.reviewer_id = actor_id
    row.return_reason = reason.strip()
    row.returned_at = moment
    session.add(row)
    session.flush()
    return _view(session, row, person=person)


def _waiting(session: Session, rows: Sequence[Evaluation]) -> list[WaitingReview]:
    people = {
        p.id: p
        for p in session.exec(select(Person).where(col(Person.id).in_({r.person_id for r in rows}))).all()
    }
    out = []
    for row in rows:
        person = people[row.person_id]
        assert row.id is not None
        out.append(
            WaitingReview(
                evaluation_id=row.id,
                version=row.version,
                person_id=row.person_id,
                person_name=person.full_name,
                cadre_code=person.cadre_code,
                period=row.period,
                state=row.state,
                submitted_at=row.submitted_at,
                late=row.late,
                proposed_grade=row.proposed_grade,
                self_total=row.self_total,
                review_grade=row.review_grade,
            )
        )
    return out


def list_waiting_reviews(session: Session, *, reviewer_id: int) -> list[WaitingReview]:
    """Submitted self-assessments this person may review, oldest submission first (late ones marked).

    The direct manager's team plus every record in the units of the person's reviewer scope; never their own.
    """
    scope = scope_units(session, person_id=reviewer_id, roles=[Role.REVIEWER])
    team = select(Person.id).where(Person.manager_id == reviewer_id)
    mine = (
        or_(col(Evaluation.person_id).in_(team), col(Evaluation.unit_id).in_(scope))
        if scope
        else col(Evaluation.person_id).in_(team)
    )
    rows = session.exec(
        select(Evaluation)
        .where(Evaluation.state == S.SUBMITTED.value, Evaluation.person_id != reviewer_id, mine)
        .order_by(col(Evaluation.submitted_at), col(Evaluation.id))
    ).all()
    return _waiting(session, rows)


def list_waiting_decisions(session: Session, *, head_id: int) -> list[WaitingReview]:
    """Reviewed records in the head's scope waiting for a decision, oldest review first."""
    scope = scope_units(session, person_id=head_id, roles=[Role.HEAD])
    if not scope:
        return []
    rows = session.exec(
        select(Evaluation)
        .where(
            Evaluation.state == S.REVIEWED.value,
            Evaluation.person_id != head_id,
            col(Evaluation.unit_id).in_(scope),
        )
        .order_by(col(Evaluation.reviewed_at), col(Evaluation.id))
    ).all()
    return _waiting(session, rows)


# --- decision, quota, reopen ------------------------------------------------------------------------


def quota_check(session: Session, *, row: Evaluation, grade: str, rules: Rules) -> list[dict[str, object]]:
    """The quota rules `grade` would break in the record's unit and period (empty when fine).

    "Graded" = every record of the unit for the period; counts include this decision.
    """
    unit = session.get(Unit, row.unit_id)
    outstanding = bool(unit and unit.outstanding)
    same = select(Evaluation).where(Evaluation.unit_id == row.unit_id, Evaluation.period == row.period)
    graded = int(session.exec(select(func.count()).select_from(same.subquery())).one())
    decided = [
        r for r in session.exec(same.where(Evaluation.state == S.DECIDED.value)).all() if r.id != row.id
    ]
    counts: dict[str, int] = {}
    for r in decided:
        if r.final_grade:
            counts[r.final_grade] = counts.get(r.final_grade, 0) + 1
    counts[grade] = counts.get(grade, 0) + 1
    broken = []
    for quota in rules.quotas:
        if quota.grade != grade:
            continue
        of_grade_count = counts.get(quota.of_grade or "", 0)
        allowed = quota.allowed(graded=graded, of_grade_count=of_grade_count, outstanding=outstanding)
        if counts[grade] > allowed:
            share = (
                quota.outstanding_max_share
                if outstanding and quota.outstanding_max_share
                else quota.max_share
            )
            limit = (share or 0.0) if quota.kind == "share_of_graded" else (quota.max_ratio or 0.0)
            broken.append(
                {
                    "kind": quota.kind,
                    "grade": grade,
                    "count": counts[grade],
                    "allowed": allowed,
                    "graded": graded,
                    "enforce": quota.enforce,
                    "outstanding": outstanding,
                    # How `allowed` was reached: limit × base, rounded, with the floor for small units.
                    "limit": limit,
                    "base": graded if quota.kind == "share_of_graded" else of_grade_count,
                    "of_grade": quota.of_grade or "",
                    "rounding": quota.rounding,
                    "at_least": quota.at_least,
                }
            )
    return broken


def decide_evaluation(
    session: Session,
    *,
    actor_id: int | None,
    evaluation_id: int,
    rules: Rules,
    final_grade: str | None = None,
    comment: str | None = None,
    now: datetime | None = None,
    expected_version: int | None = None,
    quota_override_reason: str | None = None,
) -> EvaluationView:
    """The head's final grade (default: the reviewed grade); the record is then locked.

    An enforced quota breach raises `QuotaExceeded` unless the head confirms it with
    `quota_override_reason` (non-empty); on any breach the reason and the breaches go into the audit entry
    (`detail["quota_override"]`). Within quota the reason is not recorded.
    """
    moment = utc_now(now)
    row, person = _load_pair(session, evaluation_id)
    if actor_id is not None and not may_decide(session, actor_id=actor_id, row=row):
        raise PermissionDenied("only a head over the unit may decide (never for themself)", action="decide")
    _claim_for_stage(
        session,
        row,
        stage_state=S.REVIEWED.value,
        expected_version=expected_version,
        past=(S.DECIDED.value,),
        what="decided",
    )
    grade = (final_grade or row.review_grade or "").strip().upper()
    if rules.grade(grade) is None:
        raise ValidationFailed(
            f"unknown grade {grade!r}", field="final_grade", allowed=[g.code for g in rules.grades]
        )
    override = None
    if quota_override_reason is not None:
        override = quota_override_reason.strip()
        if not override:
            raise ValidationFailed(
                "a reason is required to decide over the quota", field="quota_override_reason"
            )
    detail: dict[str, Any] = {"grade": grade}
    broken = quota_check(session, row=row, grade=grade, rules=rules)
    enforced = [b for b in broken if b["enforce"]]
    if enforced and override is None:
        raise QuotaExceeded(f"grade {grade} is over its quota in this unit", **enforced[0])
    if broken and override is not None:
        detail["quota_override"] = {"reason": override, "breaches": broken}
        log.info("evaluation %s decided over its quota (enforced=%s)", evaluation_id, bool(enforced))
    _transition(
        session,
        row,
        to=S.DECIDED.value,
        actor_id=actor_id,
        action="decide",
        now=moment,
        detail=detail,
    )
    row.decided_by_id = actor_id
    row.final_grade = grade
    row.final_total = row.review_total
    row.decision_comment = (comment or "").strip() or None
    row.decided_at = moment
    session.add(row)
    session.flush()
    return _view(session, row, person=person)


def reopen_evaluation(
    session: Session,
    *,
    actor_id: int | None,
    evaluation_id: int,
    reason: str,
    to_state: Literal["reviewed", "returned"] = "reviewed",
    now: datetime | None = None,
    expected_version: int | None = None,
) -> EvaluationView:
    """Unlock a decided record (head over the unit, with a reason): back to reviewed (re-decide) or returned."""
    moment = utc_now(now)
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required to reopen", field="reason")
    if to_state not in ("reviewed", "returned"):
        raise ValidationFailed("reopen to 'reviewed' or 'returned'", field="to_state")
    row, person = _load_pair(session, evaluation_id)
    if actor_id is not None and not may_decide(session, actor_id=actor_id, row=row):
        raise PermissionDenied("only a head over the unit may reopen", action="reopen")
    if row.state != S.DECIDED.value:
        raise InvalidTransition(f"only a decided record can be reopened (state {row.state})", state=row.state)
    claim_version(session, row, expected_version=expected_version, what="evaluation")
    _transition(
        session,
        row,
        to=to_state,
        actor_id=actor_id,
        action="reopen",
        now=moment,
        detail={"reason": reason.strip(), "previous_grade": row.final_grade},
    )
    row.reopen_count += 1
    row.final_grade = None
    row.final_total = None
    row.decided_at = None
    row.decided_by_id = None
    if to_state == "returned":
        row.return_reason = reason.strip()
        row.returned_at = moment
    session.add(row)
    session.flush()
    return _view(session, row, person=person)


# --- reading ----------------------------------------------------------------------------------------


def get_evaluation(session: Session, *, actor_id: int | None, evaluation_id: int) -> EvaluationView:
    row, person = _load_pair(session, evaluation_id)
    _require_read(session, actor_id, row)
    return _view(session, row, person=person)


def find_evaluation(
    session: Session, *, actor_id: int | None, person_id: int, period: str
) -> EvaluationView | None:
    row = session.exec(
        select(Evaluation).where(
            Evaluation.person_id == person_id, Evaluation.period == str(Period.parse(period))
        )
    ).first()
    if row is None:
        return None
    _require_read(session, actor_id, row)
    return _view(session, row)


def list_evaluations(
    session: Session, *, actor_id: int | None, period: str, unit_ids: set[int] | None = None
) -> list[EvaluationView]:
    """Records of a period the actor may read, optionally within some units."""
    query = (
        select(Evaluation).where(Evaluation.period == str(Period.parse(period))).order_by(col(Evaluation.id))
    )
    if unit_ids is not None:
        query = query.where(col(Evaluation.unit_id).in_(unit_ids))
    return [
        _view(session, r) for r in session.exec(query).all() if may_read(session, actor_id=actor_id, row=r)
    ]


def evaluation_history(session: Session, *, actor_id: int | None, evaluation_id: int) -> list[AuditView]:
    """Every change of the record, oldest first."""
    row = _load(session, evaluation_id)
    _require_read(session, actor_id, row)
    return list_audit(session, entity="evaluation", entity_id=evaluation_id)


# Actions a person repeats while working (each draft save and plan edit is logged): shown once per run in a history.
REPEATED_ACTIONS = ("save_draft", "plan")


def evaluation_history_runs(session: Session, *, actor_id: int | None, evaluation_id: int) -> list[AuditRun]:
    """The history as shown to people: consecutive draft saves by the same person folded into one run."""
    entries = evaluation_history(session, actor_id=actor_id, evaluation_id=evaluation_id)
    return collapse_repeats(entries, actions=REPEATED_ACTIONS)


def require_staff_scope(session: Session, *, actor_id: int | None, unit_id: int) -> None:
    """For summaries: staff, heads or admins over the unit."""
    require_role(
        session,
        actor_id=actor_id,
        roles=[Role.STAFF, Role.HEAD, Role.ADMIN],
        unit_id=unit_id,
        action="summary",
    )


def preview_quota(
    session: Session, *, evaluation_id: int, grade: str, rules: Rules
) -> list[dict[str, object]]:
    """The quota rules deciding `grade` on this record would break now (for a warning before deciding)."""
    return quota_check(session, row=_load(session, evaluation_id), grade=grade.strip().upper(), rules=rules)


def next_actors(session: Session, *, evaluation_id: int) -> list[int]:
    """Who has to act next on the record: the cadre (draft/returned), the direct manager or reviewers over the unit
    (submitted), heads over the unit (reviewed); nobody once decided. Never the subject for review/decision."""
    row = _load(session, evaluation_id)
    if row.state in EDITABLE:
        return [row.person_id]
    if row.state == S.SUBMITTED.value:
        return _reviewer_ids(session, row)
    if row.state != S.REVIEWED.value:
        return []
    holders = role_holders(session, unit_id=row.unit_id, roles=[Role.HEAD])
    return sorted(pid for pid in holders if pid != row.person_id)
