"""Sign-in, sign-out, "who am I", and disabling a user.

Sign-in takes JSON only (``Content-Type: application/json``, as the login page sends): a
cross-site page can post ``text/plain`` or a form without asking, but not JSON, so together
with the Origin check in ``cti.http.security`` no other site can sign a browser in (login
CSRF). Attempts go through ``cti.auth.ratelimit`` keyed by the client's address (the
trusted proxy's X-Forwarded-For when there is one).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from cti.auth.ratelimit import TooManyAttempts
from cti.auth.users import User
from cti.database import DatabaseUnavailable
from cti.http.security import (
    SESSION_COOKIE,
    client_address,
    is_https,
    route,
    session_of,
    trusted_networks,
)
from cti.http.status import WEB_DIR
from cti.keys import LOGIN_LIMITER, SESSIONS, SETTINGS
from cti.push.ws import close_sockets

MAX_CREDENTIAL_LENGTH = 256


async def login_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "login.html")


async def _credentials(request: web.Request) -> tuple[str, str]:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text="send the credentials as JSON with Content-Type: application/json"
        )
    try:
        body: Any = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='send JSON: {"username": ..., "password": ...}') from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="send a JSON object")
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise web.HTTPBadRequest(text="username and password must be strings")
    if len(username) > MAX_CREDENTIAL_LENGTH or len(password) > MAX_CREDENTIAL_LENGTH:
        raise web.HTTPBadRequest(text="username or password too long")
    return username.strip().lower(), password


async def login(request: web.Request) -> web.Response:
    username, password = await _credentials(request)
    limiter = request.app[LOGIN_LIMITER]
    # Reserved before any await: parallel guesses each take a place (see ratelimit.py).
    try:
        attempt = limiter.reserve(username, client_address(request), time.monotonic())
    except TooManyAttempts as refused:
        raise web.HTTPTooManyRequests(
            text=str(refused), headers={"Retry-After": str(refused.retry_after_s)}
        ) from None
    if attempt.wait_s > 0:
        await asyncio.sleep(attempt.wait_s)
    store = request.app[SESSIONS]
    try:
        user = await store.authenticate(username, password)
        if user is None:
            raise web.HTTPUnauthorized(text="wrong username or password")
        token, session = await store.open(user)
    except DatabaseUnavailable:
        limiter.release(attempt)
        raise web.HTTPServiceUnavailable(text="the database is unavailable; try again") from None
    limiter.succeeded(attempt, time.monotonic())
    response = web.json_response({"user": _user_json(session.user), "csrf": session.csrf_token})
    secure = request.app[SETTINGS].http_secure_cookies or is_https(request)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=secure,
        max_age=int(store.lifetime_s),
        path="/",
    )
    return response


async def logout(request: web.Request) -> web.Response:
    await request.app[SESSIONS].close(request.cookies.get(SESSION_COOKIE, ""))
    key = session_of(request).key
    close_sockets(request.app, sessions={key})
    response = web.json_response({"signed_out": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def _user_json(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "name": user.display_name,
        "role": user.role,
        "interfaces": list(user.interfaces),
    }


async def me(request: web.Request) -> web.Response:
    """The signed-in user, the session's CSRF token, and what the panel formats with: the
    center's country (phone numbers) and time zone (dates)."""
    session = session_of(request)
    settings = request.app[SETTINGS]
    return web.json_response(
        {
            "user": _user_json(session.user),
            "csrf": session.csrf_token,
            "center": {"region": settings.center_region, "timezone": settings.center_timezone},
        }
    )


async def disable_user(request: web.Request) -> web.Response:
    """Disable a user: their sessions end and their panel websockets close now."""
    username = request.match_info["username"].lower()
    if username == session_of(request).user.username:
        raise web.HTTPConflict(text="you cannot disable your own user; ask another admin")
    user = await request.app[SESSIONS].disable_user(username)
    if user is None:
        raise web.HTTPNotFound(text=f"no user {username!r}; check the name")
    closed = close_sockets(request.app, user_id=user.id)
    return web.json_response({"disabled": user.username, "websockets_closed": closed})


def add_routes(app: web.Application) -> None:
    # A malformed CTI_HTTP_TRUSTED_PROXIES stops the start with its reason, not a request.
    trusted_networks(app[SETTINGS].http_trusted_proxies)
    app.router.add_get("/login", route("public", login_page))
    app.router.add_post("/api/login", route("public", login))
    app.router.add_post("/api/logout", route("agent", logout))
    app.router.add_get("/api/me", route("agent", me))
    app.router.add_post("/api/users/{username}/disable", route("admin", disable_user))
