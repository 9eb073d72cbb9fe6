"""A fake OpenAI-compatible chat server on 127.0.0.1 (an external system): scripted replies, delays, garbage."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[list[dict[str, Any]]], str]


@dataclass
class Behaviour:
    """What the next requests get: a reply built from the messages, a delay, or a broken response."""

    reply: Reply = field(default=lambda messages: "Không tìm thấy.")
    delay_s: float = 0.0
    mode: str = "ok"  # "ok" | "garbage" (not JSON) | "error" (HTTP 500) | "empty" (no choices)


class FakeLLMServer:
    """`base_url` is what ChatOpenAI needs; `requests` records every JSON body received."""

    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                behaviour = server.behaviour
                if behaviour.delay_s:
                    time.sleep(behaviour.delay_s)
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "not found"}})
                elif behaviour.mode == "error":
                    self._send(500, {"error": {"message": "internal error", "type": "server_error"}})
                elif behaviour.mode == "garbage":
                    self._send_raw(200, b"<html>this is not json")
                elif behaviour.mode == "empty":
                    self._send(
                        200,
                        {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []},
                    )
                else:
                    content = behaviour.reply(body.get("messages", []))
                    self._send(
                        200,
                        {
                            "id": "chatcmpl-fake",
                            "object": "chat.completion",
                            "created": int(time.time()),
                            "model": body.get("model", "fake"),
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": content},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                        },
                    )

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                self._send_raw(status, json.dumps(payload).encode())

            def _send_raw(self, status: int, data: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
