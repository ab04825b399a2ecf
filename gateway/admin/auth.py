"""The admin bearer token: compared in constant time; the API does not exist without one."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from gateway.http.errors import HTTPProblem
from gateway.http.lockout import FailedAuthLockout, client_address
from gateway.settings import Settings


def token_matches(given: str, settings: Settings) -> bool:
    """True when `given` is `ADMIN_TOKEN` (constant time; False when no token is set)."""
    if settings.admin_token is None:
        return False
    expected = settings.admin_token.get_secret_value().encode()
    return bool(expected) and hmac.compare_digest(given.encode(), expected)


def require_admin(
    request: Request, settings: Settings, lockout: FailedAuthLockout | None = None
) -> None:
    """404 when the admin API is off; 401 unless `Authorization: Bearer <ADMIN_TOKEN>`.

    With a `lockout`, an address that sent too many wrong tokens gets 429 for a while.
    """
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        raise HTTPProblem(404, "not_found", "the admin API is off (set ADMIN_TOKEN)")
    address = client_address(request)
    if lockout is not None:
        lockout.check(address)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token_matches(given.strip(), settings):
        if lockout is not None:
            lockout.succeeded(address)
        return
    if lockout is not None:
        lockout.failed(address)
    raise HTTPProblem(
        401,
        "unauthorized",
        "send Authorization: Bearer <ADMIN_TOKEN>",
        headers={"WWW-Authenticate": 'Bearer realm="oneinbox-gateway"'},
    )
