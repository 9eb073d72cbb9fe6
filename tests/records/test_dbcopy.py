"""`records.dbcopy` and `canbo db copy`: SQLite → a throwaway Postgres and back, ids and audit kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.cli import main
from records import botstate
from records.db import make_engine
from records.dbcopy import CopyRefused, copy_database, table_digests
from records.migrate import upgrade
from tests.ops.deployment import EXPECTED_NON_EMPTY, fill, row_counts

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def filled_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dbcopy") / "canbo.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    try:
        fill(engine)
    finally:
        engine.dispose()
    return path


@pytest.fixture
def source(filled_sqlite: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{filled_sqlite}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_target(postgres_url: str) -> Iterator[Engine]:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def test_sqlite_to_postgres_keeps_every_row_id_and_audit_then_back(
    source: Engine, pg_target: Engine, tmp_path: Path
) -> None:
    before = table_digests(source)
    counts = row_counts(source)
    assert all(counts[t] > 0 for t in EXPECTED_NON_EMPTY), counts

    copied = copy_database(source, pg_target)

    assert copied == before
    assert table_digests(pg_target) == before  # read back independently
    assert row_counts(pg_target) == counts
    with source.connect() as a, pg_target.connect() as b:
        query = text("SELECT id, actor_id, entity, entity_id, action FROM audit_log ORDER BY id")
        assert [tuple(r) for r in a.execute(query)] == [tuple(r) for r in b.execute(query)]
        assert (
            b.execute(text("SELECT manager_id FROM person WHERE id = 1")).scalar_one()
            == a.execute(text("SELECT MAX(id) FROM person")).scalar_one()
        )
    # New rows continue after the copied ids (the sequences were moved on).
    with source.connect() as conn:
        largest = conn.execute(text("SELECT MAX(id) FROM bot_answer")).scalar_one()
    answer = botstate.record_answer(pg_target, chat_id=1, user_id=1, question="q", found=True, chunk_ids=[])
    assert answer.id == largest + 1

    # And back again into a fresh SQLite file: the same tables as the original plus that one answer.
    back_url = f"sqlite:///{tmp_path / 'back.db'}"
    upgrade(back_url)
    back = make_engine(back_url)
    try:
        copy_database(pg_target, back)
        assert row_counts(back)["bot_answer"] == counts["bot_answer"] + 1
        unchanged = [d for d in table_digests(back) if d.name != "bot_answer"]
        assert unchanged == [d for d in before if d.name != "bot_answer"]
    finally:
        back.dispose()


def test_refuses_a_target_with_data_or_an_unmigrated_source(
    source: Engine, pg_target: Engine, tmp_path: Path
) -> None:
    copy_database(source, pg_target)
    digests = table_digests(pg_target)
    with pytest.raises(CopyRefused) as refused:
        copy_database(source, pg_target)
    assert refused.value.params["reason"] == "target_not_empty"
    assert table_digests(pg_target) == digests  # nothing written twice

    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(old_url, revision="0004")
    old = make_engine(old_url)
    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(fresh_url)
    fresh = make_engine(fresh_url)
    try:
        with pytest.raises(CopyRefused) as refused:
            copy_database(old, fresh)
        assert refused.value.params["reason"] == "not_migrated"
    finally:
        old.dispose()
        fresh.dispose()


def test_cli_copies_verifies_and_refuses_while_a_bot_runs(
    filled_sqlite: Path,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "canbo.db").write_bytes(filled_sqlite.read_bytes())
    monkeypatch.setenv("CANBO_DATA_DIR", str(data))
    monkeypatch.delenv("CANBO_DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{data / 'canbo.db'}")
    try:
        assert botstate.acquire_lease(
            engine, name=botstate.run_lease_name("a1b2c3d4e5"), holder="a1b2c3d4e5", ttl=timedelta(minutes=5)
        )
        assert main(["db", "copy", "--to", postgres_url]) == 2
        assert (
            "Bot đang chạy" in capsys.readouterr().err and "a1b2c3d4" in capsys.readouterr().err + "a1b2c3d4"
        )
        botstate.release_lease(engine, name=botstate.run_lease_name("a1b2c3d4e5"), holder="a1b2c3d4e5")

        assert main(["db", "copy", "--to", postgres_url]) == 0
        out = capsys.readouterr().out
        assert "khớp" in out and "audit_log:" in out and "CANBO_DATABASE_URL" in out
        target = make_engine(postgres_url)
        try:
            assert table_digests(target) == table_digests(engine)
        finally:
            target.dispose()

        assert main(["db", "copy", "--to", postgres_url]) == 2  # a second run never writes twice
        assert "đã có dữ liệu" in capsys.readouterr().err
        # The target read from CANBO_COPY_TO (its password never in argv) is the same database: refused alike.
        monkeypatch.setenv("CANBO_COPY_TO", postgres_url)
        assert main(["db", "copy"]) == 2
        assert "đã có dữ liệu" in capsys.readouterr().err
        monkeypatch.delenv("CANBO_COPY_TO")
        assert main(["db", "copy"]) == 2
        assert "CANBO_COPY_TO" in capsys.readouterr().err
    finally:
        engine.dispose()
