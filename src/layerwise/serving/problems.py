"""Error responses: every refusal says what is wrong, with the request id, and never echoes values.

FastAPI's default 422 handler echoes each rejected value back; a rejected NaN then fails JSON
encoding (Starlette renders with allow_nan=False) and the client gets a 500 instead of a 422.
These handlers send the field's location and message only.
"""

from __future__ import annotations

from typing import Any

from ..errors import LayerwiseError, needs_extra

with needs_extra("serve"):
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse


def install(app: FastAPI) -> None:
    # Starlette types every handler as taking any Exception; it calls each only with the class it is registered for
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]  # see above
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]  # see above
    app.add_exception_handler(LayerwiseError, _unusable)  # type: ignore[arg-type]  # see above
    # Starlette sends this one for any other exception, then re-raises it to the Guard, which logs it.
    app.add_exception_handler(Exception, _bug)


def refusal(request: Request, status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    return JSONResponse({"detail": detail, "request_id": request_id}, status_code=status, headers=headers)


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        # the body is not JSON at all: a malformed request (400), not an invalid record (422)
        where = next(e for e in errors if e.get("type") == "json_invalid")
        message = (where.get("ctx") or {}).get("error", "invalid JSON")
        return refusal(request, 400, f"the body is not valid JSON: {message}")
    return refusal(request, 422, [_problem(e) for e in errors])


def _problem(error: dict[str, Any]) -> dict[str, Any]:
    loc = [str(part) if not isinstance(part, int) else part for part in error.get("loc", ())]
    return {"loc": loc, "field": _field(loc), "msg": error.get("msg", ""), "type": error.get("type", "")}


def _field(loc: list) -> str | None:
    """The field a problem is about: ["body", "one" | "many", (record index,) column, ...] or ["body", field]."""
    skip = 2 if len(loc) > 1 and loc[1] in ("one", "many") else 1
    rest = [part for part in loc[skip:] if not isinstance(part, int)]
    return rest[0] if rest else None


async def _http(request: Request, exc: HTTPException) -> JSONResponse:
    return refusal(request, exc.status_code, exc.detail, headers=getattr(exc, "headers", None))


async def _unusable(request: Request, exc: LayerwiseError) -> JSONResponse:
    # Raised by the bundle's own preprocessing on values the schema let through (a date that
    # does not parse, too few rows for a forecast window): the request is at fault, not the server.
    return refusal(request, 422, [{"loc": ["body"], "field": None, "msg": exc.message, "type": "layerwise"}])


async def _bug(request: Request, exc: Exception) -> JSONResponse:
    return refusal(request, 500, "internal error; quote the request id when reporting it")
