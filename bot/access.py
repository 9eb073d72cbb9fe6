"""Who is talking: the signed-in person, their roles and scopes; guards for private chats and roles."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from telegram import Chat, Update
from telegram.ext import ContextTypes

from bot import texts
from bot.messages import escape
from bot.replies import reply_html
from bot.services import services_of
from records import access as records_access
from records import people
from records.db import session_scope

CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class CurrentUser:
    """The Telegram user and, when signed in, the person on the roster with their roles."""

    telegram_user_id: int
    person_id: int | None = None
    full_name: str = ""
    unit_id: int | None = None
    unit_name: str = ""
    roles: frozenset[str] = frozenset()
    role_units: tuple[tuple[str, int], ...] = ()  # (role, scope unit id)

    @property
    def signed_in(self) -> bool:
        return self.person_id is not None

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


def load_user(engine: Engine, *, telegram_user_id: int) -> CurrentUser:
    """Resolve a Telegram user id against the roster (blocking; call through asyncio.to_thread)."""
    with session_scope(engine) as session:
        person = people.find_person_by_telegram(session, telegram_user_id=telegram_user_id)
        if person is None:
            return CurrentUser(telegram_user_id=telegram_user_id)
        roles = records_access.roles_of(session, person_id=person.id)
        return CurrentUser(
            telegram_user_id=telegram_user_id,
            person_id=person.id,
            full_name=person.full_name,
            unit_id=person.unit_id,
            unit_name=person.unit_name,
            roles=frozenset(r.role for r in roles),
            role_units=tuple((r.role, r.unit_id) for r in roles),
        )


class UserCache:
    """Short-lived cache of CurrentUser by Telegram id (invalidated on sign-in)."""

    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._items: dict[int, tuple[float, CurrentUser]] = {}

    def get(self, telegram_user_id: int) -> CurrentUser | None:
        item = self._items.get(telegram_user_id)
        if item is None or time.monotonic() - item[0] > self.ttl:
            return None
        return item[1]

    def put(self, user: CurrentUser) -> None:
        if len(self._items) > 50_000:
            self._items.clear()
        self._items[user.telegram_user_id] = (time.monotonic(), user)

    def forget(self, telegram_user_id: int) -> None:
        self._items.pop(telegram_user_id, None)


USERS_KEY = "canbo.users"


def user_cache(context: ContextTypes.DEFAULT_TYPE) -> UserCache:
    cache: UserCache = context.application.bot_data.setdefault(USERS_KEY, UserCache())
    return cache


async def current_user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> CurrentUser:
    """The sender of `update` (never None for messages and button presses)."""
    tg_user = update.effective_user
    if tg_user is None:
        return CurrentUser(telegram_user_id=0)
    cache = user_cache(context)
    cached = cache.get(tg_user.id)
    if cached is not None:
        return cached
    user = await asyncio.to_thread(load_user, services_of(context).db, telegram_user_id=tg_user.id)
    cache.put(user)
    return user


def is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == Chat.PRIVATE


async def ensure_private(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """False (after redirecting the user to a private chat) when the update comes from a group."""
    if is_private(update):
        return True
    username = services_of(context).bot_username or context.bot.username or ""
    await reply_html(update, context, texts.PRIVATE_ONLY.format(bot_username=escape(username)))
    return False


async def ensure_signed_in(update: Update, context: ContextTypes.DEFAULT_TYPE) -> CurrentUser | None:
    """The signed-in user, or None after telling them how to sign in."""
    user = await current_user(update, context)
    if user.signed_in:
        return user
    await reply_html(update, context, texts.LOGIN_REQUIRED)
    return None


async def ensure_role(update: Update, context: ContextTypes.DEFAULT_TYPE, *roles: str) -> CurrentUser | None:
    """The signed-in user holding one of `roles`, or None after a polite refusal."""
    user = await ensure_signed_in(update, context)
    if user is None:
        return None
    if user.has_role(*roles):
        return user
    support = escape(services_of(context).settings.support_contact)
    await reply_html(update, context, texts.NOT_ALLOWED.format(support=support))
    return None
