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
import logging
from collections.abc import Awaitable, Callable
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
        services = services_of(context)
        async with self._locks.hold(user.id):  # one message of a user at a time: steps never interleave
            state = await asyncio.to_thread(
                botstate.load_conversation, services.db, chat_id=chat.id, user_id=user.id
            )
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
    await asyncio.to_thread(
        botstate.save_conversation, services.db, chat_id=chat_id, user_id=user_id, state=step, data=data or {}
    )


async def end_step(context: ContextTypes.DEFAULT_TYPE, *, chat_id: int, user_id: int) -> bool:
    """Forget the user's step; True when there was one."""
    services = services_of(context)
    return await asyncio.to_thread(botstate.clear_conversation, services.db, chat_id=chat_id, user_id=user_id)
