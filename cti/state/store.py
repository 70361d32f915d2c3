"""The pure state core: ``CtiState.apply(event) -> list[Change]``.

Theory of operation
-------------------
The state is a cache of what Asterisk knows: channels by Uniqueid, calls by Linkedid, queues
with their waiting callers, and agents (queue members) with their memberships. Events come in
strict arrival order from one pipeline; each handler updates the cache and appends the
changes people care about. Nothing here does I/O or reads a clock: time is the event's own
``ts``, and ``self.clock`` is the newest time seen so far.

This module holds the state, the dispatch table and the helpers every handler shares, with
the live handlers of channels, queue callers, agents and members. Two sets of handlers live
beside it, as functions of the state: the snapshot lists a login asks for (``resync.py``)
and the ACD's route point, which dials agents itself (``route_point.py``).

Linkedid: every leg of a call carries the Linkedid of its oldest channel. When Asterisk
re-links channels (bridging two calls) no event announces it; we notice that a known channel
reports a different Linkedid and move it, merging the calls once the old one has no legs.

A call's phase (new, queued, ringing, answered, ...) moves through the table in calls.py
(``TRANSITIONS``) as the handlers learn where the call is (``_move``); its facts, which the
call log keeps, are set beside it.

Leaving a queue: app_queue sends QueueCallerAbandon for every exit without an agent, not only
when the caller hangs up: Queue()'s timeout, a Redirect (the ACD moving a held call), an empty
queue. A caller who really hung up shows it first: their channel's HangupRequest or
SoftHangupRequest comes before QueueCallerAbandon (``ring-no-answer.ami``, Ali Kaya), so each
exit is told apart when it happens. Only a true abandon is a ``CallAbandoned``; a caller the
queue let go keeps waiting for what the dialplan does next, and a call that ends that way is
``timed_out``.

Supervisors' listen/whisper/barge legs are calls Asterisk makes to the supervisor's phone;
they are followed like any channel but never logged (see ``calls.is_spy_leg``).

An event that does not fit (an unknown channel hanging up, a member we never heard of) becomes
an ``Anomaly`` change: counted and logged by the pipeline, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cti.ami import events as ev
from cti.state import direct_rings, outbound, resync, route_point
from cti.state.agents import DEVICE_STATE_BY_CODE, Agent, Membership
from cti.state.calls import Call, CallPhase, Channel, is_spy_leg
from cti.state.changes import (
    AgentRingEnded,
    AgentRinging,
    AgentStateChanged,
    Anomaly,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallsMerged,
    Change,
    ConsentRecorded,
    LinkChanged,
    Outcome,
    QueueChanged,
    Resynced,
    RouteFellBack,
)
from cti.state.queues import Queue, QueuedCaller

Out = list[Change]


class CtiState:
    def __init__(self, routed_wrapup_s: float = 0.0) -> None:
        # Wrap-up after a call the ACD dialled when Asterisk reports none for the member:
        # QueueMember's Wrapuptime is the member's own, and a queue's wrapuptime (what
        # queues.conf usually sets) is not reported at all, so the routing file says it.
        self.routed_wrapup_s = routed_wrapup_s
        self.channels: dict[str, Channel] = {}
        self.calls: dict[str, Call] = {}
        self.queues: dict[str, Queue] = {}
        self.agents: dict[str, Agent] = {}
        self.agents_by_device: dict[str, set[str]] = {}
        self.link_up = False
        self.synced = False  # a login's snapshot lists applied, and no link loss since
        self.clock: float | None = None
        self.seq = 0
        self._listings: dict[str, resync.Listing] = {}
        self._in_wrapup: set[str] = set()
        self._route_dials: dict[str, str] = {}  # agent leg Uniqueid -> interface, ACD Dials
        self._direct_rings: dict[str, str] = {}  # agent leg Uniqueid -> interface (direct_rings.py)
        # Outbound calls asked for, by the agent leg's Uniqueid to be (outbound.py).
        self._outbound: dict[str, ev.OutboundRequested] = {}

    def apply(self, event: ev.AmiEvent) -> list[Change]:
        self.seq += 1
        ts = event.ts
        if ts is not None and (self.clock is None or ts > self.clock):
            self.clock = ts
        out: Out = []
        _HANDLERS[type(event)](self, event, out)
        return out

    # --- helpers, shared with resync.py and route_point.py ----------------------------

    def _now(self, ts: float | None) -> float | None:
        return ts if ts is not None else self.clock

    def _call(self, linkedid: str, started_at: float | None) -> Call:
        call = self.calls.get(linkedid)
        if call is None:
            call = self.calls[linkedid] = Call(linkedid, started_at)
        return call

    def _move(self, call: Call, phase: CallPhase, ts: float | None, out: Out) -> None:
        """The call is in ``phase`` now; a move ``TRANSITIONS`` does not expect is reported."""
        was = call.phase
        if not call.move_to(phase):
            detail = f"{was} -> {phase} {call.linkedid[:80]}"
            out.append(Anomaly(ts=ts, kind="unexpected_call_phase", detail=detail))

    def _see(self, uniqueid: str, linkedid: str, ts: float | None, out: Out) -> Channel | None:
        """The known channel for an event, noticing a silent Linkedid change."""
        channel = self.channels.get(uniqueid)
        if channel is None:
            return None
        channel.last_seen_seq = self.seq
        if linkedid and channel.linkedid != linkedid:
            self._relink(channel, linkedid, ts, out)
        return channel

    def _seen_call(self, uniqueid: str, linkedid: str, ts: float | None, out: Out) -> Call | None:
        """The call an event on one leg belongs to, after ``_see`` noticed that leg; the
        event's Linkedid when the leg is not known."""
        channel = self._see(uniqueid, linkedid, ts, out)
        return self.calls.get(channel.linkedid if channel else linkedid)

    def _relink(self, channel: Channel, linkedid: str, ts: float | None, out: Out) -> None:
        old = self.calls.get(channel.linkedid)
        new = self._call(linkedid, old.started_at if old else None)
        channel.linkedid = linkedid
        new.channels.add(channel.uniqueid)
        if old is None:
            return
        old.channels.discard(channel.uniqueid)
        if old.channels:
            return
        new.absorb(old)
        del self.calls[old.linkedid]
        for queue in self.queues.values():
            for caller in queue.callers.values():
                if caller.linkedid == old.linkedid:
                    caller.linkedid = linkedid
        for agent in self.agents.values():
            if agent.talking == old.linkedid:
                agent.talking = linkedid
            for leg, leg_linkedid in agent.ringing.items():
                if leg_linkedid == old.linkedid:
                    agent.ringing[leg] = linkedid
        out.append(CallsMerged(ts=ts, absorbed=old.linkedid, into=linkedid))

    def _add_channel(
        self, name: str, uniqueid: str, linkedid: str, state: str, created_at: float | None
    ) -> tuple[Channel, Call]:
        channel = Channel(name, uniqueid, linkedid, state, created_at, self.seq)
        self.channels[uniqueid] = channel
        call = self._call(linkedid, created_at)
        call.channels.add(uniqueid)
        return channel, call

    def _agent(self, interface: str, member_name: str, state_interface: str = "") -> Agent:
        agent = self.agents.get(interface)
        if agent is None:
            agent = Agent(interface, state_interface or interface, member_name)
            self.agents[interface] = agent
            self.agents_by_device.setdefault(agent.state_interface, set()).add(interface)
        elif state_interface and state_interface != agent.state_interface:
            self.agents_by_device.get(agent.state_interface, set()).discard(interface)
            agent.state_interface = state_interface
            self.agents_by_device.setdefault(state_interface, set()).add(interface)
        if member_name:
            agent.member_name = member_name
        return agent

    def _member_for_leg(self, channel: str) -> Agent | None:
        """The agent whose interface dialled this leg: ``SIP/1001-0000002a`` -> ``SIP/1001``;
        ``Local/1001@agents-0000000a;1`` -> member ``Local/1001@agents/n``."""
        base = channel.rsplit("-", 1)[0]
        for agent in self.agents.values():
            interface = agent.interface.removesuffix("/n")
            if base in (interface, agent.state_interface):
                return agent
        return None

    def _queue(self, name: str) -> Queue:
        queue = self.queues.get(name)
        if queue is None:
            queue = self.queues[name] = Queue(name)
        return queue

    def _announce_agent(self, agent: Agent, ts: float | None, out: Out) -> None:
        state = agent.derive_state(self.clock)
        if state != agent.announced:
            agent.announced = state
            agent.state_since = ts if ts is not None else self.clock
            out.append(
                AgentStateChanged(
                    ts=ts,
                    interface=agent.interface,
                    member_name=agent.member_name,
                    state=state[0],
                    reason=state[1],
                    queues=tuple(sorted(agent.memberships)),
                )
            )

    def _announce_queue(self, queue: Queue, ts: float | None, out: Out) -> None:
        out.append(
            QueueChanged(
                ts=ts,
                queue=queue.name,
                waiting=len(queue.callers),
                oldest_queued_at=queue.oldest_queued_at(),
            )
        )

    def _start_ring(
        self,
        agent: Agent,
        leg: str,
        call: Call,
        ts: float | None,
        out: Out,
        resynced: bool = False,
        keep_phase: bool = False,  # a ring for a call already answered (a transfer's target)
    ) -> None:
        agent.ringing[leg] = call.linkedid
        call.ringing.add(agent.interface)
        if not keep_phase:
            self._move(call, CallPhase.RINGING, ts, out)
        out.append(
            AgentRinging(
                ts=ts,
                interface=agent.interface,
                member_name=agent.member_name,
                linkedid=call.linkedid,
                queue=call.queue or "",
                caller_number=call.caller_number,
                caller_name=call.caller_name,
                queued_at=call.queued_at,
                resynced=resynced,
                consent=call.consent,
                outbound=call.outbound_by is not None,
            )
        )
        self._announce_agent(agent, ts, out)

    def _stop_ring(self, agent: Agent, leg: str, reason: str, ts: float | None, out: Out) -> None:
        linkedid = agent.ringing.pop(leg, None)
        if linkedid is None:
            return
        call = self.calls.get(linkedid)
        if call is not None and not any(v == linkedid for v in agent.ringing.values()):
            call.ringing.discard(agent.interface)
            if not call.ringing and call.phase is CallPhase.RINGING:
                self._move(call, CallPhase.QUEUED, ts, out)  # no phone rings: it waits on
        queue = call.queue or "" if call is not None else ""
        out.append(
            AgentRingEnded(
                ts=ts, interface=agent.interface, linkedid=linkedid, queue=queue, reason=reason
            )
        )
        self._announce_agent(agent, ts, out)

    def _end_call(self, call: Call, ts: float | None, lost: bool, out: Out) -> None:
        # A call that ended while we were away (``lost``) ended at a moment nobody told us:
        # its end (and so its talk time) is unknown, not the resync's time. The record says
        # so (ended_at None, ended_while_disconnected); Asterisk's CDR can fill it in later.
        ended_at = None if lost else self._now(ts)
        del self.calls[call.linkedid]
        self._move(call, CallPhase.ENDED, ts, out)
        for interface in list(call.ringing):
            agent = self.agents.get(interface)
            if agent is None:
                continue
            for leg, linkedid in list(agent.ringing.items()):
                if linkedid == call.linkedid:
                    self._stop_ring(agent, leg, "caller_gone", ts, out)
        for queue in self.queues.values():
            gone = [uid for uid, c in queue.callers.items() if c.linkedid == call.linkedid]
            for uid in gone:
                del queue.callers[uid]
            if gone:
                self._announce_queue(queue, ts, out)
        if call.agent is not None:
            agent = self.agents.get(call.agent)
            if agent is not None and agent.talking == call.linkedid:
                agent.talking = None
                route_point.routed_call_over(self, agent, call, ts, lost)
                self._announce_agent(agent, ts, out)
        if call.spy:  # a supervisor listening in is not a call of the center
            return
        record = call.to_record(ended_at, lost)
        if call.route is not None and not call.abandoned and record.outcome is Outcome.ABANDONED:
            # A routed caller who hung up outside any queue (while the chosen agent rang) is
            # an abandon of the route's queue too, though app_queue never saw it (position 0).
            out.append(
                CallAbandoned(
                    ts=ts,
                    linkedid=call.linkedid,
                    queue=record.queue or "",
                    position=0,
                    wait_s=record.wait_s or 0,
                )
            )
        out.append(CallEnded(ts=ts, record=record))

    def _drop_channel(self, channel: Channel, ts: float | None, lost: bool, out: Out) -> None:
        uniqueid = channel.uniqueid
        del self.channels[uniqueid]
        self._route_dials.pop(uniqueid, None)
        call = self.calls.get(channel.linkedid)
        direct_rings.leg_gone(self, uniqueid, call, ts, out)
        for interface in list(call.ringing) if call else ():
            agent = self.agents.get(interface)
            if agent is not None and uniqueid in agent.ringing:
                # With ringall, the legs that lost are hung up before AgentConnect names
                # the winner; the winner's leg went Up first (see _channel_state).
                answered = call is not None and (call.agent or call.answering)
                reason = "answered_elsewhere" if answered else "caller_gone"
                self._stop_ring(agent, uniqueid, reason, ts, out)
                break
        if call is None:
            return
        call.channels.discard(uniqueid)
        if not call.channels:
            self._end_call(call, ts, lost, out)

    # --- channels ---------------------------------------------------------------------

    def _channel_created(self, e: ev.ChannelCreated, out: Out) -> None:
        if e.uniqueid in self.channels:
            out.append(Anomaly(ts=e.ts, kind="duplicate_channel", detail=e.channel))
            return
        _, call = self._add_channel(e.channel, e.uniqueid, e.linkedid, e.state, e.ts)
        if e.uniqueid == e.linkedid:
            call.caller_number, call.caller_name, call.dialed = (
                e.caller_number,
                e.caller_name,
                e.exten,
            )
            call.spy = is_spy_leg(e.context)
            outbound.channel_created(self, e, call, out)

    def _channel_state(self, e: ev.ChannelStateChanged, out: Out) -> None:
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        if channel is None:
            return
        channel.state = e.state
        if e.state == "Up":
            call = self.calls.get(channel.linkedid)
            for interface in call.ringing if call else ():
                agent = self.agents.get(interface)
                if call is not None and agent is not None and e.uniqueid in agent.ringing:
                    call.answering = interface
            if call is not None:
                outbound.agent_answered(self, call, e.uniqueid, e.ts, out)

    def _hangup(self, e: ev.ChannelHungUp, out: Out) -> None:
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        if channel is None:
            out.append(Anomaly(ts=e.ts, kind="unknown_channel_hangup", detail=e.channel))
            return
        call = self.calls.get(channel.linkedid)
        if call is not None and e.uniqueid == call.linkedid:
            call.hangup_cause = e.cause
            # Only the leg that started its own call: a customer's call is never dropped.
            call.spy = call.spy or is_spy_leg(e.context)
        self._drop_channel(channel, e.ts, False, out)

    def _hangup_requested(self, e: ev.HangupRequested, out: Out) -> None:
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        if channel is not None:
            channel.hangup_requested = True

    def _bridge_enter(self, e: ev.BridgeEntered, out: Out) -> None:
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        if channel is not None and e.uniqueid != channel.linkedid:
            call = self.calls.get(channel.linkedid)
            if call is not None:
                call.bridged = True

    # --- queue callers ----------------------------------------------------------------

    def _caller_join(self, e: ev.QueueCallerJoined, out: Out) -> None:
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        if channel is None:
            out.append(Anomaly(ts=e.ts, kind="join_of_unknown_channel", detail=e.channel))
            _, call = self._add_channel(e.channel, e.uniqueid, e.linkedid, "Up", e.ts)
        else:
            call = self._call(channel.linkedid, e.ts)
        self._move(call, CallPhase.QUEUED, e.ts, out)
        back_on_hold = call.route is not None and e.queue == call.hold_queue
        if call.route is not None and not back_on_hold:
            out.append(
                RouteFellBack(ts=e.ts, linkedid=call.linkedid, route=call.route, queue=e.queue)
            )
        call.queue = e.queue
        if call.route is None or call.queued_at is None:
            call.queued_at = e.ts  # an ACD call waits from the route point on
        call.left_queue_at = None
        if not call.caller_number and not call.caller_name:
            call.caller_number, call.caller_name = e.caller_number, e.caller_name
        queue = self._queue(e.queue)
        queue.callers[e.uniqueid] = QueuedCaller(
            e.uniqueid,
            call.linkedid,
            e.position,
            e.ts,
            e.caller_number,
            e.caller_name,
            self.seq,
        )
        if not back_on_hold:  # the route point already offered it to this queue
            out.append(
                CallOffered(
                    ts=e.ts,
                    linkedid=call.linkedid,
                    queue=e.queue,
                    caller_number=call.caller_number,
                    caller_name=call.caller_name,
                    position=e.position,
                )
            )
        self._announce_queue(queue, e.ts, out)

    def _caller_leave(self, e: ev.QueueCallerLeft, out: Out) -> None:
        call = self._seen_call(e.uniqueid, e.linkedid, e.ts, out)
        if call is not None:
            call.left_queue_at = e.ts
        queue = self._queue(e.queue)
        if queue.callers.pop(e.uniqueid, None) is None:
            out.append(Anomaly(ts=e.ts, kind="leave_of_unknown_caller", detail=e.uniqueid))
        self._announce_queue(queue, e.ts, out)

    def _caller_abandon(self, e: ev.QueueCallerAbandoned, out: Out) -> None:
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        call = self.calls.get(channel.linkedid if channel else e.linkedid)
        if call is None:
            out.append(Anomaly(ts=e.ts, kind="abandon_of_unknown_call", detail=e.uniqueid))
            return
        call.queue = call.queue or e.queue
        if channel is None or not channel.hangup_requested:
            # The queue let the caller go (timeout, Redirect, empty queue): the caller is
            # still there. QueueCallerLeave follows; how the call ends decides its outcome
            # (timed_out, or answered elsewhere, e.g. an ACD call moved to an agent).
            self._move(call, CallPhase.LET_GO, e.ts, out)
            return
        self._move(call, CallPhase.ABANDONED, e.ts, out)
        call.abandoned = True
        call.abandon_position = e.position
        call.wait_s = call.waited(e.ts, e.hold_s)
        out.append(
            CallAbandoned(
                ts=e.ts,
                linkedid=call.linkedid,
                queue=e.queue,
                position=e.position,
                wait_s=call.wait_s,
            )
        )

    # --- agents handling a caller -----------------------------------------------------

    def _known_call(self, channel: Channel | None, linkedid: str) -> Call | None:
        """The call of a queue event's caller: its channel's, or one already known. A queue
        event is never the first news of a call (Newchannel or a snapshot comes first):
        one for a call nobody knows would make a call no hang-up ever ends."""
        return self.calls.get(channel.linkedid if channel else linkedid)

    def _agent_called(self, e: ev.AgentCalled, out: Out) -> None:
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        call = self._known_call(channel, e.linkedid)
        if call is None:
            out.append(Anomaly(ts=e.ts, kind="ring_for_unknown_call", detail=e.linkedid))
            return
        linkedid = call.linkedid
        agent = self._agent(e.interface, e.member_name)
        agent.ringing[e.agent_uniqueid] = linkedid
        call.ringing.add(e.interface)
        self._move(call, CallPhase.RINGING, e.ts, out)
        out.append(
            AgentRinging(
                ts=e.ts,
                interface=e.interface,
                member_name=agent.member_name,
                linkedid=linkedid,
                queue=e.queue,
                caller_number=call.caller_number or e.caller_number,
                caller_name=call.caller_name or e.caller_name,
                queued_at=call.queued_at,
                consent=call.consent,
            )
        )
        self._announce_agent(agent, e.ts, out)

    def _agent_ring_no_answer(self, e: ev.AgentRingNoAnswer, out: Out) -> None:
        self._see(e.uniqueid, e.linkedid, e.ts, out)
        agent = self.agents.get(e.interface)
        if agent is None or e.agent_uniqueid not in agent.ringing:
            out.append(Anomaly(ts=e.ts, kind="no_answer_without_ring", detail=e.interface))
            return
        call = self.calls.get(agent.ringing[e.agent_uniqueid])
        if call is not None:
            call.no_answer_count += 1
        self._stop_ring(agent, e.agent_uniqueid, "no_answer", e.ts, out)

    def _agent_connect(self, e: ev.AgentConnected, out: Out) -> None:
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        call = self._known_call(channel, e.linkedid)
        if call is None:
            out.append(Anomaly(ts=e.ts, kind="connect_for_unknown_call", detail=e.linkedid))
            return
        agent = self._agent(e.interface, e.member_name)
        self._move(call, CallPhase.ANSWERED, e.ts, out)
        call.agent, call.agent_name = e.interface, agent.member_name
        call.answered_at, call.wait_s = e.ts, call.waited(e.ts, e.hold_s)
        call.queue = call.queue or e.queue
        agent.talking = call.linkedid
        self._stop_ring(agent, e.agent_uniqueid, "answered", e.ts, out)
        for interface in list(call.ringing):
            other = self.agents.get(interface)
            for leg, linkedid in list(other.ringing.items()) if other else ():
                if linkedid == call.linkedid and other is not None:
                    self._stop_ring(other, leg, "answered_elsewhere", e.ts, out)
        out.append(
            CallAnswered(
                ts=e.ts,
                linkedid=call.linkedid,
                queue=e.queue,
                interface=e.interface,
                member_name=agent.member_name,
                wait_s=call.wait_s,
            )
        )
        self._announce_agent(agent, e.ts, out)

    def _agent_complete(self, e: ev.AgentCompleted, out: Out) -> None:
        call = self._seen_call(e.uniqueid, e.linkedid, e.ts, out)
        agent = self._agent(e.interface, e.member_name)
        if call is not None:
            if call.agent in (None, e.interface):  # not one who handed it to a consulted agent
                call.talk_s = e.talk_s
            if call.wait_s is None:
                call.wait_s = e.hold_s
            if call.agent is None:  # answered before we connected: learn it now
                self._move(call, CallPhase.ANSWERED, e.ts, out)
                call.agent, call.agent_name = e.interface, agent.member_name
                call.queue = call.queue or e.queue
            if call.answered_at is None and e.ts is not None:
                call.answered_at = e.ts - e.talk_s
        if agent.talking == (call.linkedid if call else e.linkedid):
            agent.talking = None
            agent.talk_ended()
        membership = agent.memberships.get(e.queue)
        if membership is not None:
            membership.calls_taken += 1
            if membership.wrapup_s and e.ts is not None:
                agent.wrapup_until = e.ts + membership.wrapup_s
                self._in_wrapup.add(agent.interface)
        self._announce_agent(agent, e.ts, out)

    # --- members ----------------------------------------------------------------------

    def _member_reported(self, e: ev.MemberReported, out: Out) -> None:
        agent = self._agent(e.interface, e.member_name, e.state_interface)
        membership = agent.memberships.get(e.queue)
        if membership is None:
            membership = agent.memberships[e.queue] = Membership()
        membership.paused, membership.paused_reason = e.paused, e.paused_reason
        membership.wrapup_s, membership.calls_taken = e.wrapup_s, e.calls_taken
        membership.last_seen_seq = self.seq
        agent.phone_reported(DEVICE_STATE_BY_CODE.get(e.status, "UNKNOWN"))
        listing = self._listings.get(e.action_id) if e.action_id else None
        if listing is not None:
            listing.queues.add(e.queue)
        self._queue(e.queue)
        self._announce_agent(agent, e.ts, out)

    def _member_removed(self, e: ev.MemberRemoved, out: Out) -> None:
        agent = self.agents.get(e.interface)
        if agent is None or agent.memberships.pop(e.queue, None) is None:
            out.append(Anomaly(ts=e.ts, kind="removal_of_unknown_member", detail=e.interface))
            return
        self._announce_agent(agent, e.ts, out)

    def _device_state(self, e: ev.DeviceStateChanged, out: Out) -> None:
        for interface in self.agents_by_device.get(e.device, ()):
            agent = self.agents[interface]
            agent.phone_reported(e.state)
            self._announce_agent(agent, e.ts, out)

    # --- recording consent ------------------------------------------------------------

    def _consent(self, e: ev.ConsentReported, out: Out) -> None:
        call = self._seen_call(e.uniqueid, e.linkedid, e.ts, out)
        if call is None:
            out.append(Anomaly(ts=e.ts, kind="consent_for_unknown_call", detail=e.linkedid))
            return
        if e.consent not in ("granted", "declined"):
            out.append(Anomaly(ts=e.ts, kind="unknown_consent_value", detail=e.consent[:40]))
            return
        call.consent, call.consent_method = e.consent, e.method or None
        call.consent_at = e.ts
        if e.recording:
            call.recording = e.recording
        out.append(
            ConsentRecorded(
                ts=e.ts,
                linkedid=call.linkedid,
                consent=e.consent,
                method=e.method,
                recording=e.recording,
                on_phones=call.phones(),
            )
        )

    def _recording_started(self, e: ev.RecordingStarted, out: Out) -> None:
        call = self._seen_call(e.uniqueid, e.linkedid, e.ts, out)
        if call is not None:
            call.recorded = True
            # Our dialplan names the file after the recorded channel (MixMonitor
            # ${UNIQUEID}.wav); a Recording field in the consent event wins if it came.
            call.recording = call.recording or f"{e.uniqueid}.wav"

    # --- hold and transfer ------------------------------------------------------------

    def _hold(self, e: ev.HoldChanged, out: Out) -> None:
        call = self._seen_call(e.uniqueid, e.linkedid, e.ts, out)
        if call is None or e.ts is None:
            return
        if e.on_hold:
            call.on_hold_since.setdefault(e.uniqueid, e.ts)
        elif e.uniqueid in call.on_hold_since:
            call.hold_s += e.ts - call.on_hold_since.pop(e.uniqueid)

    def _transfer(self, e: ev.CallTransferred, out: Out) -> None:
        call = self.calls.get(e.linkedid)
        if call is not None and e.succeeded:
            call.transferred = True
            direct_rings.transferred(self, call, e.ts)

    # --- the link and the clock -------------------------------------------------------

    def _link_up(self, e: ev.LinkUp, out: Out) -> None:
        self.link_up = True
        out.append(LinkChanged(ts=e.ts, up=True, reason=""))

    def _link_down(self, e: ev.LinkDown, out: Out) -> None:
        self.link_up = self.synced = False
        for call in self.calls.values():
            call.through_gap = True
        self._listings.clear()  # a session's snapshot lists end with it
        out.append(LinkChanged(ts=e.ts, up=False, reason=e.reason))

    def _resync_done(self, e: ev.ResyncDone, out: Out) -> None:
        self.synced = self.link_up
        if self.synced:
            out.append(Resynced(ts=e.ts))

    def _dial_started(self, e: ev.DialStarted, out: Out) -> None:
        route_point.dial_started(self, e, out)
        direct_rings.dial_started(self, e, out)

    def _dial_ended(self, e: ev.DialEnded, out: Out) -> None:
        route_point.dial_ended(self, e, out)
        outbound.dial_ended(self, e, out)
        direct_rings.dial_ended(self, e, out)

    def _tick(self, e: ev.Tick, out: Out) -> None:
        outbound.forget_stale_requests(self, e.ts)
        for interface in list(self._in_wrapup):
            agent = self.agents.get(interface)
            if agent is None or agent.wrapup_until is None or agent.wrapup_until <= e.ts:
                self._in_wrapup.discard(interface)
                if agent is not None:
                    agent.wrapup_until = None
                    self._announce_agent(agent, e.ts, out)


# Each event type's handler, called with the state: CtiState's own methods, and the functions
# of resync.py and route_point.py.
_HANDLERS: dict[type[Any], Callable[[CtiState, Any, Out], None]] = {
    ev.ChannelCreated: CtiState._channel_created,
    ev.ChannelStateChanged: CtiState._channel_state,
    ev.ChannelHungUp: CtiState._hangup,
    ev.HangupRequested: CtiState._hangup_requested,
    ev.BridgeEntered: CtiState._bridge_enter,
    ev.QueueCallerJoined: CtiState._caller_join,
    ev.QueueCallerLeft: CtiState._caller_leave,
    ev.QueueCallerAbandoned: CtiState._caller_abandon,
    ev.AgentCalled: CtiState._agent_called,
    ev.AgentRingNoAnswer: CtiState._agent_ring_no_answer,
    ev.AgentConnected: CtiState._agent_connect,
    ev.AgentCompleted: CtiState._agent_complete,
    ev.RouteEntered: route_point.route_entered,
    ev.DialStarted: CtiState._dial_started,
    ev.DialEnded: CtiState._dial_ended,
    ev.RouteNoAnswer: route_point.route_no_answer,
    ev.MemberReported: CtiState._member_reported,
    ev.MemberRemoved: CtiState._member_removed,
    ev.DeviceStateChanged: CtiState._device_state,
    ev.ListStarted: resync.list_started,
    ev.ListCompleted: resync.list_completed,
    ev.QueueParamsReported: resync.queue_params,
    ev.QueueEntryReported: resync.queue_entry,
    ev.ChannelListed: resync.channel_listed,
    ev.ChannelVariablesListed: resync.channel_variables,
    ev.ConsentReported: CtiState._consent,
    ev.RecordingStarted: CtiState._recording_started,
    ev.HoldChanged: CtiState._hold,
    ev.CallTransferred: CtiState._transfer,
    ev.LinkUp: CtiState._link_up,
    ev.LinkDown: CtiState._link_down,
    ev.ResyncDone: CtiState._resync_done,
    ev.OutboundRequested: outbound.requested,
    ev.Tick: CtiState._tick,
}
