"""Rotations (luân chuyển): the move, reviews every N months and at the end, and the counts a committee reports."""

from __future__ import annotations

import logging
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from records.access import has_role, require_role, scope_units, unit_depth, unit_subtree
from records.audit import list_audit, record_audit
from records.clock import utc_now
from records.errors import ConcurrentUpdate, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from records.evaluations import DEFAULT_TZ
from records.guard import claim_version
from records.localtime import local_date
from records.people import load_person, load_unit
from records.periods import add_months
from records.rules import Rules
from records.schema import (
    Role,
    Rotation,
    RotationDirection,
    RotationReview,
    RotationReviewKind,
    RotationReviewState,
    RotationState,
)
from records.views import AuditView, RotationCounts, RotationReviewView, RotationView

log = logging.getLogger(__name__)

R = RotationReviewState
MANAGERS = (Role.STAFF, Role.ADMIN)


class RotationInput(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    person_id: int
    to_unit_id: int
    to_post: str = Field(min_length=1, max_length=300)
    start_date: date
    planned_end: date | None = None  # default: start + the rules' minimum months
    from_unit_id: int | None = None  # default: the person's unit
    from_post: str | None = None  # default: the person's position
    move_person: bool = True  # the person's unit and position become the receiving ones


def _load(session: Session, rotation_id: int) -> Rotation:
    row = session.get(Rotation, rotation_id)
    if row is None:
        raise NotFound(f"rotation {rotation_id}", entity="rotation", id=rotation_id)
    return row


def _load_review(session: Session, review_id: int) -> tuple[RotationReview, Rotation]:
    review = session.get(RotationReview, review_id)
    if review is None:
        raise NotFound(f"rotation review {review_id}", entity="rotation_review", id=review_id)
    return review, _load(session, review.rotation_id)


def _view(session: Session, row: Rotation) -> RotationView:
    assert row.id is not None
    reviews = session.exec(
        select(RotationReview)
        .where(RotationReview.rotation_id == row.id)
        .order_by(col(RotationReview.due_date))
    ).all()
    from_unit, to_unit = load_unit(session, row.from_unit_id), load_unit(session, row.to_unit_id)
    return RotationView(
        id=row.id,
        person_id=row.person_id,
        person_name=load_person(session, row.person_id).full_name,
        from_unit_id=row.from_unit_id,
        to_unit_id=row.to_unit_id,
        from_unit_code=from_unit.code,
        from_unit_name=from_unit.name,
        to_unit_code=to_unit.code,
        to_unit_name=to_unit.name,
        from_post=row.from_post,
        to_post=row.to_post,
        start_date=row.start_date,
        planned_end=row.planned_end,
        direction=row.direction,
        state=row.state,
        ended_on=row.ended_on,
        decided_by_id=row.decided_by_id,
        version=row.version,
        created_at=row.created_at,
        reviews=tuple(RotationReviewView.model_validate(r, from_attributes=True) for r in reviews),
    )


def review_schedule(start: date, planned_end: date, every_months: int) -> list[tuple[date, str]]:
    """Periodic review dates every `every_months` after the start, then the final one at the planned end."""
    dates: list[tuple[date, str]] = []
    step = 1
    while (due := add_months(start, every_months * step)) < planned_end:
        dates.append((due, RotationReviewKind.PERIODIC.value))
        step += 1
    dates.append((planned_end, RotationReviewKind.FINAL.value))
    return dates


def term_months(start: date, end: date) -> int | None:
    """Whole months from `start` to `end` (36 for 05/11/2023 → 05/11/2026), None when not a whole number."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months if months > 0 and add_months(start, months) == end else None


def next_review(rotation: RotationView) -> RotationReviewView | None:
    """The rotation's first review still to be done (soonest due date), None when every one is done."""
    open_states = (R.PENDING.value, R.SELF_REVIEWED.value, R.COMMENTED.value)
    return next((r for r in rotation.reviews if r.state in open_states), None)


def start_rotation(
    session: Session,
    *,
    actor_id: int | None,
    data: RotationInput,
    rules: Rules,
    allow_shorter: bool = False,
    now: datetime | None = None,
    tz: str = DEFAULT_TZ,
) -> RotationView:
    """Record a rotation decided by the committee (staff or admin over both units) and schedule its reviews.

    A back-dated start (recorded after some reviews were due) keeps those reviews as history in the state
    `not_required`: they are nobody's work and no reminder; the first review due on or after the day of recording
    (in `tz`) is the next one to do.
    """
    moment = utc_now(now)
    recorded_on = local_date(moment, tz)
    person = load_person(session, data.person_id)
    from_unit_id = data.from_unit_id or person.unit_id
    load_unit(session, from_unit_id)
    load_unit(session, data.to_unit_id)
    if from_unit_id == data.to_unit_id:
        raise ValidationFailed("a rotation moves to another unit", field="to_unit_id", reason="same_unit")
    for unit_id in (from_unit_id, data.to_unit_id):
        require_role(session, actor_id=actor_id, roles=MANAGERS, unit_id=unit_id, action="start_rotation")
    minimum_end = add_months(data.start_date, rules.rotation.min_months)
    planned_end = data.planned_end or minimum_end
    if planned_end <= data.start_date:
        raise ValidationFailed(
            "the planned end must be after the start", field="planned_end", reason="end_before_start"
        )
    if planned_end < minimum_end and not allow_shorter:
        raise ValidationFailed(
            f"a rotation lasts at least {rules.rotation.min_months} months",
            field="planned_end",
            reason="too_short",
            min_months=rules.rotation.min_months,
            earliest=minimum_end.isoformat(),
        )
    active = session.exec(
        select(Rotation).where(
            Rotation.person_id == data.person_id, Rotation.state == RotationState.ACTIVE.value
        )
    ).first()
    if active is not None:
        raise ValidationFailed(
            "this person already has an active rotation",
            field="person_id",
            reason="already_active",
            rotation_id=active.id,
            since=active.start_date.isoformat(),
        )
    depth_from, depth_to = unit_depth(session, from_unit_id), unit_depth(session, data.to_unit_id)
    direction = (
        RotationDirection.DOWN
        if depth_to > depth_from
        else RotationDirection.UP
        if depth_to < depth_from
        else RotationDirection.LATERAL
    )
    row = Rotation(
        person_id=data.person_id,
        from_unit_id=from_unit_id,
        to_unit_id=data.to_unit_id,
        from_post=data.from_post or person.position,
        to_post=data.to_post,
        start_date=data.start_date,
        planned_end=planned_end,
        direction=direction.value,
        decided_by_id=actor_id,
        created_at=moment,
        updated_at=moment,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    skipped = 0
    for due, kind in review_schedule(data.start_date, planned_end, rules.rotation.review_every_months):
        state = R.NOT_REQUIRED.value if due < recorded_on else R.PENDING.value
        skipped += state == R.NOT_REQUIRED.value
        session.add(
            RotationReview(rotation_id=row.id, kind=kind, due_date=due, state=state, created_at=moment)
        )
    record_audit(
        session,
        actor_id=actor_id,
        entity="rotation",
        entity_id=row.id,
        action="create",
        to_state=row.state,
        now=moment,
        detail={
            "person_id": data.person_id,
            "from_unit_id": from_unit_id,
            "to_unit_id": data.to_unit_id,
            "direction": direction.value,
            "start_date": data.start_date.isoformat(),
            "planned_end": planned_end.isoformat(),
            "reviews_not_required": skipped,
        },
    )
    if data.move_person:
        record_audit(
            session,
            actor_id=actor_id,
            entity="person",
            entity_id=data.person_id,
            action="update",
            now=moment,
            detail={
                "unit_id": [person.unit_id, data.to_unit_id],
                "position": [person.position, data.to_post],
                "rotation_id": row.id,
            },
        )
        person.unit_id, person.position, person.updated_at = data.to_unit_id, data.to_post, moment
        session.add(person)
    session.flush()
    log.info("rotation %s started (%s)", row.id, direction.value)
    return _view(session, row)


def _step(
    session: Session,
    review: RotationReview,
    *,
    expected_state: str,
    to: str,
    actor_id: int | None,
    action: str,
    now: datetime,
    expected_version: int | None,
) -> None:
    order = [R.PENDING.value, R.SELF_REVIEWED.value, R.COMMENTED.value, R.EVALUATED.value]
    if review.state not in order:  # not required (due before the rotation was recorded)
        raise InvalidTransition(
            f"cannot {action} a review in state {review.state}", state=review.state, action=action
        )
    if order.index(review.state) > order.index(expected_state):
        raise ConcurrentUpdate(
            f"already {review.state}", entity="rotation_review", id=review.id, state=review.state
        )
    if review.state != expected_state:
        raise InvalidTransition(
            f"cannot {action} a review in state {review.state}", state=review.state, action=action
        )
    claim_version(session, review, expected_version=expected_version, what="rotation review")
    assert review.id is not None
    record_audit(
        session,
        actor_id=actor_id,
        entity="rotation_review",
        entity_id=review.id,
        action=action,
        from_state=review.state,
        to_state=to,
        now=now,
    )
    review.state = to


def _text(value: str, field: str) -> str:
    if not value or not value.strip():
        raise ValidationFailed(f"{field} is empty", field=field)
    if len(value) > 4000:
        raise ValidationFailed(f"{field} is too long", field=field, max=4000)
    return value.strip()


def submit_rotation_self_review(
    session: Session,
    *,
    actor_id: int | None,
    review_id: int,
    text: str,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> RotationReviewView:
    """The rotated person's self-review."""
    moment = utc_now(now)
    review, rotation = _load_review(session, review_id)
    if actor_id is not None and actor_id != rotation.person_id:
        raise PermissionDenied(
            "only the rotated person writes the self-review", action="rotation_self_review"
        )
    body = _text(text, "self_review")
    _step(
        session,
        review,
        expected_state=R.PENDING.value,
        to=R.SELF_REVIEWED.value,
        actor_id=actor_id,
        action="self_review",
        now=moment,
        expected_version=expected_version,
    )
    review.self_review, review.self_reviewed_at = body, moment
    session.add(review)
    session.flush()
    return RotationReviewView.model_validate(review, from_attributes=True)


def comment_rotation_review(
    session: Session,
    *,
    actor_id: int | None,
    review_id: int,
    text: str,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> RotationReviewView:
    """The receiving unit's comment (a head over the receiving unit)."""
    moment = utc_now(now)
    review, rotation = _load_review(session, review_id)
    if actor_id is not None and (
        actor_id == rotation.person_id
        or not has_role(session, person_id=actor_id, roles=[Role.HEAD], unit_id=rotation.to_unit_id)
    ):
        raise PermissionDenied("only a head of the receiving unit comments", action="rotation_comment")
    body = _text(text, "receiving_comment")
    _step(
        session,
        review,
        expected_state=R.SELF_REVIEWED.value,
        to=R.COMMENTED.value,
        actor_id=actor_id,
        action="comment",
        now=moment,
        expected_version=expected_version,
    )
    review.receiving_comment, review.receiving_by_id, review.received_at = body, actor_id, moment
    session.add(review)
    session.flush()
    return RotationReviewView.model_validate(review, from_attributes=True)


def evaluate_rotation_review(
    session: Session,
    *,
    actor_id: int | None,
    review_id: int,
    text: str,
    rules: Rules,
    grade: str | None = None,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> RotationReviewView:
    """The deciding authority's evaluation: whoever recorded the rotation, or staff over the receiving unit."""
    moment = utc_now(now)
    review, rotation = _load_review(session, review_id)
    if (
        actor_id is not None
        and actor_id != rotation.decided_by_id
        and (
            actor_id == rotation.person_id
            or not has_role(session, person_id=actor_id, roles=[Role.STAFF], unit_id=rotation.to_unit_id)
        )
    ):
        raise PermissionDenied("only the deciding authority evaluates", action="rotation_evaluation")
    body = _text(text, "evaluation")
    code = grade.strip().upper() if grade else None
    if code is not None and rules.grade(code) is None:
        raise ValidationFailed(
            f"unknown grade {grade!r}", field="grade", allowed=[g.code for g in rules.grades]
        )
    _step(
        session,
        review,
        expected_state=R.COMMENTED.value,
        to=R.EVALUATED.value,
        actor_id=actor_id,
        action="evaluate",
        now=moment,
        expected_version=expected_version,
    )
    review.evaluation, review.evaluation_grade = body, code
    review.evaluated_by_id, review.evaluated_at = actor_id, moment
    session.add(review)
    session.flush()
    return RotationReviewView.model_validate(review, from_attributes=True)


def complete_rotation(
    session: Session,
    *,
    actor_id: int | None,
    rotation_id: int,
    ended_on: date,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> RotationView:
    """Close the rotation (staff or admin over the receiving unit); reviews stay as history."""
    moment = utc_now(now)
    row = _load(session, rotation_id)
    require_role(
        session, actor_id=actor_id, roles=MANAGERS, unit_id=row.to_unit_id, action="complete_rotation"
    )
    if row.state != RotationState.ACTIVE.value:
        raise InvalidTransition(f"the rotation is {row.state}", state=row.state, action="complete")
    if ended_on < row.start_date:
        raise ValidationFailed("the end is before the start", field="ended_on")
    claim_version(session, row, expected_version=expected_version, what="rotation")
    assert row.id is not None
    record_audit(
        session,
        actor_id=actor_id,
        entity="rotation",
        entity_id=row.id,
        action="complete",
        from_state=row.state,
        to_state=RotationState.COMPLETED.value,
        now=moment,
        detail={"ended_on": ended_on.isoformat()},
    )
    row.state, row.ended_on, row.updated_at = RotationState.COMPLETED.value, ended_on, moment
    session.add(row)
    session.flush()
    return _view(session, row)


def _may_read(session: Session, actor_id: int | None, row: Rotation) -> bool:
    if actor_id is None or actor_id in (row.person_id, row.decided_by_id):
        return True
    return any(
        has_role(session, person_id=actor_id, roles=[Role.HEAD, Role.STAFF, Role.ADMIN], unit_id=u)
        for u in (row.from_unit_id, row.to_unit_id)
    )


def get_rotation(session: Session, *, actor_id: int | None, rotation_id: int) -> RotationView:
    row = _load(session, rotation_id)
    if not _may_read(session, actor_id, row):
        raise PermissionDenied("this rotation is outside your scope", action="read_rotation")
    return _view(session, row)


def list_rotations(
    session: Session, *, actor_id: int | None, person_id: int | None = None
) -> list[RotationView]:
    """Rotations the actor may see (optionally one person's), newest start first."""
    query = select(Rotation).order_by(col(Rotation.start_date).desc(), col(Rotation.id).desc())
    if person_id is not None:
        query = query.where(Rotation.person_id == person_id)
    return [_view(session, r) for r in session.exec(query).all() if _may_read(session, actor_id, r)]


def list_active_rotations(session: Session, *, person_id: int) -> list[RotationView]:
    """The person's own rotations still running (normally one)."""
    rows = session.exec(
        select(Rotation)
        .where(Rotation.person_id == person_id, Rotation.state == RotationState.ACTIVE.value)
        .order_by(col(Rotation.start_date), col(Rotation.id))
    ).all()
    return [_view(session, r) for r in rows]


def list_received_rotations(session: Session, *, actor_id: int) -> list[RotationView]:
    """Rotations still running into units the actor heads (their head scopes' subtrees), earliest start first."""
    units = scope_units(session, person_id=actor_id, roles=[Role.HEAD])
    if not units:
        return []
    rows = session.exec(
        select(Rotation)
        .where(
            Rotation.state == RotationState.ACTIVE.value,
            col(Rotation.to_unit_id).in_(units),
            Rotation.person_id != actor_id,
        )
        .order_by(col(Rotation.start_date), col(Rotation.id))
    ).all()
    return [_view(session, r) for r in rows]


def rotation_history(session: Session, *, actor_id: int | None, rotation_id: int) -> list[AuditView]:
    row = _load(session, rotation_id)
    if not _may_read(session, actor_id, row):
        raise PermissionDenied("this rotation is outside your scope", action="read_rotation")
    entries = list_audit(session, entity="rotation", entity_id=rotation_id)
    for review in session.exec(select(RotationReview).where(RotationReview.rotation_id == rotation_id)).all():
        entries += list_audit(session, entity="rotation_review", entity_id=review.id or 0)
    return sorted(entries, key=lambda e: e.id)


def rotation_counts(
    session: Session, *, actor_id: int | None, unit_id: int, start: date, end: date, on: date | None = None
) -> RotationCounts:
    """Counts for rotations touching the unit's subtree: started in [start, end], active/overdue on `on` (= end)."""
    require_role(
        session,
        actor_id=actor_id,
        roles=[Role.STAFF, Role.HEAD, Role.ADMIN],
        unit_id=unit_id,
        action="rotation_counts",
    )
    if end < start:
        raise ValidationFailed("the range ends before it starts", field="end")
    day = on or end
    scope = unit_subtree(session, unit_id)
    rows = [
        r for r in session.exec(select(Rotation)).all() if r.from_unit_id in scope or r.to_unit_id in scope
    ]
    started = [r for r in rows if start <= r.start_date <= end]
    active_ids = {
        r.id
        for r in rows
        if r.start_date <= day
        and (r.state == RotationState.ACTIVE.value or (r.ended_on and r.ended_on > day))
    }
    overdue = 0
    if active_ids:
        overdue = len(
            session.exec(
                select(RotationReview.id).where(
                    col(RotationReview.rotation_id).in_(active_ids),
                    col(RotationReview.state).not_in([R.EVALUATED.value, R.NOT_REQUIRED.value]),
                    col(RotationReview.due_date) < day,
                )
            ).all()
        )
    return RotationCounts(
        started=len(started),
        active=len(active_ids),
        completed=sum(
            1
            for r in rows
            if r.state == RotationState.COMPLETED.value and r.ended_on and start <= r.ended_on <= end
        ),
        down=sum(1 for r in started if r.direction == RotationDirection.DOWN.value),
        up=sum(1 for r in started if r.direction == RotationDirection.UP.value),
        lateral=sum(1 for r in started if r.direction == RotationDirection.LATERAL.value),
        reviews_overdue=overdue,
    )
