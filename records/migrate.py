"""Schema migrations: upgrade a database to the newest Alembic revision, programmatically."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from records.db import make_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the bundled migrations and at `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, *, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (default: the newest)."""
    engine = make_engine(url)
    try:
        upgrade_engine(engine, revision=revision)
    finally:
        engine.dispose()


def upgrade_engine(engine: Engine, *, revision: str = "head") -> None:
    """Bring the database behind `engine` up to `revision`, reusing its connection settings."""
    config = make_alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    log.info("database upgraded to %s", revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with the code."""
    return ScriptDirectory.from_config(make_alembic_config("sqlite://")).get_current_head()


def make_revision(message: str, *, rev_id: str | None = None) -> None:
    """Autogenerate a new revision from the difference between the models and an upgraded scratch DB."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.db"
        upgrade(url)
        command.revision(make_alembic_config(url), message=message, autogenerate=True, rev_id=rev_id)
