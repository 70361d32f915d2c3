"""The snapshot lists a login asks for, applied to the state core (pure).

Theory of operation
-------------------
While the AMI link is down, events are lost: callers join, agents answer, calls end, and
nobody tells us. So after every login the client asks Asterisk what is true now: QueueStatus
(queue parameters, members, waiting callers), CoreShowChannels (every channel, its call and
application) and Status (the channel variables our dialplan sets). The answers come through
the same ordered stream as live events (``ListStarted`` ... items ... ``ListCompleted``), so a
snapshot is applied exactly where Asterisk took it, between the events before and after it.

A list item is a fact at the moment of the list: it adds or corrects what the state knows,
and changes learnt that way say ``resynced`` (the call log keeps them only if the call has no
such fact yet). At ``ListCompleted`` whatever the snapshot did not list, and no event
mentioned since the list started, vanished while we were away: channels are dropped and calls
left without channels end, marked ``ended_while_disconnected``, with their end and talk time
unknown (None) rather than the resync's time. A call first seen in a snapshot is dated by its
Linkedid (``_date_from_snapshot``); a Status list that follows (``ChannelVariablesListed``)
brings the consent and recording the dialplan set before we connected.

These are functions of the state (``CtiState``), called from its dispatch table; they use
its shared helpers, as its own handlers do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cti.ami import events as ev
from cti.state.calls import Call, CallPhase, is_spy_leg
from cti.state.changes import Anomaly, CallOffered, ConsentRecorded
from cti.state.queues import QueuedCaller

if TYPE_CHECKING:
    from cti.state.store import CtiState, Out

MAX_OPEN_LISTS = 16  # snapshot lists open at once (a resync asks three)


@dataclass(slots=True)
class Listing:
    """One snapshot list in progress (QueueStatus or CoreShowChannels): what it listed, and
    when it started, so that what it did not list can be told from what is new since."""

    start_seq: int
    channels: set[str] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)


def list_started(state: CtiState, e: ev.ListStarted, out: Out) -> None:
    # A resync asks three lists; a list that never completes (a peer's garbage) must not
    # be kept forever: past MAX_OPEN_LISTS the oldest open one is forgotten.
    if len(state._listings) >= MAX_OPEN_LISTS:
        oldest = next(iter(state._listings))
        del state._listings[oldest]
        out.append(Anomaly(ts=e.ts, kind="list_never_completed", detail=oldest))
    state._listings[e.action_id] = Listing(state.seq)


def queue_params(state: CtiState, e: ev.QueueParamsReported, out: Out) -> None:
    queue = state._queue(e.queue)
    queue.strategy, queue.service_level_s = e.strategy, e.service_level_s
    listing = state._listings.get(e.action_id)
    if listing is not None:
        listing.queues.add(e.queue)


def queue_entry(state: CtiState, e: ev.QueueEntryReported, out: Out) -> None:
    queued_at = e.ts - e.wait_s if e.ts is not None else ev.uniqueid_epoch(e.uniqueid)
    channel = state.channels.get(e.uniqueid)
    if channel is None:
        # No Linkedid in QueueEntry: assume the caller leg started the call, as it
        # does for inbound calls; CoreShowChannel, which follows, corrects it. The leg
        # was created in the second its Uniqueid names (see _date_from_snapshot).
        born = ev.uniqueid_epoch(e.uniqueid)
        created_at = born if born is not None else queued_at
        channel, call = state._add_channel(e.channel, e.uniqueid, e.uniqueid, "Up", created_at)
    else:
        channel.last_seen_seq = state.seq
        call = state._call(channel.linkedid, queued_at)
    _date_from_snapshot(call)
    if call.phase is not CallPhase.RINGING:  # a caller being rung is listed as waiting too
        state._move(call, CallPhase.QUEUED, e.ts, out)
    if not call.caller_number and not call.caller_name:
        call.caller_number, call.caller_name = e.caller_number, e.caller_name
    call.queue = e.queue
    if call.queued_at is None:
        call.queued_at = queued_at
    queue = state._queue(e.queue)
    known = e.uniqueid in queue.callers
    queue.callers[e.uniqueid] = QueuedCaller(
        e.uniqueid,
        call.linkedid,
        e.position,
        call.queued_at,
        call.caller_number,
        call.caller_name,
        state.seq,
    )
    listing = state._listings.get(e.action_id)
    if listing is not None:
        listing.channels.add(e.uniqueid)
    if not known:
        # Dated by when the caller joined (Wait before our receive time), not by the
        # resync: the call log files it in the right interval.
        out.append(
            CallOffered(
                ts=call.queued_at,
                linkedid=call.linkedid,
                queue=e.queue,
                caller_number=call.caller_number,
                caller_name=call.caller_name,
                position=e.position,
                resynced=True,
            )
        )
        state._announce_queue(queue, e.ts, out)


def channel_listed(state: CtiState, e: ev.ChannelListed, out: Out) -> None:
    # Duration is whole seconds before our receive time (list items have no Timestamp):
    # the fallback for a Uniqueid without its creation time (see _date_from_snapshot).
    estimate = e.ts - e.duration_s if e.ts is not None else None
    born = ev.uniqueid_epoch(e.uniqueid)
    created_at = born if born is not None else estimate
    channel = state._see(e.uniqueid, e.linkedid, e.ts, out)
    if channel is None:
        channel, call = state._add_channel(e.channel, e.uniqueid, e.linkedid, e.state, created_at)
    else:
        call = state._call(channel.linkedid, created_at)
    _date_from_snapshot(call, estimate if e.uniqueid == call.linkedid else None)
    channel.state = e.state
    listing = state._listings.get(e.action_id)
    if listing is not None:
        listing.channels.add(e.uniqueid)
    if e.uniqueid == call.linkedid:
        call.spy = call.spy or is_spy_leg(e.context, e.application)
        if not call.caller_number and not call.caller_name:
            call.caller_number, call.caller_name = e.caller_number, e.caller_name
        if e.application == "Queue" and call.queue is None:
            call.queue = e.application_data.split(",", 1)[0]
        return
    if e.application != "AppQueue":  # app_queue's dialled agent legs
        if e.bridge_id:
            call.bridged = True
        return
    agent = state._member_for_leg(e.channel)
    if agent is None:
        out.append(Anomaly(ts=e.ts, kind="agent_leg_of_unknown_member", detail=e.channel))
        return
    if e.state == "Up":
        state._move(call, CallPhase.ANSWERED, e.ts, out)
        call.agent, call.agent_name, call.bridged = agent.interface, agent.member_name, True
        agent.talking = call.linkedid
        state._announce_agent(agent, e.ts, out)
    elif e.uniqueid not in agent.ringing:
        state._start_ring(agent, e.uniqueid, call, e.ts, out, resynced=True)


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


def list_completed(state: CtiState, e: ev.ListCompleted, out: Out) -> None:
    listing = state._listings.pop(e.action_id, None)
    if listing is None:
        return
    if e.name == "CoreShowChannelsComplete":
        vanished = [
            uid
            for uid, channel in state.channels.items()
            if uid not in listing.channels and channel.last_seen_seq <= listing.start_seq
        ]
        for uid in vanished:
            state._drop_channel(state.channels[uid], e.ts, True, out)
    elif e.name == "QueueStatusComplete":
        for name in listing.queues:
            queue = state.queues[name]
            gone = [
                uid
                for uid, c in queue.callers.items()
                if uid not in listing.channels and c.last_seen_seq <= listing.start_seq
            ]
            for uid in gone:
                del queue.callers[uid]
            if gone:
                state._announce_queue(queue, e.ts, out)
        # QueueStatus lists every queue Asterisk has: one it did not list, with nobody
        # waiting, does not exist (a name from garbage, or a queue since removed).
        unknown = {
            name
            for name, queue in state.queues.items()
            if name not in listing.queues and not queue.callers
        }
        for name in unknown:
            del state.queues[name]
        for agent in state.agents.values():
            stale = [
                q
                for q, m in agent.memberships.items()
                if q in unknown or (q in listing.queues and m.last_seen_seq <= listing.start_seq)
            ]
            for q in stale:
                del agent.memberships[q]
            if stale:
                state._announce_agent(agent, e.ts, out)


def channel_variables(state: CtiState, e: ev.ChannelVariablesListed, out: Out) -> None:
    """A Status list item: the consent step's variables and MixMonitor's file name, for
    calls whose consent happened while we were away (no RecordingConsent reached us).
    Applied in stream order: a value the channel has now is the newest fact, and one it
    does not have (yet) never erases what an event told us."""
    channel = state._see(e.uniqueid, e.linkedid, e.ts, out)
    call = state.calls.get(channel.linkedid) if channel is not None else None
    if call is None:
        return  # not a channel we follow: CoreShowChannels and the live events list them
    if e.consent:
        if e.consent not in ("granted", "declined"):
            out.append(Anomaly(ts=e.ts, kind="unknown_consent_value", detail=e.consent[:40]))
        elif (call.consent, call.consent_method) != (e.consent, e.consent_method or None):
            call.consent, call.consent_method = e.consent, e.consent_method or None
            out.append(
                ConsentRecorded(
                    ts=e.ts,
                    linkedid=call.linkedid,
                    consent=e.consent,
                    method=e.consent_method,
                    recording=e.recording,
                    on_phones=call.phones(),
                )
            )
    if e.recording:
        call.recorded = True
        call.recording = call.recording or e.recording
