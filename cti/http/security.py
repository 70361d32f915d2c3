"""Who may call what, and the headers every answer carries.

Every route is registered with a role in ``ROUTE_ROLES``; the middleware refuses a route that
has none, so a new route cannot be public by accident. Until user accounts exist, the roles
are ``public`` (liveness only, no data) and ``admin`` (the access token printed at startup,
sent as ``Authorization: Bearer`` or kept in an HttpOnly cookie set by ``/login?token=``).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from cti.keys import ADMIN_TOKEN

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ROLE_KEY = "cti_role"
COOKIE = "cti_admin"
SECURITY_HEADERS = {
    # Caller ID is attacker-controlled: the panel renders it as text, and the CSP makes
    # sure no injected markup could run script even if a mistake slipped through.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def route(role: str, handler: Handler) -> Handler:
    """Mark a handler with the role allowed to call it (``public`` or ``admin``)."""
    setattr(handler, ROLE_KEY, role)
    return handler


def _is_admin(request: web.Request) -> bool:
    token = request.app[ADMIN_TOKEN]
    offered = request.cookies.get(COOKIE, "")
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        offered = header[7:]
    return bool(offered) and hmac.compare_digest(offered.encode(), token.encode())


@web.middleware
async def authorize(request: web.Request, handler: Handler) -> web.StreamResponse:
    match = request.match_info
    if match.http_exception is not None:  # 404/405: nothing to authorize
        raise match.http_exception
    role = getattr(match.handler, ROLE_KEY, None)
    if role is None:
        raise web.HTTPForbidden(text="route has no declared role")
    if role == "admin" and not _is_admin(request):
        raise web.HTTPUnauthorized(
            text="sign in with the access link printed when the server started",
        )
    return await handler(request)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


async def login(request: web.Request) -> web.StreamResponse:
    """``/login?token=...``: trade the printed token for a cookie, then drop it from the URL."""
    token = request.query.get("token", "")
    if not hmac.compare_digest(token.encode(), request.app[ADMIN_TOKEN].encode()):
        raise web.HTTPUnauthorized(text="wrong or missing token")
    response = web.HTTPSeeOther("/")
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", max_age=12 * 3600)
    return response
