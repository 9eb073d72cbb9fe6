"""The one local-time helper: naive values are UTC, aware values keep their instant, unknown zones are refused;
and no other module formats a date or a time (an AST scan of the packages)."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from records.localtime import (
    UnknownTimeZone,
    format_date,
    format_local,
    local_date,
    local_iso,
    local_wall_time,
    to_local,
)

HANOI = "Asia/Ho_Chi_Minh"
ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "records", "knowledge", "retrieval")
# Conversions that are not for reading: (module, kind) → why.
EXEMPT = {
    ("bot/backup.py", "format spec"): "a backup folder's sortable UTC suffix",
    ("records/demo.py", "format spec"): "the text SQLite stores for a UTC instant",
    ("records/demo.py", "astimezone"): "the text SQLite stores for a UTC instant",
    ("records/dbcopy.py", "astimezone"): "the digest of a stored UTC instant",
    ("records/dbcopy.py", "replace(tzinfo=None)"): "the digest of a stored UTC instant",
}


def test_a_naive_database_value_is_read_as_utc() -> None:
    naive = datetime(2026, 10, 2, 2, 0)  # how SQLite hands back 09:00 in Hà Nội
    assert to_local(naive, HANOI) == datetime(2026, 10, 2, 9, 0, tzinfo=timezone(timedelta(hours=7)))
    assert format_local(naive, HANOI) == "02/10/2026 09:00"
    assert local_wall_time(naive, HANOI) == datetime(2026, 10, 2, 9, 0)
    assert local_wall_time(naive, HANOI).tzinfo is None


def test_an_aware_value_keeps_its_instant_whatever_its_zone() -> None:
    at = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)  # already 1 November in Hà Nội
    assert format_local(at, HANOI, "%H:%M %d/%m/%Y") == "06:30 01/11/2026"
    assert local_date(at, HANOI) == date(2026, 11, 1)
    plus_two = at.astimezone(timezone(timedelta(hours=2)))
    assert format_local(plus_two, HANOI) == "01/11/2026 06:30"
    assert local_iso(at, HANOI) == "2026-11-01T06:30:00+07:00"
    assert format_local(at, "Europe/Berlin") == "01/11/2026 00:30"  # winter time there (UTC+1)


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(UnknownTimeZone):
        format_local(datetime(2026, 1, 1, tzinfo=UTC), "Asia/Ha_Noi")


def test_a_calendar_day_is_written_day_first() -> None:
    assert format_date(date(2026, 10, 2)) == "02/10/2026"


def violations(source: str, name: str = "<test>") -> list[tuple[str, int, str]]:
    """Date and time formatting done by hand: strftime, `{x:%…}`, astimezone, ZoneInfo, replace(tzinfo=None)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        kind = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("strftime", "astimezone"):
                kind = node.func.attr
            elif node.func.attr == "replace" and any(
                k.arg == "tzinfo" and isinstance(k.value, ast.Constant) and k.value.value is None
                for k in node.keywords
            ):
                kind = "replace(tzinfo=None)"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ZoneInfo":
            kind = "ZoneInfo"
        elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            spec = "".join(str(v.value) for v in ast.walk(node.format_spec) if isinstance(v, ast.Constant))
            kind = "format spec" if re.search(r"%[A-Za-z]", spec) else None  # "%d/%m", not "{share:.1%}"
        if kind is not None:
            found.append((name, node.lineno, kind))
    return found


def test_the_scan_finds_hand_made_times() -> None:
    bad = """
at.strftime("%d/%m/%Y")
f"{at:%H:%M}"
at.replace(tzinfo=None)
at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
"""
    assert sorted(kind for _, _, kind in violations(bad)) == sorted(
        ["strftime", "format spec", "replace(tzinfo=None)", "astimezone", "ZoneInfo"]
    )
    good = """
format_local(at, tz)
f"{share:.0f}% {rate:.1%}"
at.replace(tzinfo=UTC)
value.replace(day=1)
"""
    assert violations(good) == []


def test_no_module_formats_times_except_records_localtime() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name == "records/localtime.py" or "/migrations/" in name:
                continue
            found += [v for v in violations(path.read_text(encoding="utf-8"), name) if v[::2] not in EXEMPT]
    assert found == []
