"""The supervisor's HTTP API: wallboard, KPIs, agents' actions, call history, recordings.

Figures come from the call log's per-call events through ``cti.kpi`` (so the wallboard,
the KPI API and a later re-computation with another threshold agree by construction); what
is happening right now (callers waiting, agents' states) comes from the live state.
Every action on an agent is audited with who, what, when and whether Asterisk accepted it.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from cti import kpi
from cti.ami import actions
from cti.ami.protocol import AmiError
from cti.calllog import reports
from cti.http.agent import json_body
from cti.http.security import route, session_of
from cti.http.status import WEB_DIR
from cti.keys import AMI, DATABASE, SETTINGS, STATE
from cti.phone import to_e164
from cti.state.changes import AgentState

DEFAULT_THRESHOLD_S = 20
WINDOWS = {"15m": timedelta(minutes=15), "60m": timedelta(minutes=60)}
BUCKET = timedelta(minutes=15)
SPY_MODES = ("listen", "whisper", "barge")
OUTCOMES = ("answered", "abandoned", "transferred", "timed_out", "unanswered", "failed", "unknown")
# Recording references are file names the dialplan made (<Uniqueid>.wav), never paths.
RECORDING_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def _time(request: web.Request, name: str, default: datetime) -> datetime:
    value = request.query.get(name)
    if not value:
        return default
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be an ISO 8601 date or time") from None
    if parsed.tzinfo is None:  # a bare date or time is in the center's time zone
        parsed = parsed.replace(tzinfo=ZoneInfo(request.app[SETTINGS].center_timezone))
    if name == "to" and len(value) == 10:  # a bare end date includes that whole day
        parsed += timedelta(days=1)
    return parsed


def _int(request: web.Request, name: str, default: int, low: int = 0, high: int = 3600) -> int:
    value = request.query.get(name)
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number from {low} to {high}")
    return int(value)


def _midnight(request: web.Request, now: datetime) -> datetime:
    zone = ZoneInfo(request.app[SETTINGS].center_timezone)
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _threshold(request: web.Request, queue: str) -> int:
    known = request.app[STATE].queues.get(queue)
    return known.service_level_s if known and known.service_level_s else DEFAULT_THRESHOLD_S


# --- KPIs ------------------------------------------------------------------------------


async def kpi_report(request: web.Request) -> web.Response:
    """KPIs per queue for any period and threshold, from the stored per-call events."""
    now = datetime.now(UTC)
    since = _time(request, "from", _midnight(request, now))
    until = _time(request, "to", now)
    if until <= since:
        raise web.HTTPBadRequest(text="to must be after from")
    queue = request.query.get("queue") or None
    short = _int(request, "short_abandon", kpi.SHORT_ABANDON_S, high=60)
    threshold = _int(request, "threshold", 0)  # 0: each queue's own servicelevel
    pool = await request.app[DATABASE].pool()
    calls = await reports.queue_calls(pool, since, until, queue)
    by_queue: dict[str, list[kpi.QueueCall]] = {}
    for call in calls:
        by_queue.setdefault(call.queue, []).append(call)
    if queue:
        by_queue.setdefault(queue, [])
    queues = {
        name: kpi.compute(members, threshold or _threshold(request, name), short)
        for name, members in sorted(by_queue.items())
    }
    return web.json_response({"from": since.isoformat(), "to": until.isoformat(),
                              "queues": queues, "definitions": kpi.DEFINITIONS})  # fmt: skip


async def build_wallboard(request: web.Request) -> dict[str, Any]:
    settings, state = request.app[SETTINGS], request.app[STATE]
    now = datetime.now(UTC)
    midnight = _midnight(request, now)
    since = min(midnight, now - max(WINDOWS.values()))
    pool = await request.app[DATABASE].pool()
    calls = await reports.queue_calls(pool, since, now + timedelta(seconds=1))
    names = sorted(set(state.queues) | {c.queue for c in calls})
    agents_by_queue: dict[str, Counter[str]] = {name: Counter() for name in names}
    for agent in state.agents.values():
        agent_state = str(agent.derive_state(state.clock)[0])
        for name in agent.memberships:
            agents_by_queue.setdefault(name, Counter())[agent_state] += 1
    board = []
    for name in names:
        threshold = _threshold(request, name)
        mine = [c for c in calls if c.queue == name]
        today = [c for c in mine if c.entered_at >= midnight.timestamp()]
        windows = {"today": kpi.compute(today, threshold)}
        for window, span in WINDOWS.items():
            start = (now - span).timestamp()
            windows[window] = kpi.compute([c for c in mine if c.entered_at >= start], threshold)
        live = state.queues.get(name)
        oldest = live.oldest_queued_at() if live else None
        longest = round(max(0.0, now.timestamp() - oldest)) if oldest else 0
        counts = agents_by_queue.get(name, Counter())
        logged_in = sum(n for s, n in counts.items() if s != AgentState.LOGGED_OUT)
        alerts = []
        sl = windows["today"]["service_level"]
        if sl is not None and sl < settings.center_service_level_target:
            alerts.append(f"service level {sl:.0%} is below the target "
                          f"{settings.center_service_level_target:.0%}")  # fmt: skip
        if longest > settings.center_max_wait_s:
            alerts.append(f"a caller has waited {longest} s (limit {settings.center_max_wait_s} s)")
        board.append({
            "queue": name, "threshold_s": threshold,
            "target": settings.center_service_level_target,
            "waiting": len(live.callers) if live else 0, "longest_wait_s": longest,
            "agents": {"logged_in": logged_in, **{str(s): counts.get(str(s), 0) for s in (
                AgentState.READY, AgentState.ON_CALL, AgentState.RINGING, AgentState.PAUSED,
                AgentState.WRAP_UP, AgentState.BUSY, AgentState.UNAVAILABLE)}},
            "windows": windows, "buckets": _buckets(today, midnight, threshold),
            "alerts": alerts,
        })  # fmt: skip
    return {"at": now.isoformat(), "queues": board, "definitions": kpi.DEFINITIONS,
            "ami_connected": state.link_up}  # fmt: skip


def _buckets(calls: list[kpi.QueueCall], midnight: datetime, threshold: int
             ) -> list[dict[str, Any]]:  # fmt: skip
    """Offered/answered/abandoned and service level per 15 minutes of today, for charts."""
    grouped: dict[int, list[kpi.QueueCall]] = {}
    for call in calls:
        grouped.setdefault(int((call.entered_at - midnight.timestamp()) // BUCKET.seconds),
                           []).append(call)  # fmt: skip
    out = []
    for index, members in sorted(grouped.items()):
        figures = kpi.compute(members, threshold)
        out.append({"start": (midnight + index * BUCKET).isoformat(),
                    **{k: figures[k] for k in ("offered", "answered", "abandoned",
                                               "service_level")}})  # fmt: skip
    return out


async def wallboard(request: web.Request) -> web.Response:
    return web.json_response(await build_wallboard(request))


# --- actions on agents ----------------------------------------------------------------


async def _audit(request: web.Request, action: str, target: str, detail: str,
                 error: str) -> None:  # fmt: skip
    pool = await request.app[DATABASE].pool()
    await pool.execute(
        "INSERT INTO supervisor_actions (user_id, action, target, detail, accepted, error)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        session_of(request).user.id, action, target, detail, not error, error)


def _known_agent(request: web.Request, interface: Any) -> str:
    if not isinstance(interface, str) or interface not in request.app[STATE].agents:
        raise web.HTTPNotFound(text="no such agent in the queues Asterisk reported")
    return interface


async def pause_agent(request: web.Request) -> web.Response:
    body = await json_body(request)
    interface = _known_agent(request, body.get("interface"))
    paused, reason = body.get("paused"), body.get("reason") or ""
    if not isinstance(paused, bool):
        raise web.HTTPBadRequest(text="paused must be true or false")
    if paused and reason not in request.app[SETTINGS].center_pause_reasons:
        raise web.HTTPBadRequest(text="pick a pause reason from the list")
    action = "pause" if paused else "unpause"
    try:
        await actions.queue_pause(request.app[AMI], interface, paused, reason=reason)
    except AmiError as exc:
        await _audit(request, action, interface, reason, str(exc) or type(exc).__name__)
        raise web.HTTPBadGateway(text=f"Asterisk refused to {action} {interface}: {exc}") from None
    await _audit(request, action, interface, reason, "")
    return web.json_response({"interface": interface, "paused": paused, "reason": reason})


async def spy(request: web.Request) -> web.Response:
    """Listen, whisper or barge: Asterisk rings the supervisor's own phone and, when it is
    answered, ChanSpy joins the agent's call (dialplan/extensions_cti.conf [cti-spy])."""
    user = session_of(request).user
    body = await json_body(request)
    interface = _known_agent(request, body.get("interface"))
    mode = body.get("mode")
    if mode not in SPY_MODES:
        raise web.HTTPBadRequest(text=f"mode must be one of {', '.join(SPY_MODES)}")
    if not user.interfaces:
        raise web.HTTPConflict(text="no phone is linked to your user; ask an admin")
    endpoint = interface.split("/", 1)[-1]
    try:
        await actions.originate(request.app[AMI], user.interfaces[0], "cti-spy",
                                f"{mode}-{endpoint}", caller_id=f'"{mode} {endpoint}" <{endpoint}>')
    except AmiError as exc:
        await _audit(request, mode, interface, user.interfaces[0], str(exc))
        raise web.HTTPBadGateway(text=f"Asterisk refused to {mode}: {exc}") from None
    await _audit(request, mode, interface, user.interfaces[0], "")
    return web.json_response({"interface": interface, "mode": mode, "phone": user.interfaces[0]})


async def audit_log(request: web.Request) -> web.Response:
    pool = await request.app[DATABASE].pool()
    rows = await pool.fetch(
        "SELECT a.at, u.username, a.action, a.target, a.detail, a.accepted, a.error"
        " FROM supervisor_actions a JOIN users u ON u.id = a.user_id ORDER BY a.id DESC LIMIT 200")
    return web.json_response([dict(r) | {"at": r["at"].isoformat()} for r in rows])


# --- call history and recordings ------------------------------------------------------


def _filter(request: web.Request) -> reports.CallFilter:
    now = datetime.now(UTC)
    since = _time(request, "from", _midnight(request, now) - timedelta(days=7))
    until = _time(request, "to", now + timedelta(minutes=1))
    q = request.query
    outcome, consent = q.get("outcome") or None, q.get("consent") or None
    if outcome is not None and outcome not in OUTCOMES:
        raise web.HTTPBadRequest(text=f"outcome must be one of {', '.join(OUTCOMES)}")
    if consent is not None and consent not in ("granted", "declined", "none"):
        raise web.HTTPBadRequest(text="consent must be granted, declined or none")
    number = q.get("number") or None
    if number is not None:  # '0532 111 22 33' and '+90 532 111 22 33' find the same calls
        number = to_e164(number, request.app[SETTINGS].center_region) or re.sub(
            r"[\s()-]", "", number)
    return reports.CallFilter(
        since, until, number, q.get("customer") or None, q.get("agent") or None,
        q.get("queue") or None, outcome, consent, _int(request, "limit", 500, 1, 10_000),
    )  # fmt: skip


async def call_history(request: web.Request) -> web.Response:
    rows = await reports.search_calls(await request.app[DATABASE].pool(), _filter(request))
    for row in rows:
        row["started_at"] = row["started_at"].isoformat() if row["started_at"] else None
    return web.json_response(rows)


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run: caller names are attacker-controlled."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def call_history_csv(request: web.Request) -> web.Response:
    rows = await reports.search_calls(await request.app[DATABASE].pool(), _filter(request))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(reports.HISTORY_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in reports.HISTORY_COLUMNS])
    return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": 'attachment; filename="calls.csv"'})


async def recording(request: web.Request) -> web.FileResponse:
    """A call's recording by the call's id (Range requests work: seeking in the player)."""
    pool = await request.app[DATABASE].pool()
    name = await reports.recording_name(pool, request.match_info["linkedid"])
    if name is None:
        raise web.HTTPNotFound(text="this call has no recording (not recorded or declined)")
    folder = request.app[SETTINGS].recordings_path.resolve()
    path = (folder / name).resolve()
    if not RECORDING_NAME.match(name) or path.parent != folder:
        raise web.HTTPNotFound(text="this call's recording reference is not a file name")
    if not path.is_file():
        raise web.HTTPNotFound(text=f"recording {name} is not in the recordings folder (yet)")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav",
                                           "Cache-Control": "private, no-store"})  # fmt: skip


async def history_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "history.html")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/history", route("supervisor", history_page))
    app.router.add_get("/api/wallboard", route("supervisor", wallboard))
    app.router.add_get("/api/kpi", route("supervisor", kpi_report))
    app.router.add_post("/api/supervisor/pause", route("supervisor", pause_agent))
    app.router.add_post("/api/supervisor/spy", route("supervisor", spy))
    app.router.add_get("/api/supervisor/audit", route("supervisor", audit_log))
    app.router.add_get("/api/history", route("supervisor", call_history))
    app.router.add_get("/api/history.csv", route("supervisor", call_history_csv))
    app.router.add_get(r"/api/recordings/{linkedid:[0-9.]{1,40}}", route("supervisor", recording))
