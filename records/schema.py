"""The records tables: units, people, Telegram links, roles, invites, evaluations, programmes, rotations, audit."""

# No `from __future__ import annotations` here: SQLModel reads the annotations at class creation.

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class Role(StrEnum):
    CADRE = "cadre"
    REVIEWER = "reviewer"
    HEAD = "head"
    STAFF = "staff"
    ADMIN = "admin"


class EvaluationState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    REVIEWED = "reviewed"
    DECIDED = "decided"


class TaskResult(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    NOT_DONE = "not_done"


class ProgrammeState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    CONFIRMED = "confirmed"
    CLOSED = "closed"


class Publicity(StrEnum):
    INTERNAL = "internal"
    PARTY_CELL = "party_cell"
    PUBLIC = "public"


class RotationState(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"


class RotationDirection(StrEnum):
    DOWN = "down"  # towards the grassroots (a deeper unit in the tree)
    UP = "up"  # towards the city (a shallower unit)
    LATERAL = "lateral"


class RotationReviewKind(StrEnum):
    PERIODIC = "periodic"
    FINAL = "final"


class RotationReviewState(StrEnum):
    PENDING = "pending"
    SELF_REVIEWED = "self_reviewed"
    COMMENTED = "commented"
    EVALUATED = "evaluated"
    # Due before the day the rotation was recorded (a back-dated start): history, nobody's work, no reminder.
    NOT_REQUIRED = "not_required"


class Unit(SQLModel, table=True):
    """A node of the organisation tree (Thành ủy → quận/huyện ủy → xã/phường → chi bộ)."""

    __tablename__ = "unit"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True)
    name: str
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    outstanding: bool = False  # flagged for outstanding results: the higher grade-A quota applies
    created_at: datetime
    updated_at: datetime


class Person(SQLModel, table=True):
    """A cadre on the roster."""

    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    cadre_code: str = Field(index=True, unique=True)
    full_name: str
    phone: str | None = Field(default=None, index=True, unique=True)  # normalised: 0xxxxxxxxx
    position: str = ""
    unit_id: int = Field(foreign_key="unit.id", index=True)
    manager_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    active: bool = True
    created_at: datetime
    updated_at: datetime


class TelegramLink(SQLModel, table=True):
    """A Telegram account signed in as a person (one account per person, one person per account)."""

    __tablename__ = "telegram_link"

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True, index=True))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    person_id: int = Field(foreign_key="person.id", unique=True, index=True)
    via: str = "phone"  # "phone" (shared contact) or "invite"
    linked_at: datetime


class RoleAssignment(SQLModel, table=True):
    """A role held over a unit and its subtree; revoked assignments stay as history."""

    __tablename__ = "role_assignment"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(index=True)  # a Role value
    unit_id: int = Field(foreign_key="unit.id", index=True)
    granted_at: datetime
    granted_by_id: int | None = Field(default=None, foreign_key="person.id")
    revoked_at: datetime | None = None
    revoked_by_id: int | None = Field(default=None, foreign_key="person.id")


class InviteCode(SQLModel, table=True):
    """A one-time sign-in code for a person; only its SHA-256 is stored."""

    __tablename__ = "invite_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(index=True, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    issued_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None = None
    redeemed_telegram_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class Evaluation(SQLModel, table=True):
    """One person's plan, self-assessment, review and decision for one period ("2026-05" or "2026-Q2")."""

    __tablename__ = "evaluation"
    __table_args__ = (
        UniqueConstraint("person_id", "period", name="uq_evaluation_person_period"),
        Index("ix_evaluation_unit_period", "unit_id", "period"),
        # Covers the period summary: equality on period, per-unit groups in index order, counted columns.
        Index("ix_evaluation_summary", "period", "unit_id", "state", "late", "final_grade"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")  # the person's unit when the record was opened
    period: str = Field(index=True)
    period_kind: str = "month"  # "month" or "quarter"
    state: str = Field(default=EvaluationState.DRAFT.value, index=True)
    plan_registered_at: datetime | None = None
    # The plan as last sent to the direct manager (a digest of its tasks: the same plan is not sent twice),
    # and the manager's pending request to change it (cleared when a changed plan is sent).
    plan_sent_digest: str | None = Field(default=None, max_length=64)
    plan_sent_at: datetime | None = None
    plan_change_reason: str | None = None
    plan_change_requested_at: datetime | None = None
    # Self-assessment
    self_points: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    self_total: float | None = None
    proposed_grade: str | None = None
    self_comment: str | None = None
    submitted_at: datetime | None = None
    late: bool = False
    # Review by the direct manager
    reviewer_id: int | None = Field(default=None, foreign_key="person.id")
    review_points: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    review_total: float | None = None
    review_grade: str | None = None
    review_comment: str | None = None
    reviewed_at: datetime | None = None
    return_reason: str | None = None
    returned_at: datetime | None = None
    # Decision by the head (locks the record)
    decided_by_id: int | None = Field(default=None, foreign_key="person.id")
    final_grade: str | None = None
    final_total: float | None = None
    decision_comment: str | None = None
    decided_at: datetime | None = None
    reopen_count: int = 0
    version: int = 1
    created_at: datetime
    updated_at: datetime


class EvaluationTask(SQLModel, table=True):
    """A planned task of a period, with its self-assessed result."""

    __tablename__ = "evaluation_task"

    id: int | None = Field(default=None, primary_key=True)
    evaluation_id: int = Field(foreign_key="evaluation.id", index=True)
    position: int = 0
    title: str
    expected_result: str = ""
    deadline: date | None = None
    result: str | None = None  # a TaskResult value once self-assessed
    result_note: str | None = None
    copied_from_id: int | None = Field(default=None, foreign_key="evaluation_task.id")
    action_item_id: int | None = Field(default=None, foreign_key="action_item.id")
    created_at: datetime


class ActionProgramme(SQLModel, table=True):
    """A cadre's action programme for a new post and term."""

    __tablename__ = "action_programme"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    post: str
    term_start: date
    term_end: date
    publicity: str = Publicity.INTERNAL.value
    state: str = Field(default=ProgrammeState.DRAFT.value, index=True)
    submitted_at: datetime | None = None
    confirmed_by_id: int | None = Field(default=None, foreign_key="person.id")
    confirmed_at: datetime | None = None
    return_reason: str | None = None
    returned_at: datetime | None = None
    closing_assessment: str | None = None
    closed_at: datetime | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime


class ActionItem(SQLModel, table=True):
    """One commitment of a programme, with a measurable target and a deadline."""

    __tablename__ = "action_item"

    id: int | None = Field(default=None, primary_key=True)
    programme_id: int = Field(foreign_key="action_programme.id", index=True)
    position: int = 0
    commitment: str
    target: str
    deadline: date
    progress_percent: int = 0
    last_progress_at: datetime | None = None
    created_at: datetime


class ActionProgress(SQLModel, table=True):
    """A progress update on an action item (append-only)."""

    __tablename__ = "action_progress"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="action_item.id", index=True)
    percent: int
    note: str = ""
    by_person_id: int | None = Field(default=None, foreign_key="person.id")
    at: datetime


class Rotation(SQLModel, table=True):
    """A rotation (luân chuyển) of a person from one unit and post to another."""

    __tablename__ = "rotation"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    from_unit_id: int = Field(foreign_key="unit.id")
    to_unit_id: int = Field(foreign_key="unit.id", index=True)
    from_post: str
    to_post: str
    start_date: date
    planned_end: date
    direction: str = RotationDirection.LATERAL.value
    state: str = Field(default=RotationState.ACTIVE.value, index=True)
    ended_on: date | None = None
    decided_by_id: int | None = Field(default=None, foreign_key="person.id")
    version: int = 1
    created_at: datetime
    updated_at: datetime


class RotationReview(SQLModel, table=True):
    """A review of a rotation, due every N months and at the end."""

    __tablename__ = "rotation_review"
    __table_args__ = (UniqueConstraint("rotation_id", "due_date", name="uq_rotation_review_due"),)

    id: int | None = Field(default=None, primary_key=True)
    rotation_id: int = Field(foreign_key="rotation.id", index=True)
    kind: str = RotationReviewKind.PERIODIC.value
    due_date: date = Field(index=True)
    state: str = Field(default=RotationReviewState.PENDING.value, index=True)
    self_review: str | None = None
    self_reviewed_at: datetime | None = None
    receiving_comment: str | None = None
    receiving_by_id: int | None = Field(default=None, foreign_key="person.id")
    received_at: datetime | None = None
    evaluation: str | None = None
    evaluation_grade: str | None = None
    evaluated_by_id: int | None = Field(default=None, foreign_key="person.id")
    evaluated_at: datetime | None = None
    version: int = 1
    created_at: datetime


class AuditEntry(SQLModel, table=True):
    """Append-only history: who did what to which record, when, from what to what."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    entity: str
    entity_id: int
    action: str
    from_state: str | None = None
    to_state: str | None = None
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class RosterUploadState(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    CANCELLED = "cancelled"


class RosterUpload(SQLModel, table=True):
    """A roster file waiting for an admin's confirmation (its import would deactivate people or revoke roles).

    The file is kept only while pending: applying or cancelling empties `data`.
    """

    __tablename__ = "roster_upload"

    id: int | None = Field(default=None, primary_key=True)
    filename: str
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    state: str = Field(default=RosterUploadState.PENDING.value, index=True)
    created_at: datetime
    decided_at: datetime | None = None
    mode: str | None = None  # "full" or "supplement" once applied


TABLES: tuple[type[SQLModel], ...] = (
    Unit,
    Person,
    TelegramLink,
    RoleAssignment,
    InviteCode,
    Evaluation,
    EvaluationTask,
    ActionProgramme,
    ActionItem,
    ActionProgress,
    Rotation,
    RotationReview,
    AuditEntry,
    RosterUpload,
)
