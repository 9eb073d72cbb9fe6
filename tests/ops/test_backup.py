"""`canbo backup` / `canbo restore`: restored into a fresh deployment and compared table by table and answer
by answer — SQLite with the embedded index, PostgreSQL with a Chroma server, and SQLite into PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import knowledge
from bot.cli import main
from records import botstate
from records.db import make_engine
from records.dbcopy import table_digests
from records.migrate import upgrade
from retrieval import make_engine as make_qa_engine
from retrieval.embedding import Embedder, make_embedder
from tests.ops.chroma import chroma_server
from tests.ops.deployment import EXPECTED_NON_EMPTY, fill, row_counts

pytestmark = pytest.mark.slow

QUESTIONS = ("thời gian luân chuyển cán bộ ít nhất bao lâu", "tiêu chí đánh giá hằng tháng gồm những gì")
SAMPLES = (
    "qd-65-2022-luan-chuyen-can-bo.md",
    "qd-98-2017-luan-chuyen-can-bo.txt",
    "qd-1841-2021-danh-gia-hang-thang.txt",
)


@pytest.fixture(scope="module")
def e5() -> Embedder:
    return make_embedder("e5-small", threads=1)


def _samples() -> list[Path]:
    return [p for p in knowledge.sample_corpus_paths() if p.name in SAMPLES]


def _answers(index_dir: Path, chroma_url: str | None, e5: Embedder) -> list[tuple[object, ...]]:
    qa = make_qa_engine(index_dir=index_dir, chroma_url=chroma_url, embedder=e5)
    out: list[tuple[object, ...]] = []
    for question in QUESTIONS:
        answer = qa.ask(question)
        out.append(
            (
                answer.found,
                [(c.doc_number, c.article, c.clause, c.text, round(c.score, 4)) for c in answer.citations],
            )
        )
    out.append(tuple(sorted((d.number, d.status, d.replaced_by) for d in qa.documents())))
    return out


def _use(
    monkeypatch: pytest.MonkeyPatch, data: Path, *, db: str | None = None, chroma: str | None = None
) -> None:
    monkeypatch.setenv("CANBO_DATA_DIR", str(data))
    for name, value in (("CANBO_DATABASE_URL", db), ("CANBO_CHROMA_URL", chroma)):
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)


def _fill_deployment(db_url: str, index_dir: Path, chroma_url: str | None, e5: Embedder) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        fill(engine)
    finally:
        engine.dispose()
    qa = make_qa_engine(index_dir=index_dir, chroma_url=chroma_url, embedder=e5)
    assert {o.status for o in qa.ingest_paths(_samples())} == {"added"}


@pytest.fixture(scope="module")
def sqlite_deployment(tmp_path_factory: pytest.TempPathFactory, e5: Embedder) -> Path:
    data = tmp_path_factory.mktemp("deploy") / "data"
    data.mkdir()
    _fill_deployment(f"sqlite:///{data / 'canbo.db'}", data / "index", None, e5)
    return data


@pytest.fixture(scope="module")
def sqlite_backup(sqlite_deployment: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("backups") / "b1"
    with pytest.MonkeyPatch.context() as mp:
        _use(mp, sqlite_deployment)
        assert main(["backup", str(folder)]) == 0
    yield folder


def test_sqlite_backup_restores_into_a_fresh_data_dir(
    sqlite_deployment: Path,
    sqlite_backup: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    e5: Embedder,
) -> None:
    manifest = json.loads((sqlite_backup / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["database"]["kind"] == "sqlite" and manifest["index"]["mode"] == "embedded"
    assert manifest["index"]["documents"] == len(SAMPLES) and manifest["index"]["chunks"] > 10
    assert manifest["versions"]["canbo"] and manifest["database"]["revision"]
    assert set(manifest["files"]) == {
        "database/canbo.db",
        "index/documents.jsonl",
        "index/chunks.jsonl",
        "index/embeddings.npy",
    }

    fresh = tmp_path / "fresh"
    _use(monkeypatch, fresh)
    assert main(["restore", str(sqlite_backup)]) == 0
    assert "đã đối chiếu từng bảng" in capsys.readouterr().out

    original = make_engine(f"sqlite:///{sqlite_deployment / 'canbo.db'}")
    restored = make_engine(f"sqlite:///{fresh / 'canbo.db'}")
    try:
        assert table_digests(restored) == table_digests(original)
        assert all(row_counts(restored)[t] > 0 for t in EXPECTED_NON_EMPTY)
    finally:
        original.dispose()
        restored.dispose()
    assert _answers(fresh / "index", None, e5) == _answers(sqlite_deployment / "index", None, e5)
    assert main(["health"]) == 0

    # A second restore onto data is refused; with --thay-the it replaces and keeps the old file aside.
    capsys.readouterr()
    assert main(["restore", str(sqlite_backup)]) == 2
    assert "đã có dữ liệu" in capsys.readouterr().err
    assert main(["restore", str(sqlite_backup), "--thay-the"]) == 0
    assert list(fresh.glob("canbo.db.before-restore-*"))


def test_restore_refuses_a_damaged_backup_and_a_running_bot(
    sqlite_backup: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for path in sqlite_backup.rglob("*"):
        if path.is_file():
            target = damaged / path.relative_to(sqlite_backup)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    chunks = damaged / "index" / "chunks.jsonl"
    chunks.write_text(chunks.read_text(encoding="utf-8").replace("Điều", "Đieu", 1), encoding="utf-8")
    _use(monkeypatch, tmp_path / "fresh")
    assert main(["restore", str(damaged)]) == 2
    assert "index/chunks.jsonl" in capsys.readouterr().err
    assert not (tmp_path / "fresh" / "canbo.db").exists()  # nothing restored

    assert main(["restore", str(tmp_path / "nowhere")]) == 2
    assert "không phải thư mục sao lưu" in capsys.readouterr().err

    # A bot process alive on the target database: restore waits for it to be stopped.
    live = tmp_path / "live"
    live.mkdir()
    url = f"sqlite:///{live / 'canbo.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        from datetime import timedelta

        botstate.acquire_lease(
            engine, name=botstate.run_lease_name("r"), holder="r", ttl=timedelta(minutes=5)
        )
    finally:
        engine.dispose()
    _use(monkeypatch, live)
    assert main(["restore", str(sqlite_backup), "--thay-the"]) == 2
    assert "dừng bot" in capsys.readouterr().err

    _use(monkeypatch, tmp_path / "other")
    assert main(["backup", str(sqlite_backup)]) == 1  # never into a folder that already has files
    assert "đã có tệp" in capsys.readouterr().err


@pytest.mark.postgres
def test_postgres_and_chroma_server_backup_restore_and_sqlite_into_postgres(
    sqlite_deployment: Path,
    sqlite_backup: Path,
    pg_cluster: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    e5: Embedder,
) -> None:
    from tests.pg import PgCluster

    assert isinstance(pg_cluster, PgCluster)
    source_db = pg_cluster.create_database("ops_source")
    restored_db = pg_cluster.create_database("ops_restored")
    moved_db = pg_cluster.create_database("ops_moved")
    with chroma_server(tmp_path / "chroma-a") as chroma_a, chroma_server(tmp_path / "chroma-b") as chroma_b:
        _fill_deployment(source_db, tmp_path / "unused", chroma_a, e5)
        folder = tmp_path / "pg-backup"
        _use(monkeypatch, tmp_path / "data", db=source_db, chroma=chroma_a)
        assert main(["backup", str(folder)]) == 0
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["database"]["kind"] == "postgresql" and manifest["index"]["mode"] == "server"
        assert "database/canbo.pgdump" in manifest["files"]

        _use(monkeypatch, tmp_path / "data2", db=restored_db, chroma=chroma_b)
        assert main(["restore", str(folder)]) == 0
        source, restored = make_engine(source_db), make_engine(restored_db)
        try:
            assert table_digests(restored) == table_digests(source)
        finally:
            source.dispose()
            restored.dispose()
        assert _answers(tmp_path, chroma_b, e5) == _answers(tmp_path, chroma_a, e5)

        # Moving a SQLite deployment to PostgreSQL + a Chroma server through its backup.
        _use(monkeypatch, tmp_path / "data3", db=moved_db, chroma=chroma_b)
        capsys.readouterr()
        assert main(["restore", str(sqlite_backup)]) == 2  # the server's index is not empty
        assert "Kho văn bản đích" in capsys.readouterr().err
        assert main(["restore", str(sqlite_backup), "--thay-the"]) == 0
        original, moved = make_engine(f"sqlite:///{sqlite_deployment / 'canbo.db'}"), make_engine(moved_db)
        try:
            assert table_digests(moved) == table_digests(original)
        finally:
            original.dispose()
            moved.dispose()
        assert _answers(tmp_path, chroma_b, e5) == _answers(sqlite_deployment / "index", None, e5)
