"""The one local-time helper: naive values are UTC, aware values keep their instant, unknown zones are refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from records.localtime import (
    UnknownTimeZone,
    format_local,
    local_date,
    local_iso,
    local_wall_time,
    to_local,
)

HANOI = "Asia/Ho_Chi_Minh"


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
