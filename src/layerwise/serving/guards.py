"""The outermost layer of the server: request ids, the API key, body size limit, access log, last-resort 500.

A plain ASGI middleware (not Starlette's BaseHTTPMiddleware, which adds a task and a copy of
the body per request): it costs microseconds, and the latency budget is a few milliseconds.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from .auth import PUBLIC, REFUSED, matches

access_log = logging.getLogger("layerwise.serving.access")
error_log = logging.getLogger("layerwise.serving.error")
# A client's X-Request-ID is kept only when it is short and plain, so it cannot forge log lines.
CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class BodyTooLarge(Exception):
    """The request body passed the server's limit while it was being read."""


class Guard:
    """Give each request an id, refuse it without `api_key` (401) outside the `public` paths and
    bodies over `max_body_bytes` (413), log one JSON line."""

    def __init__(self, app, max_body_bytes: int, *, api_key: str | None = None, public: frozenset[str] = PUBLIC):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.api_key = api_key
        self.public = public

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = {"code": 500, "sent": False}

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            if not self._allowed(scope):  # first: before routing, and before any of the body is read
                await _reply(send_with_id, 401, REFUSED, request_id, headers=[(b"www-authenticate", b"Bearer")])
                return
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                raise BodyTooLarge
            await self.app(scope, _counting(receive, self.max_body_bytes), send_with_id)
        except BodyTooLarge:
            if not status["sent"]:
                await _reply(send_with_id, 413, f"request body over {self.max_body_bytes} bytes", request_id)
        except Exception:  # a bug: log it with the id, tell the client only the id
            error_log.exception("request %s failed", request_id)
            if not status["sent"]:
                await _reply(send_with_id, 500, "internal error; quote the request id when reporting it", request_id)
        finally:
            access_log.info(
                json.dumps(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status["code"],
                        "ms": round((time.perf_counter() - started) * 1000, 3),
                        "client": (scope.get("client") or [None])[0],
                    }
                )
            )

    def _allowed(self, scope) -> bool:
        if self.api_key is None or scope["path"] in self.public:
            return True
        return matches(_header(scope, b"authorization"), self.api_key)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _request_id(scope) -> str:
    text = _header(scope, b"x-request-id")
    return text if text is not None and CLIENT_ID.match(text) else uuid.uuid4().hex


def _content_length(scope) -> int | None:
    text = _header(scope, b"content-length")
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _counting(receive, limit: int):
    """`receive` that raises BodyTooLarge once more than `limit` bytes arrived (chunked bodies)."""
    seen = 0

    async def receive_counted():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return receive_counted


async def _reply(send, code: int, detail: str, request_id: str, headers: list | None = None) -> None:
    body: dict[str, Any] = {"detail": detail, "request_id": request_id}
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
