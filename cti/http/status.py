"""Health, readiness, metrics, and the live status page (queues, agents, calls)."""

from __future__ import annotations

import hmac
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cti.http.security import route, session_of
from cti.keys import AMI, CALL_LOG, DATABASE, METRICS, PIPELINE, SETTINGS, STATE, TASKS
from cti.push.hub import overview_in_turns

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"
BUILT_DIR = WEB_DIR / "dist"  # web/src's components, built by scripts/setup (web/build.mjs)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when every task runs, the AMI link is up and its resync applied, and the call
    log is written; the body says what is not, and what it means."""
    app = request.app
    ami, writer, failure = app[AMI], app[CALL_LOG], app[TASKS].failure
    synced = app[STATE].synced
    database_ok = await app[DATABASE].reachable()
    problems = []
    if failure:
        problems.append(f"{failure}; the daemon stops so that its supervisor restarts it")
    if not ami.connected:
        problems.append(f"not logged in to Asterisk AMI at {ami.config.host}:{ami.config.port}")
    elif not synced:
        problems.append("logged in to Asterisk AMI; its calls and queues are being read again")
    if not database_ok:
        problems.append("PostgreSQL does not answer; call-log rows wait in the spool")
    elif not writer.healthy:
        problems.append(
            f"the call log cannot be written ({writer.stats.last_error}); "
            f"{writer.spool_depth} rows wait in the spool"
        )
    body = {
        "ready": not problems,
        "ami": ami.connected,
        "resynced": synced,
        "database": database_ok,
        "call_log": writer.healthy,
        "call_log_waiting_rows": writer.spool_depth,
        "call_log_quarantined_rows": writer.stats.quarantined,
        "tasks": app[TASKS].names,
        "problems": problems,
    }
    return web.json_response(body, status=503 if problems else 200)


async def metrics(request: web.Request) -> web.Response:
    expected = request.app[SETTINGS].metrics_token
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if expected and not hmac.compare_digest(offered.encode(), expected.encode()):
        raise web.HTTPUnauthorized(text="metrics need the CTI_METRICS_TOKEN bearer token")
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def state(request: web.Request) -> web.Response:
    # In turns, as for a supervisor's page: a script polling this at 2,000 agents would
    # otherwise hold the event loop ~40 ms a request.
    body = await overview_in_turns(request.app[PIPELINE].state)
    body["ami_connected"] = request.app[AMI].connected
    return web.json_response(body)


async def index(request: web.Request) -> web.StreamResponse:
    """Each role's home: agents to their workspace, supervisors to the live view."""
    role = session_of(request).user.role
    raise web.HTTPSeeOther("/agent" if role == "agent" else "/supervisor")


async def supervisor_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "wallboard.html")


async def asset(request: web.Request) -> web.FileResponse:
    """A file of the panel: built from web/src into web/dist by scripts/setup, or one of
    web/ itself (pages, styles). Never a path outside those two folders."""
    name = request.match_info["name"]
    for folder in (BUILT_DIR, WEB_DIR):
        path = (folder / name).resolve()
        if path.parent == folder and path.is_file():
            return web.FileResponse(path)
    if name.endswith(".js") and not BUILT_DIR.is_dir():
        raise web.HTTPNotFound(text="the panel is not built: run scripts/setup (it needs npm)")
    raise web.HTTPNotFound()


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", route("public", healthz))
    app.router.add_get("/readyz", route("public", readyz))
    # ops: Prometheus; open unless CTI_METRICS_TOKEN is set (labels carry no personal data)
    app.router.add_get("/metrics", route("public", metrics))
    app.router.add_get("/", route("agent", index))
    app.router.add_get("/supervisor", route("supervisor", supervisor_page))
    app.router.add_get("/api/state", route("supervisor", state))
    # Panel code and styles only: no data, needed by the sign-in page itself.
    app.router.add_get(r"/static/{name:[A-Za-z0-9_.-]+}", route("public", asset))
