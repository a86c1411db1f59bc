"""An optional API key, sent as `Authorization: Bearer KEY`, compared in constant time."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request


def bearer(expected: str | None):
    """A FastAPI dependency that refuses requests without the key (401); none when no key is set."""
    wanted = None if expected is None else expected.encode()

    async def check(request: Request) -> None:
        if wanted is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        # compare_digest on bytes takes the same time wherever the first difference lies
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), wanted):
            raise HTTPException(401, "missing or wrong API key: send 'Authorization: Bearer <key>'",
                                headers={"WWW-Authenticate": "Bearer"})

    return check
