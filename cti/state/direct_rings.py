"""Agents' phones rung outside queues and the route point, applied to the state core (pure).

Theory of operation
-------------------
A Dial of an agent's phone inside a call we know, that app_queue did not announce (no
AgentCalled before its DialBegin) and the ACD's route point did not make, is a *direct ring*:

- a blind transfer to an agent: [cti-transfer-agent] dials their phone from the caller's leg;
- an attended transfer: Asterisk dials the target from a Local channel of the same call while
  the first agent consults them (``attended-transfer.ami``);
- an internal call from one agent's phone to another's ([agents]).

The rung agent gets the screen-pop of the call (``AgentRinging``) like any agent rung for it,
and once they answer they are on it. Who the call log then names: the agent who took a blind
transfer at once; the consulted agent once the attended transfer completes (AttendedTransfer
Success), so a consultation the first agent cancels leaves the call theirs. Either way the
row names where the call ended, as after a transfer into a queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cti.ami import events as ev
from cti.state.calls import Call, CallPhase

if TYPE_CHECKING:
    from cti.state.store import CtiState, Out

# DialStatus -> why the ring stopped (AgentRingEnded.reason).
_RING_ENDS = {"NOANSWER": "no_answer", "CANCEL": "caller_gone"}


def dial_started(state: CtiState, e: ev.DialStarted, out: Out) -> None:
    call = state._seen_call(e.uniqueid, e.linkedid, e.ts, out) if e.uniqueid else None
    if call is None or call.route is not None:
        return  # an Originate's own Dial, or the route point's (route_point.py)
    agent = state._member_for_leg(e.dest_channel)
    if agent is None or e.dest_uniqueid in agent.ringing:
        return  # not an agent's phone, or app_queue's ring (AgentCalled came first)
    state._direct_rings[e.dest_uniqueid] = agent.interface
    state._start_ring(
        agent, e.dest_uniqueid, call, e.ts, out, keep_phase=call.phase is not CallPhase.NEW
    )


def dial_ended(state: CtiState, e: ev.DialEnded, out: Out) -> None:
    interface = state._direct_rings.get(e.dest_uniqueid)
    agent = state.agents.get(interface) if interface else None
    call = state.calls.get(e.linkedid)
    if interface is None or agent is None or call is None:
        return
    if e.status != "ANSWER":
        del state._direct_rings[e.dest_uniqueid]
        state._stop_ring(agent, e.dest_uniqueid, _RING_ENDS.get(e.status, "refused"), e.ts, out)
        return
    if call.phase is CallPhase.RINGING:  # an internal call: nobody had answered it
        state._move(call, CallPhase.ANSWERED, e.ts, out)
    if call.agent is None or call.transferred:
        _names(call, interface, agent.member_name, e.ts)
    else:
        call.consulted = interface  # theirs once the attended transfer completes
    agent.talking = call.linkedid
    state._stop_ring(agent, e.dest_uniqueid, "answered", e.ts, out)


def transferred(state: CtiState, call: Call, ts: float | None) -> None:
    """The call was handed on (BlindTransfer / AttendedTransfer Success)."""
    agent = state.agents.get(call.consulted) if call.consulted else None
    if call.consulted is not None:
        _names(call, call.consulted, agent.member_name if agent else "", ts)
        call.consulted = None


def leg_gone(state: CtiState, uniqueid: str, call: Call | None, ts: float | None, out: Out) -> None:
    """A directly rung agent's leg hung up: they are off the call (no AgentComplete comes)."""
    interface = state._direct_rings.pop(uniqueid, None)
    agent = state.agents.get(interface) if interface else None
    if agent is None or call is None or agent.talking != call.linkedid:
        return
    agent.talking = None
    agent.talk_ended()
    if call.consulted == interface:
        call.consulted = None  # the consultation ended without the transfer
    state._announce_agent(agent, ts, out)


def _names(call: Call, interface: str, member_name: str, ts: float | None) -> None:
    call.agent, call.agent_name = interface, member_name
    if call.answered_at is None:
        call.answered_at = ts
