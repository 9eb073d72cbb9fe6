"""Every table of one database into another (SQLite ↔ PostgreSQL), ids kept, checked by counts and digests.

`copy_database` needs both databases migrated to the same revision and the target empty. Rows are read
from the source in one transaction and written to the target in one transaction, in foreign-key order;
a column referring to its own table (a unit's parent, a person's manager) is filled in a second pass, so
row order within a table never matters. Afterwards PostgreSQL's id sequences continue after the copied
ids, and every table is compared: same row count and the same digest of all its rows (`table_digests`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, func, inspect, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from records import botstate, schema
from records.errors import RecordsError
from records.migrate import current_revision, head_revision

log = logging.getLogger(__name__)

BATCH_ROWS = 1000
SKIPPED_TABLES = frozenset({"alembic_version"})  # written by the migrations themselves

_MODULES = (schema, botstate)  # imported for their tables: every table of the product is in the metadata


class CopyRefused(RecordsError):
    """The copy cannot start: `reason` is one of not_migrated, revision_mismatch, target_not_empty,
    unknown_tables."""

    code = "copy_refused"


class CopyMismatch(RecordsError):
    """After copying, a table differs between source and target (the target transaction is kept for
    inspection only when the caller asked; by default nothing is left half-copied)."""

    code = "copy_mismatch"


@dataclass(frozen=True)
class TableDigest:
    """A table's row count and the SHA-256 of its rows in primary-key order."""

    name: str
    rows: int
    sha256: str


def product_tables() -> list[Table]:
    """The product's tables in foreign-key order (parents first)."""
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in SKIPPED_TABLES]


def _normalise(value: Any) -> Any:
    """A JSON-able, dialect-independent form of a column value."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, Decimal | float):
        return repr(float(value))
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def _ordered(table: Table) -> Any:
    return select(table).order_by(*table.primary_key.columns)


def _digest(conn: Connection, table: Table, present: set[str]) -> TableDigest:
    """The digest over the table's columns that exist in the database (model order): a database still at an
    older revision (a restored older backup, before it is migrated) gives the digest its version wrote."""
    columns = [c for c in table.columns if c.name in present]
    sha = hashlib.sha256()
    rows = 0
    for row in conn.execute(select(*columns).order_by(*table.primary_key.columns)):
        sha.update(json.dumps([_normalise(v) for v in row], ensure_ascii=False).encode("utf-8"))
        sha.update(b"\n")
        rows += 1
    return TableDigest(name=table.name, rows=rows, sha256=sha.hexdigest())


def digests_on(conn: Connection, *, names: set[str] | None = None) -> list[TableDigest]:
    """Row count and digest of every product table (or those in `names`) as `conn` sees them; a table the
    database does not have (yet) is left out."""
    inspector = inspect(conn)
    existing = set(inspector.get_table_names())
    return [
        _digest(conn, t, {c["name"] for c in inspector.get_columns(t.name)})
        for t in product_tables()
        if (names is None or t.name in names) and t.name in existing
    ]


def table_digests(engine: Engine, *, names: set[str] | None = None) -> list[TableDigest]:
    """Row count and digest of every product table (or those in `names`), read in one transaction."""
    with _reading(engine) as conn:
        return digests_on(conn, names=names)


def _reading(engine: Engine) -> Any:
    """A connection seeing one snapshot of the whole database (PostgreSQL: REPEATABLE READ)."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="REPEATABLE READ")
    return engine.connect()


def _check(source: Engine, target: Engine) -> None:
    head = head_revision()
    source_rev, target_rev = current_revision(source), current_revision(target)
    if source_rev != head:
        raise CopyRefused(
            "the source database is not at the newest revision", reason="not_migrated", revision=source_rev
        )
    if target_rev != source_rev:
        raise CopyRefused("the target database is at another revision", reason="revision_mismatch")
    known = {t.name for t in product_tables()} | SKIPPED_TABLES
    unknown = sorted(set(inspect(source).get_table_names()) - known)
    if unknown:
        raise CopyRefused(
            "the source has tables this version does not know", reason="unknown_tables", tables=unknown
        )
    with target.connect() as conn:
        for table in product_tables():
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                raise CopyRefused(
                    "the target database already holds data", reason="target_not_empty", table=table.name
                )


def _self_references(table: Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


def _batches(conn: Connection, table: Table) -> Iterator[list[dict[str, Any]]]:
    result = conn.execute(_ordered(table)).mappings()
    while True:
        rows = result.fetchmany(BATCH_ROWS)
        if not rows:
            return
        yield [dict(r) for r in rows]


def _copy_table(src: Connection, dst: Connection, table: Table) -> int:
    later = _self_references(table)
    pk = list(table.primary_key.columns)
    pending: list[dict[str, Any]] = []
    copied = 0
    for rows in _batches(src, table):
        if later:  # a row may point at one inserted after it: fill those columns once all are in
            pending += [
                {"_pk": r[pk[0].name], **{f"_v_{k}": r[k] for k in later}}
                for r in rows
                if any(r[k] is not None for k in later)
            ]
            rows = [{**r, **dict.fromkeys(later)} for r in rows]
        dst.execute(table.insert(), rows)
        copied += len(rows)
    if pending:
        statement = (
            update(table).where(pk[0] == bindparam("_pk")).values({k: bindparam(f"_v_{k}") for k in later})
        )
        dst.execute(statement, pending)
    return copied


def _reset_sequences(dst: Connection) -> None:
    """PostgreSQL: every serial id continues after the largest copied id."""
    for table in product_tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or pk[0].type.python_type is not int:
            continue
        sequence = dst.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": pk[0].name}
        ).scalar()
        if sequence is None:
            continue
        dst.execute(
            text(f"SELECT setval(:s, COALESCE((SELECT MAX({pk[0].name}) FROM {table.name}), 0) + 1, false)"),
            {"s": sequence},
        )


def copy_database(
    source: Engine, target: Engine, *, progress: Callable[[str, int], None] | None = None
) -> list[TableDigest]:
    """Copy every product table from `source` into the empty, migrated `target`; returns the digests
    (equal on both sides). `CopyRefused` before anything is written, `CopyMismatch` if a table differs
    afterwards (the target transaction is rolled back: it stays empty)."""
    _check(source, target)
    with _reading(source) as src, target.begin() as dst:
        for table in product_tables():
            count = _copy_table(src, dst, table)
            log.info("copied table %s: %d rows", table.name, count)
            if progress is not None:
                progress(table.name, count)
        if target.dialect.name == "postgresql":
            _reset_sequences(dst)
        source_digests = digests_on(src)
        target_digests = digests_on(dst)
        differing = [s.name for s, t in zip(source_digests, target_digests, strict=True) if s != t]
        if differing:
            raise CopyMismatch("tables differ after the copy", tables=", ".join(differing))
    return source_digests
