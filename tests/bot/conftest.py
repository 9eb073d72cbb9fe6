"""Bot test fixtures: a migrated database engine (SQLite, and Postgres where marked)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from records.db import make_engine
from records.migrate import upgrade


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a freshly migrated database (records + bot state tables)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
