"""A local, in-memory Telegram Bot API (for end-to-end tests and the playground)."""

from bot.localapi.methods import BotApiError
from bot.localapi.server import LocalBotApi, ServerThread
from bot.localapi.world import ChatMessage, StoredFile, User, World, WorldError

__all__ = [
    "BotApiError",
    "ChatMessage",
    "LocalBotApi",
    "ServerThread",
    "StoredFile",
    "User",
    "World",
    "WorldError",
]
