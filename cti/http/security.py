"""Who may call what, and the headers every answer carries.

Every route is registered through ``route(role, handler)``; the middleware refuses a route
without a role, so a new route cannot be public by accident. Roles are ordered
``agent < supervisor < admin``; ``public`` needs no session (sign-in page, liveness, ops).

Sessions are server-side (``cti.auth.users.SessionStore``) behind an HttpOnly, SameSite=Strict
cookie. Every state-changing request must carry the session's CSRF token in ``X-CSRF-Token``
and, when the browser sends one, an ``Origin`` of this very host; websockets check the Origin
too (cross-site websocket hijacking).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from cti.auth.users import Session
from cti.database import DatabaseUnavailable
from cti.keys import SESSIONS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ROLE_ATTRIBUTE = "cti_role"
SESSION_COOKIE = "cti_session"
SESSION_KEY = web.RequestKey("cti_session", Session)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS = {
    # Caller ID is attacker-controlled: the panel renders it as text, and the CSP makes
    # sure no injected markup could run script even if a mistake slipped through.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "media-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def route(role: str, handler: Handler) -> Handler:
    """Declare who may call ``handler``: public, agent, supervisor or admin."""
    setattr(handler, ROLE_ATTRIBUTE, role)
    return handler


def session_of(request: web.Request) -> Session:
    session = request[SESSION_KEY]
    return session


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser cross-site request (curl, same-origin GET)
    return urlsplit(origin).netloc == request.host


def _wants_html(request: web.Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "")


@web.middleware
async def authorize(request: web.Request, handler: Handler) -> web.StreamResponse:
    match = request.match_info
    if match.http_exception is not None:  # 404/405: nothing to authorize
        raise match.http_exception
    role = getattr(match.handler, ROLE_ATTRIBUTE, None)
    if role is None:
        raise web.HTTPForbidden(text="route has no declared role")
    if role == "public":
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        session = await request.app[SESSIONS].lookup(token) if token else None
    except DatabaseUnavailable:
        raise web.HTTPServiceUnavailable(text="the database is unavailable; try again") from None
    if session is None:
        if _wants_html(request):
            raise web.HTTPSeeOther("/login")
        raise web.HTTPUnauthorized(text="sign in first")
    if not session.user.may(role):
        raise web.HTTPForbidden(text=f"this needs the {role} role")
    upgrading = request.headers.get("Upgrade", "").lower() == "websocket"
    if (request.method not in SAFE_METHODS or upgrading) and not _same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page")
    request[SESSION_KEY] = session
    return await handler(request)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
