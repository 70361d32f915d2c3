"""The pure state core: ``CtiState.apply(event) -> list[Change]``.

Theory of operation
-------------------
The state is a cache of what Asterisk knows: channels by Uniqueid, calls by Linkedid, queues
with their waiting callers, and agents (queue members) with their memberships. Events come in
strict arrival order from one pipeline; each handler updates the cache and appends the
changes people care about. Nothing here does I/O or reads a clock: time is the event's own
``ts``, and ``self.clock`` is the newest time seen so far.

Linkedid: every leg of a call carries the Linkedid of its oldest channel. When Asterisk
re-links channels (bridging two calls) no event announces it; we notice that a known channel
reports a different Linkedid and move it, merging the calls once the old one has no legs.

Resync: after every login the client asks QueueStatus and CoreShowChannels. Their answers
come through this same stream (``ListStarted`` ... items ... ``ListCompleted``), so a snapshot
is applied exactly where Asterisk took it. At ``ListCompleted`` whatever the snapshot did not
list, and no event mentioned since the list started, vanished while we were away: channels
are dropped and calls left without channels end, marked ``ended_while_disconnected``, with
their end and talk time unknown (None) rather than the resync's time. A call first seen in a
snapshot is dated by its Linkedid (``_date_from_snapshot``); a Status list that follows
(``ChannelVariablesListed``) brings the consent and recording the dialplan set before we
connected.

Leaving a queue: app_queue sends QueueCallerAbandon for every exit without an agent, not only
when the caller hangs up: Queue()'s timeout, a Redirect (the ACD moving a held call), an empty
queue. A caller who really hung up shows it first: their channel's HangupRequest or
SoftHangupRequest comes before QueueCallerAbandon (``ring-no-answer.ami``, Ali Kaya), so each
exit is told apart when it happens. Only a true abandon is a ``CallAbandoned``; a caller the
queue let go keeps waiting for what the dialplan does next, and a call that ends that way is
``timed_out``.

Supervisors' listen/whisper/barge legs are calls Asterisk makes to the supervisor's phone;
they are followed like any channel but never logged (see ``_is_spy_leg``).

An event that does not fit (an unknown channel hanging up, a member we never heard of) becomes
an ``Anomaly`` change: counted and logged by the pipeline, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cti.ami import events as ev
from cti.state.agents import DEVICE_STATE_BY_CODE, Agent, Membership
from cti.state.calls import Call, Channel
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
    RoutedRingMissed,
    RouteFellBack,
)
from cti.state.queues import Queue, QueuedCaller

Out = list[Change]
MAX_OPEN_LISTS = 16  # snapshot lists open at once (a resync asks three)

# The daemon originates a supervisor's listen/whisper/barge to the supervisor's own phone into
# our [cti-spy...] dialplan, which runs ChanSpy (cti/http/supervisor.py). Asterisk creates that
# channel in its endpoint's context and moves it to the Originate's only once the phone answers
# (pbx.c, pbx_outgoing_exec); the Newexten events that would show it are skipped as noise. What
# we do see is the context a Hangup reports (the last the channel ran), a CoreShowChannel's
# context or Application, and a Newchannel's context for a channel born there (a Local channel,
# the simulator). By prefix: the dialplan may give each mode its own (cti-spy-listen, ...).
SPY_CONTEXT_PREFIX = "cti-spy"
SPY_APPLICATION = "ChanSpy"


def _is_spy_leg(context: str, application: str = "") -> bool:
    return context.startswith(SPY_CONTEXT_PREFIX) or application == SPY_APPLICATION


@dataclass(slots=True)
class _Listing:
    """One snapshot list in progress (QueueStatus or CoreShowChannels)."""

    start_seq: int
    channels: set[str] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)


def _member_for_channel(agents: dict[str, Agent], channel: str) -> Agent | None:
    """The agent whose interface dialled this leg: ``SIP/1001-0000002a`` -> ``SIP/1001``;
    ``Local/1001@agents-0000000a;1`` -> member ``Local/1001@agents/n``."""
    base = channel.rsplit("-", 1)[0]
    for agent in agents.values():
        interface = agent.interface.removesuffix("/n")
        if base in (interface, agent.state_interface):
            return agent
    return None


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
        self._listings: dict[str, _Listing] = {}
        self._in_wrapup: set[str] = set()
        self._route_dials: dict[str, str] = {}  # agent leg Uniqueid -> interface, ACD Dials
        self._handlers: dict[type[Any], Callable[[Any, Out], None]] = {
            ev.ChannelCreated: self._channel_created,
            ev.ChannelStateChanged: self._channel_state,
            ev.ChannelHungUp: self._hangup,
            ev.HangupRequested: self._hangup_requested,
            ev.BridgeEntered: self._bridge_enter,
            ev.QueueCallerJoined: self._caller_join,
            ev.QueueCallerLeft: self._caller_leave,
            ev.QueueCallerAbandoned: self._caller_abandon,
            ev.AgentCalled: self._agent_called,
            ev.AgentRingNoAnswer: self._agent_ring_no_answer,
            ev.AgentConnected: self._agent_connect,
            ev.AgentCompleted: self._agent_complete,
            ev.RouteEntered: self._route_entered,
            ev.DialStarted: self._dial_started,
            ev.DialEnded: self._dial_ended,
            ev.RouteNoAnswer: self._route_no_answer,
            ev.MemberReported: self._member_reported,
            ev.MemberRemoved: self._member_removed,
            ev.DeviceStateChanged: self._device_state,
            ev.ListStarted: self._list_started,
            ev.ListCompleted: self._list_completed,
            ev.QueueParamsReported: self._queue_params,
            ev.QueueEntryReported: self._queue_entry,
            ev.ChannelListed: self._channel_listed,
            ev.ChannelVariablesListed: self._channel_variables,
            ev.ConsentReported: self._consent,
            ev.RecordingStarted: self._recording_started,
            ev.HoldChanged: self._hold,
            ev.CallTransferred: self._transfer,
            ev.LinkUp: self._link_up,
            ev.LinkDown: self._link_down,
            ev.ResyncDone: self._resync_done,
            ev.Tick: self._tick,
        }

    def apply(self, event: ev.AmiEvent) -> list[Change]:
        self.seq += 1
        ts = event.ts
        if ts is not None and (self.clock is None or ts > self.clock):
            self.clock = ts
        out: Out = []
        self._handlers[type(event)](event, out)
        return out

    # --- helpers ----------------------------------------------------------------------

    def _now(self, ts: float | None) -> float | None:
        return ts if ts is not None else self.clock

    def _call(self, linkedid: str, started_at: float | None) -> Call:
        call = self.calls.get(linkedid)
        if call is None:
            call = self.calls[linkedid] = Call(linkedid, started_at)
        return call

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
        out.append(CallsMerged(ts, old.linkedid, linkedid))

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
                    ts,
                    agent.interface,
                    agent.member_name,
                    state[0],
                    state[1],
                    tuple(sorted(agent.memberships)),
                )
            )

    def _announce_queue(self, queue: Queue, ts: float | None, out: Out) -> None:
        out.append(QueueChanged(ts, queue.name, len(queue.callers), queue.oldest_queued_at()))

    def _start_ring(
        self, agent: Agent, leg: str, call: Call, ts: float | None, out: Out, resynced: bool = False
    ) -> None:
        agent.ringing[leg] = call.linkedid
        call.ringing.add(agent.interface)
        out.append(
            AgentRinging(
                ts,
                agent.interface,
                agent.member_name,
                call.linkedid,
                call.queue or "",
                call.caller_number,
                call.caller_name,
                call.queued_at,
                resynced,
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
        queue = call.queue or "" if call is not None else ""
        out.append(AgentRingEnded(ts, agent.interface, linkedid, queue, reason))
        self._announce_agent(agent, ts, out)

    def _end_call(self, call: Call, ts: float | None, lost: bool, out: Out) -> None:
        # A call that ended while we were away (``lost``) ended at a moment nobody told us:
        # its end (and so its talk time) is unknown, not the resync's time. The record says
        # so (ended_at None, ended_while_disconnected); Asterisk's CDR can fill it in later.
        ended_at = None if lost else self._now(ts)
        del self.calls[call.linkedid]
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
                self._routed_call_over(agent, call, ts, lost)
                self._announce_agent(agent, ts, out)
        if call.spy:  # a supervisor listening in is not a call of the center
            return
        record = call.to_record(ended_at, lost)
        if call.route is not None and not call.abandoned and record.outcome is Outcome.ABANDONED:
            # A routed caller who hung up outside any queue (while the chosen agent rang) is
            # an abandon of the route's queue too, though app_queue never saw it (position 0).
            out.append(CallAbandoned(ts, call.linkedid, record.queue or "", 0, record.wait_s or 0))
        out.append(CallEnded(ts, record))

    def _drop_channel(self, channel: Channel, ts: float | None, lost: bool, out: Out) -> None:
        uniqueid = channel.uniqueid
        del self.channels[uniqueid]
        self._route_dials.pop(uniqueid, None)
        call = self.calls.get(channel.linkedid)
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
            out.append(Anomaly(e.ts, "duplicate_channel", e.channel))
            return
        _, call = self._add_channel(e.channel, e.uniqueid, e.linkedid, e.state, e.ts)
        if e.uniqueid == e.linkedid:
            call.caller_number, call.caller_name, call.dialed = (
                e.caller_number,
                e.caller_name,
                e.exten,
            )
            call.spy = _is_spy_leg(e.context)

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

    def _hangup(self, e: ev.ChannelHungUp, out: Out) -> None:
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        if channel is None:
            out.append(Anomaly(e.ts, "unknown_channel_hangup", e.channel))
            return
        call = self.calls.get(channel.linkedid)
        if call is not None and e.uniqueid == call.linkedid:
            call.hangup_cause = e.cause
            # Only the leg that started its own call: a customer's call is never dropped.
            call.spy = call.spy or _is_spy_leg(e.context)
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
            out.append(Anomaly(e.ts, "join_of_unknown_channel", e.channel))
            _, call = self._add_channel(e.channel, e.uniqueid, e.linkedid, "Up", e.ts)
        else:
            call = self._call(channel.linkedid, e.ts)
        back_on_hold = call.route is not None and e.queue == call.hold_queue
        if call.route is not None and not back_on_hold:
            out.append(RouteFellBack(e.ts, call.linkedid, call.route, e.queue))
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
                    e.ts, call.linkedid, e.queue, call.caller_number, call.caller_name, e.position
                )
            )
        self._announce_queue(queue, e.ts, out)

    def _caller_leave(self, e: ev.QueueCallerLeft, out: Out) -> None:
        call = self._seen_call(e.uniqueid, e.linkedid, e.ts, out)
        if call is not None:
            call.left_queue_at = e.ts
        queue = self._queue(e.queue)
        if queue.callers.pop(e.uniqueid, None) is None:
            out.append(Anomaly(e.ts, "leave_of_unknown_caller", e.uniqueid))
        self._announce_queue(queue, e.ts, out)

    def _caller_abandon(self, e: ev.QueueCallerAbandoned, out: Out) -> None:
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        call = self.calls.get(channel.linkedid if channel else e.linkedid)
        if call is None:
            out.append(Anomaly(e.ts, "abandon_of_unknown_call", e.uniqueid))
            return
        call.queue = call.queue or e.queue
        if channel is None or not channel.hangup_requested:
            # The queue let the caller go (timeout, Redirect, empty queue): the caller is
            # still there. QueueCallerLeave follows; how the call ends decides its outcome
            # (timed_out, or answered elsewhere, e.g. an ACD call moved to an agent).
            return
        call.abandoned = True
        call.abandon_position = e.position
        call.wait_s = self._waited(call, e.ts, e.hold_s)
        out.append(CallAbandoned(e.ts, call.linkedid, e.queue, e.position, call.wait_s))

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
            out.append(Anomaly(e.ts, "ring_for_unknown_call", e.linkedid))
            return
        linkedid = call.linkedid
        agent = self._agent(e.interface, e.member_name)
        agent.ringing[e.agent_uniqueid] = linkedid
        call.ringing.add(e.interface)
        out.append(
            AgentRinging(
                e.ts,
                e.interface,
                agent.member_name,
                linkedid,
                e.queue,
                call.caller_number or e.caller_number,
                call.caller_name or e.caller_name,
                call.queued_at,
            )
        )
        self._announce_agent(agent, e.ts, out)

    def _agent_ring_no_answer(self, e: ev.AgentRingNoAnswer, out: Out) -> None:
        self._see(e.uniqueid, e.linkedid, e.ts, out)
        agent = self.agents.get(e.interface)
        if agent is None or e.agent_uniqueid not in agent.ringing:
            out.append(Anomaly(e.ts, "no_answer_without_ring", e.interface))
            return
        call = self.calls.get(agent.ringing[e.agent_uniqueid])
        if call is not None:
            call.no_answer_count += 1
        self._stop_ring(agent, e.agent_uniqueid, "no_answer", e.ts, out)

    def _agent_connect(self, e: ev.AgentConnected, out: Out) -> None:
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        call = self._known_call(channel, e.linkedid)
        if call is None:
            out.append(Anomaly(e.ts, "connect_for_unknown_call", e.linkedid))
            return
        agent = self._agent(e.interface, e.member_name)
        call.agent, call.agent_name = e.interface, agent.member_name
        call.answered_at, call.wait_s = e.ts, self._waited(call, e.ts, e.hold_s)
        call.queue = call.queue or e.queue
        agent.talking = call.linkedid
        self._stop_ring(agent, e.agent_uniqueid, "answered", e.ts, out)
        for interface in list(call.ringing):
            other = self.agents.get(interface)
            for leg, linkedid in list(other.ringing.items()) if other else ():
                if linkedid == call.linkedid and other is not None:
                    self._stop_ring(other, leg, "answered_elsewhere", e.ts, out)
        out.append(
            CallAnswered(e.ts, call.linkedid, e.queue, e.interface, agent.member_name, call.wait_s)
        )
        self._announce_agent(agent, e.ts, out)

    def _agent_complete(self, e: ev.AgentCompleted, out: Out) -> None:
        call = self._seen_call(e.uniqueid, e.linkedid, e.ts, out)
        agent = self._agent(e.interface, e.member_name)
        if call is not None:
            call.talk_s = e.talk_s
            if call.wait_s is None:
                call.wait_s = e.hold_s
            if call.agent is None:  # answered before we connected: learn it now
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

    # --- the ACD route point: the chosen agent is dialled, not rung by app_queue ----------

    @staticmethod
    def _waited(call: Call, ts: float | None, asterisk_hold_s: int) -> int:
        """An ACD call waits from the route point on; app_queue's HoldTime only counts its
        own queue, which for such a call may be the fallback joined late."""
        if call.route is None or call.queued_at is None or ts is None:
            return asterisk_hold_s
        return max(0, round(ts - call.queued_at))

    def _route_entered(self, e: ev.RouteEntered, out: Out) -> None:
        call = self._seen_call(e.uniqueid, e.linkedid, e.ts, out)
        if call is None:
            out.append(Anomaly(e.ts, "route_of_unknown_call", e.linkedid))
            return
        # Names from our dialplan, bounded all the same: they end up in labels and logs.
        call.route, call.hold_queue = e.route[:80], e.queue[:80]
        if call.queue != call.hold_queue:
            call.queue, call.queued_at, call.left_queue_at = call.hold_queue, e.ts, None
            out.append(
                CallOffered(
                    e.ts, call.linkedid, call.hold_queue, call.caller_number, call.caller_name, 0
                )
            )

    def _dial_started(self, e: ev.DialStarted, out: Out) -> None:
        call = self._seen_call(e.uniqueid, e.linkedid, e.ts, out)
        if call is None or call.route is None:
            return  # app_queue's legs (AgentCalled told us) and Dials outside the ACD
        agent = _member_for_channel(self.agents, e.dest_channel)
        if agent is None:
            out.append(Anomaly(e.ts, "route_dial_to_unknown_member", e.dest_channel))
            return
        if e.dest_uniqueid in agent.ringing:
            return  # a fallback queue's leg: AgentCalled came first
        self._route_dials[e.dest_uniqueid] = agent.interface
        call.left_queue_at = None  # still waiting, for this agent now
        self._start_ring(agent, e.dest_uniqueid, call, e.ts, out)

    def _dial_ended(self, e: ev.DialEnded, out: Out) -> None:
        interface = self._route_dials.pop(e.dest_uniqueid, None)
        if interface is None:
            return
        call = self._seen_call(e.uniqueid, e.linkedid, e.ts, out)
        agent = self.agents.get(interface)
        if call is None or agent is None:
            return
        if e.status != "ANSWER":
            if e.status == "NOANSWER":
                call.no_answer_count += 1
            reason = {"NOANSWER": "no_answer", "CANCEL": "caller_gone"}.get(e.status, "refused")
            self._stop_ring(agent, e.dest_uniqueid, reason, e.ts, out)
            return
        wait_s = self._waited(call, e.ts, 0)
        call.agent, call.agent_name = interface, agent.member_name
        call.answered_at, call.wait_s, call.bridged = e.ts, wait_s, True
        agent.talking, agent.talking_routed = call.linkedid, True
        self._stop_ring(agent, e.dest_uniqueid, "answered", e.ts, out)
        out.append(
            CallAnswered(
                e.ts, call.linkedid, call.queue or "", interface, agent.member_name, wait_s
            )
        )
        self._announce_agent(agent, e.ts, out)

    def _route_no_answer(self, e: ev.RouteNoAnswer, out: Out) -> None:
        call = self._seen_call(e.uniqueid, e.linkedid, e.ts, out)
        if call is None or call.route is None or e.interface not in self.agents:
            out.append(Anomaly(e.ts, "route_no_answer_unmatched", e.interface[:80]))
            return
        out.append(
            RoutedRingMissed(e.ts, call.linkedid, e.interface, call.route, e.dial_status[:20])
        )

    def _routed_call_over(self, agent: Agent, call: Call, ts: float | None, lost: bool) -> None:
        """A call the route point dialled has ended (from ``_end_call``). app_queue sends no
        AgentComplete for it and starts no wrapuptime, so the wrap-up a queue call gets
        (``_agent_complete``) starts here: Asterisk's wrap-up as ``Agent.routed_wrapup_s``
        picks it. Without it the agent is ready the moment the call ends and the ACD hands
        them the next held call at once. None for a call that ended while we were away (we
        do not know when), as no AgentComplete would come for a queue call either."""
        if not agent.talking_routed:
            return
        agent.talking_routed = False
        agent.talk_ended()
        seconds = agent.routed_wrapup_s(call.hold_queue) or self.routed_wrapup_s
        if seconds and ts is not None and not lost:
            agent.wrapup_until = ts + seconds
            self._in_wrapup.add(agent.interface)

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
            out.append(Anomaly(e.ts, "removal_of_unknown_member", e.interface))
            return
        self._announce_agent(agent, e.ts, out)

    def _device_state(self, e: ev.DeviceStateChanged, out: Out) -> None:
        for interface in self.agents_by_device.get(e.device, ()):
            agent = self.agents[interface]
            agent.phone_reported(e.state)
            self._announce_agent(agent, e.ts, out)

    # --- snapshots --------------------------------------------------------------------

    def _list_started(self, e: ev.ListStarted, out: Out) -> None:
        # A resync asks three lists; a list that never completes (a peer's garbage) must not
        # be kept forever: past MAX_OPEN_LISTS the oldest open one is forgotten.
        if len(self._listings) >= MAX_OPEN_LISTS:
            oldest = next(iter(self._listings))
            del self._listings[oldest]
            out.append(Anomaly(e.ts, "list_never_completed", oldest))
        self._listings[e.action_id] = _Listing(self.seq)

    def _queue_params(self, e: ev.QueueParamsReported, out: Out) -> None:
        queue = self._queue(e.queue)
        queue.strategy, queue.service_level_s = e.strategy, e.service_level_s
        listing = self._listings.get(e.action_id)
        if listing is not None:
            listing.queues.add(e.queue)

    def _queue_entry(self, e: ev.QueueEntryReported, out: Out) -> None:
        queued_at = e.ts - e.wait_s if e.ts is not None else ev.uniqueid_epoch(e.uniqueid)
        channel = self.channels.get(e.uniqueid)
        if channel is None:
            # No Linkedid in QueueEntry: assume the caller leg started the call, as it
            # does for inbound calls; CoreShowChannel, which follows, corrects it. The leg
            # was created in the second its Uniqueid names (see _date_from_snapshot).
            born = ev.uniqueid_epoch(e.uniqueid)
            created_at = born if born is not None else queued_at
            channel, call = self._add_channel(e.channel, e.uniqueid, e.uniqueid, "Up", created_at)
        else:
            channel.last_seen_seq = self.seq
            call = self._call(channel.linkedid, queued_at)
        self._date_from_snapshot(call)
        if not call.caller_number and not call.caller_name:
            call.caller_number, call.caller_name = e.caller_number, e.caller_name
        call.queue = e.queue
        if call.queued_at is None:
            call.queued_at = queued_at
        queue = self._queue(e.queue)
        known = e.uniqueid in queue.callers
        queue.callers[e.uniqueid] = QueuedCaller(
            e.uniqueid,
            call.linkedid,
            e.position,
            call.queued_at,
            call.caller_number,
            call.caller_name,
            self.seq,
        )
        listing = self._listings.get(e.action_id)
        if listing is not None:
            listing.channels.add(e.uniqueid)
        if not known:
            # Dated by when the caller joined (Wait before our receive time), not by the
            # resync: the call log files it in the right interval.
            out.append(
                CallOffered(
                    call.queued_at,
                    call.linkedid,
                    e.queue,
                    call.caller_number,
                    call.caller_name,
                    e.position,
                    resynced=True,
                )
            )
            self._announce_queue(queue, e.ts, out)

    def _channel_listed(self, e: ev.ChannelListed, out: Out) -> None:
        # Duration is whole seconds before our receive time (list items have no Timestamp):
        # the fallback for a Uniqueid without its creation time (see _date_from_snapshot).
        estimate = e.ts - e.duration_s if e.ts is not None else None
        born = ev.uniqueid_epoch(e.uniqueid)
        created_at = born if born is not None else estimate
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        if channel is None:
            channel, call = self._add_channel(
                e.channel, e.uniqueid, e.linkedid, e.state, created_at
            )
        else:
            call = self._call(channel.linkedid, created_at)
        self._date_from_snapshot(call, estimate if e.uniqueid == call.linkedid else None)
        channel.state = e.state
        listing = self._listings.get(e.action_id)
        if listing is not None:
            listing.channels.add(e.uniqueid)
        if e.uniqueid == call.linkedid:
            call.spy = call.spy or _is_spy_leg(e.context, e.application)
            if not call.caller_number and not call.caller_name:
                call.caller_number, call.caller_name = e.caller_number, e.caller_name
            if e.application == "Queue" and call.queue is None:
                call.queue = e.application_data.split(",", 1)[0]
            return
        if e.application != "AppQueue":  # app_queue's dialled agent legs
            if e.bridge_id:
                call.bridged = True
            return
        agent = _member_for_channel(self.agents, e.channel)
        if agent is None:
            out.append(Anomaly(e.ts, "agent_leg_of_unknown_member", e.channel))
            return
        if e.state == "Up":
            call.agent, call.agent_name, call.bridged = agent.interface, agent.member_name, True
            agent.talking = call.linkedid
            self._announce_agent(agent, e.ts, out)
        elif e.uniqueid not in agent.ringing:
            self._start_ring(agent, e.uniqueid, call, e.ts, out, resynced=True)

    @staticmethod
    def _date_from_snapshot(call: Call, first_leg_estimate: float | None = None) -> None:
        """The start of a call a snapshot lists, which may have begun long before we
        connected. A call begins when its first channel is created, and its Linkedid is that
        channel's Uniqueid, made at creation as ``<epoch seconds>.<n>`` on Asterisk's clock
        (the clock of the events' Timestamp). So the Linkedid dates the call to the second,
        the same however late our resync runs; the QueueStatus time (``Wait`` before our
        receive time) is when the caller joined the queue, after the consent step, and
        CoreShowChannel's Duration is whole seconds before our receive time, on our clock.
        A start already inside the Linkedid's second came from Newchannel (to the
        microsecond) and is kept; a later one came from a leg listed before the first one,
        or from a caller leg that turned out not to be the first: replaced. Without a time in
        the Linkedid (an Originate's own ChannelId), the first leg's Duration is the
        fallback, never later than a start already known."""
        born = ev.uniqueid_epoch(call.linkedid)
        if born is not None:
            if call.started_at is None or call.started_at >= born + 1:
                call.started_at = born
        elif first_leg_estimate is not None and (
            call.started_at is None or first_leg_estimate < call.started_at
        ):
            call.started_at = first_leg_estimate

    def _list_completed(self, e: ev.ListCompleted, out: Out) -> None:
        listing = self._listings.pop(e.action_id, None)
        if listing is None:
            return
        if e.name == "CoreShowChannelsComplete":
            vanished = [
                uid
                for uid, channel in self.channels.items()
                if uid not in listing.channels and channel.last_seen_seq <= listing.start_seq
            ]
            for uid in vanished:
                self._drop_channel(self.channels[uid], e.ts, True, out)
        elif e.name == "QueueStatusComplete":
            for name in listing.queues:
                queue = self.queues[name]
                gone = [
                    uid
                    for uid, c in queue.callers.items()
                    if uid not in listing.channels and c.last_seen_seq <= listing.start_seq
                ]
                for uid in gone:
                    del queue.callers[uid]
                if gone:
                    self._announce_queue(queue, e.ts, out)
            # QueueStatus lists every queue Asterisk has: one it did not list, with nobody
            # waiting, does not exist (a name from garbage, or a queue since removed).
            unknown = {
                name
                for name, queue in self.queues.items()
                if name not in listing.queues and not queue.callers
            }
            for name in unknown:
                del self.queues[name]
            for agent in self.agents.values():
                stale = [
                    q
                    for q, m in agent.memberships.items()
                    if q in unknown
                    or (q in listing.queues and m.last_seen_seq <= listing.start_seq)
                ]
                for q in stale:
                    del agent.memberships[q]
                if stale:
                    self._announce_agent(agent, e.ts, out)

    def _channel_variables(self, e: ev.ChannelVariablesListed, out: Out) -> None:
        """A Status list item: the consent step's variables and MixMonitor's file name, for
        calls whose consent happened while we were away (no RecordingConsent reached us).
        Applied in stream order: a value the channel has now is the newest fact, and one it
        does not have (yet) never erases what an event told us."""
        channel = self._see(e.uniqueid, e.linkedid, e.ts, out)
        call = self.calls.get(channel.linkedid) if channel is not None else None
        if call is None:
            return  # not a channel we follow: CoreShowChannels and the live events list them
        if e.consent:
            if e.consent not in ("granted", "declined"):
                out.append(Anomaly(e.ts, "unknown_consent_value", e.consent[:40]))
            elif (call.consent, call.consent_method) != (e.consent, e.consent_method or None):
                call.consent, call.consent_method = e.consent, e.consent_method or None
                out.append(
                    ConsentRecorded(e.ts, call.linkedid, e.consent, e.consent_method, e.recording)
                )
        if e.recording:
            call.recorded = True
            call.recording = call.recording or e.recording

    # --- recording consent ------------------------------------------------------------

    def _consent(self, e: ev.ConsentReported, out: Out) -> None:
        call = self._seen_call(e.uniqueid, e.linkedid, e.ts, out)
        if call is None:
            out.append(Anomaly(e.ts, "consent_for_unknown_call", e.linkedid))
            return
        if e.consent not in ("granted", "declined"):
            out.append(Anomaly(e.ts, "unknown_consent_value", e.consent[:40]))
            return
        call.consent, call.consent_method = e.consent, e.method or None
        call.consent_at = e.ts
        if e.recording:
            call.recording = e.recording
        out.append(ConsentRecorded(e.ts, call.linkedid, e.consent, e.method, e.recording))

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

    # --- the link and the clock -------------------------------------------------------

    def _link_up(self, e: ev.LinkUp, out: Out) -> None:
        self.link_up = True
        out.append(LinkChanged(e.ts, True, ""))

    def _link_down(self, e: ev.LinkDown, out: Out) -> None:
        self.link_up = self.synced = False
        for call in self.calls.values():
            call.through_gap = True
        self._listings.clear()  # a session's snapshot lists end with it
        out.append(LinkChanged(e.ts, False, e.reason))

    def _resync_done(self, e: ev.ResyncDone, out: Out) -> None:
        self.synced = self.link_up
        if self.synced:
            out.append(Resynced(e.ts))

    def _tick(self, e: ev.Tick, out: Out) -> None:
        for interface in list(self._in_wrapup):
            agent = self.agents.get(interface)
            if agent is None or agent.wrapup_until is None or agent.wrapup_until <= e.ts:
                self._in_wrapup.discard(interface)
                if agent is not None:
                    agent.wrapup_until = None
                    self._announce_agent(agent, e.ts, out)
