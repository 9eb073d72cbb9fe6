"""DB-backed conversation state: a user's current step survives restarts (even kill -9).

A feature registers step handlers by name (`router.add_step("qa:staff_reply", fn)`), starts a step with
`await start_step(...)` and ends it with `await end_step(...)`. Every private text message goes through
`route_text`: if the sender has a step, its handler gets the message; otherwise the interceptors (e.g. an
invite code from a guest) and then the default handler (regulation Q&A) do. `/huy` ends any step.

```mermaid
stateDiagram-v2
    [*] --> idle
    idle --> step: feature calls start_step (button or command)
    step --> step: step handler keeps the state (bad input → hint)
    step --> idle: step handler calls end_step / user sends /huy
```
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.locks import KeyedLocks
from bot.services import services_of
from records import botstate

log = logging.getLogger(__name__)

StepHandler = Callable[[Update, ContextTypes.DEFAULT_TYPE, dict[str, Any]], Awaitable[None]]
TextHandler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]
Interceptor = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[bool]]

STATES_KEY = "canbo.conversation_states"
MAX_CACHED_STATES = 20_000
CACHE_TTL_S = 300.0
_Key = tuple[int, int]
_Entry = tuple[str, str, datetime] | None  # (step, JSON data, updated at), or None when idle


class ConversationCache:
    """Write-through cache of conversation steps, so most messages need no database read.

    Sound because this process is the only writer in normal operation: one bot process polls (or receives
    the webhook for) a token, and every step change goes through `start_step`/`end_step`. Entries expire
    after `ttl_s` so a change made by another process (e.g. `canbo person-data` anonymising someone) is
    seen within minutes. Entries hold the JSON text, so each read returns fresh objects like a database read.
    """

    def __init__(
        self,
        *,
        max_entries: int = MAX_CACHED_STATES,
        ttl_s: float = CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[_Key, tuple[float, _Entry]] = OrderedDict()
        self._max = max_entries
        self._ttl = ttl_s
        self._clock = clock

    def _fresh(self, key: _Key) -> tuple[float, _Entry] | None:
        item = self._entries.get(key)
        if item is None:
            return None
        if self._clock() - item[0] > self._ttl:
            del self._entries[key]
            return None
        return item

    def get(self, key: _Key) -> tuple[bool, botstate.ConversationState | None]:
        """(cached?, state)."""
        item = self._fresh(key)
        if item is None:
            return False, None
        self._entries.move_to_end(key)
        entry = item[1]
        if entry is None:
            return True, None
        step, data, updated_at = entry
        return True, botstate.ConversationState(
            chat_id=key[0], user_id=key[1], state=step, data=json.loads(data), updated_at=updated_at
        )

    def has(self, key: _Key) -> bool:
        return self._fresh(key) is not None

    def put(self, key: _Key, state: botstate.ConversationState | None) -> None:
        entry = (
            None
            if state is None
            else (state.state, json.dumps(state.data, ensure_ascii=False), state.updated_at)
        )
        self.put_entry(key, entry)

    def put_entry(self, key: _Key, entry: _Entry) -> None:
        self._entries[key] = (self._clock(), entry)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, key: _Key) -> None:
        self._entries.pop(key, None)


def _cache(context: ContextTypes.DEFAULT_TYPE) -> ConversationCache:
    cache: ConversationCache = context.application.bot_data.setdefault(STATES_KEY, ConversationCache())
    return cache


async def load_state(
    context: ContextTypes.DEFAULT_TYPE, *, chat_id: int, user_id: int
) -> botstate.ConversationState | None:
    """The user's conversation step in this chat (from the cache, else the database), or None when idle."""
    cache, key = _cache(context), (chat_id, user_id)
    cached, state = cache.get(key)
    if cached:
        return state
    state = await asyncio.to_thread(
        botstate.load_conversation, services_of(context).db, chat_id=chat_id, user_id=user_id
    )
    if cache.has(key):  # a step started or ended while we read: that write is newer
        return cache.get(key)[1]
    cache.put(key, state)
    return state


class StepRouter:
    """Maps conversation step names to handlers; sends other text to the default handler."""

    def __init__(self) -> None:
        self._steps: dict[str, StepHandler] = {}
        self._default: TextHandler | None = None
        self._interceptors: list[Interceptor] = []
        self._locks = KeyedLocks()

    def add_step(self, name: str, handler: StepHandler) -> None:
        if name in self._steps:
            raise ValueError(f"conversation step {name!r} registered twice")
        self._steps[name] = handler

    def add_interceptor(self, interceptor: Interceptor) -> None:
        """Runs (in order) before the default handler for users without a step; True = handled."""
        self._interceptors.append(interceptor)

    def set_default(self, handler: TextHandler) -> None:
        self._default = handler

    @property
    def steps(self) -> frozenset[str]:
        return frozenset(self._steps)

    async def route_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle a private text message: the sender's current step, else the default handler."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return
        async with self._locks.hold(user.id):  # one message of a user at a time: steps never interleave
            state = await load_state(context, chat_id=chat.id, user_id=user.id)
            if state is not None:
                handler = self._steps.get(state.state)
                if handler is not None:
                    await handler(update, context, state.data)
                    return
                log.warning("dropping unknown conversation step %s", state.state)
                await end_step(context, chat_id=chat.id, user_id=user.id)
            for interceptor in self._interceptors:
                if await interceptor(update, context):
                    return
            if self._default is not None:
                await self._default(update, context)


async def start_step(
    context: ContextTypes.DEFAULT_TYPE,
    *,
    chat_id: int,
    user_id: int,
    step: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Persist the user's next step before replying (so a crash right after still resumes it)."""
    services = services_of(context)
    cache, key = _cache(context), (chat_id, user_id)
    cache.put_entry(key, (step, json.dumps(data or {}, ensure_ascii=False), datetime.now(UTC)))
    try:
        await asyncio.to_thread(
            botstate.save_conversation,
            services.db,
            chat_id=chat_id,
            user_id=user_id,
            state=step,
            data=data or {},
        )
    except BaseException:
        cache.forget(key)  # the next read goes to the database
        raise


async def end_step(context: ContextTypes.DEFAULT_TYPE, *, chat_id: int, user_id: int) -> bool:
    """Forget the user's step; True when there was one."""
    services = services_of(context)
    cache, key = _cache(context), (chat_id, user_id)
    cache.put_entry(key, None)
    try:
        return await asyncio.to_thread(
            botstate.clear_conversation, services.db, chat_id=chat_id, user_id=user_id
        )
    except BaseException:
        cache.forget(key)
        raise
