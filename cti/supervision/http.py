"""The supervisor's HTTP API: wallboard, KPIs, agents' actions, call history, recordings.

The wallboard (today's tallies, kept live) and the KPI API (aggregated in PostgreSQL from the
stored per-call events) both compute their figures through ``cti.kpi``. Every action on an
agent is audited with who, what, when and whether Asterisk accepted it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from cti import kpi
from cti.ami import actions
from cti.ami.protocol import AmiError
from cti.calllog import reports, tallies
from cti.customers import records
from cti.http.agent import call_id, json_body
from cti.http.security import route, session_of
from cti.http.status import WEB_DIR
from cti.keys import ALERTS, AMI, CLOCK, DATABASE, SETTINGS, STATE, TODAY
from cti.phone import to_e164
from cti.routing.acd import decisions_for
from cti.state import views
from cti.state.changes import Outcome
from cti.supervision import wallboard

OUTCOMES = tuple(Outcome)
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


# --- KPIs ------------------------------------------------------------------------------


async def kpi_report(request: web.Request) -> web.Response:
    """KPIs per queue for any period and threshold, aggregated in PostgreSQL from the stored
    per-call events (cti.calllog.tallies)."""
    now = datetime.now(UTC)
    since = _time(request, "from", request.app[CLOCK].midnight(now))
    until = _time(request, "to", now)
    if until <= since:
        raise web.HTTPBadRequest(text="to must be after from")
    queue = request.query.get("queue") or None
    short = _int(request, "short_abandon", kpi.SHORT_ABANDON_S, high=60)
    threshold = _int(request, "threshold", 0)  # 0: each queue's own servicelevel
    pool = await request.app[DATABASE].pool()
    by_queue = await tallies.queue_tallies(pool, since, until, queue)
    if queue:
        by_queue.setdefault(queue, kpi.Tally())
    state = request.app[STATE]
    queues = {
        name: kpi.figures(tally, threshold or wallboard.threshold_of(state, name), short)
        for name, tally in sorted(by_queue.items())
    }
    return web.json_response(
        {
            "from": since.isoformat(),
            "to": until.isoformat(),
            "queues": queues,
            "definitions": kpi.DEFINITIONS,
        }
    )


async def wallboard_report(request: web.Request) -> web.Response:
    """The wallboard now (pages get it pushed; this is their first look, and for scripts)."""
    app = request.app
    board = wallboard.build(app[SETTINGS], app[STATE], app[TODAY], app[CLOCK].now())
    return web.json_response(board)


async def todays_alerts(request: web.Request) -> web.Response:
    """Today's wallboard alerts, raised and cleared, newest first: the page opens on those
    raised before it was open (it is pushed the later ones, as "alert" messages)."""
    clock = request.app[CLOCK]
    day_start = clock.midnight(datetime.fromtimestamp(clock.now(), UTC))
    alerts = request.app[ALERTS].since(day_start.timestamp())
    return web.json_response(
        {
            "day_start": day_start.isoformat(),
            "alerts": [
                {
                    "queue": a.queue,
                    "kind": a.kind,
                    "text": a.text,
                    "raised": a.raised,
                    "at": a.at,
                }
                for a in alerts
            ],
        }
    )


async def agent_names(request: web.Request) -> web.Response:
    """The people on the phones: each user's display name and phones, so the wall names an
    agent as people know them, not by the phone's interface or Asterisk's member name."""
    pool = await request.app[DATABASE].pool()
    rows = await pool.fetch(
        "SELECT username, display_name, interfaces FROM users"
        " WHERE NOT disabled AND cardinality(interfaces) > 0 ORDER BY display_name, username"
    )
    return web.json_response(
        [
            {"username": r["username"], "name": r["display_name"], "interfaces": r["interfaces"]}
            for r in rows
        ]
    )


# --- actions on agents ----------------------------------------------------------------


async def _audit(request: web.Request, action: str, target: str, detail: str, error: str) -> None:
    pool = await request.app[DATABASE].pool()
    await pool.execute(
        "INSERT INTO supervisor_actions (user_id, action, target, detail, accepted, error)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        session_of(request).user.id,
        action,
        target,
        detail,
        not error,
        error,
    )


async def _audited(
    request: web.Request, action: str, target: str, detail: str, attempt: Awaitable[None]
) -> None:
    """Run one action on an agent and audit it whatever happens: accepted, refused by
    Asterisk (502 with Asterisk's reason), or failed in our own code (audited, then raised)."""
    try:
        await attempt
    except AmiError as exc:
        await _audit(request, action, target, detail, str(exc) or type(exc).__name__)
        raise web.HTTPBadGateway(text=f"Asterisk refused to {action} {target}: {exc}") from None
    except Exception as exc:
        await _audit(request, action, target, detail, f"internal error: {type(exc).__name__}")
        raise
    await _audit(request, action, target, detail, "")


def _known_agent(request: web.Request, interface: Any) -> str:
    if not isinstance(interface, str) or views.agent(request.app[STATE], interface) is None:
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
    await _audited(
        request,
        action,
        interface,
        reason,
        actions.queue_pause(request.app[AMI], interface, paused, reason=reason),
    )
    return web.json_response({"interface": interface, "paused": paused, "reason": reason})


async def spy(request: web.Request) -> web.Response:
    """Listen, whisper or barge: Asterisk rings the supervisor's own phone and, when it is
    answered, ChanSpy joins the agent's call (dialplan/extensions_cti.conf [cti-spy-<mode>]).
    Answers as soon as Asterisk has queued the call: the supervisor may take a while to pick
    up, and the request must not wait for that."""
    user = session_of(request).user
    body = await json_body(request)
    interface = _known_agent(request, body.get("interface"))
    mode = body.get("mode")
    if mode not in actions.SPY_MODES:
        raise web.HTTPBadRequest(text=f"mode must be one of {', '.join(actions.SPY_MODES)}")
    if not user.interfaces:
        raise web.HTTPConflict(text="no phone is linked to your user; ask an admin")
    phone = user.interfaces[0]
    await _audited(
        request, mode, interface, phone, actions.spy(request.app[AMI], phone, mode, interface)
    )
    return web.json_response({"interface": interface, "mode": mode, "phone": phone})


async def audit_log(request: web.Request) -> web.Response:
    pool = await request.app[DATABASE].pool()
    rows = await pool.fetch(
        "SELECT a.at, u.username, a.action, a.target, a.detail, a.accepted, a.error"
        " FROM supervisor_actions a JOIN users u ON u.id = a.user_id ORDER BY a.id DESC LIMIT 200"
    )
    return web.json_response([dict(r) | {"at": r["at"].isoformat()} for r in rows])


async def agent_day(request: web.Request) -> web.Response:
    """One agent's day as they see it on their home page, plus what they wrote today."""
    pool = await request.app[DATABASE].pool()
    # By user name, or by the phone the agents grid shows.
    user = await pool.fetchrow(
        "SELECT id, username, display_name, interfaces FROM users "
        "WHERE username = $1 OR $2 = ANY(interfaces) ORDER BY id LIMIT 1",
        request.query.get("username", ""),
        request.query.get("interface", ""),
    )
    if user is None:
        raise web.HTTPNotFound(text="no user has that name or phone")
    now = datetime.now(UTC)
    day_start = request.app[CLOCK].midnight(now)
    page = await records.agent_home(pool, user["id"], list(user["interfaces"]), day_start, now)
    written = await records.notes_and_promises(
        pool, user["id"], day_start, day_start + timedelta(days=1)
    )
    who = {
        "username": user["username"],
        "name": user["display_name"],
        "interfaces": list(user["interfaces"]),
    }
    return web.json_response(who | page | written)


async def routing_decisions(request: web.Request) -> web.Response:
    """Why the ACD sent a call where it went: each decision and the agents considered."""
    linkedid = call_id(request.query.get("linkedid"))
    pool = await request.app[DATABASE].pool()
    return web.json_response(await decisions_for(pool, linkedid))


# --- call history and recordings ------------------------------------------------------


async def _filter(request: web.Request) -> reports.CallFilter:
    now = datetime.now(UTC)
    week_ago = request.app[CLOCK].midnight(now) - timedelta(days=7)
    since = _time(request, "from", week_ago)
    until = _time(request, "to", now + timedelta(minutes=1))
    q = request.query
    if until <= since:
        raise web.HTTPBadRequest(
            text="the period is reversed or empty: to must be after from"
            f" (from {q.get('from') or since.date()}, to {q.get('to') or until.date()})"
        )
    outcome, consent = q.get("outcome") or None, q.get("consent") or None
    if outcome is not None and outcome not in OUTCOMES:
        raise web.HTTPBadRequest(text=f"outcome must be one of {', '.join(OUTCOMES)}")
    if consent is not None and consent not in ("granted", "declined", "none"):
        raise web.HTTPBadRequest(text="consent must be granted, declined or none")
    number = q.get("number") or None
    if number is not None:  # '0532 111 22 33' and '+90 532 111 22 33' find the same calls
        number = to_e164(number, request.app[SETTINGS].center_region) or re.sub(
            r"[\s()-]", "", number
        )
    customer = q.get("customer", "").strip() or None
    if customer is not None and len(customer) < reports.CUSTOMER_PART_MIN:
        raise web.HTTPBadRequest(
            text=f"customer: type at least {reports.CUSTOMER_PART_MIN} letters of the name"
        )
    phones: tuple[str, ...] | None = None
    if who := q.get("agent", "").strip():
        phones = await reports.agent_interfaces(await request.app[DATABASE].pool(), who)
        if phones is None:
            raise web.HTTPBadRequest(
                text=f'agent: no one is called "{who}"; give a name or username as listed,'
                " or a phone such as PJSIP/1001"
            )
        if not phones:
            raise web.HTTPBadRequest(text=f"agent: {who} has no phone, so no calls")
    return reports.CallFilter(
        since,
        until,
        number,
        customer,
        phones,
        q.get("queue") or None,
        outcome,
        consent,
    )


def _after(request: web.Request) -> reports.Cursor | None:
    value = request.query.get("after")
    if not value:
        return None
    try:
        return reports.decode_cursor(value)
    except ValueError:
        raise web.HTTPBadRequest(
            text="after must be the `next` cursor of a previous page, unchanged"
        ) from None


async def call_history(request: web.Request) -> web.Response:
    """A page of the call history, newest first: ``limit`` calls (default 100, at most
    1000) after the cursor ``after``; ``next`` is the cursor of the following page (null on
    the last), ``total`` the calls of the period and filters counted up to 10,000
    (``total_capped``: there are more), or null when counting them took longer than 0.3 s
    (``total_capped`` is true then too)."""
    calls = await _filter(request)
    limit = _int(request, "limit", reports.PAGE_SIZE, 1, reports.PAGE_SIZE_MAX)
    after = _after(request)
    page = await reports.search_page(await request.app[DATABASE].pool(), calls, limit, after)
    for row in page.rows:
        row["started_at"] = row["started_at"].isoformat()
    return web.json_response(
        {
            "calls": page.rows,
            "total": page.total,
            "total_capped": page.total_capped,
            "next": None if page.next is None else reports.encode_cursor(page.next),
        }
    )


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run: caller names are attacker-controlled."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def call_history_csv(request: web.Request) -> web.StreamResponse:
    """Every call of the period and filters, streamed: no row limit, and the daemon holds
    one batch of rows at a time however long the period (reports.stream_calls)."""
    calls = await _filter(request)
    pool = await request.app[DATABASE].pool()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="calls.csv"',
        }
    )
    await response.prepare(request)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(reports.HISTORY_COLUMNS)
    async for rows in reports.stream_calls(pool, calls):
        writer.writerows([_cell(row[c]) for c in reports.HISTORY_COLUMNS] for row in rows)
        await response.write(out.getvalue().encode("utf-8"))
        out.seek(0)
        out.truncate()
    await response.write(out.getvalue().encode("utf-8"))  # the header of an empty export
    await response.write_eof()
    return response


async def history_agents(request: web.Request) -> web.Response:
    """The names the history's agent filter takes: everyone with a phone."""
    return web.json_response(await reports.agent_names(await request.app[DATABASE].pool()))


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
    return web.FileResponse(
        path, headers={"Content-Type": "audio/wav", "Cache-Control": "private, no-store"}
    )


async def history_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "history.html")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/history", route("supervisor", history_page))
    app.router.add_get("/api/wallboard", route("supervisor", wallboard_report))
    app.router.add_get("/api/kpi", route("supervisor", kpi_report))
    app.router.add_get("/api/supervisor/alerts", route("supervisor", todays_alerts))
    app.router.add_get("/api/supervisor/agents", route("supervisor", agent_names))
    app.router.add_post("/api/supervisor/pause", route("supervisor", pause_agent))
    app.router.add_post("/api/supervisor/spy", route("supervisor", spy))
    app.router.add_get("/api/supervisor/audit", route("supervisor", audit_log))
    app.router.add_get("/api/supervisor/agent-day", route("supervisor", agent_day))
    app.router.add_get("/api/routing/decisions", route("supervisor", routing_decisions))
    app.router.add_get("/api/history", route("supervisor", call_history))
    app.router.add_get("/api/history.csv", route("supervisor", call_history_csv))
    app.router.add_get("/api/history/agents", route("supervisor", history_agents))
    app.router.add_get(r"/api/recordings/{linkedid:[0-9.]{1,40}}", route("supervisor", recording))
