"""Optimistic locking: claim a row's version with `UPDATE … WHERE version = :v` before changing it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel

from records.errors import ConcurrentUpdate

_CLAIMS: dict[str, Any] = {}


def _claim_statement(table: Any) -> Any:
    """`UPDATE table SET version = :next WHERE id = :id AND version = :current`, built once per table."""
    statement = _CLAIMS.get(table.name)
    if statement is None:
        statement = _CLAIMS[table.name] = (
            update(table)
            .where(table.c.id == bindparam("claim_id"), table.c.version == bindparam("claim_version"))
            .values(version=bindparam("claim_next"))
        )
    return statement


def claim_version(session: Session, row: Any, *, expected_version: int | None, what: str) -> None:
    """Bump `row.version` in the database iff nobody changed it since it was read (or since `expected_version`).

    The loser of a race gets `ConcurrentUpdate`: on Postgres its UPDATE waits for the winner's commit and then
    matches no row; on SQLite it waits for the write lock (or fails on a stale snapshot) the same way.
    """
    model: type[SQLModel] = type(row)
    current = int(row.version)
    if expected_version is not None and expected_version != current:
        raise ConcurrentUpdate(
            f"{what} was changed by someone else", entity=model.__tablename__, id=row.id, version=current
        )
    try:
        result = session.execute(
            _claim_statement(model.__table__),  # type: ignore[attr-defined]
            {"claim_id": row.id, "claim_version": current, "claim_next": current + 1},
        )
    except OperationalError as exc:
        if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
            raise ConcurrentUpdate(
                f"{what} is being changed by someone else", entity=model.__tablename__, id=row.id
            ) from exc
        raise
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentUpdate(f"{what} was changed by someone else", entity=model.__tablename__, id=row.id)
    # Keep the ORM's copy in step without a second version bump.
    set_committed_value(row, "version", current + 1)
