"""The playground chat page and its JSON endpoints (`/playground/...`), served by the local Bot API's app."""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import re
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.localapi.server import LocalBotApi
from bot.localapi.world import ChatMessage, WorldError

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 25.0
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
STATIC_FILES = ("index.html", "app.js", "style.css")
_CHAT_ID_RE = re.compile(r"-?[0-9]{1,20}")
GROUP_CHAT_ID = -1_007_000_000_001
GROUP_TITLE = "Nhóm Ban Tổ chức (thử nghiệm)"
ERRORS = {
    "bad_chat": "Mã cuộc trò chuyện không hợp lệ.",
    "not_member": (
        "Bạn không ở trong cuộc trò chuyện này: chỉ dùng được tin nhắn riêng của mình với bot "
        "và nhóm thử nghiệm."
    ),
    "private_only": "Chỉ chia sẻ số điện thoại trong tin nhắn riêng với bot.",
    "reply_gone": "Tin nhắn bạn muốn trả lời không còn trong cuộc trò chuyện này.",
}


@dataclass(frozen=True)
class Persona:
    """Someone the page lets you be: a demo person with a Telegram account."""

    user_id: int
    full_name: str
    role: str
    role_label: str
    phone: str
    unit: str = ""


def message_json(
    message: ChatMessage, *, sender: str = "", reply_to: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What the page needs to draw one message (`sender`: the name shown in groups; `reply_to`: a quote)."""
    data: dict[str, Any] = {
        "message_id": message.message_id,
        "from_bot": message.from_bot,
        "from_id": message.from_id,
        "sender": sender,
        "date": message.date,
        "html": message.page_html,
        "edited": message.edit_count > 0,
        "deleted": message.deleted,
        "inline_keyboard": [
            [
                {key: button[key] for key in ("text", "callback_data", "url") if key in button}
                for button in row
            ]
            for row in message.inline_keyboard
        ],
    }
    if message.document is not None:
        data["document"] = {
            "file_id": message.document.file_id,
            "file_name": message.document.file_name or "tep_tin",
            "size": message.document.size,
            "mime_type": message.document.mime_type,
        }
    if message.photo is not None:
        data["photo"] = {
            "file_id": message.photo.file_id,
            "width": message.photo.width,
            "height": message.photo.height,
        }
    if message.contact is not None:
        name = " ".join(filter(None, [message.contact.get("first_name"), message.contact.get("last_name")]))
        data["contact"] = {"phone_number": message.contact["phone_number"], "name": name}
    if reply_to is not None:
        data["reply_to"] = reply_to
    return data


def message_preview(message: ChatMessage, *, limit: int = 90) -> str:
    """One line quoting a message (the replied-to message above a reply)."""
    text = " ".join(message.body.split())
    if not text:
        text = "📎 " + (message.document.file_name or "Tệp") if message.document is not None else ""
    if not text:
        text = "Ảnh" if message.photo is not None else ("Danh bạ" if message.contact is not None else "…")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class PlaygroundPage:
    """Adds the page and its API to a LocalBotApi app."""

    def __init__(
        self,
        server: LocalBotApi,
        personas: list[Persona],
        *,
        group_id: int | None = GROUP_CHAT_ID,
        group_title: str = GROUP_TITLE,
    ):
        """Register the personas (and, unless `group_id` is None, one group chat with all of them)."""
        self.server = server
        self.world = server.world
        self.personas = {p.user_id: p for p in personas}
        for persona in personas:
            first, _, last = persona.full_name.rpartition(" ")
            self.world.add_user(
                persona.user_id, first or last, last_name=last if first else None, phone_number=persona.phone
            )
        self.group_id = group_id
        if group_id is not None:
            self.world.add_group(group_id, group_title, [p.user_id for p in personas], supergroup=True)
        self._pressed_by: dict[str, int] = {}  # callback query id -> who pressed it on the page
        router = server.app.router
        router.add_get("/", self._redirect)
        router.add_get("/playground", self._redirect)
        router.add_get("/favicon.ico", self._no_icon)
        router.add_get("/playground/", self._static)
        router.add_get("/playground/static/{name}", self._static)
        router.add_get("/playground/api/people", self._people)
        router.add_get("/playground/api/chat", self._chat)
        router.add_post("/playground/api/send", self._send)
        router.add_post("/playground/api/contact", self._contact)
        router.add_post("/playground/api/press", self._press)
        router.add_post("/playground/api/upload", self._upload)
        router.add_get("/playground/api/file/{file_id}", self._file)

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/playground/"

    # --- helpers ------------------------------------------------------------------------------------
    def _persona(self, raw: Any) -> Persona:
        try:
            return self.personas[int(raw)]
        except (TypeError, ValueError, KeyError):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "Không có người dùng này trong chế độ thử nghiệm."}),
                content_type="application/json",
            ) from None

    def chats_of(self, persona: Persona) -> list[int]:
        """The chats a persona may use on the page: their private chat with the bot, then the group."""
        chats = [persona.user_id]
        if self.group_id is not None and persona.user_id in self.world.chat(self.group_id).member_ids:
            chats.append(self.group_id)
        return chats

    def _chat_id(self, persona: Persona, raw: Any) -> int:
        """The chat named by `raw` (absent: the private chat), if the persona may use it; else 400/403."""
        if raw is None or raw == "":
            return persona.user_id
        chat_id: int | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            chat_id = raw
        elif isinstance(raw, str) and _CHAT_ID_RE.fullmatch(raw.strip()):
            chat_id = int(raw.strip())
        if chat_id is None:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": ERRORS["bad_chat"]}), content_type="application/json"
            )
        if chat_id not in self.chats_of(persona):
            raise web.HTTPForbidden(
                text=json.dumps({"error": ERRORS["not_member"]}), content_type="application/json"
            )
        return chat_id

    def _sender(self, message: ChatMessage) -> str:
        if message.from_bot:
            return self.world.bot.first_name
        persona = self.personas.get(message.from_id)
        if persona is not None:
            return persona.full_name
        user = self.world.users.get(message.from_id)
        return user.full_name if user is not None else ""

    def _message_json(self, message: ChatMessage) -> dict[str, Any]:
        reply_to = None
        if message.reply_to_message_id is not None:
            original = self.world.find_message(message.chat_id, message.reply_to_message_id)
            if original is not None:
                reply_to = {
                    "message_id": original.message_id,
                    "sender": self._sender(original),
                    "text": message_preview(original),
                }
        return message_json(message, sender=self._sender(message), reply_to=reply_to)

    def _activity(self, persona: Persona, chat_id: int) -> int:
        """The version of the newest change in the chat made by someone else (the bot or another person)."""
        return max(
            (
                m.version
                for m in self.world.messages(chat_id, include_deleted=True)
                if m.from_bot or m.from_id != persona.user_id
            ),
            default=0,
        )

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "Yêu cầu không hợp lệ."}), content_type="application/json"
            )
        return body

    @staticmethod
    def _refuse(message: str) -> web.Response:
        return web.json_response({"error": message}, status=400)

    # --- pages --------------------------------------------------------------------------------------
    async def _redirect(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/playground/")

    async def _no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info.get("name", "index.html")
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        data = resources.files("bot.localapi").joinpath("static", name).read_bytes()
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return web.Response(
            body=data, content_type=content_type, charset="utf-8", headers={"Cache-Control": "no-store"}
        )

    # --- API ----------------------------------------------------------------------------------------
    async def _people(self, request: web.Request) -> web.Response:
        bot = self.world.bot
        return web.json_response(
            {
                "bot": {"name": bot.first_name, "username": bot.username},
                "people": [asdict(p) for p in self.personas.values()],
                "groups": [self._group_json()] if self.group_id is not None else [],
            }
        )

    def _group_json(self) -> dict[str, Any]:
        assert self.group_id is not None
        chat = self.world.chat(self.group_id)
        return {"chat_id": chat.id, "title": chat.title, "member_ids": sorted(chat.member_ids)}

    async def _chat(self, request: web.Request) -> web.Response:
        """Long poll: what changed in one of the person's chats after `since` (waits up to `wait` seconds).

        Also returns early when someone else writes in the person's other chat (`activity` drives the unread
        mark on the page).
        """
        persona = self._persona(request.query.get("user_id"))
        chat_id = self._chat_id(persona, request.query.get("chat_id"))
        try:
            since = int(request.query.get("since", "0"))
            wait = min(MAX_WAIT_SECONDS, max(0.0, float(request.query.get("wait", "0"))))
        except ValueError:
            return self._refuse("Tham số không hợp lệ.")
        if since > self.world.version:  # the page outlived a server restart: start over
            since = 0
        others = [c for c in self.chats_of(persona) if c != chat_id]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            version = self.world.version
            messages = self.world.changed_messages(chat_id, since)
            answers = [
                a
                for a in self.world.changed_answers(chat_id, since)
                if chat_id == persona.user_id or self._pressed_by.get(a.query_id) == persona.user_id
            ]
            action = self.world.current_chat_action(chat_id, since_version=since)
            elsewhere = any(self._activity(persona, other) > since for other in others)
            remaining = deadline - loop.time()
            if (
                messages
                or answers
                or action
                or elsewhere
                or remaining <= 0
                or since == 0
                or self.server.stopping
            ):
                break
            await self.server.wait_for_change(remaining)
        chat = self.world.chat(chat_id)
        return web.json_response(
            {
                "version": version,
                "chat_id": chat_id,
                "messages": [self._message_json(m) for m in messages],
                "answers": [
                    {"query_id": a.query_id, "text": a.text, "show_alert": a.show_alert} for a in answers
                ],
                "reset": since == 0,
                "keyboard": chat.reply_keyboard,
                "commands": self.world.commands_for(chat_id),
                "bot_online": self.server.bot_online,
                "chat_action": self.world.current_chat_action(chat_id),
                "activity": {str(c): self._activity(persona, c) for c in self.chats_of(persona)},
            }
        )

    async def _send(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        persona = self._persona(body.get("user_id"))
        text = str(body.get("text", "")).strip()
        if not text:
            return self._refuse("Tin nhắn trống.")
        if len(text) > 4096:
            return self._refuse("Tin nhắn dài quá 4096 ký tự.")
        chat_id = self._chat_id(persona, body.get("chat_id"))
        reply_to: int | None = None
        raw_reply = body.get("reply_to_message_id")
        if raw_reply is not None:
            if isinstance(raw_reply, bool) or not isinstance(raw_reply, int):
                return self._refuse(ERRORS["reply_gone"])
            if self.world.find_message(chat_id, raw_reply) is None:
                return self._refuse(ERRORS["reply_gone"])
            reply_to = raw_reply
        message = self.world.send_text(persona.user_id, text, chat_id=chat_id, reply_to_message_id=reply_to)
        return web.json_response({"message_id": message.message_id})

    async def _contact(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        persona = self._persona(body.get("user_id"))
        if self._chat_id(persona, body.get("chat_id")) != persona.user_id:
            return self._refuse(ERRORS["private_only"])
        message = self.world.share_contact(persona.user_id)
        return web.json_response({"message_id": message.message_id})

    async def _press(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        persona = self._persona(body.get("user_id"))
        chat_id = self._chat_id(persona, body.get("chat_id"))
        try:
            query_id = self.world.press_button(
                persona.user_id,
                chat_id,
                int(body.get("message_id", 0)),
                data=str(body.get("data", "")),
            )
        except (WorldError, ValueError, TypeError):
            return self._refuse("Nút này không còn dùng được.")
        self._pressed_by[query_id] = persona.user_id
        return web.json_response({"query_id": query_id})

    async def _upload(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES:
            return self._refuse("Tệp quá lớn (tối đa 50 MB).")
        form = await request.post()
        persona = self._persona(form.get("user_id"))
        chat_id = self._chat_id(persona, form.get("chat_id"))
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return self._refuse("Chưa chọn tệp.")
        data = upload.file.read()
        if not data:
            return self._refuse("Tệp rỗng.")
        caption = form.get("caption")
        message = self.world.upload_document(
            persona.user_id,
            data,
            upload.filename or "tep_tin",
            mime_type=upload.content_type or "application/octet-stream",
            caption=caption if isinstance(caption, str) and caption.strip() else None,
            chat_id=chat_id,
        )
        return web.json_response({"message_id": message.message_id})

    async def _file(self, request: web.Request) -> web.Response:
        stored = self.world.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        mime = stored.mime_type or "application/octet-stream"
        headers = {"Cache-Control": "no-store"}
        if request.query.get("download"):
            name = stored.file_name or "tep_tin"
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        return web.Response(body=stored.data, content_type=mime, headers=headers)
