"""The command menu (setMyCommands) and /trogiup, computed from the features and the user's roles."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    Chat,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import texts
from bot.access import CurrentUser, current_user
from bot.feature import CommandSpec, Feature, allowed
from bot.services import FEATURES_KEY

log = logging.getLogger(__name__)


def commands_for(features: Sequence[Feature], *, signed_in: bool, roles: frozenset[str]) -> list[CommandSpec]:
    """The commands a user may use, in feature order, without duplicates."""
    seen: set[str] = set()
    result: list[CommandSpec] = []
    for feature in features:
        for spec in feature.commands:
            if spec.name not in seen and allowed(spec.roles, signed_in=signed_in, roles=roles):
                seen.add(spec.name)
                result.append(spec)
    return result


def help_text(features: Sequence[Feature], user: CurrentUser, *, bot_username: str) -> str:
    """/trogiup for this user (HTML)."""
    lines = [texts.HELP_HEADER]
    for spec in commands_for(features, signed_in=user.signed_in, roles=user.roles):
        lines.append(f"/{spec.name} — {spec.description}")
    extra = [
        line
        for feature in features
        for roles, line in feature.help_lines
        if allowed(roles, signed_in=user.signed_in, roles=user.roles)
    ]
    body = "\n".join(lines)
    if extra:
        body += "\n\n" + "\n".join(extra)
    if not user.signed_in:
        body += "\n\n" + texts.HELP_GUEST
    return body.replace("{bot_username}", bot_username)


async def set_default_menus(bot: Bot, features: Sequence[Feature]) -> None:
    """The menu for everyone (private chats, not signed in) and for group chats."""
    guest = [
        BotCommand(c.name, c.description) for c in commands_for(features, signed_in=False, roles=frozenset())
    ]
    groups = [
        BotCommand(c.name, c.description)
        for c in commands_for(features, signed_in=False, roles=frozenset())
        if c.in_groups
    ]
    await bot.set_my_commands(guest)
    await bot.set_my_commands(guest, scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands(groups, scope=BotCommandScopeAllGroupChats())


MENU_ROLES_KEY = "canbo.menu_roles"


async def sync_menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Keep a private chat's menu in step with the user's roles (set once per process, again on change)."""
    chat = update.effective_chat
    if chat is None or chat.type != Chat.PRIVATE or update.effective_user is None:
        return
    user = await current_user(update, context)
    known: dict[int, tuple[bool, frozenset[str]]] = context.application.bot_data.setdefault(
        MENU_ROLES_KEY, {}
    )
    state = (user.signed_in, user.roles)
    if known.get(chat.id) == state:
        return
    known[chat.id] = state
    await set_user_menu(context.bot, context.application.bot_data[FEATURES_KEY], user, chat_id=chat.id)


async def set_user_menu(bot: Bot, features: Sequence[Feature], user: CurrentUser, *, chat_id: int) -> None:
    """The menu of one signed-in user's private chat."""
    specs = commands_for(features, signed_in=user.signed_in, roles=user.roles)
    try:
        await bot.set_my_commands(
            [BotCommand(c.name, c.description) for c in specs], scope=BotCommandScopeChat(chat_id)
        )
    except TelegramError as exc:
        log.warning("could not set the menu of a chat: %s", type(exc).__name__)
