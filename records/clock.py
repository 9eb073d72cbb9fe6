"""The current time in UTC, overridable by callers (services take `now=` for tests and replays)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now(now: datetime | None = None) -> datetime:
    """`now` if given (made aware as UTC when naive), else the current UTC time."""
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)
