"""Records fixtures: migrated databases on SQLite and on the throwaway Postgres, copied from session templates."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine

from records.db import make_engine
from records.migrate import upgrade
from tests.pg import PgCluster
from tests.records.org import Org, load_org

PG_TEMPLATE = "records_template"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL: a SQLite file, or a fresh Postgres database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file upgraded once per session by the real migrations."""
    path = tmp_path_factory.mktemp("records-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_cluster: PgCluster) -> str:
    """A Postgres database upgraded once per session, used as CREATE DATABASE … TEMPLATE."""
    upgrade(pg_cluster.create_database(PG_TEMPLATE))
    return PG_TEMPLATE


def _admin(cluster: PgCluster) -> psycopg.Connection:
    return psycopg.connect(
        f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres", autocommit=True
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database (a copy of the session template), dropped afterwards on Postgres."""
    if request.param == "sqlite":
        target = tmp_path / "records.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    template: str = request.getfixturevalue("pg_template")
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    name = f"r_{uuid.uuid4().hex[:12]}"
    with _admin(cluster) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/{name}"
    with _admin(cluster) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database at the newest migration."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def org(db_engine: Engine) -> Org:
    """The sample organisation imported into `db_engine`."""
    return load_org(db_engine)


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A migrated SQLite engine, for tests that need no Postgres variant."""
    target = tmp_path / "records-sqlite.db"
    shutil.copyfile(sqlite_template, target)
    engine = make_engine(f"sqlite:///{target}")
    yield engine
    engine.dispose()
