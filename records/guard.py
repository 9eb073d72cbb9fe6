"""Optimistic locking: claim a row's version with `UPDATE … WHERE version = :v` before changing it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, inspect, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from records.errors import ConcurrentUpdate

_CLAIMS: dict[str, Any] = {}


def _claim_statement(table: Any) -> Any:
    """`UPDATE table SET version = :version [, changed columns] WHERE id = :id AND version = :current`.

    Built once per table; the SET columns come from the execution parameters (one compiled form per set).
    """
    statement = _CLAIMS.get(table.name)
    if statement is None:
        statement = _CLAIMS[table.name] = update(table).where(
            table.c.id == bindparam("claim_id"), table.c.version == bindparam("claim_version")
        )
    return statement


def check_expected_version(row: Any, *, expected_version: int | None, what: str) -> None:
    """`ConcurrentUpdate` when the caller saw another version than the one loaded (checked before any work)."""
    current = int(row.version)
    if expected_version is not None and expected_version != current:
        raise ConcurrentUpdate(
            f"{what} was changed by someone else", entity=type(row).__tablename__, id=row.id, version=current
        )


def claim_version(session: Session, row: Any, *, expected_version: int | None, what: str) -> None:
    """Bump `row.version` in the database iff nobody changed it since it was read (or since `expected_version`).

    The loser of a race gets `ConcurrentUpdate`: on Postgres its UPDATE waits for the winner's commit and then
    matches no row; on SQLite it waits for the write lock (or fails on a stale snapshot) the same way.
    """
    check_expected_version(row, expected_version=expected_version, what=what)
    _claim(session, row, {}, what=what, autoflush=True)


def claim_with_changes(session: Session, row: Any, *, expected_version: int | None, what: str) -> None:
    """`claim_version` and write the row's pending column changes in the same UPDATE (one statement, not two).

    Call it after changing the row in memory and before anything else is written; the changed columns are then
    clean for the session (its next flush does not write them again). Same race semantics as `claim_version`.
    """
    check_expected_version(row, expected_version=expected_version, what=what)
    state = inspect(row)
    changes: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        if attr.key != "version" and state.attrs[attr.key].history.added:
            changes[attr.key] = getattr(row, attr.key)
    _claim(session, row, changes, what=what, autoflush=False)
    for key, value in changes.items():
        set_committed_value(row, key, value)


def _claim(session: Session, row: Any, changes: dict[str, Any], *, what: str, autoflush: bool) -> None:
    table: Any = type(row).__table__
    current = int(row.version)
    try:
        params = {**changes, "version": current + 1, "claim_id": row.id, "claim_version": current}
        # Without autoflush (on the session's connection) the caller's other pending changes wait for the claim.
        executor: Any = session if autoflush else session.connection()
        result = executor.execute(_claim_statement(table), params)
    except OperationalError as exc:
        if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
            raise ConcurrentUpdate(
                f"{what} is being changed by someone else", entity=table.name, id=row.id
            ) from exc
        raise
    if result.rowcount != 1:
        raise ConcurrentUpdate(f"{what} was changed by someone else", entity=table.name, id=row.id)
    # Keep the ORM's copy in step without a second version bump.
    set_committed_value(row, "version", current + 1)
