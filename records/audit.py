"""The append-only audit log: every create, change and state transition, by whom and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from records.schema import AuditEntry
from records.views import AuditView

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
