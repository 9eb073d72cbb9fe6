"""Instants as people read them: in the deployment's time zone (naive values from a database are UTC).

The one place a stored or computed instant becomes a wall-clock time: every message, sheet cell and export
that shows a time goes through `to_local`, `format_local`, `local_wall_time` or `local_iso`, never `strftime`
on a UTC value or `.replace(tzinfo=None)`; calendar days (deadlines, terms) are written by `format_date`.
tests/records/test_localtime.py scans the code for any other date or time formatting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TZ = "Asia/Ho_Chi_Minh"  # CANBO_TIMEZONE's default, for records functions called without a zone
DATE_TIME = "%d/%m/%Y %H:%M"
DATE = "%d/%m/%Y"


class UnknownTimeZone(ValueError):
    """A time zone name the system's zone database does not know (e.g. a typo in CANBO_TIMEZONE)."""


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name` ("Asia/Ho_Chi_Minh"); `UnknownTimeZone` when there is none of that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimeZone(name) from exc


def _zone(tz: str | tzinfo) -> tzinfo:
    return zone(tz) if isinstance(tz, str) else tz


def day_start(day: date, tz: str | tzinfo) -> datetime:
    """The first instant of the calendar `day` in `tz`, as an aware UTC datetime (for comparing with stored
    instants: 01/11/2026 starts at 2026-10-31 17:00 UTC in Hà Nội)."""
    return datetime.combine(day, time(), tzinfo=_zone(tz)).astimezone(UTC)


def to_local(at: datetime, tz: str | tzinfo) -> datetime:
    """`at` as an aware datetime in `tz`; a naive `at` is taken to be UTC (how databases hand them back)."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return aware.astimezone(_zone(tz))


def local_date(at: datetime, tz: str | tzinfo) -> date:
    """The calendar day `at` falls on in `tz`."""
    return to_local(at, tz).date()


def local_wall_time(at: datetime, tz: str | tzinfo) -> datetime:
    """The naive wall-clock time of `at` in `tz`, for a spreadsheet cell (Excel datetimes carry no zone)."""
    return to_local(at, tz).replace(tzinfo=None)


def format_local(at: datetime, tz: str | tzinfo, fmt: str = DATE_TIME) -> str:
    """`at` written with `fmt` (strftime codes) in `tz`, e.g. "02/10/2026 09:00"."""
    return to_local(at, tz).strftime(fmt)


def format_date(day: date) -> str:
    """A calendar day as users write it, "02/10/2026" (a deadline or a term: no zone, it is already a day)."""
    return day.strftime(DATE)


def local_iso(at: datetime, tz: str | tzinfo) -> str:
    """ISO 8601 in `tz` with its offset, e.g. "2026-10-02T09:00:00+07:00" (for machine-readable exports)."""
    return to_local(at, tz).isoformat()
