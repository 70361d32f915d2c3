"""Sign-in, sign-out and "who am I"."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from cti.database import DatabaseUnavailable
from cti.http.security import SESSION_COOKIE, route, session_of
from cti.http.status import WEB_DIR
from cti.keys import LOGIN_LIMITER, SESSIONS, SETTINGS

MAX_CREDENTIAL_LENGTH = 256


async def login_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "login.html")


async def _credentials(request: web.Request) -> tuple[str, str]:
    try:
        body: Any = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="send JSON: {\"username\": ..., \"password\": ...}") from None
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
    limiter, now = request.app[LOGIN_LIMITER], time.monotonic()
    keys = (f"ip:{request.remote}", f"user:{username}")
    wait = max(limiter.retry_after(key, now) for key in keys)
    if wait > 0:
        raise web.HTTPTooManyRequests(
            text=f"too many failed sign-ins; try again in {int(wait) + 1} s",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    store = request.app[SESSIONS]
    try:
        user = await store.authenticate(username, password)
        if user is None:
            for key in keys:
                limiter.failed(key, now)
            raise web.HTTPUnauthorized(text="wrong username or password")
        token, session = await store.open(user)
    except DatabaseUnavailable:
        raise web.HTTPServiceUnavailable(text="the database is unavailable; try again") from None
    for key in keys:
        limiter.succeeded(key)
    response = web.json_response({"user": _user_json(session.user), "csrf": session.csrf_token})
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict",
                        secure=request.app[SETTINGS].http_secure_cookies,
                        max_age=int(store.lifetime_s), path="/")  # fmt: skip
    return response


async def logout(request: web.Request) -> web.Response:
    await request.app[SESSIONS].close(request.cookies.get(SESSION_COOKIE, ""))
    response = web.json_response({"signed_out": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def _user_json(user: Any) -> dict[str, Any]:
    return {"username": user.username, "name": user.display_name, "role": user.role,
            "interfaces": list(user.interfaces)}  # fmt: skip


async def me(request: web.Request) -> web.Response:
    session = session_of(request)
    return web.json_response({"user": _user_json(session.user), "csrf": session.csrf_token})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login", route("public", login_page))
    app.router.add_post("/api/login", route("public", login))
    app.router.add_post("/api/logout", route("agent", logout))
    app.router.add_get("/api/me", route("agent", me))
