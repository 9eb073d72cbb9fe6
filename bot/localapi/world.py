"""The in-memory Telegram world behind the local Bot API: users, chats, messages, files and the update queue."""

from __future__ import annotations

import copy
import re
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.localapi.markup import ParsedText, plain_text, utf16_length

T = TypeVar("T")

_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,32}")
SEND_METHODS = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "editMessageText", "editMessageReplyMarkup"}
)


class WorldError(ValueError):
    """A test or the playground asked for something impossible (unknown user, chat, message or button)."""


@dataclass
class User:
    """A Telegram account: a person (or the bot itself)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    phone_number: str | None = None
    language_code: str | None = "vi"
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None and not (self.is_bot and key == "language_code"):
                data[key] = value
        return data

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


@dataclass
class Chat:
    """A private chat (id = the user's id) or a group (negative id)."""

    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    member_ids: set[int] = field(default_factory=set)
    reply_keyboard: dict[str, Any] | None = None  # the keyboard the bot currently shows
    chat_instance: str = field(default_factory=lambda: str(secrets.randbits(62)))

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "first_name", "last_name", "username"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass
class StoredFile:
    """A file known to the server: uploaded by a user or sent by the bot."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    @property
    def size(self) -> int:
        return len(self.data)

    def document_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data

    def photo_api(self) -> list[dict[str, Any]]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width,
                "height": self.height,
                "file_size": self.size,
            }
        ]


@dataclass
class ChatMessage:
    """One message in a chat, as the server keeps it (edits applied in place).

    Snapshots handed out are shallow copies: the server replaces nested values on edits and never mutates
    them, so readers must not mutate them either.
    """

    chat_id: int
    message_id: int
    from_id: int
    from_bot: bool
    date: int
    text: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    page_html: str = ""
    source: str | None = None  # the text exactly as the bot sent it (with HTML tags)
    reply_markup: dict[str, Any] | None = None
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    document: StoredFile | None = None
    photo: StoredFile | None = None
    contact: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    edit_count: int = 0
    deleted: bool = False
    version: int = 0

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            rows: list[list[dict[str, Any]]] = self.reply_markup["inline_keyboard"]
            return rows
        return []

    @property
    def button_texts(self) -> list[str]:
        """Texts of the inline buttons, row by row."""
        return [button.get("text", "") for row in self.inline_keyboard for button in row]

    @property
    def body(self) -> str:
        """Text or caption, whichever the message has."""
        return self.text if self.text is not None else (self.caption or "")


@dataclass
class _Pending:
    update_id: int
    payload: dict[str, Any]
    delivered: bool = False
    redelivery: bool = False


@dataclass
class CallbackAnswer:
    """What the bot answered to an inline button press."""

    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    chat_id: int = 0
    version: int = 0


class World:
    """Thread-safe state: tests and the playground inject updates; the Bot API methods read and change it."""

    def __init__(
        self, *, bot_id: int, bot_username: str = "canbo_local_bot", bot_name: str = "Trợ lý Cán bộ"
    ):
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.bot = User(
            id=bot_id, first_name=bot_name, username=bot_username, is_bot=True, language_code=None
        )
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self._messages: dict[int, list[ChatMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self.files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._pending: list[_Pending] = []
        self.update_log: dict[int, dict[str, Any]] = {}
        self._next_update_id = 700_000_001
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.callback_query_ids: dict[str, int] = {}  # query id -> chat id
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self._last_action: dict[int, tuple[str, float, int]] = {}  # chat -> (action, monotonic, version)
        self.webhook_url = ""
        self.webhook_secret = ""  # sent in X-Telegram-Bot-Api-Secret-Token with each webhook delivery
        self.calls: Counter[str] = Counter()
        self.version = 0
        # Flow control for the bot's sending methods.
        self._fail_next: deque[int] = deque()
        self.rate_limit_per_second: float | None = None
        self._send_times: deque[float] = deque()
        self.rejected_sends = 0
        self._listeners: list[Callable[[], None]] = []
        self.blocked_by: set[int] = set()  # users who blocked the bot

    # ----------------------------------------------------------------------------------------------
    # Change notification
    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener` (from any thread) after every change."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _touch(self) -> int:
        """Record a change; caller holds the lock."""
        self.version += 1
        self._changed.notify_all()
        for listener in list(self._listeners):
            listener()
        return self.version

    def wait_until(self, predicate: Callable[[], T | None], timeout: float) -> T:
        """Block until `predicate()` returns something truthy (re-checked after every change)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout:.1f}s")
                self._changed.wait(min(remaining, 0.5))

    # ----------------------------------------------------------------------------------------------
    # People and chats
    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        phone_number: str | None = None,
        language_code: str | None = "vi",
    ) -> User:
        """Create (or update) a person and their private chat with the bot."""
        with self._lock:
            user = User(
                id=user_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                phone_number=phone_number,
                language_code=language_code,
            )
            self.users[user_id] = user
            chat = self.chats.get(user_id)
            if chat is None:
                self.chats[user_id] = Chat(
                    id=user_id,
                    type="private",
                    first_name=first_name,
                    last_name=last_name,
                    username=username,
                    member_ids={user_id},
                )
            else:
                chat.first_name, chat.last_name, chat.username = first_name, last_name, username
            self._touch()
            return user

    def add_group(self, chat_id: int, title: str, member_ids: list[int], *, supergroup: bool = False) -> Chat:
        """Create a group chat (negative id) with the bot and the given people."""
        if chat_id >= 0:
            raise WorldError("group chat ids are negative")
        with self._lock:
            for member in member_ids:
                self.user(member)
            chat = Chat(
                id=chat_id,
                type="supergroup" if supergroup else "group",
                title=title,
                member_ids=set(member_ids),
            )
            self.chats[chat_id] = chat
            self._touch()
            return chat

    def block_bot(self, user_id: int, *, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sending to their private chat answers 403."""
        with self._lock:
            self.user(user_id)
            if blocked:
                self.blocked_by.add(user_id)
            else:
                self.blocked_by.discard(user_id)

    def user(self, user_id: int) -> User:
        with self._lock:
            try:
                return self.users[user_id]
            except KeyError:
                raise WorldError(f"unknown user {user_id}") from None

    def chat(self, chat_id: int) -> Chat:
        with self._lock:
            try:
                return self.chats[chat_id]
            except KeyError:
                raise WorldError(f"unknown chat {chat_id}") from None

    def _chat_for(self, user_id: int, chat_id: int | None) -> Chat:
        user = self.user(user_id)
        chat = self.chat(user.id if chat_id is None else chat_id)
        if user.id not in chat.member_ids:
            raise WorldError(f"user {user_id} is not a member of chat {chat.id}")
        return chat

    # ----------------------------------------------------------------------------------------------
    # Messages
    def _new_message(self, chat: Chat, *, from_id: int, from_bot: bool, **fields: Any) -> ChatMessage:
        message_id = self._next_message_id.get(chat.id, 1)
        self._next_message_id[chat.id] = message_id + 1
        message = ChatMessage(
            chat_id=chat.id,
            message_id=message_id,
            from_id=from_id,
            from_bot=from_bot,
            date=int(time.time()),
            **fields,
        )
        self._messages.setdefault(chat.id, []).append(message)
        message.version = self._touch()
        return message

    def find_message(self, chat_id: int, message_id: int) -> ChatMessage | None:
        with self._lock:
            for message in self._messages.get(chat_id, []):
                if message.message_id == message_id and not message.deleted:
                    return message
            return None

    def message_api(self, message: ChatMessage) -> dict[str, Any]:
        """The Telegram `Message` object for a stored message."""
        with self._lock:
            sender = self.bot if message.from_bot else self.users[message.from_id]
            data: dict[str, Any] = {
                "message_id": message.message_id,
                "date": message.date,
                "chat": self.chats[message.chat_id].to_api(),
                "from": sender.to_api(),
            }
            if message.text is not None:
                data["text"] = message.text
                if message.entities:
                    data["entities"] = copy.deepcopy(message.entities)
            if message.caption is not None:
                data["caption"] = message.caption
                if message.caption_entities:
                    data["caption_entities"] = copy.deepcopy(message.caption_entities)
            if message.document is not None:
                data["document"] = message.document.document_api()
            if message.photo is not None:
                data["photo"] = message.photo.photo_api()
            if message.contact is not None:
                data["contact"] = dict(message.contact)
            if message.reply_markup and "inline_keyboard" in message.reply_markup:
                data["reply_markup"] = copy.deepcopy(message.reply_markup)
            if message.edit_date is not None:
                data["edit_date"] = message.edit_date
            if message.reply_to_message_id is not None:
                original = self.find_message(message.chat_id, message.reply_to_message_id)
                if original is not None:
                    data["reply_to_message"] = self.message_api(
                        ChatMessage(**{**original.__dict__, "reply_to_message_id": None})
                    )
            return data

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[ChatMessage]:
        """A snapshot of the chat's messages, oldest first."""
        with self._lock:
            return [copy.copy(m) for m in self._messages.get(chat_id, []) if include_deleted or not m.deleted]

    def bot_messages(self, chat_id: int) -> list[ChatMessage]:
        """A snapshot of what the bot sent to the chat (edits applied, deleted ones left out)."""
        return [m for m in self.messages(chat_id) if m.from_bot]

    def changed_messages(self, chat_id: int, since_version: int) -> list[ChatMessage]:
        """Messages created, edited or deleted after `since_version` (deleted ones included)."""
        with self._lock:
            return [copy.copy(m) for m in self._messages.get(chat_id, []) if m.version > since_version]

    # ----------------------------------------------------------------------------------------------
    # Updates: what users do
    def _enqueue(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, kind: payload}
        self.update_log[update_id] = update
        self._pending.append(_Pending(update_id=update_id, payload=update))
        self._touch()
        return update_id

    def _user_message(self, user_id: int, chat_id: int | None, **fields: Any) -> tuple[ChatMessage, int]:
        with self._lock:
            chat = self._chat_for(user_id, chat_id)
            message = self._new_message(chat, from_id=user_id, from_bot=False, **fields)
            if chat.reply_keyboard and chat.reply_keyboard.get("one_time_keyboard"):
                chat.reply_keyboard = None
            update_id = self._enqueue("message", self.message_api(message))
            return copy.copy(message), update_id

    def send_text(
        self, user_id: int, text: str, *, chat_id: int | None = None, reply_to_message_id: int | None = None
    ) -> ChatMessage:
        """The user types `text` (commands get `bot_command` entities, @names get `mention` entities)."""
        if not text:
            raise WorldError("empty text")
        entities: list[dict[str, Any]] = []
        for match in _COMMAND_RE.finditer(text):
            entities.append(_entity(text, "bot_command", match.start(), match.end()))
        for match in _MENTION_RE.finditer(text):
            entities.append(_entity(text, "mention", match.start(), match.end()))
        entities.sort(key=lambda e: e["offset"])
        message, _ = self._user_message(
            user_id,
            chat_id,
            text=text,
            entities=entities,
            page_html=plain_text(text).page_html,
            reply_to_message_id=reply_to_message_id,
        )
        return message

    def share_contact(
        self,
        user_id: int,
        *,
        phone_number: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        contact_user_id: int | None = None,
        chat_id: int | None = None,
    ) -> ChatMessage:
        """The user shares a contact: by default their own (with `user_id`), or anyone's."""
        user = self.user(user_id)
        own = phone_number is None
        phone = user.phone_number if own else phone_number
        if not phone:
            raise WorldError(f"user {user_id} has no phone number to share")
        contact: dict[str, Any] = {
            "phone_number": phone,
            "first_name": (first_name or user.first_name) if own else (first_name or "Liên hệ"),
        }
        surname = (last_name or user.last_name) if own else last_name
        if surname:
            contact["last_name"] = surname
        linked = user.id if own else contact_user_id
        if linked is not None:
            contact["user_id"] = linked
        message, _ = self._user_message(user_id, chat_id, contact=contact)
        return message

    def upload_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> ChatMessage:
        """The user sends a file; the bot can fetch it through getFile and the file URL."""
        with self._lock:
            stored = self.store_file(data, file_name=file_name, mime_type=mime_type, folder="documents")
            message, _ = self._user_message(
                user_id,
                chat_id,
                document=stored,
                caption=caption,
                page_html=plain_text(caption or "").page_html,
            )
            return message

    def press_button(
        self,
        user_id: int,
        chat_id: int,
        message_id: int,
        *,
        data: str | None = None,
        text: str | None = None,
    ) -> str:
        """The user presses an inline button (found by callback data or by its text); returns the query id."""
        with self._lock:
            self.user(user_id)
            message = self.find_message(chat_id, message_id)
            if message is None or not message.from_bot:
                raise WorldError(f"no bot message {message_id} in chat {chat_id}")
            chosen: dict[str, Any] | None = None
            for row in message.inline_keyboard:
                for button in row:
                    if (data is not None and button.get("callback_data") == data) or (
                        text is not None and button.get("text") == text
                    ):
                        chosen = button
            if chosen is None or "callback_data" not in chosen:
                raise WorldError(f"message {message_id} has no callback button {data or text!r}")
            return self._enqueue_callback(user_id, message, chosen["callback_data"])

    def forge_callback(self, user_id: int, chat_id: int, message_id: int, data: str) -> str:
        """A modified client presses a button that is not there: any `data` on any bot message of the chat
        (Telegram does not check callback data against the keyboard). Returns the query id."""
        with self._lock:
            self.user(user_id)
            message = self.find_message(chat_id, message_id)
            if message is None or not message.from_bot:
                raise WorldError(f"no bot message {message_id} in chat {chat_id}")
            return self._enqueue_callback(user_id, message, data)

    def _enqueue_callback(self, user_id: int, message: ChatMessage, data: str) -> str:
        """Queue a callback_query from `user_id` on `message` carrying `data`; caller holds the lock."""
        query_id = str(secrets.randbits(63))
        self.callback_query_ids[query_id] = message.chat_id
        self._enqueue(
            "callback_query",
            {
                "id": query_id,
                "from": self.users[user_id].to_api(),
                "message": self.message_api(message),
                "chat_instance": self.chats[message.chat_id].chat_instance,
                "data": data,
            },
        )
        return query_id

    def redeliver(self, update_id: int) -> None:
        """Deliver an update again with the same update_id (as Telegram does after a crash)."""
        with self._lock:
            if update_id not in self.update_log:
                raise WorldError(f"unknown update {update_id}")
            self._pending.append(
                _Pending(update_id=update_id, payload=self.update_log[update_id], redelivery=True)
            )
            self._pending.sort(key=lambda p: p.update_id)  # Telegram delivers in increasing update_id order
            self._touch()

    @property
    def last_update_id(self) -> int:
        with self._lock:
            return self._next_update_id - 1

    def take_updates(self, offset: int | None, limit: int, allowed: list[str] | None) -> list[dict[str, Any]]:
        """getUpdates without waiting: confirm everything below `offset`, return what is left."""
        with self._lock:
            if offset is not None and offset < 0:
                keep = self._pending[offset:]
                self._pending = keep
            elif offset is not None:
                self._pending = [
                    p for p in self._pending if p.update_id >= offset or (p.redelivery and not p.delivered)
                ]
            if allowed:
                self._pending = [
                    p for p in self._pending if any(k in allowed for k in p.payload if k != "update_id")
                ]
            chosen: list[dict[str, Any]] = []
            for pending in self._pending[:limit]:
                pending.delivered = True
                chosen.append(pending.payload)  # never mutated after creation
            return chosen

    def confirm_update(self, update_id: int) -> None:
        """Webhook delivery: the bot answered 2xx for this update, so Telegram forgets it."""
        with self._lock:
            for index, pending in enumerate(self._pending):
                if pending.update_id == update_id and pending.delivered:
                    del self._pending[index]
                    self._touch()
                    return

    @property
    def pending_update_count(self) -> int:
        """Updates not yet confirmed by the bot (getWebhookInfo's pending_update_count)."""
        with self._lock:
            return len(self._pending)

    # ----------------------------------------------------------------------------------------------
    # Files
    def store_file(
        self,
        data: bytes,
        *,
        file_name: str | None,
        mime_type: str | None,
        folder: str,
        width: int = 0,
        height: int = 0,
    ) -> StoredFile:
        with self._lock:
            file_id = "BQAC" + secrets.token_urlsafe(24)
            unique = "AgAD" + secrets.token_urlsafe(8)
            extension = ""
            if file_name and "." in file_name:
                extension = "." + re.sub(r"[^A-Za-z0-9]", "", file_name.rsplit(".", 1)[1])[:8]
            path = f"{folder}/file_{len(self.files)}{extension}"
            stored = StoredFile(
                file_id=file_id,
                file_unique_id=unique,
                file_path=path,
                data=bytes(data),
                file_name=file_name,
                mime_type=mime_type,
                width=width,
                height=height,
            )
            self.files[file_id] = stored
            self._files_by_path[path] = stored
            return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        with self._lock:
            return self._files_by_path.get(path)

    # ----------------------------------------------------------------------------------------------
    # Flow control for the bot's sends
    def fail_next_sends(self, count: int, *, retry_after: int = 1) -> None:
        """Answer the next `count` sending calls with 429 Too Many Requests."""
        with self._lock:
            self._fail_next.extend([retry_after] * count)

    def set_rate_limit(self, per_second: float | None = 30) -> None:
        """Answer 429 to sending calls above `per_second` in any sliding second (None: unlimited)."""
        with self._lock:
            self.rate_limit_per_second = per_second
            self._send_times.clear()

    def admit_send(self) -> int | None:
        """None if a sending call may proceed, else the retry_after seconds to answer with."""
        with self._lock:
            if self._fail_next:
                self.rejected_sends += 1
                return self._fail_next.popleft()
            if self.rate_limit_per_second:
                now = time.monotonic()
                while self._send_times and now - self._send_times[0] >= 1.0:
                    self._send_times.popleft()
                if len(self._send_times) >= self.rate_limit_per_second:
                    self.rejected_sends += 1
                    return 1
                self._send_times.append(now)
            return None

    # ----------------------------------------------------------------------------------------------
    # What the bot does (called by the Bot API methods)
    def bot_message(self, chat_id: int, parsed: ParsedText | None, **fields: Any) -> ChatMessage:
        with self._lock:
            chat = self.chat(chat_id)
            if parsed is not None:
                fields.setdefault("page_html", parsed.page_html)
            markup = fields.get("reply_markup")
            self._apply_reply_keyboard(chat, markup)
            self._last_action.pop(chat_id, None)  # a message ends the "typing…" status, as on Telegram
            return self._new_message(chat, from_id=self.bot.id, from_bot=True, **fields)

    def _apply_reply_keyboard(self, chat: Chat, markup: dict[str, Any] | None) -> None:
        if not markup:
            return
        if "keyboard" in markup:
            chat.reply_keyboard = copy.deepcopy(markup)
        elif markup.get("remove_keyboard"):
            chat.reply_keyboard = None

    def edit_message(self, message: ChatMessage, **changes: Any) -> ChatMessage:
        with self._lock:
            for key, value in changes.items():
                setattr(message, key, value)
            message.edit_date = int(time.time())
            message.edit_count += 1
            message.version = self._touch()
            return message

    def delete_message(self, message: ChatMessage) -> None:
        with self._lock:
            message.deleted = True
            message.version = self._touch()

    def record_chat_action(self, chat_id: int, action: str) -> None:
        with self._lock:
            self.chat_actions.append((chat_id, action))
            self._last_action[chat_id] = (action, time.monotonic(), self._touch())

    def current_chat_action(self, chat_id: int, *, since_version: int = 0) -> str | None:
        """The bot's chat action ("typing", ...) if shown now (Telegram shows one for 5 s) and newer than `since_version`."""
        with self._lock:
            last = self._last_action.get(chat_id)
            if last is None or time.monotonic() - last[1] > 5.0 or last[2] <= since_version:
                return None
            return last[0]

    def record_callback_answer(self, answer: CallbackAnswer) -> None:
        with self._lock:
            answer.chat_id = self.callback_query_ids.get(answer.query_id, 0)
            self.callback_answers[answer.query_id] = answer
            answer.version = self._touch()

    def changed_answers(self, chat_id: int, since_version: int) -> list[CallbackAnswer]:
        """Answers to button presses in the chat after `since_version`."""
        with self._lock:
            return [
                copy.copy(a)
                for a in self.callback_answers.values()
                if a.chat_id == chat_id and a.version > since_version
            ]

    def set_commands(self, scope_key: str, commands: list[dict[str, str]] | None) -> None:
        with self._lock:
            if commands is None:
                self.commands.pop(scope_key, None)
            else:
                self.commands[scope_key] = commands
            self._touch()

    def commands_for(self, chat_id: int, language_code: str = "vi") -> list[dict[str, str]]:
        """The command menu a chat sees: the narrowest scope set by the bot wins, as on Telegram."""
        with self._lock:
            chat = self.chats.get(chat_id)
            private = chat is None or chat.type == "private"
            scopes = [f"chat|{chat_id}|"]
            scopes += ["all_private_chats||"] if private else ["all_group_chats||"]
            scopes.append("default||")
            for scope in scopes:
                for language in (language_code, ""):
                    found = self.commands.get(f"{scope}|{language}")
                    if found:
                        return list(found)
            return []

    def count_call(self, method: str) -> None:
        with self._lock:
            self.calls[method] += 1


def _entity(text: str, kind: str, start: int, end: int) -> dict[str, Any]:
    return {"type": kind, "offset": utf16_length(text[:start]), "length": utf16_length(text[start:end])}
