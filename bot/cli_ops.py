"""`canbo backup DIR`, `canbo restore DIR` and `canbo db copy --to URL`: operations on a whole deployment."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bot.settings import Settings
from records import botstate
from records.db import make_engine
from records.dbcopy import CopyMismatch, CopyRefused, copy_database
from records.migrate import upgrade

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2

COPY_TARGET_ENV = "CANBO_COPY_TO"
MESSAGES = {
    "backup_done": (
        "Đã sao lưu vào {folder}: {tables} bảng, {rows} dòng; {documents} văn bản, {chunks} đoạn trong kho văn bản."
    ),
    "restore_done": (
        "Đã khôi phục từ bản sao lưu: {tables} bảng, {rows} dòng (đã đối chiếu từng bảng với manifest.json); "
        "{documents} văn bản, {chunks} đoạn."
    ),
    "restore_upgraded": "Cơ sở dữ liệu đã được nâng cấp từ phiên bản {revision} lên bản mới nhất.",
    "copy_done": "Đã chép {tables} bảng, {rows} dòng sang cơ sở dữ liệu mới; số dòng và nội dung từng bảng khớp.",
    "copy_table": "  {table}: {rows} dòng",
    "copy_next": "Đặt CANBO_DATABASE_URL bằng địa chỉ mới rồi khởi động lại bot.",
    "copy_same": "Cơ sở dữ liệu đích trùng với cơ sở dữ liệu đang dùng.",
    "copy_no_target": (
        "Chưa có địa chỉ cơ sở dữ liệu đích: đặt biến môi trường CANBO_COPY_TO (mật khẩu không lộ trong danh sách "
        "tiến trình), ví dụ CANBO_COPY_TO=postgresql+psycopg://canbo:mật-khẩu@localhost:5432/canbo, hoặc dùng --to."
    ),
    "copy_bot_running": (
        "Bot đang chạy trên cơ sở dữ liệu này (tiến trình {holders}). Dừng bot trước khi chép, "
        "để không dòng nào bị bỏ sót."
    ),
    "copy_target_error": "Không kết nối hoặc không nâng cấp được cơ sở dữ liệu đích ({error}).",
    "not_migrated": "Cơ sở dữ liệu chưa ở phiên bản mới nhất: chạy «canbo db upgrade» trước.",
    "revision_mismatch": "Cơ sở dữ liệu đích ở phiên bản lược đồ khác: dùng một cơ sở dữ liệu trống.",
    "target_not_empty": (
        "Cơ sở dữ liệu đích đã có dữ liệu (bảng {table}): chỉ chép vào cơ sở dữ liệu trống, không ghi đè."
    ),
    "unknown_tables": "Cơ sở dữ liệu nguồn có bảng lạ với phiên bản này: {tables}.",
    "copy_mismatch": "Sau khi chép, các bảng sau không khớp: {tables}. Đã hủy, cơ sở dữ liệu đích vẫn trống.",
    "folder_not_empty": "Thư mục {path} đã có tệp: chọn một thư mục trống hoặc chưa có.",
    "no_database": (
        "Không thấy cơ sở dữ liệu {path}. Kiểm tra CANBO_DATA_DIR / CANBO_DATABASE_URL: canbo đọc tệp .env "
        "trong thư mục hiện tại (cd /opt/canbo/app trước)."
    ),
    "folder_unusable": "Không tạo hoặc ghi được thư mục sao lưu {path} ({error}): chọn thư mục người dùng này ghi được.",
    "folder_unreadable": "Không đọc được thư mục sao lưu {path} ({error}): người dùng chạy lệnh phải đọc được nó.",
    "no_pg_tool": "Cần {tool} của PostgreSQL (apt-get install postgresql-client) cùng phiên bản với máy chủ hoặc mới hơn.",
    "pg_tool_failed": "{tool} báo lỗi: {detail}",
    "index_busy": "Kho văn bản thay đổi liên tục trong lúc sao lưu (đang nạp văn bản?). Thử lại sau.",
    "no_manifest": "Không thấy {path}: đây không phải thư mục sao lưu của canbo.",
    "bad_manifest": "Tệp {path} hỏng hoặc của định dạng khác.",
    "missing_file": "Bản sao lưu thiếu tệp {file}: không khôi phục.",
    "damaged_file": "Tệp {file} của bản sao lưu đã bị thay đổi hoặc hỏng (sai SHA-256): không khôi phục.",
    "newer_backup": (
        "Bản sao lưu có lược đồ {revision}, mới hơn phiên bản phần mềm này: cài phiên bản canbo mới hơn rồi khôi phục."
    ),
    "bot_running": "Bot đang chạy trên cơ sở dữ liệu đích: dừng bot trước khi khôi phục.",
    "database_unreachable": (
        "Không kết nối được cơ sở dữ liệu {url} ({error}). Kiểm tra CANBO_DATABASE_URL (máy chủ, cổng, người "
        "dùng, mật khẩu) và máy chủ PostgreSQL đang chạy; cơ sở dữ liệu phải được tạo trước "
        "(sudo -u postgres createdb --owner canbo canbo), bảng thì canbo tự tạo."
    ),
    "database_not_empty": (
        "Cơ sở dữ liệu đích đã có dữ liệu. Khôi phục vào một thư mục dữ liệu mới (CANBO_DATA_DIR) hoặc "
        "thêm --thay-the để thay toàn bộ (tệp SQLite cũ được giữ lại bên cạnh)."
    ),
    "index_not_empty": "Kho văn bản đích đã có văn bản: khôi phục vào kho trống hoặc thêm --thay-the.",
    "pg_into_sqlite": (
        "Bản sao lưu PostgreSQL chỉ khôi phục vào PostgreSQL (đặt CANBO_DATABASE_URL). Muốn chuyển về SQLite: "
        "khôi phục vào PostgreSQL rồi dùng «canbo db copy»."
    ),
    "database_differs": "Sau khi khôi phục, các bảng sau không khớp manifest.json: {tables}.",
    "index_counts": "Số văn bản hoặc số đoạn trong bản sao lưu không khớp manifest.json: không khôi phục.",
    "index_error": "Không mở được kho văn bản: {error}",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `backup` and `restore` to the `canbo` parser (`db copy` is added by `register_db`)."""
    backup = sub.add_parser(
        "backup",
        help="sao lưu toàn bộ: cơ sở dữ liệu, kho văn bản và manifest.json (chạy được khi bot đang chạy)",
    )
    backup.add_argument("folder", metavar="THƯ_MỤC", type=Path, help="thư mục trống hoặc chưa có")
    backup.set_defaults(handler=run_backup)
    restore = sub.add_parser(
        "restore",
        help="khôi phục một bản sao lưu vào cơ sở dữ liệu và kho văn bản đang cấu hình (dừng bot trước)",
    )
    restore.add_argument("folder", metavar="THƯ_MỤC", type=Path, help="thư mục do «canbo backup» tạo")
    restore.add_argument(
        "--thay-the",
        dest="replace",
        action="store_true",
        help="thay dữ liệu đang có (mặc định chỉ khôi phục vào nơi trống)",
    )
    restore.set_defaults(handler=run_restore)


def register_db(db_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `canbo db copy`."""
    copy = db_sub.add_parser(
        "copy",
        help="chép mọi bảng (giữ nguyên mã số và nhật ký) sang một cơ sở dữ liệu trống khác, rồi đối chiếu",
    )
    copy.add_argument(
        "--to",
        dest="target",
        metavar="ĐỊA_CHỈ",
        default=None,
        help=(
            "ví dụ postgresql+psycopg://canbo:mật-khẩu@localhost:5432/canbo; bỏ trống để đọc từ biến môi trường "
            f"{COPY_TARGET_ENV} (nên dùng: mật khẩu không hiện trong danh sách tiến trình)"
        ),
    )
    copy.set_defaults(handler=run_db_copy)


def _say_error(code: str, params: dict[str, object]) -> None:
    template = MESSAGES.get(code, code)
    try:
        print(template.format(**params), file=sys.stderr)
    except (KeyError, IndexError):
        print(template, file=sys.stderr)


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot.backup import BackupError, make_backup  # imports Chroma: only for this command
    from retrieval.errors import RetrievalError

    try:
        manifest = make_backup(
            database_url=settings.resolved_database_url,
            index_dir=settings.index_dir,
            chroma_url=settings.chroma_url,
            folder=args.folder,
        )
    except BackupError as exc:
        _say_error(exc.code, exc.params)
        return EXIT_FAILED
    except RetrievalError as exc:
        _say_error("index_error", {"error": exc.code})
        return EXIT_FAILED
    tables = manifest.database["tables"]
    print(
        MESSAGES["backup_done"].format(
            folder=args.folder,
            tables=len(tables),
            rows=sum(t["rows"] for t in tables.values()),
            documents=manifest.index["documents"],
            chunks=manifest.index["chunks"],
        )
    )
    return EXIT_OK


def run_restore(args: argparse.Namespace, settings: Settings) -> int:
    from bot.backup import BackupError, restore_backup
    from retrieval.errors import RetrievalError

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        report = restore_backup(
            folder=args.folder,
            database_url=settings.resolved_database_url,
            index_dir=settings.index_dir,
            chroma_url=settings.chroma_url,
            replace=args.replace,
        )
    except BackupError as exc:
        _say_error(exc.code, exc.params)
        return EXIT_REFUSED if exc.code not in ("pg_tool_failed", "database_differs") else EXIT_FAILED
    except CopyMismatch as exc:
        _say_error("copy_mismatch", exc.params)
        return EXIT_FAILED
    except RetrievalError as exc:
        _say_error("index_error", {"error": exc.code})
        return EXIT_FAILED
    print(
        MESSAGES["restore_done"].format(
            tables=report.tables, rows=report.rows, documents=report.documents, chunks=report.chunks
        )
    )
    if report.upgraded_from:
        print(MESSAGES["restore_upgraded"].format(revision=report.upgraded_from))
    return EXIT_OK


def run_db_copy(args: argparse.Namespace, settings: Settings) -> int:
    source_url = settings.resolved_database_url
    # The target from the environment keeps its password out of `ps` and the shell history (argv is
    # readable by every local user; a process's environment only by its owner and root).
    target_url = args.target or os.environ.get(COPY_TARGET_ENV, "").strip()
    if not target_url:
        _say_error("copy_no_target", {})
        return EXIT_REFUSED
    if target_url == source_url:
        _say_error("copy_same", {})
        return EXIT_REFUSED
    source = make_engine(source_url)
    try:
        holders = [run_id[:8] for run_id in botstate.live_runs(source)]
        if holders:
            _say_error("copy_bot_running", {"holders": ", ".join(holders)})
            return EXIT_REFUSED
        try:
            upgrade(target_url)
            target = make_engine(target_url)
        except Exception as exc:  # any driver error: the URL, the server or its permissions
            _say_error("copy_target_error", {"error": type(exc).__name__})
            return EXIT_FAILED
        try:
            digests = copy_database(source, target)
        except CopyRefused as exc:
            _say_error(str(exc.params.get("reason")), exc.params)
            return EXIT_REFUSED
        except CopyMismatch as exc:
            _say_error("copy_mismatch", exc.params)
            return EXIT_FAILED
        finally:
            target.dispose()
    finally:
        source.dispose()
    for digest in digests:
        print(MESSAGES["copy_table"].format(table=digest.name, rows=digest.rows))
    print(MESSAGES["copy_done"].format(tables=len(digests), rows=sum(d.rows for d in digests)))
    print(MESSAGES["copy_next"])
    return EXIT_OK
