"""The simulated Asterisk: its state, its channels' life, and the AMI events they produce.

Theory of operation
-------------------
``Pbx`` plays what Asterisk's core, its SIP channels, app_queue and the project's dialplan
would do for inbound queue calls, and hands every event, already encoded as an AMI frame, to
``on_event``. The event names, field names and their order, ``Timestamp``, Uniqueid and
Linkedid rules follow the real captures in ``tests/captures/`` (a member channel
shares the caller's Linkedid; list answers carry no Timestamp; ``<unknown>`` for empty caller
ID; the noise events VarSet and Newexten are there too, because a CTI server must cope with
them), and what a call does follows ``tests/captures/real/``, Asterisk 22 running the
project's asterisk-conf/ and dialplan/ (tests/component/test_simulator_conformance.py checks
it).

``Pbx`` holds the state (``model.py``: channels, calls, phones, queues) and does what
every part does to a channel: make it (Newchannel), change its state (Newstate), run a
dialplan application on it (Newexten), set a variable (VarSet), bridge two, hang one up, and
write a call's Cdr. It also owns every task the simulator starts. What a call does lives in
one module per part of Asterisk, as plain functions of the ``Pbx``, in the order a call
meets them:

- ``inbound.py``: each inbound call is one owned task that walks [from-trunk] and
  [cti-inbound] (answer, recording notice, consent, MixMonitor) into a queue, or into a
  route point;
- ``app_queue.py``: queues: callers join and leave, free members ring by the queue's
  strategy, answer or ring out; a phone's state reaches AMI as QueueMemberStatus;
- ``route_point.py``: [cti-route], the ACD: a FastAGI conversation with the daemon picks a
  Dial of one phone, holding, or the fallback queue;
- ``originate.py``: AMI Originate, and ChanSpy on the legs it makes (supervisors);
- ``outbound.py``: an agent's outbound call, an Originate into [cti-outbound]: Dial of the
  customer's number through the trunk, the customer's consent step, the talk, the hang-up;
- ``transfer.py`` and ``atxfer.py``: an agent's blind transfer (BlindTransfer) and attended
  transfer (Atxfer, CancelAtxfer) of the queue call they talk on;
- ``ami_actions.py``: the answers to every other AMI action ``server.py`` takes (QueuePause,
  Redirect, ...) and to the lists (Status, QueueStatus, CoreShowChannels, ...).

Functions over one shared ``Pbx`` rather than objects of their own: the parts reach into one
another in a circle (a phone a Dial or an Originate frees lets app_queue ring it again; a
channel's hangup stops the ChanSpy listening to it; any new channel may be the one a ChanSpy
waits for), so each module names the others it calls and the state stays in one place.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from cti.simulator import app_queue, atxfer, inbound, originate, route_point
from cti.simulator.config import HOSTILE_CALLERS, OutboundBehaviour, SimConfig
from cti.simulator.model import (
    CAUSE_NONE,
    PHONE_CONTEXT,
    UNKNOWN,
    Call,
    CallSpec,
    Channel,
    Device,
    Member,
    OutboundCall,
    Queue,
    Spy,
)
from cti.simulator.wire import Fields, encode

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class Pbx:
    def __init__(self, config: SimConfig, on_event: Callable[[bytes], None]) -> None:
        self.config = config
        self.on_event = on_event
        self.rng = random.Random(config.seed)
        self.booted = time.time()
        self.channels: dict[str, Channel] = {}  # by channel name
        self.calls: dict[str, Call] = {}  # by linkedid
        self.devices: dict[str, Device] = {}
        self.queues: dict[str, Queue] = {}
        self.route_points = {p.name: p for p in config.route_points}
        self.globals: dict[str, str] = {}  # AMI Setvar without a channel
        now = int(self.booted)
        for q in config.queues:
            members = {m.interface: Member(m, q.name, now) for m in q.members}
            self.queues[q.name] = Queue(q, members)
            for m in q.members:
                self.devices.setdefault(m.state_interface or m.interface, Device(m.answers))
        self.originated: dict[str, asyncio.Future[None]] = {}  # ringing legs, by channel
        self.originated_devices: dict[str, str] = {}  # an Originate's leg -> its device
        self.spies: dict[str, Spy] = {}  # by the spying channel's name
        self.outbound: dict[str, OutboundCall] = {}  # agents' outbound calls, by linkedid
        self.customers: dict[str, OutboundBehaviour] = {}  # set by tests, by number
        self._uniqueids = itertools.count(0)
        self._channel_numbers = itertools.count(0)
        self._local_numbers = itertools.count(0)
        self.bridges: dict[str, list[Channel]] = {}  # by BridgeUniqueid: who is in it
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- events and channels ----------------------------------------------------------

    def emit(self, name: str, privilege: str, *parts: Fields) -> None:
        fields: Fields = {"Event": name, "Privilege": privilege, "Timestamp": f"{time.time():.6f}"}
        for part in parts:
            fields.update(part)
        self.on_event(encode(fields))

    def new_channel(
        self,
        device: str,
        caller_num: str,
        caller_name: str,
        linkedid: str | None,
        context: str,
        exten: str,
        state: int = 0,
        waiting: bool = False,
        uniqueid: str | None = None,
        name: str | None = None,
    ) -> Channel:
        """A new channel: an inbound call's is born ringing (Ring) in its context, a leg
        Asterisk makes to a phone is born Down in the phone's context at ``s`` (``waiting``:
        an Originate's, which runs ``context``/``exten`` once answered). ``uniqueid``: the
        one an Originate's ChannelId chose, else Asterisk's own ``<time>.<n>``. ``name``:
        one its driver chose (Local's), else ``<device>-<n>``."""
        now = time.time()
        uniqueid = uniqueid or f"{int(now)}.{next(self._uniqueids)}"
        name = name or f"{device}-{next(self._channel_numbers):08x}"
        channel = Channel(
            name,
            uniqueid,
            linkedid or uniqueid,
            caller_num,
            caller_name,
            context,
            exten,
            now,
            state=state,
        )
        if waiting:
            channel.waiting_in = (PHONE_CONTEXT, "s")
        self.channels[name] = channel
        self.emit("Newchannel", "call,all", channel.fields())
        originate.spy_look(self)
        return channel

    def new_local_pair(self, exten: str, context: str, linkedid: str) -> tuple[Channel, Channel]:
        """A Local channel to ``exten@context`` (core_local.c): its two halves, numbered by
        Local's own counter, ;1 born Down and ;2 ringing in the context it is to run."""
        base = f"Local/{exten}@{context}-{next(self._local_numbers):08x}"
        one = self.new_channel("Local", "", "", linkedid, context, exten, name=f"{base};1")
        two = self.new_channel("Local", "", "", linkedid, context, exten, 4, name=f"{base};2")
        return one, two

    def caller_id_changed(self, channel: Channel) -> None:
        """NewCallerid: the channel's caller ID was set (an Originate's CallerID, the
        dialplan's Set(CALLERID(all)), Dial's on the leg it makes)."""
        self.emit(
            "NewCallerid",
            "call,all",
            channel.fields(),
            {"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"},
        )

    def set_state(self, channel: Channel, state: int) -> None:
        channel.state = state
        self.emit("Newstate", "call,all", channel.fields())

    def dial_status(self, event: str, caller: Channel, leg: Channel, status: str) -> None:
        """DialState or DialEnd: how ``caller``'s Dial (or app_queue's ring) of ``leg`` goes."""
        self.emit(event, "call,all", caller.fields(), leg.fields("Dest"), {"DialStatus": status})

    def exten(self, channel: Channel, priority: int, app: str, data: str) -> None:
        """The dialplan runs ``app`` at ``priority`` of the channel's extension."""
        channel.priority, channel.application, channel.app_data = priority, app, data
        self.emit(
            "Newexten",
            "dialplan,all",
            channel.fields(),
            {"Extension": channel.exten, "Application": app, "AppData": data},
        )

    def varset(self, channel: Channel, variable: str, value: str) -> None:
        channel.variables[variable] = value
        self.emit(
            "VarSet", "dialplan,all", channel.fields(), {"Variable": variable, "Value": value}
        )

    def device_of(self, interface: str) -> str | None:
        """The device behind a dialled interface: a queue member's (Local/ members name
        theirs), or a device by its own name."""
        for queue in self.queues.values():
            member = queue.members.get(interface)
            if member is not None:
                return member.state_interface
        return interface if interface in self.devices else None

    def hangup_channel(self, channel: Channel, cause: int = 16) -> None:
        self.channels.pop(channel.name, None)
        # ChanSpy notices first that the channel it listens to is going (ChanSpyStop), and
        # with option E its own leg ends right after that channel's Hangup.
        ended = originate.stop_spying(self, channel)
        text = {
            0: "Unknown",
            3: "No route to destination",
            16: "Normal Clearing",
            17: "User busy",
            19: "User alerting, no answer",
            26: "Answered elsewhere",
            34: "Circuit/channel congestion",
        }.get(cause, "")
        self.emit("Hangup", "call,all", channel.fields(), {"Cause": str(cause), "Cause-txt": text})
        originate.originated_gone(self, channel)
        for spy in ended:
            if spy.ends_with_spyee and spy.leg.name in self.channels:
                self.dialplan_end(spy.leg)

    def hang_up_unqueued(self, call: Call) -> None:
        """The caller hangs up before anything rings for them."""
        self.emit("HangupRequest", "call,all", call.caller.fields())
        self.hangup_channel(call.caller)

    def dialplan_end(self, channel: Channel, call: Call | None = None) -> None:
        """The dialplan hangs the channel up (Hangup(), or no next priority): a soft hangup
        request, then the Hangup, as after a Queue() timeout (queue-timeout.ami)."""
        self.emit("SoftHangupRequest", "call,all", channel.fields(), {"Cause": "16"})
        if call is None:  # a leg of its own (the supervisor's): its end has no cause
            self.hangup_channel(channel, cause=CAUSE_NONE)
            return
        self.hangup_channel(channel)
        self.cdr(call, "ANSWERED", None, "Hangup", "")

    # --- bridges ----------------------------------------------------------------------

    def bridge_fields(self, bridge: str, prefix: str = "") -> Fields:
        """A basic bridge as events show it, with the channels in it now; ``prefix`` names
        its part in a transfer event (Orig, Second, To, From)."""
        return {
            f"{prefix}BridgeUniqueid": bridge,
            f"{prefix}BridgeType": "basic",
            f"{prefix}BridgeTechnology": "simple_bridge",
            f"{prefix}BridgeCreator": UNKNOWN,
            f"{prefix}BridgeName": UNKNOWN,
            f"{prefix}BridgeNumChannels": str(len(self.bridges.get(bridge, ()))),
            f"{prefix}BridgeVideoSourceMode": "none",
        }

    def bridge_create(self) -> str:
        bridge = str(uuid.uuid4())
        self.bridges[bridge] = []
        self.emit("BridgeCreate", "call,all", self.bridge_fields(bridge))
        return bridge

    def bridge_enter(self, bridge: str, channel: Channel) -> None:
        self.bridges[bridge].append(channel)
        channel.bridge = bridge
        self.emit("BridgeEnter", "call,all", self.bridge_fields(bridge), channel.fields())

    def bridge_leave(self, channel: Channel) -> None:
        bridge, channel.bridge = channel.bridge, ""
        members = self.bridges.get(bridge, [])
        if channel in members:
            members.remove(channel)
        self.emit("BridgeLeave", "call,all", self.bridge_fields(bridge), channel.fields())

    def bridge_destroy(self, bridge: str) -> None:
        self.emit("BridgeDestroy", "call,all", self.bridge_fields(bridge))
        self.bridges.pop(bridge, None)

    def bridge(self, leg: Channel, caller: Channel) -> None:
        """A new bridge with the answered ``leg``, then ``caller``, in it."""
        bridge = self.bridge_create()
        self.bridge_enter(bridge, leg)
        self.bridge_enter(bridge, caller)

    def unbridge(self, first: Channel, second: Channel) -> None:
        """``first`` hung up: both leave the bridge, which goes away."""
        bridge = first.bridge
        self.bridge_leave(first)
        self.emit("SoftHangupRequest", "call,all", first.fields(), {"Cause": "16"})
        self.bridge_leave(second)
        self.bridge_destroy(bridge)

    def cdr(
        self,
        call: Call,
        disposition: str,
        leg: Channel | None,
        application: str = "Queue",
        data: str | None = None,
    ) -> None:
        data = app_queue.app_data(self, call.queue) if data is None else data
        self.cdr_of(call.caller, disposition, leg, application, data)

    def cdr_of(
        self, c: Channel, disposition: str, leg: Channel | None, application: str, data: str
    ) -> None:
        """The Cdr of a call whose first party is ``c``, ``leg`` the party it reached."""
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(c.created))
        ended = time.strftime("%Y-%m-%d %H:%M:%S")
        duration = str(int(time.time() - c.created))
        self.emit(
            "Cdr",
            "cdr,all",
            {
                "AccountCode": "",
                "Source": c.caller_num,
                "Destination": c.exten,
                "DestinationContext": c.context,
                "CallerID": f'"{c.caller_name}" <{c.caller_num}>',
                "Channel": c.name,
                "DestinationChannel": leg.name if leg else "",
                "LastApplication": application,
                "LastData": data,
                "StartTime": started,
                "AnswerTime": started,
                "EndTime": ended,
                "Duration": duration,
                "BillableSeconds": duration,
                "Disposition": disposition,
                "AMAFlags": "DOCUMENTATION",
                "UniqueID": c.uniqueid,
                "UserField": "",
                "Linkedid": c.linkedid,
            },
        )

    # --- calls, for the simulator's own traffic and for tests ---------------------------

    def place_call(self, spec: CallSpec) -> str:
        """Start an inbound call to the DID of ``spec.queue`` (a queue or a route point);
        returns its Linkedid."""
        point = self.route_points.get(spec.queue)
        did = point.did if point is not None else self.queues[spec.queue].config.did
        loop = asyncio.get_running_loop()
        caller = self.new_channel(
            self.config.trunk, spec.number, spec.name, None, "from-trunk", did, state=4
        )
        call = Call(spec, caller, loop.create_future(), loop.create_future(), point)
        self.calls[caller.linkedid] = call
        self.own(inbound.run_call(self, call), f"call {caller.linkedid}")
        return caller.linkedid

    def random_call(self) -> CallSpec:
        config, rng = self.config, self.rng
        hostile = rng.random() < config.hostile_ratio
        who = rng.choice(HOSTILE_CALLERS if hostile else config.callers)
        destinations = config.destinations()
        weights = config.queue_weights or tuple(1.0 for _ in destinations)
        where = rng.choices(destinations, weights)[0]
        consent: str | None = None
        if where.consent == "implied":
            consent = "granted"
        elif where.consent == "explicit":
            consent = "declined" if rng.random() < config.decline_ratio else "granted"
        return CallSpec(
            who.number,
            who.name,
            where.name,
            consent,
            answer_after=rng.uniform(*config.answer_delay_s),
            talk_s=rng.uniform(*config.talk_s),
            patience_s=rng.uniform(*config.patience_s),
        )

    def is_answered(self, linkedid: str) -> bool:
        call = self.calls.get(linkedid)
        if call is None:
            return False
        return call.agent is not None or (
            call.dial is not None and call.dial.answered_at is not None
        )

    def set_phone(self, device: str, answers: bool) -> None:
        if device not in self.devices:
            raise KeyError(
                f"no phone {device!r} in the simulator "
                f"(phones: {', '.join(self.devices) or 'none'})"
            )
        self.devices[device].answers = answers

    def set_customer(self, number: str, behaviour: OutboundBehaviour | None) -> None:
        if behaviour is None:
            self.customers.pop(number, None)
        else:
            self.customers[number] = behaviour

    def hangup(self, linkedid: str, by: str = "caller") -> None:
        """The caller's (``caller``) or the agent's (``agent``) phone hangs up; for an
        outbound call the customer's phone is the caller's. During an attended transfer the
        agent's is the transferring agent's until it completes, the consulted one's after."""
        if linkedid in self.outbound:
            party = "agent" if by == "agent" else "customer"
            return self.outbound[linkedid].end(party, soft=False)
        call = self.calls.get(linkedid)
        if call is not None and not call.hangup_by.done():
            call.hangup_by.set_result(by)

    def answer(self, linkedid: str, interface: str | None = None) -> bool:
        """Answer a ringing call now, at ``interface`` or whichever phone rings (a queue's
        member, a route point's Dial, or the phone an agent's attended transfer consults)."""
        call = self.calls.get(linkedid)
        if call is None:
            return False
        if call.consult is not None:  # the phone an attended transfer consults rings
            return atxfer.answer(self, call, interface)
        if self.is_answered(linkedid):
            return False
        dial = call.dial
        if dial is not None and not dial.outcome.done() and interface in (None, dial.interface):
            route_point.dial_answer(self, call, dial)
            return True
        for attempt in call.attempts.values():
            if interface in (None, attempt.member.interface):
                app_queue.answer(self, call, attempt)
                return True
        return False

    # --- owned tasks ------------------------------------------------------------------

    def own(self, coroutine: Coroutine[Any, Any, _T], name: str) -> asyncio.Task[_T]:
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("simulator task %s failed", task.get_name(), exc_info=task.exception())

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
