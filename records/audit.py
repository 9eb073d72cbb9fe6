"""The append-only audit log: every create, change and state transition, by whom and when."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from records.schema import AuditEntry
from records.views import AuditRun, AuditView

_INSERT = insert(AuditEntry.__table__).inline()  # type: ignore[attr-defined]  # no RETURNING id


def record_audit(
    session: Session,
    *,
    actor_id: int | None,
    entity: str,
    entity_id: int,
    action: str,
    now: datetime,
    from_state: str | None = None,
    to_state: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry now, in the caller's transaction.

    A plain INSERT on the session's connection: no ORM object to track, and no autoflush of the caller's pending
    changes (they are flushed once, with the rest of the change).
    """
    session.connection().execute(
        _INSERT,
        {
            "at": now,
            "actor_id": actor_id,
            "entity": entity,
            "entity_id": entity_id,
            "action": action,
            "from_state": from_state,
            "to_state": to_state,
            "detail": detail,
        },
    )


def list_audit(session: Session, *, entity: str, entity_id: int) -> list[AuditView]:
    """The history of one record in the order it happened (no permission check: callers check)."""
    rows = session.exec(
        select(AuditEntry)
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
        .order_by(col(AuditEntry.id))
    ).all()
    return [AuditView.model_validate(row, from_attributes=True) for row in rows]


def record_audits(
    session: Session, *, actor_id: int | None, now: datetime, entries: list[dict[str, Any]]
) -> None:
    """Append many entries in one INSERT (each dict: entity, entity_id, action, optional from/to state, detail)."""
    if not entries:
        return
    rows = [
        {
            "at": now,
            "actor_id": actor_id,
            "from_state": None,
            "to_state": None,
            "detail": None,
            **entry,
        }
        for entry in entries
    ]
    session.execute(_INSERT, rows)


def collapse_repeats(entries: Sequence[AuditView], *, actions: Iterable[str]) -> list[AuditRun]:
    """The entries in order, consecutive ones of the same repeatable `actions` by the same actor folded into one run.

    The log itself stays complete; this is how a history is shown (e.g. six draft saves in a row are one line).
    """
    repeatable = frozenset(actions)
    runs: list[AuditRun] = []
    for entry in entries:
        last = runs[-1] if runs else None
        if (
            last is not None
            and entry.action in repeatable
            and last.entry.action == entry.action
            and last.entry.actor_id == entry.actor_id
        ):
            runs[-1] = AuditRun(entry=entry, count=last.count + 1, first_at=last.first_at)
        else:
            runs.append(AuditRun(entry=entry, count=1, first_at=entry.at))
    return runs
