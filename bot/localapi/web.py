"""The playground chat page and its JSON endpoints (`/playground/...`), served by the local Bot API's app."""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
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


@dataclass(frozen=True)
class Persona:
    """Someone the page lets you be: a demo person with a Telegram account."""

    user_id: int
    full_name: str
    role: str
    role_label: str
    phone: str
    unit: str = ""


def message_json(message: ChatMessage) -> dict[str, Any]:
    """What the page needs to draw one message."""
    data: dict[str, Any] = {
        "message_id": message.message_id,
        "from_bot": message.from_bot,
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
    return data


class PlaygroundPage:
    """Adds the page and its API to a LocalBotApi app."""

    def __init__(self, server: LocalBotApi, personas: list[Persona]):
        self.server = server
        self.world = server.world
        self.personas = {p.user_id: p for p in personas}
        for persona in personas:
            first, _, last = persona.full_name.rpartition(" ")
            self.world.add_user(
                persona.user_id, first or last, last_name=last if first else None, phone_number=persona.phone
            )
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
            }
        )

    async def _chat(self, request: web.Request) -> web.Response:
        """Long poll: what changed in the person's chat after `since` (waits up to `wait` seconds)."""
        persona = self._persona(request.query.get("user_id"))
        try:
            since = int(request.query.get("since", "0"))
            wait = min(MAX_WAIT_SECONDS, max(0.0, float(request.query.get("wait", "0"))))
        except ValueError:
            return self._refuse("Tham số không hợp lệ.")
        if since > self.world.version:  # the page outlived a server restart: start over
            since = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            version = self.world.version
            messages = self.world.changed_messages(persona.user_id, since)
            answers = self.world.changed_answers(persona.user_id, since)
            action = self.world.current_chat_action(persona.user_id, since_version=since)
            remaining = deadline - loop.time()
            if messages or answers or action or remaining <= 0 or since == 0 or self.server.stopping:
                break
            await self.server.wait_for_change(remaining)
        chat = self.world.chat(persona.user_id)
        return web.json_response(
            {
                "version": version,
                "messages": [message_json(m) for m in messages],
                "answers": [
                    {"query_id": a.query_id, "text": a.text, "show_alert": a.show_alert} for a in answers
                ],
                "reset": since == 0,
                "keyboard": chat.reply_keyboard,
                "commands": self.world.commands_for(persona.user_id),
                "bot_online": self.server.bot_online,
                "chat_action": self.world.current_chat_action(persona.user_id),
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
        message = self.world.send_text(persona.user_id, text)
        return web.json_response({"message_id": message.message_id})

    async def _contact(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        persona = self._persona(body.get("user_id"))
        message = self.world.share_contact(persona.user_id)
        return web.json_response({"message_id": message.message_id})

    async def _press(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        persona = self._persona(body.get("user_id"))
        try:
            query_id = self.world.press_button(
                persona.user_id,
                persona.user_id,
                int(body.get("message_id", 0)),
                data=str(body.get("data", "")),
            )
        except (WorldError, ValueError):
            return self._refuse("Nút này không còn dùng được.")
        return web.json_response({"query_id": query_id})

    async def _upload(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_UPLOAD_BYTES:
            return self._refuse("Tệp quá lớn (tối đa 50 MB).")
        form = await request.post()
        persona = self._persona(form.get("user_id"))
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
