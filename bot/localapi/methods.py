"""Bot API methods over the in-memory world: argument decoding, Telegram's checks and Telegram-shaped results."""

from __future__ import annotations

import json
import logging
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.localapi.markup import (
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    ParsedText,
    ParseEntitiesError,
    parse_text,
)
from bot.localapi.world import CallbackAnswer, ChatMessage, StoredFile, World, WorldError

log = logging.getLogger(__name__)

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class BotApiError(Exception):
    """A Telegram-shaped failure: `{"ok": false, "error_code", "description"[, "parameters"]}`."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {description}")


@dataclass
class Upload:
    """A file part of a multipart request."""

    data: bytes
    file_name: str | None
    mime_type: str | None


class Params:
    """Method arguments by name: form fields and query strings are text, JSON bodies are typed."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None):
        self.values = values
        self.uploads = uploads or {}

    def has(self, name: str) -> bool:
        return name in self.values or name in self.uploads

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise bad_request(f"{name} is empty" if name == "text" else f"parameter {name} is required")
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"parameter {name} is required")
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def json(self, name: str) -> Any:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def input_file(self, name: str, world: World) -> Upload | StoredFile:
        """An uploaded part (directly or via attach://) or an existing file_id."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.text(name, required=True) or ""
        if value.startswith("attach://") and value[len("attach://") :] in self.uploads:
            return self.uploads[value[len("attach://") :]]
        if value in world.files:
            return world.files[value]
        raise bad_request("wrong file identifier/HTTP URL specified")


def _chat_id(params: Params, world: World) -> int:
    raw = params.values.get("chat_id")
    if raw is None or raw == "":
        raise bad_request("chat_id is empty")
    if isinstance(raw, str) and raw.startswith("@"):
        for chat in world.chats.values():
            if chat.username and f"@{chat.username}".lower() == raw.lower():
                return chat.id
        raise bad_request("chat not found")
    try:
        chat_id = int(raw)
    except (TypeError, ValueError):
        raise bad_request("chat not found") from None
    if chat_id not in world.chats:
        raise bad_request("chat not found")
    if chat_id in world.blocked_by:
        raise BotApiError(403, "Forbidden: bot was blocked by the user")
    return chat_id


def _check_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise bad_request(
                        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
                if not any(
                    k in button
                    for k in (
                        "callback_data",
                        "url",
                        "switch_inline_query",
                        "web_app",
                        "copy_text",
                        "switch_inline_query_current_chat",
                        "pay",
                        "login_url",
                        "callback_game",
                    )
                ):
                    raise bad_request(
                        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                    )
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays')
        for row in rows:
            for button in row:
                if isinstance(button, str):
                    continue
                if not isinstance(button, dict) or not button.get("text"):
                    raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
    elif not ("remove_keyboard" in markup or "force_reply" in markup):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _parsed(params: Params, field_name: str, limit: int, *, required: bool) -> ParsedText | None:
    text = params.text(field_name, required=required)
    if text is None:
        return None
    if required and not text.strip():
        raise bad_request("message text is empty")
    try:
        parsed = parse_text(text, params.text("parse_mode"), limit=limit)
    except ParseEntitiesError as exc:
        raise BotApiError(400, str(exc)) from None
    explicit = params.json("entities" if field_name == "text" else "caption_entities")
    if isinstance(explicit, list) and not params.text("parse_mode"):
        parsed.entities = explicit
    if required and not parsed.text.strip():
        raise bad_request("text must be non-empty")
    return parsed


def _reply_to(params: Params) -> int | None:
    reply = params.json("reply_parameters")
    if isinstance(reply, dict) and "message_id" in reply:
        return int(reply["message_id"])
    return params.integer("reply_to_message_id")


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG or JPEG image (1x1 when unknown)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        index = 2
        while index + 9 < len(data):
            if data[index] != 0xFF:
                index += 1
                continue
            marker = data[index + 1]
            length = struct.unpack(">H", data[index + 2 : index + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[index + 5 : index + 9])
                return int(width), int(height)
            index += 2 + length
    return 1, 1


def _message_for_edit(params: Params, world: World, *, action: str) -> ChatMessage:
    if params.has("inline_message_id"):
        raise bad_request("inline messages are not supported by the local Bot API")
    chat_id = _chat_id(params, world)
    message_id = params.integer("message_id", required=True)
    assert message_id is not None
    message = world.find_message(chat_id, message_id)
    if message is None:
        raise bad_request(f"message to {action} not found")
    if not message.from_bot and action == "edit":
        raise bad_request("message can't be edited")
    return message


class Methods:
    """The Bot API method table (getUpdates is served by the HTTP layer, which can wait)."""

    def __init__(self, world: World):
        self.world = world
        self.table: dict[str, Callable[[Params], Any]] = {
            "getMe": self.get_me,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "editMessageCaption": self.edit_message_caption,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "sendDocument": self.send_document,
            "sendPhoto": self.send_photo,
            "sendChatAction": self.send_chat_action,
            "getFile": self.get_file,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "getChat": self.get_chat,
            "logOut": self.harmless,
            "close": self.harmless,
            "setMyDescription": self.harmless,
            "setMyShortDescription": self.harmless,
            "setMyName": self.harmless,
            "setChatMenuButton": self.harmless,
        }

    def call(self, method: str, params: Params) -> Any:
        """Run one method; raises BotApiError with Telegram's code and description."""
        handler = self.table.get(method) or next(
            (fn for name, fn in self.table.items() if name.lower() == method.lower()), None
        )
        self.world.count_call(method)
        if handler is None:
            raise BotApiError(404, "Not Found")
        if method in (
            "sendMessage",
            "sendDocument",
            "sendPhoto",
            "editMessageText",
            "editMessageReplyMarkup",
        ):
            retry_after = self.world.admit_send()
            if retry_after is not None:
                raise BotApiError(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
                )
        try:
            return handler(params)
        except WorldError as exc:
            raise bad_request(str(exc)) from None

    # --- identity -----------------------------------------------------------------------------
    def get_me(self, params: Params) -> dict[str, Any]:
        data = self.world.bot.to_api()
        data.update(
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return data

    def harmless(self, params: Params) -> bool:
        return True

    # --- messages -----------------------------------------------------------------------------
    def send_message(self, params: Params) -> dict[str, Any]:
        chat_id = _chat_id(params, self.world)
        parsed = _parsed(params, "text", MAX_TEXT_LENGTH, required=True)
        assert parsed is not None
        markup = _check_markup(params.json("reply_markup"))
        message = self.world.bot_message(
            chat_id,
            parsed,
            text=parsed.text,
            entities=parsed.entities,
            parse_mode=params.text("parse_mode"),
            source=params.text("text"),
            reply_markup=markup,
            reply_to_message_id=_reply_to(params),
        )
        return self.world.message_api(message)

    def edit_message_text(self, params: Params) -> dict[str, Any]:
        message = _message_for_edit(params, self.world, action="edit")
        parsed = _parsed(params, "text", MAX_TEXT_LENGTH, required=True)
        assert parsed is not None
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        markup = _check_markup(params.json("reply_markup"))
        new_markup = markup if markup is not None else None
        old_inline = (
            message.reply_markup
            if message.reply_markup and "inline_keyboard" in message.reply_markup
            else None
        )
        if parsed.text == message.text and parsed.entities == message.entities and new_markup == old_inline:
            raise BotApiError(400, NOT_MODIFIED)
        edited = self.world.edit_message(
            message,
            text=parsed.text,
            entities=parsed.entities,
            page_html=parsed.page_html,
            parse_mode=params.text("parse_mode"),
            source=params.text("text"),
            reply_markup=new_markup,
        )
        return self.world.message_api(edited)

    def edit_message_caption(self, params: Params) -> dict[str, Any]:
        message = _message_for_edit(params, self.world, action="edit")
        parsed = _parsed(params, "caption", MAX_CAPTION_LENGTH, required=False)
        if message.document is None and message.photo is None:
            raise bad_request("there is no caption in the message to edit")
        markup = _check_markup(params.json("reply_markup"))
        edited = self.world.edit_message(
            message,
            caption=parsed.text if parsed else None,
            caption_entities=parsed.entities if parsed else [],
            page_html=parsed.page_html if parsed else "",
            reply_markup=markup,
        )
        return self.world.message_api(edited)

    def edit_message_reply_markup(self, params: Params) -> dict[str, Any]:
        message = _message_for_edit(params, self.world, action="edit")
        markup = _check_markup(params.json("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        old_inline = (
            message.reply_markup
            if message.reply_markup and "inline_keyboard" in message.reply_markup
            else None
        )
        if markup == old_inline or (not markup and not old_inline):
            raise BotApiError(400, NOT_MODIFIED)
        edited = self.world.edit_message(message, reply_markup=markup)
        return self.world.message_api(edited)

    def delete_message(self, params: Params) -> bool:
        message = _message_for_edit(params, self.world, action="delete")
        self.world.delete_message(message)
        return True

    def answer_callback_query(self, params: Params) -> bool:
        query_id = params.text("callback_query_id", required=True) or ""
        if query_id not in self.world.callback_query_ids:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.text("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.world.record_callback_answer(
            CallbackAnswer(
                query_id=query_id, text=text, show_alert=params.flag("show_alert"), url=params.text("url")
            )
        )
        return True

    def send_chat_action(self, params: Params) -> bool:
        chat_id = _chat_id(params, self.world)
        action = params.text("action", required=True) or ""
        if action not in {
            "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
            "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
        }:  # fmt: skip
            raise bad_request("wrong parameter action in request")
        self.world.record_chat_action(chat_id, action)
        return True

    # --- files --------------------------------------------------------------------------------
    def _send_file(self, params: Params, kind: str) -> dict[str, Any]:
        chat_id = _chat_id(params, self.world)
        source = params.input_file(kind, self.world)
        caption = _parsed(params, "caption", MAX_CAPTION_LENGTH, required=False)
        markup = _check_markup(params.json("reply_markup"))
        if isinstance(source, Upload):
            if not source.data:
                raise bad_request("file must be non-empty")
            width, height = _image_size(source.data) if kind == "photo" else (0, 0)
            stored = self.world.store_file(
                source.data,
                file_name=source.file_name,
                mime_type=source.mime_type,
                folder="photos" if kind == "photo" else "documents",
                width=width,
                height=height,
            )
        else:
            stored = source
        message = self.world.bot_message(
            chat_id,
            caption,
            caption=caption.text if caption else None,
            caption_entities=caption.entities if caption else [],
            parse_mode=params.text("parse_mode"),
            source=params.text("caption"),
            reply_markup=markup,
            reply_to_message_id=_reply_to(params),
            **{kind: stored},
        )
        return self.world.message_api(message)

    def send_document(self, params: Params) -> dict[str, Any]:
        return self._send_file(params, "document")

    def send_photo(self, params: Params) -> dict[str, Any]:
        return self._send_file(params, "photo")

    def get_file(self, params: Params) -> dict[str, Any]:
        file_id = params.text("file_id", required=True) or ""
        stored = self.world.files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    # --- commands, webhook, chats -------------------------------------------------------------
    @staticmethod
    def _scope_key(params: Params) -> str:
        scope = params.json("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope")
        parts = [str(scope["type"]), str(scope.get("chat_id", "")), str(scope.get("user_id", ""))]
        return "|".join([*parts, params.text("language_code") or ""])

    def set_my_commands(self, params: Params) -> bool:
        commands = params.json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        cleaned: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse commands JSON object")
            name, description = str(item.get("command", "")), str(item.get("description", ""))
            if not _COMMAND_NAME_RE.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        self.world.set_commands(self._scope_key(params), cleaned)
        return True

    def get_my_commands(self, params: Params) -> list[dict[str, str]]:
        return list(self.world.commands.get(self._scope_key(params), []))

    def delete_my_commands(self, params: Params) -> bool:
        self.world.set_commands(self._scope_key(params), None)
        return True

    def set_webhook(self, params: Params) -> bool:
        url = params.text("url") or ""
        secret = params.text("secret_token") or ""
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if secret and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        self.world.webhook_url = url
        self.world.webhook_secret = secret if url else ""
        if params.flag("drop_pending_updates"):
            self.world.take_updates(self.world.last_update_id + 1, 0, None)
        return True

    def delete_webhook(self, params: Params) -> bool:
        self.world.webhook_url = ""
        self.world.webhook_secret = ""
        if params.flag("drop_pending_updates"):
            self.world.take_updates(self.world.last_update_id + 1, 0, None)
        return True

    def get_webhook_info(self, params: Params) -> dict[str, Any]:
        return {
            "url": self.world.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": self.world.pending_update_count,
        }

    def get_chat(self, params: Params) -> dict[str, Any]:
        chat = self.world.chat(_chat_id(params, self.world))
        data = chat.to_api()
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return data
