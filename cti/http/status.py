"""Health and the live status page (queues, agents, calls) until the full panel lands."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from cti.http.security import login, route
from cti.keys import AMI, PIPELINE
from cti.state.snapshot import snapshot

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def state(request: web.Request) -> web.Response:
    body = snapshot(request.app[PIPELINE].state)
    body["ami_connected"] = request.app[AMI].connected
    return web.json_response(body)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "status.html")


async def asset(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    path = (WEB_DIR / name).resolve()
    if path.parent != WEB_DIR or not path.is_file():  # never a path outside web/
        raise web.HTTPNotFound()
    return web.FileResponse(path)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", route("public", healthz))
    app.router.add_get("/login", route("public", login))
    app.router.add_get("/", route("admin", index))
    app.router.add_get("/api/state", route("admin", state))
    app.router.add_get(r"/static/{name:[A-Za-z0-9_.-]+}", route("admin", asset))
