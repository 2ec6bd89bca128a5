"""Bearer-token check for the worker's personal-data pages (``GET /customers/{key}``).

The profile page serves a customer's contact history to whoever asks. Bound to loopback only
processes on the same machine can ask; bound beyond it (a container, a pod) the settings require
``CXSTREAM_WEB_TOKEN`` (pipeline/settings.py) and every request must carry it as
``Authorization: Bearer <token>``. The comparison is constant-time (``hmac.compare_digest``), so
response times do not leak how much of a guess was right. A refusal says only that the token
was missing or wrong: never the path, the key or what was sent. ``/livez`` and ``/readyz`` stay
open (they carry no personal data, and Kubernetes probes send no token).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from pydantic import SecretStr

SCHEME = "bearer"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cxstream"'}
UNAUTHORIZED = {"error": "missing or invalid bearer token (Authorization: Bearer <token>)"}

Handler = Callable[..., Awaitable[Any]]


def bearer_matches(authorization: str | None, token: SecretStr) -> bool:
    """Whether an ``Authorization`` header value carries exactly ``token`` as a bearer token."""
    if not authorization:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != SCHEME:
        return False
    expected = token.get_secret_value().encode()
    return hmac.compare_digest(given.strip().encode(), expected)


def require_token(token: SecretStr | None) -> Callable[[Handler], Handler]:
    """Decorate a Faust view handler ``(web, request, ...)``: 401 unless the request carries
    ``token``; with no token configured (a loopback-only server) the handler is unchanged."""

    def decorate(handler: Handler) -> Handler:
        if token is None:
            return handler

        @wraps(handler)
        async def guarded(web: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            if not bearer_matches(request.headers.get("Authorization"), token):
                return web.json(UNAUTHORIZED, status=401, headers=dict(CHALLENGE))
            return await handler(web, request, *args, **kwargs)

        return guarded

    return decorate
