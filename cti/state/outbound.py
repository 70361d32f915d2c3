"""An agent's outbound call (click-to-dial), applied to the state core (pure).

Theory of operation
-------------------
The daemon rings the agent's own phone first and, once the agent takes it, the dialplan
dials the customer (AMI Originate into ``[cti-outbound]``, cti/ami/actions.py ``dial_out``).
Asterisk says nothing in its events that tells such a call from any other call an agent's
phone makes: the agent's leg is born in its endpoint's context with no caller ID, and only
later runs ``[cti-outbound]`` (``click-to-dial.ami``). What ties it to the request is the
Uniqueid: the daemon chooses the agent leg's (Originate's ChannelId), and tells the core
first (``OutboundRequested``, submitted before the Originate is sent, so it is ahead of any
event of that channel in the one ordered pipeline). The call that channel starts is then the
agent's call to that customer from its first event on:

- the agent's phone rings: ``AgentRinging`` (the screen-pop, before the customer is dialled);
- the agent takes it: the ring ends as answered, the agent is on this call, the phase is
  ``dialing`` while the customer's phone rings;
- the Dial of the customer ends (DialEnd from the agent's leg): ANSWER is the answer
  (``CallAnswered``, talk time from then); anything else (BUSY, NOANSWER, CHANUNAVAIL,
  CONGESTION) is the outcome the call log keeps (``Call.dial_status``).

The customer's consent and recording come from their own leg ([cti-consent] via Dial's U()),
by the call's Linkedid, as for inbound callers. A request whose channel never appears (the
phone unreachable, the Originate refused) is forgotten after ``REQUEST_TTL_S``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti.ami import events as ev
from cti.state.calls import Call, CallPhase
from cti.state.changes import AgentRingEnded, CallAnswered

if TYPE_CHECKING:
    from cti.state.store import CtiState, Out

# Longer than the Originate's own timeout for the agent's phone (actions.DIAL_OUT_RING_MS).
REQUEST_TTL_S = 120.0


def requested(state: CtiState, e: ev.OutboundRequested, out: Out) -> None:
    state._outbound[e.channel_id] = e


def channel_created(state: CtiState, e: ev.ChannelCreated, call: Call, out: Out) -> None:
    """The agent's leg of a requested outbound call has appeared: the call is theirs."""
    request = state._outbound.pop(e.uniqueid, None)
    if request is None:
        return
    call.outbound_by = request.interface
    call.campaign_id, call.attempt = request.campaign_id, request.attempt
    call.caller_number, call.caller_name, call.dialed = request.number, request.name, request.number
    agent = state.agents.get(request.interface)
    if agent is not None:  # a phone in no queue still calls out; it has no agent screen state
        state._start_ring(agent, e.uniqueid, call, e.ts, out)


def agent_answered(state: CtiState, call: Call, leg: str, ts: float | None, out: Out) -> None:
    """The agent took their phone (their leg is Up): the customer is dialled now."""
    interface = call.outbound_by
    if interface is None or leg != call.linkedid or call.phase is not CallPhase.RINGING:
        return
    state._move(call, CallPhase.DIALING, ts, out)
    call.agent = interface
    agent = state.agents.get(interface)
    if agent is None:
        return
    call.agent_name = agent.member_name
    agent.talking = call.linkedid
    call.ringing.discard(interface)
    if agent.ringing.pop(leg, None) is not None:
        out.append(
            AgentRingEnded(
                ts=ts, interface=interface, linkedid=call.linkedid, queue="", reason="answered"
            )
        )
    state._announce_agent(agent, ts, out)


def dial_ended(state: CtiState, e: ev.DialEnded, out: Out) -> None:
    """The Dial of the customer from the agent's leg is over: answered, or why not."""
    call = state.calls.get(e.linkedid)
    if call is None or call.outbound_by is None or e.uniqueid != call.linkedid:
        return  # not the agent's leg dialling out (the Originate's own DialEnd has no Uniqueid)
    call.dial_status = e.status[:20]
    if e.status != "ANSWER":
        return
    state._move(call, CallPhase.ANSWERED, e.ts, out)
    call.answered_at, call.wait_s, call.bridged = e.ts, 0, True
    out.append(
        CallAnswered(
            ts=e.ts,
            linkedid=call.linkedid,
            queue="",
            interface=call.outbound_by,
            member_name=call.agent_name or "",
            wait_s=0,
        )
    )


def forget_stale_requests(state: CtiState, now: float) -> None:
    for channel_id, request in list(state._outbound.items()):
        if now - request.ts > REQUEST_TTL_S:
            del state._outbound[channel_id]
