"""Per-key asyncio locks: serialise actions on the same thing (a user's messages, a document's buttons)."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

MAX_IDLE_LOCKS = 10_000


class KeyedLocks:
    """`async with locks.hold(key): ...` — one holder per key at a time, within this process."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}

    def hold(self, key: Hashable) -> asyncio.Lock:
        if len(self._locks) > MAX_IDLE_LOCKS:
            for stale in [k for k, lock in self._locks.items() if not lock.locked()]:
                del self._locks[stale]
        return self._locks.setdefault(key, asyncio.Lock())
