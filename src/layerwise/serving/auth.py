"""An optional API key, sent as `Authorization: Bearer KEY`, compared in constant time.

The key is checked by the outermost ASGI layer (guards.Guard) for every path but the public
ones, before routing and before a byte of the body is read: a client without the key learns
nothing, not the schema (which lists every category seen in training), not whether its body
would parse. The same check as a route dependency documents the scheme in the OpenAPI schema.
"""

from __future__ import annotations

import hmac

from ..errors import needs_extra

with needs_extra("serve"):
    from fastapi import Depends, HTTPException, Request
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

# A liveness probe: it says only that the process is up.
# Liveness and readiness, for probes that send no header; they say nothing about the model.
PUBLIC = frozenset({"/health", "/ready"})
# The interactive documentation and the schema it reads, public only with --public-docs.
DOCS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
REFUSED = "missing or wrong API key: send 'Authorization: Bearer <key>'"


def public_paths(public_docs: bool = False) -> frozenset[str]:
    """The paths served without the key."""
    return PUBLIC | DOCS if public_docs else PUBLIC


def matches(authorization: str | None, key: str) -> bool:
    """Whether an Authorization header value carries `key` as a Bearer token."""
    scheme, _, given = (authorization or "").partition(" ")
    # compare_digest on bytes takes the same time wherever the first difference lies
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), key.encode())


def bearer(expected: str | None):
    """A FastAPI dependency that refuses requests without the key (401); none when no key is set."""
    scheme = HTTPBearer(auto_error=False, description="the key of `layerwise serve --api-key-env`")

    # the scheme as a sub-dependency puts "Authorize" in /docs; the check is the Guard's, repeated here
    async def check(request: Request, _: HTTPAuthorizationCredentials | None = Depends(scheme)) -> None:
        if expected is not None and not matches(request.headers.get("authorization"), expected):
            raise HTTPException(401, REFUSED, headers={"WWW-Authenticate": "Bearer"})

    async def open_route() -> None:
        return None

    return check if expected is not None else open_route
