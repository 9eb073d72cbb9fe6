"""What docs/operations.md's operator met on the second walk (#12): clear messages, not tracebacks, when a
backup folder cannot be written or read, when the database is not where the settings say, or when `.env`
cannot be read; and a restore into a fresh data dir leaves no stray `canbo.db.before-restore-*` file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from records.migrate import upgrade


def _use(monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    monkeypatch.setenv("CANBO_DATA_DIR", str(data))
    for name in ("CANBO_DATABASE_URL", "CANBO_CHROMA_URL"):
        monkeypatch.delenv(name, raising=False)


def _deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    upgrade(f"sqlite:///{data / 'canbo.db'}")
    _use(monkeypatch, data)
    return data


def test_backup_into_a_folder_that_cannot_be_created_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _deployment(tmp_path, monkeypatch)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["backup", str(blocker / "2026-12-07")]) == 1  # was: a PermissionError/OSError traceback
    err = capsys.readouterr().err
    assert "Không tạo hoặc ghi được thư mục sao lưu" in err and str(blocker / "2026-12-07") in err


def test_backup_without_the_database_names_it_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(monkeypatch, tmp_path / "no-such-data")  # as from a folder without .env: CANBO_DATA_DIR=data
    folder = tmp_path / "backups" / "2026-12-07"
    assert main(["backup", str(folder)]) == 1  # was: sqlalchemy OperationalError traceback
    err = capsys.readouterr().err
    assert "Không thấy cơ sở dữ liệu" in err and "cd /opt/canbo/app" in err
    assert not folder.exists() and not (tmp_path / "no-such-data").exists()


def test_backup_folder_is_private_and_restore_into_a_fresh_data_dir_leaves_no_stray_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _deployment(tmp_path, monkeypatch)
    folder = tmp_path / "backups" / "b1"
    assert main(["backup", str(folder)]) == 0, capsys.readouterr().err
    assert folder.stat().st_mode & 0o077 == 0  # personal data: not readable by other local users
    fresh = tmp_path / "fresh"
    _use(monkeypatch, fresh)
    assert main(["restore", str(folder)]) == 0, capsys.readouterr().err
    assert (fresh / "canbo.db").is_file()
    assert not list(fresh.glob("canbo.db.before-restore-*"))  # was: a 4 KB empty "old" database kept aside
    # into a data dir that had a database, the old file is still kept aside with --thay-the
    assert main(["restore", str(folder), "--thay-the"]) == 0, capsys.readouterr().err
    assert len(list(fresh.glob("canbo.db.before-restore-*"))) == 1


def test_restore_from_an_unreadable_folder_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(monkeypatch, tmp_path / "fresh")
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "manifest.json").mkdir()  # reading it fails with an OSError even as root
    assert main(["restore", str(folder)]) == 2
    assert "Không đọc được thư mục sao lưu" in capsys.readouterr().err
