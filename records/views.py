"""Plain public views returned by the records services (never ORM objects)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class UnitView(_View):
    id: int
    code: str
    name: str
    parent_id: int | None
    outstanding: bool


class PersonView(_View):
    id: int
    cadre_code: str
    full_name: str
    phone: str | None
    position: str
    unit_id: int
    unit_code: str
    unit_name: str
    manager_id: int | None
    active: bool


class RoleView(_View):
    id: int
    person_id: int
    role: str
    unit_id: int
    unit_code: str
    unit_name: str
    granted_at: datetime


class TelegramLinkView(_View):
    person_id: int
    telegram_user_id: int
    chat_id: int | None
    via: str
    linked_at: datetime


class InviteView(_View):
    """The plain code is only available here, once, when issued."""

    code: str
    person_id: int
    cadre_code: str
    expires_at: datetime


class AuditView(_View):
    id: int
    at: datetime
    actor_id: int | None
    entity: str
    entity_id: int
    action: str
    from_state: str | None
    to_state: str | None
    detail: dict[str, Any] | None


class AuditRun(_View):
    """Consecutive identical entries shown as one: the last entry, how many, and when the first happened."""

    entry: AuditView
    count: int
    first_at: datetime


class TaskView(_View):
    id: int
    position: int
    title: str
    expected_result: str
    deadline: date | None
    result: str | None
    result_note: str | None
    copied_from_id: int | None
    action_item_id: int | None


class EvaluationView(_View):
    id: int
    person_id: int
    person_name: str
    cadre_code: str
    unit_id: int
    period: str
    period_kind: str
    state: str
    version: int
    plan_registered_at: datetime | None
    tasks: tuple[TaskView, ...]
    plan_sent_digest: str | None = None
    plan_sent_at: datetime | None = None
    plan_change_reason: str | None = None
    self_points: dict[str, float] | None
    self_total: float | None
    proposed_grade: str | None
    self_comment: str | None
    submitted_at: datetime | None
    late: bool
    reviewer_id: int | None
    review_points: dict[str, float] | None
    review_total: float | None
    review_grade: str | None
    review_comment: str | None
    reviewed_at: datetime | None
    return_reason: str | None
    decided_by_id: int | None
    final_grade: str | None
    final_total: float | None
    decision_comment: str | None
    decided_at: datetime | None
    reopen_count: int

    @property
    def locked(self) -> bool:
        return self.state == "decided"


class PlanSent(_View):
    """What finishing a work plan did: sent to the direct manager, unchanged since it was last sent, or nobody
    to send it to (no manager and no reviewer over the unit)."""

    evaluation: EvaluationView
    outcome: str  # "sent" | "unchanged" | "nobody"
    update: bool = False  # an earlier version had been sent
    reviewer_ids: tuple[int, ...] = ()


class WaitingReview(_View):
    """A submitted self-assessment waiting for this reviewer (or head), oldest first."""

    evaluation_id: int
    version: int
    person_id: int
    person_name: str
    cadre_code: str
    period: str
    state: str
    submitted_at: datetime | None
    late: bool
    proposed_grade: str | None
    self_total: float | None
    review_grade: str | None


class ActionItemView(_View):
    id: int
    position: int
    commitment: str
    target: str
    deadline: date
    progress_percent: int
    last_progress_at: datetime | None


class ProgressView(_View):
    id: int
    item_id: int
    percent: int
    note: str
    by_person_id: int | None
    at: datetime


class ProgrammeView(_View):
    id: int
    person_id: int
    person_name: str
    unit_id: int
    post: str
    term_start: date
    term_end: date
    publicity: str
    state: str
    version: int
    items: tuple[ActionItemView, ...]
    submitted_at: datetime | None
    confirmed_by_id: int | None
    confirmed_at: datetime | None
    return_reason: str | None
    closing_assessment: str | None
    closed_at: datetime | None


class ProgrammeDigest(_View):
    """A programme as another reader sees it: its owner and unit, and each item's latest progress update."""

    programme: ProgrammeView
    person_code: str
    unit_code: str
    unit_name: str
    latest: dict[
        int, ProgressView
    ]  # item id → the item's latest progress update (items never updated absent)


class PublicProgrammes(_View):
    """The public programmes of a unit subtree, for the bodies that supervise them outside the roster.

    By default only the programmes in progress (confirmed); `include_ended` adds those whose term has ended
    (closed). `ended_left_out` counts the closed public programmes a default list left out (0 when included)."""

    unit_code: str
    unit_name: str
    programmes: tuple[ProgrammeDigest, ...]
    include_ended: bool = False
    ended_left_out: int = 0


class EvidenceItem(_View):
    """An action-programme item shown beside a self-assessment."""

    programme_id: int
    post: str
    item_id: int
    commitment: str
    target: str
    deadline: date
    progress_percent: int


class RotationReviewView(_View):
    id: int
    rotation_id: int
    kind: str
    due_date: date
    state: str
    version: int
    self_review: str | None
    receiving_comment: str | None
    receiving_by_id: int | None
    evaluation: str | None
    evaluation_grade: str | None
    evaluated_by_id: int | None


class RotationView(_View):
    id: int
    person_id: int
    person_name: str
    from_unit_id: int
    to_unit_id: int
    from_unit_code: str
    from_unit_name: str
    to_unit_code: str
    to_unit_name: str
    from_post: str
    to_post: str
    start_date: date
    planned_end: date
    direction: str
    state: str
    ended_on: date | None
    decided_by_id: int | None
    version: int
    created_at: datetime  # when the rotation was recorded (its start may lie before)
    reviews: tuple[RotationReviewView, ...]


class DueItem(_View):
    """Who (recipient) still has to do what, for whom (subject) and which period, by when."""

    kind: str  # plan | self_assessment | review | decision | rotation_self_review | rotation_comment | rotation_evaluation
    recipient_id: int
    recipient_name: str
    telegram_user_id: int | None
    chat_id: int | None
    subject_person_id: int
    subject_name: str
    period: str | None
    record_id: int | None
    deadline: date
    days_left: int
    record_state: str | None = None  # the evaluation's state for evaluation items (None: no record yet)

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


class RotationCounts(_View):
    """What a committee reports about rotations in a scope and date range."""

    started: int
    active: int
    completed: int
    down: int  # moved down towards the grassroots
    up: int  # moved up towards the city
    lateral: int
    reviews_overdue: int
