"""`canbo health`: is the database reachable and migrated, (when configured) the Chroma server up, and which
documents an older version indexed must be loaded again (a warning: the exit code stays 0 for them)."""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request

from bot.settings import Settings

MESSAGES = {
    "db_ok": "Cơ sở dữ liệu: tốt (phiên bản lược đồ {revision}).",
    "db_behind": "Cơ sở dữ liệu: lược đồ {current} cũ hơn bản mới nhất {head}. Chạy: canbo db upgrade",
    "db_error": "Cơ sở dữ liệu: không kết nối được ({error}).",
    "chroma_ok": "Máy chủ Chroma: tốt.",
    "chroma_error": "Máy chủ Chroma {url}: không phản hồi ({error}).",
    "chroma_embedded": "Kho văn bản: Chroma nhúng trong {path}.",
    "index_error": "Kho văn bản: không đọc được ({error}).",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `canbo health` to the `canbo` parser."""
    parser = sub.add_parser("health", help="kiểm tra cơ sở dữ liệu và máy chủ Chroma (mã thoát 0 = tốt)")
    parser.set_defaults(handler=check_health)


def check_database(url: str) -> tuple[bool, str]:
    """Connect, and compare the database's migration revision with the code's newest one."""
    from records.db import make_engine
    from records.migrate import current_revision, head_revision

    engine = make_engine(url)
    try:
        current = current_revision(engine)
    except Exception as exc:  # any driver error means "not healthy"
        return False, MESSAGES["db_error"].format(error=type(exc).__name__)
    finally:
        engine.dispose()
    head = head_revision()
    if current != head:
        return False, MESSAGES["db_behind"].format(current=current or "trống", head=head)
    return True, MESSAGES["db_ok"].format(revision=current)


def check_chroma(url: str) -> tuple[bool, str]:
    """GET the Chroma server's heartbeat."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/api/v2/heartbeat", timeout=3) as response:
            response.read()
    except (urllib.error.URLError, OSError) as exc:
        return False, MESSAGES["chroma_error"].format(url=url, error=type(exc).__name__)
    return True, MESSAGES["chroma_ok"]


def check_health(args: argparse.Namespace, settings: Settings) -> int:
    """Print one line per dependency; exit 0 when all are healthy, 1 otherwise."""
    ok, line = check_database(settings.resolved_database_url)
    print(line)
    if settings.chroma_url:
        chroma_ok, chroma_line = check_chroma(settings.chroma_url)
        ok = ok and chroma_ok
        print(chroma_line)
    else:
        print(MESSAGES["chroma_embedded"].format(path=settings.index_dir))
    if ok:
        ok = check_documents(settings)
    sys.stdout.flush()
    return 0 if ok else 1


def check_documents(settings: Settings) -> bool:
    """Name the documents to load again (a warning, still healthy); False when the index cannot be read."""
    from bot.cli_qa import reload_lines
    from retrieval import documents_to_reload
    from retrieval.errors import RetrievalError

    try:
        stale = documents_to_reload(index_dir=settings.index_dir, chroma_url=settings.chroma_url)
    except RetrievalError as exc:
        print(MESSAGES["index_error"].format(error=exc.code))
        return False
    for line in reload_lines(stale):
        print(line)
    return True
