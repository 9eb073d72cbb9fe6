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
)
from telegram.error import TelegramError

from bot import texts
from bot.access import CurrentUser
from bot.feature import CommandSpec, Feature, allowed

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


async def set_user_menu(bot: Bot, features: Sequence[Feature], user: CurrentUser, *, chat_id: int) -> None:
    """The menu of one signed-in user's private chat."""
    specs = commands_for(features, signed_in=user.signed_in, roles=user.roles)
    try:
        await bot.set_my_commands(
            [BotCommand(c.name, c.description) for c in specs], scope=BotCommandScopeChat(chat_id)
        )
    except TelegramError as exc:
        log.warning("could not set the menu of a chat: %s", type(exc).__name__)
