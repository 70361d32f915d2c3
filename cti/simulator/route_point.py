"""The ACD route point: a call to its DID walks [cti-route] of dialplan/extensions_cti.conf.

Theory of operation
-------------------
``walk`` runs one extension of [cti-route] after another; each returns the next one to run
("" once the call has ended), and a Redirect into [cti-route] may choose any of them:

- ``s`` (``_ask``): the UserEvent CtiRoute, then a real FastAGI conversation with the
  daemon (``agi.py``), whose variables pick the next extension;
- ``agent`` (``_dial``): a Dial of one phone, outside app_queue (DialBegin and DialEnd but
  no AgentCalled, no queue statistics, no wrap-up); not answered: CtiRouteNoAnswer, then
  ``hold``;
- ``hold`` (``_hold``): a queue without members, left by the daemon's Setvar + Redirect or,
  after ``hold_s``, for ``fallback``;
- ``fallback`` (``_fallback``): an ordinary queue call from then on (``app_queue.py``).

The Dial's phone is the same ``Device`` its queue memberships ring, so app_queue never
rings a phone the Dial rings, and back; when the Dial lets go of it, ``app_queue.dispatch``
may ring it for a queue caller.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cti.simulator import agi, app_queue
from cti.simulator.config import RoutePointConfig
from cti.simulator.model import CAUSE_NONE, PHONE_CONTEXT, ROUTE_CONTEXT, Call, Dial

if TYPE_CHECKING:
    from cti.simulator.pbx import Pbx

log = logging.getLogger(__name__)


async def walk(pbx: Pbx, call: Call) -> None:
    """Walk [cti-route] from ``s``; each extension's step returns the one to run next
    ("" once the call has ended), and a Redirect may choose any of them."""
    steps: dict[str, Callable[[Pbx, Call], Awaitable[str]]] = {
        "s": _ask,
        "agent": _dial,
        "hold": _hold,
        "fallback": _fallback,
    }
    step = "s"
    while step:
        run = steps.get(step)
        if run is None:  # no such extension: Asterisk ends the channel
            log.info(
                "simulator: %s sent to %s,%s, which does not exist; hanging up",
                call.caller.name,
                ROUTE_CONTEXT,
                step,
            )
            return pbx.hang_up_unqueued(call)
        step = await run(pbx, call)


def _goto(call: Call, exten: str) -> RoutePointConfig:
    assert call.point is not None
    call.caller.context, call.caller.exten = ROUTE_CONTEXT, exten
    return call.point


async def _ask(pbx: Pbx, call: Call) -> str:
    """``s``: tell the daemon the call is here, ask its FastAGI, follow the answer."""
    caller, point = call.caller, _goto(call, "s")
    pbx.exten(caller, 1, "UserEvent", f"CtiRoute,Route: {point.name},Queue: {point.hold_queue}")
    pbx.emit(
        "UserEvent",
        "user,all",
        caller.fields(),
        {
            "UserEvent": "CtiRoute",
            "Route": point.name,
            "Queue": point.hold_queue,
        },
    )
    pbx.exten(caller, 2, "Set", "CTI_ROUTE=")
    pbx.varset(caller, "CTI_ROUTE", "")
    pbx.exten(caller, 3, "Set", "CTI_ROUTE_PRIORITY=0")
    pbx.varset(caller, "CTI_ROUTE_PRIORITY", "0")
    host, port = pbx.config.agi_host, pbx.config.agi_port
    pbx.exten(caller, 4, "AGI", f"agi://{host}:{port}/{agi.SCRIPT},{point.name}")
    env = agi.environment(
        host,
        port,
        caller.name,
        caller.uniqueid,
        caller.caller_num,
        caller.caller_name,
        point.did,
        ROUTE_CONTEXT,
        "s",
        4,
        (point.name,),
    )
    secret = pbx.config.agi_secret
    globals_ = {"CTI_AGI_SECRET": secret} if secret else {}
    talk = pbx.own(
        agi.converse(
            host,
            port,
            env,
            lambda k, v: pbx.varset(caller, k, v),
            point.agi_timeout_s,
            lambda k: caller.variables.get(k, globals_.get(k)),
        ),
        f"agi {caller.name}",
    )
    waits: set[asyncio.Future[Any]] = {talk, call.hangup_by}
    await asyncio.wait(waits, timeout=call.patience_left(), return_when=asyncio.FIRST_COMPLETED)
    if call.hangup_by.done() or not talk.done():  # the caller hung up meanwhile
        talk.cancel()
        pbx.hang_up_unqueued(call)
        return ""
    status = talk.result()
    pbx.varset(caller, "AGISTATUS", status)
    route = caller.variables.get("CTI_ROUTE", "")
    pbx.exten(caller, 5, "GotoIf", f"{int(status != agi.SUCCESS)}?fallback,1")
    if status == agi.SUCCESS and route in ("agent", "hold"):
        pbx.exten(caller, 6 if route == "agent" else 7, "GotoIf", f"1?{route},1")
        return route
    return "fallback"  # no answer, or one the dialplan does not know: the safety net


async def _dial(pbx: Pbx, call: Call) -> str:
    """``agent``: Dial(${CTI_ROUTE_AGENT},${CTI_ROUTE_RING_S}), outside app_queue (no
    AgentCalled, no queue statistics); not answered: CtiRouteNoAnswer, then ``hold``."""
    caller, point = call.caller, _goto(call, "agent")
    interface = caller.variables.get("CTI_ROUTE_AGENT", "")
    ring_text = caller.variables.get("CTI_ROUTE_RING_S", "")
    ring_s = _seconds(ring_text, point.ring_s)
    pbx.exten(caller, 1, "Dial", f"{interface},{ring_text}")
    if not interface:  # Dial without an argument fails, and the channel with it
        log.info("simulator: %s: Dial without an interface; hanging up", caller.name)
        pbx.hang_up_unqueued(call)
        return ""
    status = dial_refused(pbx, interface)
    if status is None:
        dial = dial_begin(pbx, call, interface, ring_s, f"{interface},{ring_text}")
        redirect: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        call.redirect = redirect
        left = call.patience_left()
        waits: set[asyncio.Future[Any]] = {dial.outcome, call.hangup_by, redirect}
        await asyncio.wait(
            waits,
            timeout=ring_s if left is None else min(ring_s, left),
            return_when=asyncio.FIRST_COMPLETED,
        )
        call.redirect = None
        if dial.answered_at is not None:
            talk_ends = await call.hung_up_within(call.spec.talk_s)
            dial_complete(pbx, call, dial, call.hangup_by.result() if talk_ends else "caller")
            return ""
        if dial.outcome.done():
            status = dial.outcome.result()  # the phone rejected it
        elif redirect.done():
            status = "CANCEL"
        elif call.hangup_by.done() or (left is not None and left <= ring_s):
            _dial_abandon(pbx, call, dial)
            return ""
        else:
            status = "NOANSWER"
        dial_end(pbx, call, dial, status)
        if redirect.done():
            return redirect.result()
    pbx.varset(caller, "DIALSTATUS", status)
    pbx.exten(caller, 2, "UserEvent", f"CtiRouteNoAnswer,Agent: {interface},DialStatus: {status}")
    pbx.emit(
        "UserEvent",
        "user,all",
        caller.fields(),
        {
            "UserEvent": "CtiRouteNoAnswer",
            "Agent": interface,
            "DialStatus": status,
        },
    )
    pbx.exten(caller, 3, "Goto", "hold,1")
    return "hold"


async def _hold(pbx: Pbx, call: Call) -> str:
    """``hold``: the hold queue has no members, so the caller hears music until the
    daemon redirects the call or Queue()'s timeout sends it to ``fallback``."""
    point = _goto(call, "hold")
    _queue_priority(pbx, call)
    pbx.exten(call.caller, 2, "Queue", f"{point.hold_queue},,,,{point.hold_s:g}")
    app_queue.join(pbx, call, point.hold_queue, point.hold_s)
    step = await app_queue.wait_in_queue(pbx, call)
    if step is None:  # held too long: the daemon may be down
        pbx.exten(call.caller, 3, "Goto", "fallback,1")
        return "fallback"
    return step


async def _fallback(pbx: Pbx, call: Call) -> str:
    """``fallback``: the plain queue, at the priority the daemon gave the call."""
    point = _goto(call, "fallback")
    _queue_priority(pbx, call)
    pbx.exten(call.caller, 2, "Queue", app_queue.app_data(pbx, point.fallback_queue))
    app_queue.join(pbx, call, point.fallback_queue, pbx.config.queue_timeout_s)
    step = await app_queue.wait_in_queue(pbx, call)
    if step is None:  # Queue()'s timeout: then Hangup()
        pbx.exten(call.caller, 3, "Hangup", "")
        pbx.dialplan_end(call.caller, call)
        return ""
    return step


def _queue_priority(pbx: Pbx, call: Call) -> None:
    value = call.caller.variables.get("CTI_ROUTE_PRIORITY", "0")
    pbx.exten(call.caller, 1, "Set", f"QUEUE_PRIO={value}")
    pbx.varset(call.caller, "QUEUE_PRIO", value)
    try:
        call.priority = int(value)
    except ValueError:
        call.priority = 0  # app_queue reads a priority that is not a number as 0


# --- Dial of one phone ----------------------------------------------------------------


def _seconds(text: str, default: float) -> float:
    """Dial's timeout argument: seconds, possibly with decimals; anything else: the default."""
    try:
        seconds = float(text)
    except ValueError:
        return default
    return seconds if math.isfinite(seconds) and seconds > 0 else default


def dial_refused(pbx: Pbx, interface: str) -> str | None:
    """The DIALSTATUS of a Dial that cannot ring (no channel is made), or None."""
    device = pbx.device_of(interface)
    if device is None:
        return "CHANUNAVAIL"
    # Ringing counts as busy too (ringinuse = no, as for queue members); paused does
    # not: pausing is app_queue's business, Dial does not know about it.
    if pbx.devices[device].busy_with is not None or pbx.devices[device].ringing:
        return "BUSY"
    return None


def dial_begin(pbx: Pbx, call: Call, interface: str, ring_s: float, app_data: str) -> Dial:
    """The outgoing leg, with the events app_queue's legs have (``app_queue._ring``) but
    its own."""
    caller = call.caller
    device_name = pbx.device_of(interface)
    assert device_name is not None
    device = pbx.devices[device_name]
    device.ringing += 1
    leg = pbx.new_channel(interface, "", "", caller.linkedid, PHONE_CONTEXT, "s")
    leg.application, leg.app_data = "AppDial", "(Outgoing Line)"
    leg.connected_num, leg.connected_name = caller.caller_num, caller.caller_name
    dial = Dial(interface, device_name, leg, app_data, asyncio.get_running_loop().create_future())
    call.dial = dial
    pbx.emit("NewConnectedLine", "call,all", leg.fields())
    # A real Dial(PJSIP/1001) says DialString: 1001 (route-point-answered.ami), app_queue
    # the member's whole interface. The daemon does not read DialString; tests of the
    # simulator match the route point's Dial by its interface here.
    pbx.emit(
        "DialBegin", "call,all", caller.fields(), leg.fields("Dest"), {"DialString": interface}
    )
    pbx.set_state(leg, 5)
    app_queue.device_changed(pbx, device_name)
    pbx.dial_status("DialState", caller, leg, "RINGING")
    delay = call.spec.answer_after
    if device.answers and delay is not None and delay < ring_s:
        dial.task = pbx.own(_dial_rings(pbx, call, dial, delay), f"ring {leg.name}")
    return dial


async def _dial_rings(pbx: Pbx, call: Call, dial: Dial, delay: float) -> None:
    await asyncio.sleep(delay)
    dial_answer(pbx, call, dial)


def dial_answer(pbx: Pbx, call: Call, dial: Dial) -> None:
    if dial.outcome.done():
        return
    if dial.task is not None and dial.task is not asyncio.current_task():
        dial.task.cancel()
    device = pbx.devices[dial.device]
    device.ringing -= 1
    device.busy_with = call.caller.linkedid
    dial.answered_at = time.monotonic()
    pbx.set_state(dial.channel, 6)
    app_queue.device_changed(pbx, dial.device)
    pbx.dial_status("DialEnd", call.caller, dial.channel, "ANSWER")
    pbx.bridge(dial.channel, call.caller)
    dial.outcome.set_result("ANSWER")


def dial_end(pbx: Pbx, call: Call, dial: Dial, status: str) -> None:
    """The leg of a Dial that was not answered goes away."""
    if dial.task is not None:
        dial.task.cancel()
    pbx.devices[dial.device].ringing -= 1
    call.dial = None
    pbx.dial_status("DialEnd", call.caller, dial.channel, status)
    pbx.hangup_channel(dial.channel, CAUSE_NONE)
    app_queue.device_changed(pbx, dial.device)
    app_queue.dispatch(pbx)  # the phone is free for queue callers again


def _dial_abandon(pbx: Pbx, call: Call, dial: Dial) -> None:
    """The caller hangs up while the Dial rings."""
    pbx.emit("HangupRequest", "call,all", call.caller.fields())
    dial_end(pbx, call, dial, "CANCEL")
    pbx.hangup_channel(call.caller)
    pbx.cdr(call, "NO ANSWER", None, "Dial", dial.app_data)


def dial_complete(pbx: Pbx, call: Call, dial: Dial, by: str) -> None:
    """A Dial's call ends: as a queue call does, without app_queue's AgentComplete and
    statistics, and without wrap-up (app_queue only imposes it after its own calls)."""
    leg, caller = dial.channel, call.caller
    first, second = (caller, leg) if by == "caller" else (leg, caller)
    pbx.emit("HangupRequest", "call,all", first.fields())
    pbx.unbridge(first, second)
    pbx.hangup_channel(leg)
    pbx.cdr(call, "ANSWERED", leg, "Dial", dial.app_data)
    pbx.hangup_channel(caller)
    pbx.devices[dial.device].busy_with = None
    app_queue.device_changed(pbx, dial.device)
    app_queue.dispatch(pbx)
