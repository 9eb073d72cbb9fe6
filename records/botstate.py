"""The bot's own durable state: processed updates, conversations, answers, feedback, staff hand-offs (and the
copies sent to staff), jobs, leases."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Text,
    UniqueConstraint,
    case,
    delete,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from records.errors import ConcurrentUpdate, LeaseLost, NotFound, ValidationFailed
from records.schema import Person, RoleAssignment, TelegramLink

MAX_STATE_DATA_CHARS = 20_000


def _now() -> datetime:
    return datetime.now(UTC)


# --- Tables ---------------------------------------------------------------------------------------


class BotUpdate(SQLModel, table=True):
    """One row per Telegram update id the bot has started (and maybe finished) handling."""

    __tablename__ = "bot_update"

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    run_id: str = Field(max_length=40)
    status: str = Field(default="started", max_length=16)  # started | done
    created_at: datetime = Field(default_factory=_now, index=True)


class BotConversation(SQLModel, table=True):
    """The current step of a multi-message conversation of a user in a chat (at most one)."""

    __tablename__ = "bot_conversation"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    state: str = Field(max_length=64)
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=_now)


class BotAnswer(SQLModel, table=True):
    """A regulation answer the bot sent: the anchor for feedback, 'full article' and hand-off buttons."""

    __tablename__ = "bot_answer"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    question: str = Field(sa_column=Column(Text, nullable=False))
    found: bool
    chunk_ids: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list, best first
    created_at: datetime = Field(default_factory=_now)


class BotFeedback(SQLModel, table=True):
    """👍/👎 on an answer: one vote per user and answer (a second tap changes, never duplicates)."""

    __tablename__ = "bot_feedback"

    answer_id: int = Field(foreign_key="bot_answer.id", primary_key=True)
    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    vote: int  # +1 or -1
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


class BotHandoff(SQLModel, table=True):
    """An unanswered question passed to committee staff; staff's reply is sent back to the asker."""

    __tablename__ = "bot_handoff"

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="bot_answer.id", unique=True)
    asker_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    asker_user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    question: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="open", max_length=16)  # open | answered
    answered_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=_now)
    answered_at: datetime | None = None


class BotHandoffCopy(SQLModel, table=True):
    """A message carrying a hand-off's «Trả lời» button, sent to one staff chat (edited once it is answered)."""

    __tablename__ = "bot_handoff_copy"
    __table_args__ = (UniqueConstraint("chat_id", "message_id", name="uq_bot_handoff_copy_message"),)

    id: int | None = Field(default=None, primary_key=True)
    handoff_id: int = Field(foreign_key="bot_handoff.id", index=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(default_factory=_now)


class BotJob(SQLModel, table=True):
    """A scheduled job the bot re-creates at start (the job queue itself lives in memory)."""

    __tablename__ = "bot_job"

    name: str = Field(primary_key=True, max_length=120)
    kind: str = Field(max_length=64)  # the feature's registered job kind
    run_at: datetime  # next run (aware, UTC)
    interval_s: int | None = None  # repeat every N seconds; None = once
    data: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=_now)


class BotLease(SQLModel, table=True):
    """A named lease held by one bot process until `expires_at` (renewed while held).

    Job runs hold "job:<name>" so that of several processes on one database only one runs a job; every
    process holds "run:<run id>" while it is alive, so another can tell a crashed process from a busy one.
    """

    __tablename__ = "bot_lease"

    name: str = Field(primary_key=True, max_length=160)
    holder: str = Field(max_length=80)
    acquired_at: datetime
    expires_at: datetime = Field(index=True)


# --- Public views ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationState:
    chat_id: int
    user_id: int
    state: str
    data: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class AnswerRecord:
    id: int
    chat_id: int
    user_id: int
    question: str
    found: bool
    chunk_ids: list[str]
    created_at: datetime


@dataclass(frozen=True)
class HandoffRecord:
    id: int
    answer_id: int
    asker_chat_id: int
    asker_user_id: int
    question: str
    status: str
    answered_by: int | None
    reply: str | None
    created_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True)
class HandoffCopy:
    handoff_id: int
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class JobRecord:
    name: str
    kind: str
    run_at: datetime
    interval_s: int | None
    data: dict[str, Any]


@dataclass(frozen=True)
class FeedbackCounts:
    up: int
    down: int


def create_tables(engine: Engine) -> None:
    """Create the bot tables directly (tests and first runs before migrations know them)."""
    tables = [
        SQLModel.metadata.tables[name]
        for name in (
            "bot_update",
            "bot_conversation",
            "bot_answer",
            "bot_feedback",
            "bot_handoff",
            "bot_handoff_copy",
            "bot_job",
            "bot_lease",
        )
    ]
    SQLModel.metadata.create_all(engine, tables=tables)


# --- Processed updates ----------------------------------------------------------------------------


def _insert(engine: Engine, table: Any) -> Any:
    """INSERT in the engine's dialect, for `on_conflict_do_…` (SQLite and PostgreSQL share that API)."""
    return postgresql_insert(table) if engine.dialect.name == "postgresql" else sqlite_insert(table)


class Claim(StrEnum):
    """What `claim_update` found."""

    CLAIMED = "claimed"  # this run handles the update now
    HANDLED = "handled"  # finished by some run, or already being handled by this one: drop it
    BUSY = "busy"  # being handled by another live process: ask again later


def run_lease_name(run_id: str) -> str:
    """The lease a live process holds on its run id."""
    return f"run:{run_id}"


def claim_update(engine: Engine, *, update_id: int, run_id: str) -> Claim:
    """Claim an update for handling.

    HANDLED when it was finished by any run, or is being handled by this one; BUSY when another process
    started it and is still alive (it holds its "run:" lease); an update started by a run that died
    (no live lease) is claimed again.
    """
    with engine.begin() as conn:  # Core, not the ORM: this runs for every update
        inserted = conn.execute(
            _insert(engine, BotUpdate)
            .values(update_id=update_id, run_id=run_id, status="started", created_at=_now())
            .on_conflict_do_nothing(index_elements=["update_id"])
            .returning(BotUpdate.update_id)  # type: ignore[call-overload]
        ).first()
        if inserted is not None:
            return Claim.CLAIMED
        row = conn.execute(
            select(BotUpdate.run_id, BotUpdate.status).where(BotUpdate.update_id == update_id)  # type: ignore[call-overload]
        ).first()
        if row is None or row.status != "started" or row.run_id == run_id:
            return Claim.HANDLED
        owner = row.run_id
    if lease_holder(engine, name=run_lease_name(owner)) is not None:
        return Claim.BUSY
    with engine.begin() as conn:
        result = conn.execute(
            update(BotUpdate)
            .where(
                BotUpdate.update_id == update_id,  # type: ignore[arg-type]
                BotUpdate.status == "started",  # type: ignore[arg-type]
                BotUpdate.run_id == owner,  # type: ignore[arg-type]
            )
            .values(run_id=run_id, created_at=_now())
        )
        return Claim.CLAIMED if result.rowcount else Claim.HANDLED


def finish_update(engine: Engine, *, update_id: int) -> None:
    """Mark a claimed update as fully handled."""
    with engine.begin() as conn:
        conn.execute(
            update(BotUpdate).where(BotUpdate.update_id == update_id).values(status="done")  # type: ignore[arg-type]
        )


def prune_updates(engine: Engine, *, older_than: timedelta) -> int:
    """Forget processed update ids older than `older_than` (Telegram redelivers for at most 24 h)."""
    with Session(engine) as session:
        result = session.execute(delete(BotUpdate).where(BotUpdate.created_at < _now() - older_than))  # type: ignore[arg-type]
        session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]


# --- Conversations --------------------------------------------------------------------------------


def load_conversation(engine: Engine, *, chat_id: int, user_id: int) -> ConversationState | None:
    """The conversation step of `user_id` in `chat_id`, or None when idle."""
    with Session(engine) as session:
        row = session.get(BotConversation, (chat_id, user_id))
        if row is None:
            return None
        return ConversationState(
            chat_id=row.chat_id,
            user_id=row.user_id,
            state=row.state,
            data=json.loads(row.data or "{}"),
            updated_at=row.updated_at,
        )


def save_conversation(
    engine: Engine, *, chat_id: int, user_id: int, state: str, data: dict[str, Any] | None = None
) -> None:
    """Set (insert or replace) the conversation step; `data` must be JSON-serialisable and small."""
    if not state or len(state) > 64:
        raise ValidationFailed("conversation state name must be 1-64 characters", field="state")
    encoded = json.dumps(data or {}, ensure_ascii=False)
    if len(encoded) > MAX_STATE_DATA_CHARS:
        raise ValidationFailed("conversation data too large", field="data", limit=MAX_STATE_DATA_CHARS)
    values = {"chat_id": chat_id, "user_id": user_id, "state": state, "data": encoded, "updated_at": _now()}
    statement = _insert(engine, BotConversation).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["chat_id", "user_id"],
        set_={"state": state, "data": encoded, "updated_at": values["updated_at"]},
    )
    with Session(engine) as session:  # one statement: no read, no race between two first steps
        session.execute(statement)
        session.commit()


def clear_conversation(engine: Engine, *, chat_id: int, user_id: int) -> bool:
    """End the conversation; True when there was one."""
    with Session(engine) as session:
        result = session.execute(
            delete(BotConversation).where(
                BotConversation.chat_id == chat_id,  # type: ignore[arg-type]
                BotConversation.user_id == user_id,  # type: ignore[arg-type]
            )
        )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


# --- Answers and feedback -------------------------------------------------------------------------


def _answer_view(row: BotAnswer) -> AnswerRecord:
    assert row.id is not None
    return AnswerRecord(
        id=row.id,
        chat_id=row.chat_id,
        user_id=row.user_id,
        question=row.question,
        found=row.found,
        chunk_ids=list(json.loads(row.chunk_ids or "[]")),
        created_at=row.created_at,
    )


def record_answer(
    engine: Engine, *, chat_id: int, user_id: int, question: str, found: bool, chunk_ids: list[str]
) -> AnswerRecord:
    """Store an answer that was (about to be) sent, returning its id for the buttons."""
    with Session(engine, expire_on_commit=False) as session:
        row = BotAnswer(
            chat_id=chat_id,
            user_id=user_id,
            question=question,
            found=found,
            chunk_ids=json.dumps(chunk_ids, ensure_ascii=False),
        )
        session.add(row)
        session.commit()
        return _answer_view(row)


def get_answer(engine: Engine, *, answer_id: int) -> AnswerRecord:
    """The stored answer; `NotFound` when unknown."""
    with Session(engine) as session:
        row = session.get(BotAnswer, answer_id)
        if row is None:
            raise NotFound("answer not found", answer_id=answer_id)
        return _answer_view(row)


def record_feedback(engine: Engine, *, answer_id: int, user_id: int, vote: int) -> str:
    """Store a 👍 (+1) / 👎 (-1). Returns "saved", "changed" or "unchanged" (a repeated tap)."""
    if vote not in (1, -1):
        raise ValidationFailed("vote must be +1 or -1", field="vote")
    get_answer(engine, answer_id=answer_id)
    for _attempt in range(2):
        with Session(engine) as session:
            row = session.get(BotFeedback, (answer_id, user_id))
            if row is not None:
                if row.vote == vote:
                    return "unchanged"
                row.vote, row.updated_at = vote, _now()
                session.add(row)
                session.commit()
                return "changed"
            session.add(BotFeedback(answer_id=answer_id, user_id=user_id, vote=vote))
            try:
                session.commit()
                return "saved"
            except IntegrityError:
                session.rollback()
    return "unchanged"


def feedback_counts(engine: Engine, *, since: datetime | None = None) -> FeedbackCounts:
    """Totals of 👍 and 👎 (for staff review)."""
    with Session(engine) as session:
        stmt = select(BotFeedback.vote, func.count()).group_by(BotFeedback.vote)  # type: ignore[call-overload]
        if since is not None:
            stmt = stmt.where(BotFeedback.updated_at >= since)
        counts = {int(vote): int(n) for vote, n in session.execute(stmt)}
    return FeedbackCounts(up=counts.get(1, 0), down=counts.get(-1, 0))


def disliked_answers(engine: Engine, *, limit: int = 50) -> list[AnswerRecord]:
    """Answers that received a 👎, newest first (for staff review)."""
    with Session(engine) as session:
        rows = session.scalars(
            select(BotAnswer)
            .join(BotFeedback, BotFeedback.answer_id == BotAnswer.id)  # type: ignore[arg-type]
            .where(BotFeedback.vote == -1)  # type: ignore[arg-type]
            .distinct()
            .order_by(BotAnswer.id.desc())  # type: ignore[union-attr]
            .limit(limit)
        ).all()
        return [_answer_view(r) for r in rows]


# --- Hand-offs to staff ---------------------------------------------------------------------------


def _handoff_view(row: BotHandoff) -> HandoffRecord:
    assert row.id is not None
    return HandoffRecord(
        id=row.id,
        answer_id=row.answer_id,
        asker_chat_id=row.asker_chat_id,
        asker_user_id=row.asker_user_id,
        question=row.question,
        status=row.status,
        answered_by=row.answered_by,
        reply=row.reply,
        created_at=row.created_at,
        answered_at=row.answered_at,
    )


def open_handoff(engine: Engine, *, answer_id: int) -> tuple[HandoffRecord, bool]:
    """Pass the question of an answer to staff. Returns (hand-off, created); a repeat returns the first one."""
    answer = get_answer(engine, answer_id=answer_id)
    with Session(engine, expire_on_commit=False) as session:
        row = BotHandoff(
            answer_id=answer.id,
            asker_chat_id=answer.chat_id,
            asker_user_id=answer.user_id,
            question=answer.question,
        )
        session.add(row)
        try:
            session.commit()
            return _handoff_view(row), True
        except IntegrityError:
            session.rollback()
    with Session(engine) as session:
        existing = session.scalars(
            select(BotHandoff).where(BotHandoff.answer_id == answer_id)  # type: ignore[arg-type]
        ).one()
        return _handoff_view(existing), False


def get_handoff(engine: Engine, *, handoff_id: int) -> HandoffRecord:
    """The hand-off; `NotFound` when unknown."""
    with Session(engine) as session:
        row = session.get(BotHandoff, handoff_id)
        if row is None:
            raise NotFound("hand-off not found", handoff_id=handoff_id)
        return _handoff_view(row)


def handoff_for_answer(engine: Engine, *, answer_id: int) -> HandoffRecord | None:
    """The hand-off opened for an answer (open or answered), or None when it was never handed off."""
    with Session(engine) as session:
        row = session.scalars(
            select(BotHandoff).where(BotHandoff.answer_id == answer_id)  # type: ignore[arg-type]
        ).one_or_none()
        return _handoff_view(row) if row is not None else None


def answer_handoff(engine: Engine, *, handoff_id: int, staff_user_id: int, reply: str) -> HandoffRecord:
    """Record staff's reply once. `ConcurrentUpdate` when someone already answered it."""
    if not reply.strip():
        raise ValidationFailed("empty reply", field="reply")
    get_handoff(engine, handoff_id=handoff_id)
    with Session(engine) as session:
        result = session.execute(
            update(BotHandoff)
            .where(BotHandoff.id == handoff_id, BotHandoff.status == "open")  # type: ignore[arg-type]
            .values(status="answered", answered_by=staff_user_id, reply=reply, answered_at=_now())
        )
        session.commit()
        if not result.rowcount:  # type: ignore[attr-defined]
            raise ConcurrentUpdate("already answered", handoff_id=handoff_id)
    return get_handoff(engine, handoff_id=handoff_id)


def record_handoff_copy(engine: Engine, *, handoff_id: int, chat_id: int, message_id: int) -> None:
    """Remember a message that offers staff «Trả lời» for the hand-off (a repeat is ignored)."""
    with engine.begin() as conn:
        conn.execute(
            _insert(engine, BotHandoffCopy)
            .values(handoff_id=handoff_id, chat_id=chat_id, message_id=message_id, created_at=_now())
            .on_conflict_do_nothing(index_elements=["chat_id", "message_id"])
        )


def handoff_copies(engine: Engine, *, handoff_id: int) -> list[HandoffCopy]:
    """The messages sent to staff for the hand-off, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(BotHandoffCopy.chat_id, BotHandoffCopy.message_id)  # type: ignore[call-overload]
            .where(BotHandoffCopy.handoff_id == handoff_id)
            .order_by(BotHandoffCopy.id)
        ).all()
    return [HandoffCopy(handoff_id, int(chat_id), int(message_id)) for chat_id, message_id in rows]


def open_handoffs(engine: Engine, *, limit: int = 50) -> list[HandoffRecord]:
    """Unanswered hand-offs, oldest first."""
    with Session(engine) as session:
        rows = session.scalars(
            select(BotHandoff)
            .where(BotHandoff.status == "open")  # type: ignore[arg-type]
            .order_by(BotHandoff.id)  # type: ignore[arg-type]
            .limit(limit)
        ).all()
        return [_handoff_view(r) for r in rows]


def linked_chats_with_roles(engine: Engine, *, roles: list[str]) -> list[int]:
    """Private chat ids of active, signed-in people holding any of `roles` (one query; for hand-offs)."""
    with Session(engine) as session:
        rows = session.execute(
            select(TelegramLink.chat_id, TelegramLink.telegram_user_id)  # type: ignore[call-overload]
            .join(Person, Person.id == TelegramLink.person_id)  # type: ignore[arg-type]
            .join(RoleAssignment, RoleAssignment.person_id == Person.id)  # type: ignore[arg-type]
            .where(
                Person.active.is_(True),  # type: ignore[attr-defined]
                RoleAssignment.role.in_(roles),  # type: ignore[attr-defined]
                RoleAssignment.revoked_at.is_(None),  # type: ignore[union-attr]
            )
            .distinct()
        ).all()
    return sorted({int(chat_id or user_id) for chat_id, user_id in rows})


# --- Scheduled jobs -------------------------------------------------------------------------------


def save_job(
    engine: Engine,
    *,
    name: str,
    kind: str,
    run_at: datetime,
    interval_s: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Insert or replace a scheduled job (`run_at` timezone-aware)."""
    if interval_s is not None and interval_s <= 0:
        raise ValidationFailed("interval must be positive", field="interval_s")
    encoded = json.dumps(data or {}, ensure_ascii=False)
    with engine.begin() as conn:
        _upsert_job(conn, engine, name=name, kind=kind, run_at=run_at, interval_s=interval_s, data=encoded)


def _upsert_job(
    conn: Any, engine: Engine, *, name: str, kind: str, run_at: datetime, interval_s: int | None, data: str
) -> None:
    """One statement, so two processes saving the same job at once never collide on the key."""
    values = {"kind": kind, "run_at": run_at, "interval_s": interval_s, "data": data}
    conn.execute(
        _insert(engine, BotJob)
        .values(name=name, created_at=_now(), **values)
        .on_conflict_do_update(index_elements=["name"], set_=values)
    )


def save_job_under_lease(
    engine: Engine,
    *,
    lease: str,
    holder: str,
    ttl: timedelta,
    name: str,
    kind: str,
    run_at: datetime,
    interval_s: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Renew `lease` and save the job in one transaction; `LeaseLost` (nothing saved) when another
    process holds the lease now. A job's progress is written only by the process that runs it."""
    encoded = json.dumps(data or {}, ensure_ascii=False)
    now = _now()
    with engine.begin() as conn:
        renewed = conn.execute(
            update(BotLease)
            .where(
                BotLease.name == lease,  # type: ignore[arg-type]
                BotLease.holder == holder,  # type: ignore[arg-type]
                BotLease.expires_at >= now,  # type: ignore[arg-type]
            )
            .values(expires_at=now + ttl)
        )
        if not renewed.rowcount:
            raise LeaseLost("the lease was taken over by another process", lease=lease)
        _upsert_job(conn, engine, name=name, kind=kind, run_at=run_at, interval_s=interval_s, data=encoded)


def delete_job(engine: Engine, *, name: str) -> bool:
    """Forget a scheduled job; True when it existed."""
    with Session(engine) as session:
        result = session.execute(delete(BotJob).where(BotJob.name == name))  # type: ignore[arg-type]
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


def list_jobs(engine: Engine) -> list[JobRecord]:
    """Every scheduled job, by name."""
    with Session(engine) as session:
        rows = session.scalars(select(BotJob).order_by(BotJob.name)).all()  # type: ignore[arg-type]
        return [
            JobRecord(
                name=r.name, kind=r.kind, run_at=r.run_at, interval_s=r.interval_s, data=json.loads(r.data)
            )
            for r in rows
        ]


# --- Leases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaseRecord:
    name: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


def acquire_lease(engine: Engine, *, name: str, holder: str, ttl: timedelta) -> bool:
    """Take `name` for `ttl` when it is free or expired, or renew it when `holder` has it already.

    One statement (an upsert with a condition), so of two processes asking at once exactly one wins.
    """
    if ttl <= timedelta(0):
        raise ValidationFailed("lease time must be positive", field="ttl")
    now = _now()
    table = BotLease.__table__  # type: ignore[attr-defined]
    statement = _insert(engine, BotLease).values(
        name=name, holder=holder, acquired_at=now, expires_at=now + ttl
    )
    statement = statement.on_conflict_do_update(
        index_elements=["name"],
        set_={
            "holder": holder,
            "expires_at": now + ttl,
            "acquired_at": case((table.c.holder == holder, table.c.acquired_at), else_=now),
        },
        where=or_(table.c.expires_at < now, table.c.holder == holder),
    ).returning(table.c.name)
    with engine.begin() as conn:
        return conn.execute(statement).first() is not None


def release_lease(engine: Engine, *, name: str, holder: str) -> bool:
    """Give `name` up (only its holder can); True when it was held."""
    with engine.begin() as conn:
        result = conn.execute(
            delete(BotLease).where(BotLease.name == name, BotLease.holder == holder)  # type: ignore[arg-type]
        )
        return bool(result.rowcount)


def lease_holder(engine: Engine, *, name: str) -> str | None:
    """Who holds `name` now (None when free or expired)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(BotLease.holder).where(  # type: ignore[call-overload]
                BotLease.name == name,  # type: ignore[arg-type]
                BotLease.expires_at >= _now(),  # type: ignore[arg-type]
            )
        ).first()
    return None if row is None else str(row.holder)


def live_leases(engine: Engine, *, prefix: str = "") -> list[LeaseRecord]:
    """Unexpired leases whose name starts with `prefix`, by name (for `canbo health`)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(BotLease)
            .where(BotLease.name.startswith(prefix), BotLease.expires_at >= _now())  # type: ignore[attr-defined,arg-type]
            .order_by(BotLease.name)  # type: ignore[arg-type]
        ).all()
    return [LeaseRecord(r.name, r.holder, r.acquired_at, r.expires_at) for r in rows]


def live_runs(engine: Engine) -> list[str]:
    """Run ids of the bot processes alive on this database now ([] before the leases table exists)."""
    if "bot_lease" not in inspect(engine).get_table_names():
        return []
    return [lease.holder for lease in live_leases(engine, prefix="run:")]
