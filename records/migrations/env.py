"""Alembic environment: the records tables (and the bot's state tables when present) on any URL."""

from __future__ import annotations

import importlib
import importlib.util

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import records.schema  # noqa: F401  (registers every records table on SQLModel.metadata)
from records.db import make_engine

config = context.config

# Other records table modules register themselves when they exist.
for _module in ("records.botstate",):
    if _module in config.attributes.get("skip_modules", ()):
        continue
    if importlib.util.find_spec(_module) is not None:
        importlib.import_module(_module)

target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        render_as_batch=True,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
