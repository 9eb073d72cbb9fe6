"""Migrations create every table and stay in sync with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from records.db import make_engine
from records.migrate import current_revision, head_revision, upgrade
from records.schema import TABLES


def test_upgrade_from_empty_creates_every_table_and_reaches_head(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) is None
        upgrade(empty_db_url)
        names = set(inspect(engine).get_table_names())
        for table in TABLES:
            assert table.__tablename__ in names  # type: ignore[attr-defined]
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_models_and_migrations_agree(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)
    assert diffs == []


def test_upgrade_twice_is_a_no_op(db_url: str, db_engine: Engine) -> None:
    before = current_revision(db_engine)
    upgrade(db_url)
    assert current_revision(db_engine) == before
