"""The agent's HTTP API: state control, call tools, notes and follow-ups, the home page.

Every route needs at least the agent role; an agent acts only on calls that rang or were
answered on one of their own phones (supervisors on any). Commands to Asterisk go through
``cti.ami.actions``; a refusal comes back as 502 with Asterisk's own words.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cti.ami import actions
from cti.ami.connection import AmiClient
from cti.ami.protocol import AmiError
from cti.auth.users import User
from cti.calllog.recording import NothingToMute, set_recording_muted
from cti.http.answered import AnsweredLately
from cti.http.security import route, session_of
from cti.http.status import WEB_DIR
from cti.keys import (
    AMI,
    ANSWERED_LATELY,
    CLOCK,
    DATABASE,
    OWED_DISPOSITIONS,
    PIPELINE,
    SETTINGS,
    SINKS,
    STATE,
)
from cti.outbound import call_out
from cti.phone import to_e164
from cti.state import views
from cti.state.changes import AgentState


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="the body must be JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


# Asterisk's Linkedid ("1795343720.0"), as the routes' {linkedid:[0-9.]{1,40}} take it.
LINKEDID = re.compile(r"[0-9.]{1,40}")


def call_id(value: Any) -> str:
    """A call id from a body or query, or 400."""
    if not isinstance(value, str) or not LINKEDID.fullmatch(value):
        raise web.HTTPBadRequest(text="linkedid must be a call id")
    return value


def live_call_is_theirs(request: web.Request, user: User, linkedid: str) -> bool:
    call = views.call(request.app[STATE], linkedid)
    return call is not None and call.reached(user.interfaces)


async def require_call(request: web.Request, user: User, linkedid: str) -> None:
    """404 unless the user may act on this call (never says whether it exists otherwise)."""
    if user.may("supervisor") or live_call_is_theirs(request, user, linkedid):
        return
    if request.app[ANSWERED_LATELY].agent_of(linkedid) in user.interfaces:
        return
    pool = await request.app[DATABASE].pool()
    agent = await pool.fetchval("SELECT agent FROM calls WHERE linkedid = $1", linkedid)
    if agent is None or agent not in user.interfaces:
        raise web.HTTPNotFound(text="no such call of yours")


async def agent_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "agent.html")


async def agent_config(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return web.json_response(
        {
            "pause_reasons": list(settings.center_pause_reasons),
            "dispositions": list(settings.center_dispositions),
            # How long the daemon holds an agent in wrap-up after a call (cti/routing/wrapup.py):
            # the agent's screen counts it down.
            "wrapup_s": settings.center_wrapup_s,
            "wrapup_s_by_queue": settings.wrapup_s_by_queue,
            "disposition_required": list(settings.center_disposition_required),
        }
    )


async def set_state(request: web.Request) -> web.Response:
    """Ready (unpause) or paused with a reason from the configured list, in every queue."""
    user = session_of(request).user
    body = await json_body(request)
    paused = body.get("paused")
    reason = body.get("reason") or ""
    if not isinstance(paused, bool):
        raise web.HTTPBadRequest(text="paused must be true or false")
    if paused and reason not in request.app[SETTINGS].center_pause_reasons:
        raise web.HTTPBadRequest(text="pick a pause reason from the list")
    if not user.interfaces:
        raise web.HTTPConflict(text="no phone is linked to your user; ask an admin")
    if not paused:
        pool = await request.app[DATABASE].pool()
        owed = await request.app[OWED_DISPOSITIONS].owed(pool, user.interfaces)
        if owed is not None:
            raise web.HTTPConflict(
                text=f"choose a disposition for the call from {owed.caller or 'an unknown caller'}"
                f" first: queue {owed.queue} needs one before you are ready"
            )
    try:
        for interface in user.interfaces:
            await actions.queue_pause(
                request.app[AMI], interface, paused, reason=reason if paused else ""
            )
    except AmiError as exc:
        raise web.HTTPBadGateway(text=str(exc)) from None
    return web.json_response({"paused": paused, "reason": reason})


async def recording(request: web.Request) -> web.Response:
    user = session_of(request).user
    linkedid = request.match_info["linkedid"]
    if not (user.may("supervisor") or live_call_is_theirs(request, user, linkedid)):
        raise web.HTTPNotFound(text="no such call of yours in progress")
    muted = (await json_body(request)).get("muted")
    if not isinstance(muted, bool):
        raise web.HTTPBadRequest(text="muted must be true or false")
    try:
        await set_recording_muted(
            request.app[AMI],
            request.app[DATABASE],
            request.app[STATE],
            linkedid,
            muted,
            user.username,
        )
    except NothingToMute as exc:
        raise web.HTTPConflict(text=str(exc)) from None
    except AmiError as exc:
        raise web.HTTPBadGateway(text=str(exc)) from None
    return web.json_response({"muted": muted})


def _own_leg(request: web.Request, user: User, linkedid: str) -> str:
    """The user's own leg of this live call, or 404 (an agent acts only from their phone)."""
    leg = views.leg_of(request.app[STATE], linkedid, user.interfaces)
    if leg is None:
        raise web.HTTPNotFound(text="you are not on this call")
    return leg


async def _on_own_leg(
    request: web.Request, action: Callable[[AmiClient, str], Awaitable[None]], done: str
) -> web.Response:
    """``action`` on the user's own leg of the call; Asterisk's refusal as 502."""
    leg = _own_leg(request, session_of(request).user, request.match_info["linkedid"])
    try:
        await action(request.app[AMI], leg)
    except AmiError as exc:
        raise web.HTTPBadGateway(text=str(exc)) from None
    return web.json_response({done: leg})


async def hang_up(request: web.Request) -> web.Response:
    """End the user's own leg of the call: Asterisk hangs up their phone, and the caller's
    side ends as if the agent had put the handset down (during an attended transfer's
    consultation, this completes the transfer)."""
    return await _on_own_leg(request, actions.hangup, "hung_up")


async def transfer_targets(request: web.Request) -> web.Response:
    """Where the user may transfer a call: the queues Asterisk has, and the other agents
    (by display name) with their state now."""
    user = session_of(request).user
    state = request.app[STATE]
    pool = await request.app[DATABASE].pool()
    rows = await pool.fetch(
        "SELECT display_name, interfaces FROM users WHERE NOT disabled "
        "AND cardinality(interfaces) > 0 AND id <> $1 ORDER BY display_name",
        user.id,
    )
    agents = []
    for row in rows:
        interface = row["interfaces"][0]
        live = views.agent(state, interface)
        agents.append(
            {
                "name": row["display_name"],
                "interface": interface,
                "state": str(live.state) if live is not None else "logged_out",
            }
        )
    queues = sorted(q.name for q in views.all_queues(state))
    return web.json_response({"queues": queues, "agents": agents})


async def transfer(request: web.Request) -> web.Response:
    """Transfer the user's call: blind, to a queue or another agent's phone; attended
    (``attended: true``), to another agent after consulting them."""
    user = session_of(request).user
    leg = _own_leg(request, user, request.match_info["linkedid"])
    body = await json_body(request)
    queue, agent, attended = body.get("queue"), body.get("agent"), body.get("attended", False)
    if not isinstance(attended, bool):
        raise web.HTTPBadRequest(text="attended must be true or false")
    if attended and queue is not None:
        raise web.HTTPBadRequest(text="an attended transfer goes to an agent, not a queue")
    state = request.app[STATE]
    if isinstance(queue, str) and agent is None:
        if views.queue(state, queue) is None:
            raise web.HTTPBadRequest(text=f"there is no queue named {queue!r}")
        kind, target = "queue", queue
    elif isinstance(agent, str) and queue is None:
        pool = await request.app[DATABASE].pool()
        known = await pool.fetchval(
            "SELECT true FROM users WHERE NOT disabled AND $1 = ANY(interfaces)", agent
        )
        if not known or agent in user.interfaces:
            raise web.HTTPBadRequest(text="transfer to another agent's phone")
        kind, target = "agent", agent
    else:
        raise web.HTTPBadRequest(text="give either a queue or an agent to transfer to")
    try:
        if attended:
            await actions.attended_transfer(request.app[AMI], leg, target)
        else:
            await actions.blind_transfer(request.app[AMI], leg, kind, target)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    except AmiError as exc:
        raise web.HTTPBadGateway(text=str(exc)) from None
    if attended:  # the caller holds; the user's hang-up completes it, or they cancel
        return web.json_response({"consulting": target})
    return web.json_response({"transferred": leg, kind: target})


async def cancel_transfer(request: web.Request) -> web.Response:
    """Back to the held caller from an attended transfer's consultation."""
    return await _on_own_leg(request, actions.cancel_attended_transfer, "cancelled")


BUSY_STATES = (AgentState.RINGING, AgentState.ON_CALL, AgentState.BUSY)


async def dial(request: web.Request) -> web.Response:
    """Click-to-dial: ring the user's own phone, then the customer's ``number`` once they take
    it (cti/state/outbound.py). ``customer_id``, when given, names the customer on the
    agent's phone and screen. 202: the call is on its way; its Linkedid comes back, and the
    screen-pop follows over the websocket as the agent's phone rings."""
    user = session_of(request).user
    if not user.interfaces:
        raise web.HTTPConflict(text="you have no phone to call from: an admin can give you one")
    phone = user.interfaces[0]
    live = views.agent(request.app[STATE], phone)
    if live is not None and live.state in BUSY_STATES:
        raise web.HTTPConflict(text="finish the call you are on before calling out")
    body = await json_body(request)
    number, customer_id = body.get("number"), body.get("customer_id")
    settings = request.app[SETTINGS]
    e164 = to_e164(number, settings.center_region) if isinstance(number, str) else None
    if e164 is None:
        raise web.HTTPBadRequest(text="number must be a phone number")
    name = ""
    if customer_id is not None:
        if not isinstance(customer_id, int):
            raise web.HTTPBadRequest(text="customer_id must be a number or null")
        pool = await request.app[DATABASE].pool()
        name = await pool.fetchval("SELECT full_name FROM customers WHERE id = $1", customer_id)
        if name is None:
            raise web.HTTPNotFound(text="no such customer")
    digits = e164.removeprefix("+")  # [cti-outbound] takes digits; the trunk's plan is its own
    app = request.app
    try:
        channel_id = await call_out(app[PIPELINE], app[AMI], app[CLOCK], phone, digits, name)
    except AmiError as exc:
        raise web.HTTPBadGateway(text=str(exc)) from None
    return web.json_response({"linkedid": channel_id, "number": e164}, status=202)


def add_routes(app: web.Application) -> None:
    app[ANSWERED_LATELY] = AnsweredLately()
    app[SINKS].append(app[ANSWERED_LATELY])
    app.router.add_get("/agent", route("agent", agent_page))
    app.router.add_get("/api/agent/config", route("agent", agent_config))
    app.router.add_post("/api/agent/state", route("agent", set_state))
    app.router.add_post(r"/api/calls/{linkedid:[0-9.]{1,40}}/recording", route("agent", recording))
    app.router.add_post(r"/api/calls/{linkedid:[0-9.]{1,40}}/hangup", route("agent", hang_up))
    app.router.add_post(r"/api/calls/{linkedid:[0-9.]{1,40}}/transfer", route("agent", transfer))
    app.router.add_post(
        r"/api/calls/{linkedid:[0-9.]{1,40}}/transfer/cancel", route("agent", cancel_transfer)
    )
    app.router.add_get("/api/agent/transfer-targets", route("agent", transfer_targets))
    app.router.add_post("/api/agent/dial", route("agent", dial))
