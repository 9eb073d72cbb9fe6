"""What is due on a date: who still has to plan, self-assess, review, decide or review a rotation (reminder input)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta

from sqlmodel import Session, col, select

from records.errors import ValidationFailed
from records.localtime import DEFAULT_TZ, local_date
from records.periods import Period, deadline
from records.rules import Rules
from records.schema import (
    Evaluation,
    EvaluationState,
    Person,
    Role,
    RoleAssignment,
    Rotation,
    RotationReview,
    RotationReviewState,
    RotationState,
    TelegramLink,
    Unit,
)
from records.views import DueItem

log = logging.getLogger(__name__)

KINDS = (
    "plan",
    "self_assessment",
    "review",
    "decision",
    "rotation_self_review",
    "rotation_comment",
    "rotation_evaluation",
)


class _Directory:
    """People, links and role scopes loaded once per call."""

    def __init__(self, session: Session) -> None:
        self.people = {p.id: p for p in session.exec(select(Person)).all()}
        self.links = {link.person_id: link for link in session.exec(select(TelegramLink)).all()}
        self._session = session
        self._holders: dict[str, dict[int, set[int]]] = {}
        self._children: dict[int | None, list[int]] = {}
        for unit in session.exec(select(Unit)).all():
            self._children.setdefault(unit.parent_id, []).append(unit.id or 0)

    def _subtree(self, unit_id: int) -> set[int]:
        found: set[int] = set()
        stack = [unit_id]
        while stack:
            uid = stack.pop()
            if uid not in found:
                found.add(uid)
                stack.extend(self._children.get(uid, []))
        return found

    def holders(self, role: Role, unit_id: int) -> list[int]:
        """Active people holding `role` with a scope covering `unit_id`."""
        if role.value not in self._holders:
            by_unit: dict[int, set[int]] = {}
            assignments = self._session.exec(
                select(RoleAssignment).where(
                    RoleAssignment.role == role.value, col(RoleAssignment.revoked_at).is_(None)
                )
            ).all()
            for assignment in assignments:
                for uid in self._subtree(assignment.unit_id):
                    by_unit.setdefault(uid, set()).add(assignment.person_id)
            self._holders[role.value] = by_unit
        found = self._holders[role.value].get(unit_id, set())
        return sorted(pid for pid in found if self.people.get(pid) is not None and self.people[pid].active)

    def item(
        self,
        *,
        kind: str,
        recipient_id: int,
        subject_id: int,
        period: str | None,
        record_id: int | None,
        due: date,
        on: date,
        record_state: str | None = None,
    ) -> DueItem:
        recipient = self.people[recipient_id]
        subject = self.people[subject_id]
        link = self.links.get(recipient_id)
        return DueItem(
            kind=kind,
            recipient_id=recipient_id,
            recipient_name=recipient.full_name,
            telegram_user_id=link.telegram_user_id if link else None,
            chat_id=link.chat_id if link else None,
            subject_person_id=subject_id,
            subject_name=subject.full_name,
            period=period,
            record_id=record_id,
            deadline=due,
            days_left=(due - on).days,
            record_state=record_state,
        )


def _evaluation_items(
    session: Session, directory: _Directory, *, on: date, rules: Rules, tz: str
) -> Iterable[DueItem]:
    current = Period.containing(on, rules.period)
    previous = current.previous
    # The self-assessment deadline falls after its period (Hà Nội: the 3rd of the next month), so its first
    # reminders ("3 days before") fall in the period's last days: the current period is due from then on.
    lead = max(rules.reminders.days_before, default=0)
    assessed = [previous] + (
        [current] if (deadline(rules, current, "self_assessment") - on).days <= lead else []
    )
    by_key = {
        (e.person_id, e.period): e
        for e in session.exec(
            select(Evaluation).where(col(Evaluation.period).in_([str(current), str(previous)]))
        ).all()
    }
    for person in directory.people.values():
        if not person.active or person.id is None:
            continue
        mine = by_key.get((person.id, str(current)))
        if mine is None or mine.plan_registered_at is None:
            yield directory.item(
                kind="plan",
                recipient_id=person.id,
                subject_id=person.id,
                period=str(current),
                record_id=mine.id if mine else None,
                due=deadline(rules, current, "plan"),
                on=on,
            )
        for period in assessed:
            last = by_key.get((person.id, str(period)))
            # Added to the roster before the period ended: on its last day in the zone `tz`, not in UTC.
            joined_before_end = local_date(person.created_at, tz) <= period.end
            if joined_before_end and (
                last is None or last.state in (EvaluationState.DRAFT.value, EvaluationState.RETURNED.value)
            ):
                yield directory.item(
                    kind="self_assessment",
                    recipient_id=person.id,
                    subject_id=person.id,
                    period=str(period),
                    record_id=last.id if last else None,
                    due=deadline(rules, period, "self_assessment"),
                    on=on,
                    record_state=last.state if last else None,
                )
    waiting = session.exec(
        select(Evaluation)
        .where(col(Evaluation.state).in_([EvaluationState.SUBMITTED.value, EvaluationState.REVIEWED.value]))
        .order_by(col(Evaluation.id))
    ).all()
    for row in waiting:
        period = Period.parse(row.period)
        subject = directory.people.get(row.person_id)
        if subject is None:
            continue
        if row.state == EvaluationState.SUBMITTED.value:
            manager = directory.people.get(subject.manager_id) if subject.manager_id else None
            recipients = (
                [manager.id]
                if manager is not None and manager.active and manager.id
                else directory.holders(Role.REVIEWER, row.unit_id)
            )
            kind, due = "review", deadline(rules, period, "review")
        else:
            recipients = directory.holders(Role.HEAD, row.unit_id)
            kind, due = "decision", deadline(rules, period, "decision")
        for recipient in recipients:
            if recipient != row.person_id:
                yield directory.item(
                    kind=kind,
                    recipient_id=recipient,
                    subject_id=row.person_id,
                    period=row.period,
                    record_id=row.id,
                    due=due,
                    on=on,
                    record_state=row.state,
                )


def _rotation_items(
    session: Session, directory: _Directory, *, on: date, horizon_days: int
) -> Iterable[DueItem]:
    rows = session.exec(
        select(RotationReview, Rotation)
        .join(Rotation, col(Rotation.id) == RotationReview.rotation_id)
        .where(
            col(RotationReview.state).not_in(
                [RotationReviewState.EVALUATED.value, RotationReviewState.NOT_REQUIRED.value]
            ),
            Rotation.state == RotationState.ACTIVE.value,
            col(RotationReview.due_date) <= on + timedelta(days=horizon_days),
        )
        .order_by(col(RotationReview.due_date), col(RotationReview.id))
    ).all()
    for review, rotation in rows:
        if review.state == RotationReviewState.PENDING.value:
            kind, recipients = "rotation_self_review", [rotation.person_id]
        elif review.state == RotationReviewState.SELF_REVIEWED.value:
            kind, recipients = "rotation_comment", directory.holders(Role.HEAD, rotation.to_unit_id)
        else:
            kind = "rotation_evaluation"
            recipients = (
                [rotation.decided_by_id]
                if rotation.decided_by_id
                else directory.holders(Role.STAFF, rotation.to_unit_id)
            )
        for recipient in recipients:
            if recipient in directory.people and (
                kind == "rotation_self_review" or recipient != rotation.person_id
            ):
                yield directory.item(
                    kind=kind,
                    recipient_id=recipient,
                    subject_id=rotation.person_id,
                    period=None,
                    record_id=review.id,
                    due=review.due_date,
                    on=on,
                )


def list_due(
    session: Session,
    *,
    on: date,
    rules: Rules,
    kinds: Iterable[str] | None = None,
    rotation_horizon_days: int = 30,
    tz: str = DEFAULT_TZ,
) -> list[DueItem]:
    """Everything outstanding on `on`, soonest deadline first.

    Plans for the current period; self-assessments for the previous one, and for the current one once its
    deadline is no more than the rules' longest reminder lead away (its "3 days before" falls in the period's last
    days); reviews and decisions for any period still waiting; rotation reviews due within `rotation_horizon_days` or overdue.
    """
    wanted = set(kinds) if kinds is not None else set(KINDS)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValidationFailed(f"unknown kinds {sorted(unknown)}", field="kinds", allowed=list(KINDS))
    directory = _Directory(session)
    items = [i for i in _evaluation_items(session, directory, on=on, rules=rules, tz=tz) if i.kind in wanted]
    items += [
        i
        for i in _rotation_items(session, directory, on=on, horizon_days=rotation_horizon_days)
        if i.kind in wanted
    ]
    items.sort(key=lambda i: (i.deadline, i.kind, i.recipient_id, i.subject_person_id))
    log.info("due on %s: %s items", on.isoformat(), len(items))
    return items


def list_reminders(session: Session, *, on: date, rules: Rules, tz: str = DEFAULT_TZ) -> list[DueItem]:
    """The due items to remind about on `on`, following the rules' reminder offsets (before and after)."""
    before = set(rules.reminders.days_before)
    after = set(rules.reminders.days_after)
    return [
        item
        for item in list_due(session, on=on, rules=rules, tz=tz)
        if (item.days_left >= 0 and item.days_left in before)
        or (item.days_left < 0 and -item.days_left in after)
    ]
