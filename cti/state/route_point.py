"""Calls at the ACD's route point, applied to the state core (pure).

Theory of operation
-------------------
A call the dialplan sends to ``[cti-route]`` asks our ACD (cti/routing/) for an agent instead
of waiting in a plain Asterisk queue. The dialplan says so first (``UserEvent CtiRoute``,
``RouteEntered``): from then on the call counts as waiting in the route's holding queue, and
its wait runs from the route point on, however often it moves. The ACD then has the dialplan
``Dial`` the agent it chose, at once or later by a ``Redirect`` out of the holding queue.
Such a ring is no app_queue ring: no AgentCalled, AgentConnect or AgentComplete comes, only
the Dial's DialBegin and DialEnd for the agent's leg. So this module tells the agent's
screen-pop, the answer and the missed ring (``CtiRouteNoAnswer``) from those, and when the
call is over starts the wrap-up app_queue would have started (``routed_call_over``).

If the ACD does not move the call in time (the daemon down or slow), the dialplan falls back
to a plain queue; app_queue rings that queue's agents itself, with AgentCalled before its
DialBegin, and the core's own handlers follow those rings.

These are functions of the state (``CtiState``), called from its dispatch table; they use
its shared helpers, as its own handlers do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti.ami import events as ev
from cti.state.calls import Call, CallPhase
from cti.state.changes import Anomaly, CallAnswered, CallOffered, RoutedRingMissed

if TYPE_CHECKING:
    from cti.state.agents import Agent
    from cti.state.store import CtiState, Out


def route_entered(state: CtiState, e: ev.RouteEntered, out: Out) -> None:
    call = state._seen_call(e.uniqueid, e.linkedid, e.ts, out)
    if call is None:
        out.append(Anomaly(ts=e.ts, kind="route_of_unknown_call", detail=e.linkedid))
        return
    # Names from our dialplan, bounded all the same: they end up in labels and logs.
    call.route, call.hold_queue = e.route[:80], e.queue[:80]
    if call.queue != call.hold_queue:
        state._move(call, CallPhase.QUEUED, e.ts, out)
        call.queue, call.queued_at, call.left_queue_at = call.hold_queue, e.ts, None
        out.append(
            CallOffered(
                ts=e.ts,
                linkedid=call.linkedid,
                queue=call.hold_queue,
                caller_number=call.caller_number,
                caller_name=call.caller_name,
                position=0,
            )
        )


def dial_started(state: CtiState, e: ev.DialStarted, out: Out) -> None:
    call = state._seen_call(e.uniqueid, e.linkedid, e.ts, out)
    if call is None or call.route is None:
        return  # app_queue's legs (AgentCalled told us) and Dials outside the ACD
    agent = state._member_for_leg(e.dest_channel)
    if agent is None:
        out.append(Anomaly(ts=e.ts, kind="route_dial_to_unknown_member", detail=e.dest_channel))
        return
    if e.dest_uniqueid in agent.ringing:
        return  # a fallback queue's leg: AgentCalled came first
    state._route_dials[e.dest_uniqueid] = agent.interface
    call.left_queue_at = None  # still waiting, for this agent now
    state._start_ring(agent, e.dest_uniqueid, call, e.ts, out)


def dial_ended(state: CtiState, e: ev.DialEnded, out: Out) -> None:
    interface = state._route_dials.pop(e.dest_uniqueid, None)
    if interface is None:
        return
    call = state._seen_call(e.uniqueid, e.linkedid, e.ts, out)
    agent = state.agents.get(interface)
    if call is None or agent is None:
        return
    if e.status != "ANSWER":
        if e.status == "NOANSWER":
            call.no_answer_count += 1
        reason = {"NOANSWER": "no_answer", "CANCEL": "caller_gone"}.get(e.status, "refused")
        state._stop_ring(agent, e.dest_uniqueid, reason, e.ts, out)
        return
    state._move(call, CallPhase.ANSWERED, e.ts, out)
    wait_s = call.waited(e.ts, 0)
    call.agent, call.agent_name = interface, agent.member_name
    call.answered_at, call.wait_s, call.bridged = e.ts, wait_s, True
    agent.talking, agent.talking_routed = call.linkedid, True
    state._stop_ring(agent, e.dest_uniqueid, "answered", e.ts, out)
    out.append(
        CallAnswered(
            ts=e.ts,
            linkedid=call.linkedid,
            queue=call.queue or "",
            interface=interface,
            member_name=agent.member_name,
            wait_s=wait_s,
        )
    )
    state._announce_agent(agent, e.ts, out)


def route_no_answer(state: CtiState, e: ev.RouteNoAnswer, out: Out) -> None:
    call = state._seen_call(e.uniqueid, e.linkedid, e.ts, out)
    if call is None or call.route is None or e.interface not in state.agents:
        out.append(Anomaly(ts=e.ts, kind="route_no_answer_unmatched", detail=e.interface[:80]))
        return
    out.append(
        RoutedRingMissed(
            ts=e.ts,
            linkedid=call.linkedid,
            interface=e.interface,
            route=call.route,
            dial_status=e.dial_status[:20],
        )
    )


def routed_call_over(
    state: CtiState, agent: Agent, call: Call, ts: float | None, lost: bool
) -> None:
    """A call the route point dialled has ended (from ``CtiState._end_call``). app_queue
    sends no AgentComplete for it and starts no wrapuptime, so the wrap-up a queue call gets
    (``CtiState._agent_complete``) starts here: Asterisk's wrap-up as
    ``Agent.routed_wrapup_s`` picks it. Without it the agent is ready the moment the call
    ends and the ACD hands them the next held call at once. None for a call that ended while
    we were away (we do not know when), as no AgentComplete would come for a queue call
    either."""
    if not agent.talking_routed:
        return
    agent.talking_routed = False
    agent.talk_ended()
    seconds = agent.routed_wrapup_s(call.hold_queue) or state.routed_wrapup_s
    if seconds and ts is not None and not lost:
        agent.wrapup_until = ts + seconds
        state._in_wrapup.add(agent.interface)
