"""A SQLite backup written by an older version (schema 0005, tests/ops/backups/) restored with today's code into
SQLite and into a new PostgreSQL database: every table compared, the product reads the sign-ins, the plan, the
conversation in progress and the index; and an unreachable target database gets a clear message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from records.botstate import load_conversation
from records.db import make_engine, session_scope
from records.dbcopy import table_digests
from records.evaluations import find_evaluation
from records.migrate import current_revision, head_revision, upgrade
from records.people import find_person_by_telegram
from tests.pg import PgCluster

BACKUP = Path(__file__).parent / "backups" / "v0005-sqlite"
BD03 = 8_100_000_004  # the cadre who left the plan conversation open (tests/ops/backups/README.md)


@pytest.fixture
def old_backup(tmp_path: Path) -> Path:
    """A copy of the old backup: opening its WAL-mode database must not touch the repository's files."""
    return Path(shutil.copytree(BACKUP, tmp_path / "backup"))


def _configure(monkeypatch: pytest.MonkeyPatch, data: Path, database_url: str | None) -> None:
    monkeypatch.setenv("CANBO_DATA_DIR", str(data))
    monkeypatch.delenv("CANBO_CHROMA_URL", raising=False)
    if database_url:
        monkeypatch.setenv("CANBO_DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("CANBO_DATABASE_URL", raising=False)


@pytest.mark.parametrize("target", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_an_older_sqlite_backup_restores_and_is_upgraded(
    target: str,
    old_backup: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    data = tmp_path / "data"
    # PostgreSQL: a database just made with createdb, never upgraded (the documented recipe).
    postgres_url: str | None = request.getfixturevalue("postgres_url") if target == "postgres" else None
    _configure(monkeypatch, data, postgres_url)
    restored_url = postgres_url or f"sqlite:///{data / 'canbo.db'}"

    assert (
        main(["restore", str(old_backup)]) == 0
    )  # was: a traceback (no such column evaluation.plan_sent_digest)
    out = capsys.readouterr().out
    assert "21 bảng, 66 dòng" in out and "1 văn bản, 11 đoạn" in out
    assert "nâng cấp từ phiên bản 0005 lên bản mới nhất" in out

    # Table by table: the backup's own database migrated by the migrations, against what was restored.
    expected_db = tmp_path / "expected.db"
    shutil.copyfile(old_backup / "database" / "canbo.db", expected_db)
    upgrade(f"sqlite:///{expected_db}")
    expected_engine, restored = make_engine(f"sqlite:///{expected_db}"), make_engine(restored_url)
    try:
        assert current_revision(restored) == head_revision()
        restored_digests = table_digests(restored)
        assert restored_digests == table_digests(expected_engine)
        manifest = json.loads((old_backup / "manifest.json").read_text(encoding="utf-8"))
        counts = {d.name: d.rows for d in restored_digests}
        assert {name: counts[name] for name in manifest["database"]["tables"]} == {
            name: t["rows"] for name, t in manifest["database"]["tables"].items()
        }
        assert counts["bot_handoff_copy"] == 0  # the table of 0006, created empty

        # The product reads what the old version wrote.
        with session_scope(restored) as session:
            person = find_person_by_telegram(session, telegram_user_id=BD03)
            assert person is not None and (person.cadre_code, person.full_name) == ("BD03", "Phạm Thị Dung")
            plan = find_evaluation(session, actor_id=person.id, person_id=person.id, period="2026-10")
            assert plan is not None and [t.title for t in plan.tasks] == ["Báo cáo sơ kết quý"]
            assert plan.plan_registered_at is not None and plan.plan_sent_digest is None
        conversation = load_conversation(restored, chat_id=BD03, user_id=BD03)
        assert conversation is not None and (conversation.state, conversation.data) == (
            "kh:task",
            {"period": "2026-10"},
        )
    finally:
        expected_engine.dispose()
        restored.dispose()
    assert main(["docs"]) == 0
    assert "98-QĐ/TW" in capsys.readouterr().out  # the index came back into the new data dir
    assert main(["health"]) == 0


def test_restore_and_backup_with_an_unreachable_database_say_what_to_check(
    old_backup: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _configure(monkeypatch, tmp_path / "data", "postgresql+psycopg://canbo:bi-mat@127.0.0.1:1/canbo")
    assert main(["restore", str(old_backup)]) == 2  # was: a psycopg OperationalError traceback
    err = capsys.readouterr().err
    assert "Không kết nối được cơ sở dữ liệu postgresql+psycopg://canbo:***@127.0.0.1:1/canbo" in err
    assert "Connection refused" in err and "CANBO_DATABASE_URL" in err and "bi-mat" not in err
    folder = tmp_path / "backup-new"
    assert main(["backup", str(folder)]) == 1
    assert "Không kết nối được cơ sở dữ liệu" in capsys.readouterr().err
    assert not folder.exists()  # no empty backup folder left behind


@pytest.mark.postgres
def test_restore_into_a_postgres_database_never_created_says_to_create_it(
    old_backup: Path,
    tmp_path: Path,
    pg_cluster: PgCluster,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _configure(
        monkeypatch, tmp_path / "data", f"postgresql+psycopg://postgres@127.0.0.1:{pg_cluster.port}/chua_tao"
    )
    assert main(["restore", str(old_backup)]) == 2
    err = capsys.readouterr().err
    assert 'database "chua_tao" does not exist' in err and "createdb" in err
