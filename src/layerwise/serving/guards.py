"""The outermost layer of the server: request ids, body size limit, access log, last-resort 500.

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

access_log = logging.getLogger("layerwise.serving.access")
error_log = logging.getLogger("layerwise.serving.error")
# A client's X-Request-ID is kept only when it is short and plain, so it cannot forge log lines.
CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class BodyTooLarge(Exception):
    """The request body passed the server's limit while it was being read."""


class Guard:
    """Give each request an id, refuse bodies over `max_body_bytes` (413), log one JSON line."""

    def __init__(self, app, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

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
            access_log.info(json.dumps({
                "request_id": request_id, "method": scope["method"], "path": scope["path"],
                "status": status["code"], "ms": round((time.perf_counter() - started) * 1000, 3),
                "client": (scope.get("client") or [None])[0],
            }))


def _request_id(scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if CLIENT_ID.match(text):
                return text
    return uuid.uuid4().hex


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
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


async def _reply(send, code: int, detail: str, request_id: str) -> None:
    body: dict[str, Any] = {"detail": detail, "request_id": request_id}
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
