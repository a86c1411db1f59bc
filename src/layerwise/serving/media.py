"""The body's declared media type: a body that says it is not JSON is a 415, not a misleading 422.

curl's `-d` labels its body `application/x-www-form-urlencoded`. FastAPI then hands the raw
bytes to validation, and the client reads "Input should be a valid dictionary", which sends
them looking for a fault in their record. Refusing the declared type instead (415, as most APIs
do) names the real problem and its fix. Guessing that a "form" is JSON would hide a client bug
and make the OpenAPI schema (which documents application/json) untrue.

A body with no Content-Type at all is refused too: FastAPI (strict_content_type, its default)
does not read it as JSON either, and the 415 says what to add.
"""

from __future__ import annotations

from email.message import Message

from ..errors import needs_extra

with needs_extra("serve"):
    from fastapi import HTTPException, Request

JSON_HINT = (
    "send the body as JSON with the header 'Content-Type: application/json' "
    "(curl: -H 'Content-Type: application/json' -d '...', or --json '...')"
)
MULTIPART_HINT = "upload the files as multipart/form-data, one `files` part each (curl: -F files=@image.png)"


def is_json(content_type: str | None) -> bool:
    """True for application/json or application/*+json, with any parameters (charset=utf-8)."""
    if not content_type:
        return False
    maintype, subtype = _parts(content_type)
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


def is_form(content_type: str | None) -> bool:
    """True for the two form encodings FastAPI reads form fields from; files come only in multipart."""
    if not content_type:
        return False
    return _parts(content_type) in (("multipart", "form-data"), ("application", "x-www-form-urlencoded"))


def require_json():
    """A FastAPI dependency that refuses a body declared as anything but JSON (415)."""

    async def check(request: Request) -> None:
        declared = request.headers.get("content-type")
        if not is_json(declared):
            raise HTTPException(415, f"Content-Type {_shown(declared)} is not supported here: {JSON_HINT}")

    return check


def require_form():
    """A FastAPI dependency that refuses a body not declared as a form (415), e.g. JSON sent to an upload route.

    A url-encoded form passes, to be refused by validation naming the missing `files` field (422).
    """

    async def check(request: Request) -> None:
        declared = request.headers.get("content-type")
        if not is_form(declared):
            raise HTTPException(415, f"Content-Type {_shown(declared)} is not supported here: {MULTIPART_HINT}")

    return check


def _shown(declared: str | None) -> str:
    # The parsed type only, never the raw header: a refusal does not echo what the client sent.
    return "'{}/{}'".format(*_parts(declared)) if declared else "(none sent)"


def _parts(content_type: str) -> tuple[str, str]:
    message = Message()
    message["content-type"] = content_type
    return message.get_content_maintype(), message.get_content_subtype()
