"""The simulated Asterisk: channels, queues and members, and the events they produce.

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
it): an agent's phone changing state (ringing, in use, free) is a QueueMemberStatus of each
of its memberships, as app_queue reports it; there is no DeviceStateChange, which needs
res_manager_devicestate, a module the project's modules.conf does not load.

Each call is one owned task (``_run_call``) that walks the dialplan: answer, recording notice,
consent, MixMonitor, Queue. In the queue, ``_dispatch`` rings free members by the queue's
strategy; a ring is one ``_Attempt`` whose task answers after the call's answer delay or
gives up after the queue's ring timeout (AgentRingNoAnswer). The caller's task waits for the
first of: an answer, its patience running out (abandon), or a hangup request.

A call to a route point's DID walks ``[cti-route]`` instead (``_route_point``): the UserEvent
CtiRoute, then a real FastAGI conversation with the daemon (``agi.py``), whose variables pick
the next extension: ``agent`` (a Dial of one phone, outside app_queue: DialBegin/DialEnd but
no AgentCalled), ``hold`` (a queue without members, left by the daemon's Setvar + Redirect or
after ``hold_s``) or ``fallback`` (an ordinary queue call from then on). A phone is one
``_Device`` whichever way it rings, so a queue never rings a phone a Dial rings, and back.
The caller's patience starts once, before the route point: moving between extensions never
renews it.

An AMI Originate rings a phone from its endpoint's context ([agents]) and runs the
Originate's extension once answered: a [cti-spy-<mode>] extension is ChanSpy on the agent's
channel (ChanSpyStart/ChanSpyStop), and with option E the supervisor's leg ends with it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import random
import struct
import time
import uuid
import wave
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cti.asterisk_conf import extension_matches
from cti.simulator import agi
from cti.simulator.config import (
    HOSTILE_CALLERS,
    MemberConfig,
    QueueConfig,
    RoutePointConfig,
    SimConfig,
)
from cti.simulator.wire import Fields, Frame, Pairs, encode, response

log = logging.getLogger(__name__)

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
UNKNOWN = "<unknown>"
# app_queue's member Status codes (AST_DEVICE_*).
NOT_INUSE, INUSE, RINGING = 1, 2, 6
# The project's dialplan for an originated supervisor leg (dialplan/extensions_cti.conf):
# context -> (its one extension pattern, ChanSpy's options).
SPY_DIALPLAN = {
    "cti-spy-listen": ("_X.", "qE"),
    "cti-spy-whisper": ("_X.", "qwE"),
    "cti-spy-barge": ("_X.", "qBE"),
}
# OriginateResponse's Reason: the last control frame of the dialled phone.
REASON_NO_ANSWER, REASON_ANSWERED = 3, 4
ROUTE_CONTEXT = "cti-route"  # the route point's context in dialplan/extensions_cti.conf
INBOUND_CONTEXT = "cti-inbound"  # where every DID of [from-trunk] goes (Goto cti-inbound,s,1)
# The agents' phones' endpoint context (asterisk-conf/pjsip.conf): a channel Asterisk makes
# to a phone (a queue's or Dial's leg, an Originate) is born there, at extension s.
PHONE_CONTEXT = "agents"
# Asterisk's cause of a ringing leg the dialling side hung up (app_queue's hangupcalls, a
# Dial given up): none is set, 0. (26, answered elsewhere, only with Queue's C option.)
CAUSE_NONE = 0

_T = TypeVar("_T")


def write_tone(path: Path, seconds: float = 2.0, hertz: float = 440.0) -> None:
    """A stand-in recording: 8 kHz mono 16-bit PCM, as MixMonitor writes .wav files."""
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * hertz * i / rate)))
        for i in range(int(rate * seconds))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)


@dataclass(frozen=True, slots=True)
class CallSpec:
    number: str
    name: str
    queue: str
    consent: str | None  # granted / declined / None when the dialplan does not ask
    answer_after: float | None  # seconds of ringing before a phone answers; None: never
    talk_s: float
    patience_s: float | None  # None: waits until answered or hung up


@dataclass(eq=False, slots=True)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    caller_num: str
    caller_name: str
    context: str
    exten: str
    created: float
    connected_num: str = UNKNOWN
    connected_name: str = UNKNOWN
    priority: int = 1
    state: int = 0
    application: str = ""
    app_data: str = ""
    bridge: str = ""
    # Channel variables: the dialplan's Set, AGI's SET VARIABLE and AMI's Setvar write them.
    variables: dict[str, str] = field(default_factory=dict)
    # Where AMI shows the channel while it waits to run ``context``/``exten``: an
    # Originate's leg sits in its endpoint's context at ``s`` until the phone answers.
    waiting_in: tuple[str, str] | None = None

    def fields(self, prefix: str = "") -> Fields:
        context, exten = self.waiting_in or (self.context, self.exten)
        return {
            f"{prefix}Channel": self.name,
            f"{prefix}ChannelState": str(self.state),
            f"{prefix}ChannelStateDesc": STATE_DESC[self.state],
            f"{prefix}CallerIDNum": self.caller_num or UNKNOWN,
            f"{prefix}CallerIDName": self.caller_name or UNKNOWN,
            f"{prefix}ConnectedLineNum": self.connected_num or UNKNOWN,
            f"{prefix}ConnectedLineName": self.connected_name or UNKNOWN,
            f"{prefix}Language": "en",
            f"{prefix}AccountCode": "",
            f"{prefix}Context": context,
            f"{prefix}Exten": exten,
            f"{prefix}Priority": str(self.priority),
            f"{prefix}Uniqueid": self.uniqueid,
            f"{prefix}Linkedid": self.linkedid,
        }


@dataclass(eq=False, slots=True)
class _Device:
    """A phone, shared by every queue it is a member of (ringinuse = no)."""

    answers: bool
    busy_with: str | None = None  # linkedid
    ringing: int = 0
    free_at: float = 0.0  # monotonic end of wrap-up
    reported: int = NOT_INUSE  # the status its members' QueueMemberStatus last said


@dataclass(eq=False, slots=True)
class _Member:
    config: MemberConfig
    queue: str
    login_time: int
    paused: bool = False
    reason: str = ""
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0
    penalty: int = 0
    dynamic: bool = False
    in_call: bool = False  # app_queue's: from AgentConnect to the end of this queue's call

    @property
    def interface(self) -> str:
        return self.config.interface

    @property
    def state_interface(self) -> str:
        return self.config.state_interface or self.config.interface


@dataclass(eq=False, slots=True)
class _Queue:
    config: QueueConfig
    members: dict[str, _Member]
    waiting: list[_Call] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    hold_total: int = 0
    talk_total: int = 0
    rr_next: int = 0


@dataclass(eq=False, slots=True)
class _Attempt:
    member: _Member
    channel: Channel
    started: float
    task: asyncio.Task[None] | None = None


@dataclass(eq=False, slots=True)
class _Dial:
    """Dial() of one phone from [cti-route]: the phone is a device, not a queue member."""

    interface: str
    device: str  # its key in Pbx.devices
    channel: Channel
    app_data: str  # Dial's arguments, for the Cdr
    outcome: asyncio.Future[str]  # ANSWER, or BUSY when the phone rejected the call
    task: asyncio.Task[None] | None = None  # answers after the call's answer delay
    answered_at: float | None = None  # monotonic


@dataclass(eq=False, slots=True)
class _Spy:
    """ChanSpy running on an originated leg: the channel-name prefix it looks for, whom it
    listens to now, and whether it ends with that channel (option E)."""

    leg: Channel
    prefix: str
    ends_with_spyee: bool
    spyee: Channel | None = None


@dataclass(eq=False, slots=True)
class _Call:
    spec: CallSpec
    caller: Channel
    connected: asyncio.Future[_Attempt]
    hangup_by: asyncio.Future[str]  # "caller" or "agent"
    point: RoutePointConfig | None = None
    deadline: float | None = None  # monotonic end of the caller's patience
    queue: str = ""
    joined: float = 0.0  # monotonic
    leave_at: float | None = None  # Queue()'s own timeout in the current queue
    priority: int = 0  # QUEUE_PRIO: app_queue seats higher priorities first
    original_position: int = 0
    attempts: dict[str, _Attempt] = field(default_factory=dict)
    retry_at: float = 0.0
    agent: _Attempt | None = None
    answered_at: float = 0.0
    dial: _Dial | None = None
    # Pending while a Redirect into [cti-route] can move the call (it waits in a queue or
    # a Dial rings); its result is the extension to run.
    redirect: asyncio.Future[str] | None = None


class Pbx:
    def __init__(self, config: SimConfig, on_event: Callable[[bytes], None]) -> None:
        self.config = config
        self.on_event = on_event
        self.rng = random.Random(config.seed)
        self.booted = time.time()
        self.channels: dict[str, Channel] = {}  # by channel name
        self.calls: dict[str, _Call] = {}  # by linkedid
        self.devices: dict[str, _Device] = {}
        self.queues: dict[str, _Queue] = {}
        self.route_points = {p.name: p for p in config.route_points}
        self.globals: dict[str, str] = {}  # AMI Setvar without a channel
        now = int(self.booted)
        for q in config.queues:
            members = {m.interface: _Member(m, q.name, now) for m in q.members}
            self.queues[q.name] = _Queue(q, members)
            for m in q.members:
                self.devices.setdefault(m.state_interface or m.interface, _Device(m.answers))
        self._uniqueids = itertools.count(0)
        self._channel_numbers = itertools.count(0)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._originated: dict[str, asyncio.Future[None]] = {}  # ringing legs, by channel
        self._originated_devices: dict[str, str] = {}  # an Originate's leg -> its device
        self._spies: dict[str, _Spy] = {}  # by the spying channel's name

    # --- events -----------------------------------------------------------------------

    def emit(self, name: str, privilege: str, *parts: Fields) -> None:
        fields: Fields = {"Event": name, "Privilege": privilege, "Timestamp": f"{time.time():.6f}"}
        for part in parts:
            fields.update(part)
        self.on_event(encode(fields))

    def _new_channel(
        self,
        device: str,
        caller_num: str,
        caller_name: str,
        linkedid: str | None,
        context: str,
        exten: str,
        state: int = 0,
        waiting: bool = False,
    ) -> Channel:
        """A new channel: an inbound call's is born ringing (Ring) in its context, a leg
        Asterisk makes to a phone is born Down in the phone's context at ``s`` (``waiting``:
        an Originate's, which runs ``context``/``exten`` once answered)."""
        now = time.time()
        uniqueid = f"{int(now)}.{next(self._uniqueids)}"
        name = f"{device}-{next(self._channel_numbers):08x}"
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
        self._spy_look()
        return channel

    def _state(self, channel: Channel, state: int) -> None:
        channel.state = state
        self.emit("Newstate", "call,all", channel.fields())

    def _exten(self, channel: Channel, priority: int, app: str, data: str) -> None:
        channel.priority, channel.application, channel.app_data = priority, app, data
        self.emit(
            "Newexten",
            "dialplan,all",
            channel.fields(),
            {"Extension": channel.exten, "Application": app, "AppData": data},
        )

    def _varset(self, channel: Channel, variable: str, value: str) -> None:
        channel.variables[variable] = value
        self.emit(
            "VarSet", "dialplan,all", channel.fields(), {"Variable": variable, "Value": value}
        )

    def _device_changed(self, device_key: str | None) -> None:
        """A phone's state changed: app_queue reports it as a QueueMemberStatus of every
        member whose state interface it is, when the status it computes has changed."""
        device = self.devices.get(device_key or "")
        if device is None:
            return
        status = INUSE if device.busy_with is not None else RINGING if device.ringing else NOT_INUSE
        if status == device.reported:
            return
        device.reported = status
        for queue in self.queues.values():
            for member in queue.members.values():
                if member.state_interface == device_key:
                    self.emit(
                        "QueueMemberStatus", "agent,all", self.member_fields(member, live=True)
                    )

    def _hangup_channel(self, channel: Channel, cause: int = 16) -> None:
        self.channels.pop(channel.name, None)
        # ChanSpy notices first that the channel it listens to is going (ChanSpyStop), and
        # with option E its own leg ends right after that channel's Hangup.
        ended = [spy for spy in self._spies.values() if spy.spyee is channel]
        for spy in ended:
            self._spy_stop(spy)
        own = self._spies.pop(channel.name, None)
        if own is not None and own.spyee is not None:
            self._spy_stop(own)
        text = {
            0: "Unknown",
            16: "Normal Clearing",
            19: "User alerting, no answer",
            26: "Answered elsewhere",
        }.get(cause, "")
        self.emit("Hangup", "call,all", channel.fields(), {"Cause": str(cause), "Cause-txt": text})
        self._originated_gone(channel)
        for spy in ended:
            if spy.ends_with_spyee and spy.leg.name in self.channels:
                self._dialplan_end(spy.leg)

    # --- calls ------------------------------------------------------------------------

    def place_call(self, spec: CallSpec) -> str:
        """Start an inbound call to the DID of ``spec.queue`` (a queue or a route point);
        returns its Linkedid."""
        point = self.route_points.get(spec.queue)
        did = point.did if point is not None else self.queues[spec.queue].config.did
        loop = asyncio.get_running_loop()
        caller = self._new_channel(
            self.config.trunk, spec.number, spec.name, None, "from-trunk", did, state=4
        )
        call = _Call(spec, caller, loop.create_future(), loop.create_future(), point)
        self.calls[caller.linkedid] = call
        self._own(self._run_call(call), f"call {caller.linkedid}")
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

    def hangup(self, linkedid: str, by: str = "caller") -> None:
        call = self.calls.get(linkedid)
        if call is not None and not call.hangup_by.done():
            call.hangup_by.set_result(by)

    def answer(self, linkedid: str, interface: str | None = None) -> bool:
        """Answer a ringing call now, at ``interface`` or whichever phone rings (a queue's
        member or a route point's Dial)."""
        call = self.calls.get(linkedid)
        if call is None or self.is_answered(linkedid):
            return False
        dial = call.dial
        if dial is not None and not dial.outcome.done() and interface in (None, dial.interface):
            self._dial_answer(call, dial)
            return True
        for attempt in call.attempts.values():
            if interface in (None, attempt.member.interface):
                self._answer(call, attempt)
                return True
        return False

    async def _run_call(self, call: _Call) -> None:
        caller, spec, point = call.caller, call.spec, call.point
        mode = point.consent if point is not None else self.queues[spec.queue].config.consent
        try:
            self._arrive(call)
            if spec.consent is not None and mode != "none":
                if await self._until_hangup(call, self.config.announcement_s):
                    return self._hang_up_unqueued(call)
                self._consent(call, spec.consent, mode)
            # Patience runs from here whatever the caller then waits in (a Dial, holding,
            # queues): a route point that holds the call again and again cannot renew it.
            if spec.patience_s is not None:
                call.deadline = time.monotonic() + spec.patience_s
            if point is not None:
                return await self._route_point(call)
            self._exten(caller, 7, "Queue", self._queue_app_data(spec.queue))
            self._join(call, spec.queue, self.config.queue_timeout_s)
            if await self._wait_in_queue(call) is None:  # Queue()'s timeout: then Hangup()
                self._exten(caller, 8, "Hangup", "")
                self._dialplan_end(caller, call)
        finally:
            for attempt in list(call.attempts.values()):
                if attempt.task is not None:
                    attempt.task.cancel()
            if call.dial is not None and call.dial.task is not None:
                call.dial.task.cancel()
            self.calls.pop(caller.linkedid, None)

    async def _wait_in_queue(self, call: _Call) -> str | None:
        """The caller in app_queue until answered (then the talk and the end), gone
        (abandon), moved by a Redirect into [cti-route] (returns that extension), or past
        Queue()'s own timeout (leaves; returns None). "": the call has ended."""
        if call.point is not None:
            call.redirect = asyncio.get_running_loop().create_future()
        try:
            while True:
                ends = [t for t in (call.deadline, call.leave_at) if t is not None]
                timeout = max(0.0, min(ends) - time.monotonic()) if ends else None
                waits: set[asyncio.Future[Any]] = {call.connected, call.hangup_by}
                if call.redirect is not None:
                    waits.add(call.redirect)
                await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                now = time.monotonic()
                if call.connected.done():
                    break
                if call.redirect is not None and call.redirect.done():
                    self._let_go(call)
                    return call.redirect.result()
                if call.hangup_by.done() or (call.deadline is not None and now >= call.deadline):
                    self._abandon(call)
                    return ""
                if call.leave_at is not None and now >= call.leave_at:
                    self._let_go(call, timed_out=True)
                    return None
                # Otherwise a Redirect to another queue's DID moved the caller out of a queue
                # with a timeout into one without: wait on there.
        finally:
            call.redirect = None
        talk_ends = await self._until_hangup(call, call.spec.talk_s)
        self._complete(call, call.hangup_by.result() if talk_ends else "caller")
        return ""

    async def _until_hangup(self, call: _Call, seconds: float) -> bool:
        """Sleep; True when a hangup was asked for meanwhile."""
        done, _ = await asyncio.wait({call.hangup_by}, timeout=seconds)
        return bool(done)

    def _arrive(self, call: _Call) -> None:
        """[from-trunk] sets the DID's queue and consent mode and goes to [cti-inbound],
        which answers: the caller, born ringing, is Up there (no Newstate to Ring)."""
        c = call.caller
        for variable, value in (
            ("SIPURI", f"sip:{c.caller_num}@203.0.113.10:5060"),
            ("SIPDOMAIN", "203.0.113.10"),
            ("SIPCALLID", f"{uuid.uuid4().hex[:12]}@203.0.113.10"),
        ):
            self._varset(c, variable, value)
        self._exten(c, 1, "NoOp", f"Inbound {call.spec.queue}")
        self._exten(c, 5, "Goto", f"{INBOUND_CONTEXT},s,1")
        c.context, c.exten = INBOUND_CONTEXT, "s"
        self._exten(c, 1, "Set", "CHANNEL(language)=en")
        self._exten(c, 2, "Answer", "")
        self._state(c, 6)

    def _consent(self, call: _Call, consent: str, mode: str) -> None:
        c = call.caller
        method = "implied" if mode == "implied" else "dtmf"
        # The consent AGI (cti/agi/consent.py) sets CONSENT and CONSENT_METHOD, then sends
        # the UserEvent; the variables stay on the channel for AMI's Status to show.
        self._varset(c, "CONSENT", consent)
        self._varset(c, "CONSENT_METHOD", method)
        self._exten(c, 4, "UserEvent", f"RecordingConsent,Consent: {consent},Method: {method}")
        self.emit(
            "UserEvent",
            "user,all",
            c.fields(),
            {
                "UserEvent": "RecordingConsent",
                "Consent": consent,
                "Method": method,
            },
        )
        self._exten(c, 5, "GotoIf", f"{int(consent != 'granted')}?queue")
        if consent == "granted":
            self._exten(c, 6, "MixMonitor", f"{c.uniqueid}.wav,b")
            self._varset(c, "MIXMONITOR_FILENAME", f"/var/spool/asterisk/monitor/{c.uniqueid}.wav")
            self.emit("MixMonitorStart", "call,all", c.fields())
            if self.config.recordings_dir is not None:
                write_tone(self.config.recordings_dir / f"{c.uniqueid}.wav")

    def _hang_up_unqueued(self, call: _Call) -> None:
        self.emit("HangupRequest", "call,all", call.caller.fields())
        self._hangup_channel(call.caller)

    def _dialplan_end(self, channel: Channel, call: _Call | None = None) -> None:
        """The dialplan hangs the channel up (Hangup(), or no next priority): a soft hangup
        request, then the Hangup, as after a Queue() timeout (queue-timeout.ami)."""
        self.emit("SoftHangupRequest", "call,all", channel.fields(), {"Cause": "16"})
        if call is None:  # a leg of its own (the supervisor's): its end has no cause
            self._hangup_channel(channel, cause=CAUSE_NONE)
            return
        self._hangup_channel(channel)
        self._cdr(call, "ANSWERED", None, "Hangup", "")

    def _queue_app_data(self, queue: str, timeout_s: float | None = None) -> str:
        """Queue()'s arguments as the dialplan writes them: Queue(<queue>,t,,,<timeout>)."""
        timeout = self.config.queue_timeout_s if timeout_s is None else timeout_s
        return f"{queue},t,,,{timeout:g}" if timeout is not None else f"{queue},t"

    def _join(self, call: _Call, queue_name: str, timeout_s: float | None = None) -> None:
        """The caller enters ``queue_name``; ``timeout_s``: Queue()'s timeout argument."""
        queue = self.queues[queue_name]
        call.queue, call.joined, call.leave_at = queue_name, time.monotonic(), None
        if timeout_s is not None:
            call.leave_at = call.joined + timeout_s
        # app_queue seats a caller behind everyone of the same or a higher priority.
        position = next(
            (i for i, other in enumerate(queue.waiting) if other.priority < call.priority),
            len(queue.waiting),
        )
        queue.waiting.insert(position, call)
        call.original_position = position + 1
        self.emit(
            "QueueCallerJoin",
            "agent,all",
            call.caller.fields(),
            {
                "Queue": queue_name,
                "Position": str(position + 1),
                "Count": str(len(queue.waiting)),
            },
        )
        self.dispatch()

    def _record_abandoned(self, call: _Call) -> None:
        """app_queue's record_abandoned: every exit without an agent (the caller hanging up,
        Queue()'s timeout, a Redirect) is a QueueCallerAbandon and counts in the queue's
        Abandoned; only the caller's own hang-up is preceded by their HangupRequest."""
        queue = self.queues[call.queue]
        queue.abandoned += 1
        self.emit(
            "QueueCallerAbandon",
            "agent,all",
            call.caller.fields(),
            {
                "Queue": call.queue,
                "Position": str(queue.waiting.index(call) + 1),
                "OriginalPosition": str(call.original_position),
                "HoldTime": str(int(time.monotonic() - call.joined)),
            },
        )

    def _let_go(self, call: _Call, timed_out: bool = False) -> None:
        """The caller leaves the queue unanswered and stays on the line: Queue()'s timeout,
        or a Redirect (Asterisk's async goto hangs nothing up, so no HangupRequest). A phone
        ringing at the timeout rang out: app_queue caps each ring at the time the caller has
        left and reports it as any ring that ran out (AgentRingNoAnswer, then DialEnd
        NOANSWER and CANCEL: ring-no-answer.ami of tests/captures/real/)."""
        if timed_out:
            for attempt in list(call.attempts.values()):
                if attempt.task is not None:
                    attempt.task.cancel()
                self._no_answer(call, attempt)
        self._stop_ringing(call)
        self._record_abandoned(call)
        self._leave(call)

    def _leave(self, call: _Call) -> None:
        queue = self.queues[call.queue]
        position = queue.waiting.index(call) + 1
        queue.waiting.remove(call)
        self.emit(
            "QueueCallerLeave",
            "agent,all",
            call.caller.fields(),
            {
                "Queue": call.queue,
                "Position": str(position),
                "Count": str(len(queue.waiting)),
            },
        )

    # --- the ACD route point ([cti-route]) ----------------------------------------------

    async def _route_point(self, call: _Call) -> None:
        """Walk [cti-route] from ``s``; each extension's step returns the one to run next
        ("" once the call has ended), and a Redirect may choose any of them."""
        steps: dict[str, Callable[[_Call], Awaitable[str]]] = {
            "s": self._route_ask,
            "agent": self._route_dial,
            "hold": self._route_hold,
            "fallback": self._route_fallback,
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
                return self._hang_up_unqueued(call)
            step = await run(call)

    def _goto(self, call: _Call, exten: str) -> RoutePointConfig:
        assert call.point is not None
        call.caller.context, call.caller.exten = ROUTE_CONTEXT, exten
        return call.point

    def _patience_left(self, call: _Call) -> float | None:
        return None if call.deadline is None else max(0.0, call.deadline - time.monotonic())

    async def _route_ask(self, call: _Call) -> str:
        """``s``: tell the daemon the call is here, ask its FastAGI, follow the answer."""
        caller, point = call.caller, self._goto(call, "s")
        self._exten(
            caller, 1, "UserEvent", f"CtiRoute,Route: {point.name},Queue: {point.hold_queue}"
        )
        self.emit(
            "UserEvent",
            "user,all",
            caller.fields(),
            {
                "UserEvent": "CtiRoute",
                "Route": point.name,
                "Queue": point.hold_queue,
            },
        )
        self._exten(caller, 2, "Set", "CTI_ROUTE=")
        self._varset(caller, "CTI_ROUTE", "")
        self._exten(caller, 3, "Set", "CTI_ROUTE_PRIORITY=0")
        self._varset(caller, "CTI_ROUTE_PRIORITY", "0")
        host, port = self.config.agi_host, self.config.agi_port
        self._exten(caller, 4, "AGI", f"agi://{host}:{port}/{agi.SCRIPT},{point.name}")
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
        secret = self.config.agi_secret
        globals_ = {"CTI_AGI_SECRET": secret} if secret else {}
        talk = self._own(
            agi.converse(
                host,
                port,
                env,
                lambda k, v: self._varset(caller, k, v),
                point.agi_timeout_s,
                lambda k: caller.variables.get(k, globals_.get(k)),
            ),
            f"agi {caller.name}",
        )
        waits: set[asyncio.Future[Any]] = {talk, call.hangup_by}
        await asyncio.wait(
            waits, timeout=self._patience_left(call), return_when=asyncio.FIRST_COMPLETED
        )
        if call.hangup_by.done() or not talk.done():  # the caller hung up meanwhile
            talk.cancel()
            self._hang_up_unqueued(call)
            return ""
        status = talk.result()
        self._varset(caller, "AGISTATUS", status)
        route = caller.variables.get("CTI_ROUTE", "")
        self._exten(caller, 5, "GotoIf", f"{int(status != agi.SUCCESS)}?fallback,1")
        if status == agi.SUCCESS and route in ("agent", "hold"):
            self._exten(caller, 6 if route == "agent" else 7, "GotoIf", f"1?{route},1")
            return route
        return "fallback"  # no answer, or one the dialplan does not know: the safety net

    async def _route_dial(self, call: _Call) -> str:
        """``agent``: Dial(${CTI_ROUTE_AGENT},${CTI_ROUTE_RING_S}), outside app_queue (no
        AgentCalled, no queue statistics); not answered: CtiRouteNoAnswer, then ``hold``."""
        caller, point = call.caller, self._goto(call, "agent")
        interface = caller.variables.get("CTI_ROUTE_AGENT", "")
        ring_text = caller.variables.get("CTI_ROUTE_RING_S", "")
        ring_s = _seconds(ring_text, point.ring_s)
        self._exten(caller, 1, "Dial", f"{interface},{ring_text}")
        if not interface:  # Dial without an argument fails, and the channel with it
            log.info("simulator: %s: Dial without an interface; hanging up", caller.name)
            self._hang_up_unqueued(call)
            return ""
        status = self._dial_refused(interface)
        if status is None:
            dial = self._dial_begin(call, interface, ring_s, f"{interface},{ring_text}")
            redirect: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            call.redirect = redirect
            left = self._patience_left(call)
            waits: set[asyncio.Future[Any]] = {dial.outcome, call.hangup_by, redirect}
            await asyncio.wait(
                waits,
                timeout=ring_s if left is None else min(ring_s, left),
                return_when=asyncio.FIRST_COMPLETED,
            )
            call.redirect = None
            if dial.answered_at is not None:
                talk_ends = await self._until_hangup(call, call.spec.talk_s)
                self._dial_complete(call, dial, call.hangup_by.result() if talk_ends else "caller")
                return ""
            if dial.outcome.done():
                status = dial.outcome.result()  # the phone rejected it
            elif redirect.done():
                status = "CANCEL"
            elif call.hangup_by.done() or (left is not None and left <= ring_s):
                self._dial_abandon(call, dial)
                return ""
            else:
                status = "NOANSWER"
            self._dial_end(call, dial, status)
            if redirect.done():
                return redirect.result()
        self._varset(caller, "DIALSTATUS", status)
        self._exten(
            caller, 2, "UserEvent", f"CtiRouteNoAnswer,Agent: {interface},DialStatus: {status}"
        )
        self.emit(
            "UserEvent",
            "user,all",
            caller.fields(),
            {
                "UserEvent": "CtiRouteNoAnswer",
                "Agent": interface,
                "DialStatus": status,
            },
        )
        self._exten(caller, 3, "Goto", "hold,1")
        return "hold"

    async def _route_hold(self, call: _Call) -> str:
        """``hold``: the hold queue has no members, so the caller hears music until the
        daemon redirects the call or Queue()'s timeout sends it to ``fallback``."""
        point = self._goto(call, "hold")
        self._queue_priority(call)
        self._exten(call.caller, 2, "Queue", f"{point.hold_queue},,,,{point.hold_s:g}")
        self._join(call, point.hold_queue, point.hold_s)
        step = await self._wait_in_queue(call)
        if step is None:  # held too long: the daemon may be down
            self._exten(call.caller, 3, "Goto", "fallback,1")
            return "fallback"
        return step

    async def _route_fallback(self, call: _Call) -> str:
        """``fallback``: the plain queue, at the priority the daemon gave the call."""
        point = self._goto(call, "fallback")
        self._queue_priority(call)
        self._exten(call.caller, 2, "Queue", self._queue_app_data(point.fallback_queue))
        self._join(call, point.fallback_queue, self.config.queue_timeout_s)
        step = await self._wait_in_queue(call)
        if step is None:  # Queue()'s timeout: then Hangup()
            self._exten(call.caller, 3, "Hangup", "")
            self._dialplan_end(call.caller, call)
            return ""
        return step

    def _queue_priority(self, call: _Call) -> None:
        value = call.caller.variables.get("CTI_ROUTE_PRIORITY", "0")
        self._exten(call.caller, 1, "Set", f"QUEUE_PRIO={value}")
        self._varset(call.caller, "QUEUE_PRIO", value)
        try:
            call.priority = int(value)
        except ValueError:
            call.priority = 0  # app_queue reads a priority that is not a number as 0

    # --- Dial from the route point ----------------------------------------------------

    def _device_of(self, interface: str) -> str | None:
        """The device behind a dialled interface: a queue member's (Local/ members name
        theirs), or a device by its own name."""
        for queue in self.queues.values():
            member = queue.members.get(interface)
            if member is not None:
                return member.state_interface
        return interface if interface in self.devices else None

    def _dial_refused(self, interface: str) -> str | None:
        """The DIALSTATUS of a Dial that cannot ring (no channel is made), or None."""
        device = self._device_of(interface)
        if device is None:
            return "CHANUNAVAIL"
        # Ringing counts as busy too (ringinuse = no, as for queue members); paused does
        # not: pausing is app_queue's business, Dial does not know about it.
        if self.devices[device].busy_with is not None or self.devices[device].ringing:
            return "BUSY"
        return None

    def _dial_begin(self, call: _Call, interface: str, ring_s: float, app_data: str) -> _Dial:
        """The outgoing leg, with the events app_queue's legs have (``_ring``) but its own."""
        caller = call.caller
        device_name = self._device_of(interface)
        assert device_name is not None
        device = self.devices[device_name]
        device.ringing += 1
        leg = self._new_channel(interface, "", "", caller.linkedid, PHONE_CONTEXT, "s")
        leg.application, leg.app_data = "AppDial", "(Outgoing Line)"
        leg.connected_num, leg.connected_name = caller.caller_num, caller.caller_name
        dial = _Dial(
            interface, device_name, leg, app_data, asyncio.get_running_loop().create_future()
        )
        call.dial = dial
        self.emit("NewConnectedLine", "call,all", leg.fields())
        # A real Dial(PJSIP/1001) says DialString: 1001 (route-point-answered.ami), app_queue
        # the member's whole interface. The daemon does not read DialString; tests of the
        # simulator match the route point's Dial by its interface here.
        self.emit(
            "DialBegin", "call,all", caller.fields(), leg.fields("Dest"), {"DialString": interface}
        )
        self._state(leg, 5)
        self._device_changed(device_name)
        self.emit(
            "DialState", "call,all", caller.fields(), leg.fields("Dest"), {"DialStatus": "RINGING"}
        )
        delay = call.spec.answer_after
        if device.answers and delay is not None and delay < ring_s:
            dial.task = self._own(self._dial_rings(call, dial, delay), f"ring {leg.name}")
        return dial

    async def _dial_rings(self, call: _Call, dial: _Dial, delay: float) -> None:
        await asyncio.sleep(delay)
        self._dial_answer(call, dial)

    def _dial_answer(self, call: _Call, dial: _Dial) -> None:
        if dial.outcome.done():
            return
        if dial.task is not None and dial.task is not asyncio.current_task():
            dial.task.cancel()
        device = self.devices[dial.device]
        device.ringing -= 1
        device.busy_with = call.caller.linkedid
        dial.answered_at = time.monotonic()
        self._state(dial.channel, 6)
        self._device_changed(dial.device)
        self.emit(
            "DialEnd",
            "call,all",
            call.caller.fields(),
            dial.channel.fields("Dest"),
            {"DialStatus": "ANSWER"},
        )
        self._bridge(dial.channel, call.caller)
        dial.outcome.set_result("ANSWER")

    def _dial_end(self, call: _Call, dial: _Dial, status: str) -> None:
        """The leg of a Dial that was not answered goes away."""
        if dial.task is not None:
            dial.task.cancel()
        self.devices[dial.device].ringing -= 1
        call.dial = None
        self.emit(
            "DialEnd",
            "call,all",
            call.caller.fields(),
            dial.channel.fields("Dest"),
            {"DialStatus": status},
        )
        self._hangup_channel(dial.channel, CAUSE_NONE)
        self._device_changed(dial.device)
        self.dispatch()  # the phone is free for queue callers again

    def _dial_abandon(self, call: _Call, dial: _Dial) -> None:
        """The caller hangs up while the Dial rings."""
        self.emit("HangupRequest", "call,all", call.caller.fields())
        self._dial_end(call, dial, "CANCEL")
        self._hangup_channel(call.caller)
        self._cdr(call, "NO ANSWER", None, "Dial", dial.app_data)

    def _dial_complete(self, call: _Call, dial: _Dial, by: str) -> None:
        """A Dial's call ends: as a queue call does, without app_queue's AgentComplete and
        statistics, and without wrap-up (app_queue only imposes it after its own calls)."""
        leg, caller = dial.channel, call.caller
        first, second = (caller, leg) if by == "caller" else (leg, caller)
        self.emit("HangupRequest", "call,all", first.fields())
        self._unbridge(first, second)
        self._hangup_channel(leg)
        self._cdr(call, "ANSWERED", leg, "Dial", dial.app_data)
        self._hangup_channel(caller)
        self.devices[dial.device].busy_with = None
        self._device_changed(dial.device)
        self.dispatch()

    # --- ringing members --------------------------------------------------------------

    def dispatch(self) -> None:
        """Ring free members for waiting callers, head of each queue first (autofill)."""
        now = time.monotonic()
        for queue in self.queues.values():
            for call in list(queue.waiting):
                if call.agent is not None or call.retry_at > now:
                    continue
                ringall = queue.config.strategy == "ringall"
                if call.attempts and not ringall:
                    continue
                free = [
                    m
                    for m in queue.members.values()
                    if self._is_free(m, now) and m.interface not in call.attempts
                ]
                if not free:
                    continue
                for member in free if ringall else [self._choose(queue, free)]:
                    self._ring(call, member)

    def _is_free(self, member: _Member, now: float) -> bool:
        device = self.devices[member.state_interface]
        return (
            not member.paused
            and device.busy_with is None
            and device.ringing == 0
            and now >= device.free_at
        )

    def _choose(self, queue: _Queue, free: list[_Member]) -> _Member:
        strategy = queue.config.strategy
        if strategy == "leastrecent":
            return min(free, key=lambda m: m.last_call)
        if strategy == "fewestcalls":
            return min(free, key=lambda m: m.calls_taken)
        if strategy == "random":
            return self.rng.choice(free)
        order = list(queue.members.values())  # rrmemory: the next one after the last rung
        for offset in range(len(order)):
            member = order[(queue.rr_next + offset) % len(order)]
            if member in free:
                queue.rr_next = (order.index(member) + 1) % len(order)
                return member
        return free[0]

    def _ring(self, call: _Call, member: _Member) -> None:
        caller = call.caller
        device = self.devices[member.state_interface]
        device.ringing += 1
        leg = self._new_channel(member.interface, "", "", caller.linkedid, PHONE_CONTEXT, "s")
        leg.application, leg.app_data = "AppQueue", "(Outgoing Line)"
        attempt = _Attempt(member, leg, time.monotonic())
        call.attempts[member.interface] = attempt
        leg.connected_num, leg.connected_name = caller.caller_num, caller.caller_name
        self.emit(
            "AgentCalled",
            "agent,all",
            caller.fields(),
            leg.fields("Dest"),
            {
                "Queue": call.queue,
                "Interface": member.interface,
                "MemberName": member.config.name,
            },
        )
        self.emit(
            "DialBegin",
            "call,all",
            caller.fields(),
            leg.fields("Dest"),
            {"DialString": member.interface},
        )
        self._state(leg, 5)
        self.emit("NewConnectedLine", "call,all", leg.fields())
        self._device_changed(member.state_interface)
        self.emit(
            "DialState", "call,all", caller.fields(), leg.fields("Dest"), {"DialStatus": "RINGING"}
        )
        attempt.task = self._own(self._ring_until(call, attempt), f"ring {leg.name}")

    async def _ring_until(self, call: _Call, attempt: _Attempt) -> None:
        queue = self.queues[call.queue].config
        delay = call.spec.answer_after
        answers = self.devices[attempt.member.state_interface].answers and delay is not None
        if answers and delay is not None and delay < queue.ring_timeout_s:
            await asyncio.sleep(delay)
            self._answer(call, attempt)
            return
        await asyncio.sleep(queue.ring_timeout_s)
        self._no_answer(call, attempt)
        call.retry_at = time.monotonic() + queue.retry_s
        await asyncio.sleep(queue.retry_s)
        self.dispatch()

    def _end_ring(
        self, call: _Call, attempt: _Attempt, statuses: tuple[str, ...], cause: int = CAUSE_NONE
    ) -> None:
        call.attempts.pop(attempt.member.interface, None)
        self.devices[attempt.member.state_interface].ringing -= 1
        for status in statuses:
            self.emit(
                "DialEnd",
                "call,all",
                call.caller.fields(),
                attempt.channel.fields("Dest"),
                {"DialStatus": status},
            )
        self._hangup_channel(attempt.channel, cause)
        self._device_changed(attempt.member.state_interface)

    def _stop_ringing(self, call: _Call, statuses: tuple[str, ...] = ("CANCEL",)) -> None:
        for attempt in list(call.attempts.values()):
            if attempt.task is not None:
                attempt.task.cancel()
            self._end_ring(call, attempt, statuses)

    def _no_answer(self, call: _Call, attempt: _Attempt) -> None:
        ring_ms = int((time.monotonic() - attempt.started) * 1000)
        self.emit(
            "AgentRingNoAnswer",
            "agent,all",
            call.caller.fields(),
            attempt.channel.fields("Dest"),
            {
                "Queue": call.queue,
                "Interface": attempt.member.interface,
                "MemberName": attempt.member.config.name,
                "RingTime": str(ring_ms),
            },
        )
        self._end_ring(call, attempt, ("NOANSWER", "CANCEL"))

    def _answer(self, call: _Call, attempt: _Attempt) -> None:
        if call.agent is not None or call.connected.done():
            return
        member, leg, caller = attempt.member, attempt.channel, call.caller
        now = time.monotonic()
        call.attempts.pop(member.interface, None)
        if attempt.task is not None and attempt.task is not asyncio.current_task():
            attempt.task.cancel()
        for other in list(call.attempts.values()):  # ringall: the others stop ringing
            if other.task is not None:
                other.task.cancel()
            self._end_ring(call, other, ("CANCEL",))
        device = self.devices[member.state_interface]
        device.ringing -= 1
        device.busy_with = caller.linkedid
        call.agent, call.answered_at = attempt, now
        self._state(leg, 6)
        self.emit(
            "DialEnd", "call,all", caller.fields(), leg.fields("Dest"), {"DialStatus": "ANSWER"}
        )
        self._leave(call)
        hold = int(now - call.joined)
        queue = self.queues[call.queue]
        queue.hold_total += hold
        self.emit(
            "AgentConnect",
            "agent,all",
            caller.fields(),
            leg.fields("Dest"),
            {
                "Queue": call.queue,
                "Interface": member.interface,
                "MemberName": member.config.name,
                "HoldTime": str(hold),
                "RingTime": str(int(now - attempt.started)),
            },
        )
        # The phone in use comes from Asterisk's device state thread, before or after
        # AgentConnect (InCall 0 or 1: two recordings of consent-declined.ami differed);
        # here after it.
        member.in_call = True
        self._device_changed(member.state_interface)
        self._bridge(leg, caller)
        call.connected.set_result(attempt)
        self.dispatch()  # phones that stopped ringing here may take the next caller

    def _bridge(self, leg: Channel, caller: Channel) -> None:
        bridge = str(uuid.uuid4())
        bridge_fields = {
            "BridgeUniqueid": bridge,
            "BridgeType": "basic",
            "BridgeTechnology": "simple_bridge",
            "BridgeCreator": UNKNOWN,
            "BridgeName": UNKNOWN,
        }
        self.emit(
            "BridgeCreate",
            "call,all",
            bridge_fields,
            {"BridgeNumChannels": "0", "BridgeVideoSourceMode": "none"},
        )
        for count, channel in enumerate((leg, caller), start=1):
            channel.bridge = bridge
            self.emit(
                "BridgeEnter",
                "call,all",
                bridge_fields,
                {"BridgeNumChannels": str(count), "BridgeVideoSourceMode": "none"},
                channel.fields(),
            )

    def _unbridge(self, first: Channel, second: Channel) -> None:
        """``first`` hung up: both leave the bridge, which goes away."""
        bridge_fields = {
            "BridgeUniqueid": first.bridge,
            "BridgeType": "basic",
            "BridgeTechnology": "simple_bridge",
            "BridgeCreator": UNKNOWN,
            "BridgeName": UNKNOWN,
            "BridgeVideoSourceMode": "none",
        }
        self.emit(
            "BridgeLeave", "call,all", bridge_fields, {"BridgeNumChannels": "1"}, first.fields()
        )
        self.emit("SoftHangupRequest", "call,all", first.fields(), {"Cause": "16"})
        self.emit(
            "BridgeLeave", "call,all", bridge_fields, {"BridgeNumChannels": "0"}, second.fields()
        )
        self.emit("BridgeDestroy", "call,all", bridge_fields, {"BridgeNumChannels": "0"})

    # --- the end of a call --------------------------------------------------------------

    def _complete(self, call: _Call, by: str) -> None:
        assert call.agent is not None
        member, leg, caller = call.agent.member, call.agent.channel, call.caller
        talk = int(time.monotonic() - call.answered_at)
        hold = int(call.answered_at - call.joined)
        queue = self.queues[call.queue]
        queue.completed += 1
        queue.talk_total += talk
        first, second = (caller, leg) if by == "caller" else (leg, caller)
        device = self.devices[member.state_interface]
        self.emit("HangupRequest", "call,all", first.fields())
        # app_queue's wrap-up: the member's own wrapuptime, else the queue's.
        wrapup_s = member.config.wrapup_s or queue.config.wrapup_s
        self.emit(
            "AgentComplete",
            "agent,all",
            caller.fields(),
            leg.fields("Dest"),
            {
                "Queue": call.queue,
                "Interface": member.interface,
                "MemberName": member.config.name,
                "HoldTime": str(hold),
                "TalkTime": str(talk),
                "Reason": by,
            },
        )
        self._unbridge(first, second)
        self._hangup_channel(leg)
        self._cdr(call, "ANSWERED", leg)
        self._hangup_channel(caller)
        # The phone is free (QueueMemberStatus) only once the legs have hung up, after
        # AgentComplete, as in every answered call of tests/captures/real/.
        member.calls_taken += 1
        member.last_call = int(time.time())
        for m in self._memberships(member.interface):
            m.calls_taken, m.last_call = member.calls_taken, member.last_call
        member.in_call = False
        device.busy_with = None
        device.free_at = time.monotonic() + wrapup_s
        self._device_changed(member.state_interface)
        asyncio.get_running_loop().call_later(wrapup_s + 0.01, self.dispatch)

    def _abandon(self, call: _Call) -> None:
        """The caller hangs up in the queue: the far end's BYE is a HangupRequest, before
        app_queue notices (ring-no-answer.ami, Ali Kaya)."""
        caller = call.caller
        self.emit("HangupRequest", "call,all", caller.fields())
        self._stop_ringing(call, ("CANCEL", "CANCEL"))
        self._record_abandoned(call)
        self._leave(call)
        self.emit("SoftHangupRequest", "call,all", caller.fields(), {"Cause": "16"})
        self._hangup_channel(caller, cause=0)
        self._cdr(call, "NO ANSWER", None)
        self.dispatch()

    def _cdr(
        self,
        call: _Call,
        disposition: str,
        leg: Channel | None,
        application: str = "Queue",
        data: str | None = None,
    ) -> None:
        c = call.caller
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
                "LastData": self._queue_app_data(call.queue) if data is None else data,
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

    # --- actions ------------------------------------------------------------------------

    def _memberships(self, interface: str) -> list[_Member]:
        return [q.members[interface] for q in self.queues.values() if interface in q.members]

    def _member_status(self, member: _Member) -> tuple[int, bool]:
        """The member's Status (its device's) and InCall (app_queue's own flag: set at
        AgentConnect of this queue's call, so never for a call Dial or an Originate made)."""
        device = self.devices.get(member.state_interface)
        if device is None:
            return NOT_INUSE, member.in_call
        if device.busy_with is not None:
            return INUSE, member.in_call
        return (RINGING if device.ringing else NOT_INUSE), member.in_call

    def member_fields(self, member: _Member, live: bool) -> Fields:
        """QueueMember list items say Name/Location; live member events MemberName/Interface."""
        status, in_call = self._member_status(member)
        fields: Fields = {"Queue": member.queue}
        if live:
            fields.update({"MemberName": member.config.name, "Interface": member.interface})
        else:
            fields.update({"Name": member.config.name, "Location": member.interface})
        fields.update(
            {
                "StateInterface": member.state_interface,
                "Membership": "dynamic" if member.dynamic else "static",
                "Penalty": str(member.penalty),
                "CallsTaken": str(member.calls_taken),
                "LastCall": str(member.last_call),
                "LastPause": str(member.last_pause),
                "LoginTime": str(member.login_time),
                "InCall": str(int(in_call)),
                "Status": str(status),
                "Paused": str(int(member.paused)),
                "PausedReason": member.reason,
            }
        )
        if live:
            fields["Ringinuse"] = "0"
        fields["Wrapuptime"] = str(int(member.config.wrapup_s))
        return fields

    def queue_pause(
        self, action_id: str | None, interface: str, paused: bool, queue: str, reason: str
    ) -> Fields:
        members = [m for m in self._memberships(interface) if not queue or m.queue == queue]
        if not members:
            return response(action_id, False, "Interface not found")
        for member in members:
            member.paused, member.reason = paused, reason if paused else ""
            if paused:
                member.last_pause = int(time.time())
            self.emit("QueueMemberPause", "agent,all", self.member_fields(member, live=True))
        if not paused:
            self.dispatch()
        word = "paused" if paused else "unpaused"
        return response(action_id, True, f"Interface {word} successfully")

    def queue_add(
        self,
        action_id: str | None,
        queue_name: str,
        interface: str,
        name: str,
        penalty: int,
        paused: bool,
        state_interface: str,
    ) -> Fields:
        queue = self.queues.get(queue_name)
        if queue is None:
            return response(action_id, False, "Unable to add interface to queue: No such queue")
        if interface in queue.members:
            return response(action_id, False, "Unable to add interface: Already there")
        config = MemberConfig(interface, name or interface, state_interface=state_interface)
        member = _Member(
            config, queue_name, int(time.time()), paused=paused, penalty=penalty, dynamic=True
        )
        queue.members[interface] = member
        self.devices.setdefault(member.state_interface, _Device(answers=True))
        self.emit("QueueMemberAdded", "agent,all", self.member_fields(member, live=True))
        self.dispatch()
        return response(action_id, True, "Added interface to queue")

    def queue_remove(self, action_id: str | None, queue_name: str, interface: str) -> Fields:
        queue = self.queues.get(queue_name)
        if queue is None:
            return response(
                action_id, False, "Unable to remove interface from queue: No such queue"
            )
        member = queue.members.get(interface)
        if member is None:
            return response(action_id, False, "Unable to remove interface: Not there")
        fields = self.member_fields(member, live=True)
        del queue.members[interface]
        self.emit("QueueMemberRemoved", "agent,all", fields)
        return response(action_id, True, "Removed interface from queue")

    def hangup_channel(self, action_id: str | None, name: str) -> Fields:
        channel = self.channels.get(name)
        if channel is None:
            return response(action_id, False, "No such channel")
        call = self.calls.get(channel.linkedid)
        if call is None:  # an originated channel, not part of a queue call
            self._hangup_channel(channel)
        elif channel is call.caller:
            self.hangup(call.caller.linkedid, "caller")
        elif call.agent is not None and channel is call.agent.channel:
            self.hangup(call.caller.linkedid, "agent")
        elif call.dial is not None and channel is call.dial.channel:
            if call.dial.answered_at is not None:
                self.hangup(call.caller.linkedid, "agent")
            elif not call.dial.outcome.done():
                call.dial.outcome.set_result("BUSY")  # rejected at the phone
        else:  # a ringing phone rejected: counts as no answer there
            for attempt in list(call.attempts.values()):
                if attempt.channel is channel:
                    if attempt.task is not None:
                        attempt.task.cancel()
                    self._end_ring(call, attempt, ("BUSY",), cause=16)
                    call.retry_at = time.monotonic() + self.queues[call.queue].config.retry_s
        return response(action_id, True, "Channel Hungup")

    def redirect(self, action_id: str | None, name: str, context: str, exten: str) -> Fields:
        channel = self.channels.get(name)
        if channel is None:
            return response(action_id, False, f"Channel does not exist: {name}")
        call = self.calls.get(channel.linkedid)
        if (
            context == ROUTE_CONTEXT
            and call is not None
            and channel is call.caller
            and call.redirect is not None
            and not call.redirect.done()
        ):
            # The route walk leaves what the call waits in (a queue, a ringing Dial) and
            # runs that extension of [cti-route], as the async goto does in Asterisk.
            call.redirect.set_result(exten)
            return response(action_id, True, "Redirect successful")
        target = next((q for q in self.queues.values() if q.config.did == exten), None)
        channel.context, channel.exten = context, exten
        self._exten(channel, 1, "NoOp", f"Redirected to {exten}")
        if (
            call is not None
            and channel is call.caller
            and call.queue
            and target is not None
            and call in self.queues[call.queue].waiting
        ):
            self._let_go(call)
            self._exten(channel, 2, "Queue", self._queue_app_data(target.config.name))
            self._join(call, target.config.name, self.config.queue_timeout_s)
        return response(action_id, True, "Redirect successful")

    def setvar(self, action_id: str | None, name: str, variable: str, value: str) -> Fields:
        """AMI Setvar, answered as manager.c's action_setvar does."""
        if not variable:
            return response(action_id, False, "No variable specified")
        if not name:
            self.globals[variable] = value
            return response(action_id, True, "Variable Set")
        channel = self.channels.get(name)
        if channel is None:
            return response(action_id, False, "No such channel")
        self._varset(channel, variable, value)
        return response(action_id, True, "Variable Set")

    def originate(self, action_id: str | None, fields: Fields) -> Fields:
        """AMI Originate, answered as manager.c answers one with Async (the only kind the
        daemon sends): "Originate successfully queued" at once; the phone rings, and the
        OriginateResponse event with the same ActionID follows when it answers (after
        ``config.originate_answer_s``, or at ``answer_originated()``) or when the action's
        Timeout runs out. The answered leg then runs its extension (``_run_originated``).

        As in supervisor-listen.ami (tests/captures/real/): the leg is born Down in the
        phone's context at ``s`` without caller ID, gets the Originate's CallerID
        (NewCallerid), is dialled like a Dial's leg (DialBegin and DialEnd without a calling
        channel), and moves to the Originate's context and extension once answered."""
        target = fields.get("Channel", "")
        if "/" not in target:
            return response(action_id, False, "Invalid channel")
        try:
            timeout_s = int(fields.get("Timeout") or 30000) / 1000
        except ValueError:
            return response(action_id, False, "Invalid timeout")
        display, _, number = fields.get("CallerID", "").partition("<")  # "Name" <number>
        context, exten = fields.get("Context", "default"), fields.get("Exten", "s")
        leg = self._new_channel(target, "", "", None, context, exten, waiting=True)
        leg.caller_num, leg.caller_name = number.rstrip(">").strip(), display.strip(' "')
        self.emit(
            "NewCallerid",
            "call,all",
            leg.fields(),
            {"CID-CallingPres": "0 (Presentation Allowed, Not Screened)"},
        )
        leg.connected_num, leg.connected_name = leg.caller_num, leg.caller_name
        leg.application, leg.app_data = fields.get("Application", ""), fields.get("Data", "")
        device = self._device_of(target)
        if device is not None:
            self._originated_devices[leg.name] = device
            self.devices[device].ringing += 1
        self.emit(
            "DialBegin", "call,all", leg.fields("Dest"), {"DialString": target.split("/", 1)[-1]}
        )
        self._state(leg, 5)
        self._device_changed(device)
        self.emit("DialState", "call,all", leg.fields("Dest"), {"DialStatus": "RINGING"})
        answered = self._originated[leg.name] = asyncio.get_running_loop().create_future()
        self._own(
            self._ring_originated(leg, action_id, answered, timeout_s), f"originate {leg.name}"
        )
        return response(action_id, True, "Originate successfully queued")

    def answer_originated(self, device: str) -> bool:
        """Answer the ringing originated leg to ``device`` (e.g. a supervisor's SIP/1009)."""
        for name, answered in self._originated.items():
            if name.startswith(f"{device}-") and not answered.done():
                answered.set_result(None)
                return True
        return False

    async def _ring_originated(
        self, leg: Channel, action_id: str | None, answered: asyncio.Future[None], timeout_s: float
    ) -> None:
        answer_s = self.config.originate_answer_s
        ring_s = answer_s if answer_s is not None and answer_s < timeout_s else timeout_s
        try:
            await asyncio.wait({answered}, timeout=ring_s)
        finally:
            del self._originated[leg.name]
        picked_up = answered.done() or ring_s < timeout_s
        # manager.c names the extension, or the application, that the leg was to run.
        target: Fields = (
            {"Application": leg.application, "Data": leg.app_data}
            if leg.application
            else {"Context": leg.context, "Exten": leg.exten}
        )
        outcome: Fields = {
            "ActionID": action_id or "",
            "Response": "Success",
            "Channel": leg.name,
            **target,
            "Reason": str(REASON_ANSWERED),
            "Uniqueid": leg.uniqueid,
            "CallerIDNum": leg.caller_num or UNKNOWN,
            "CallerIDName": leg.caller_name or UNKNOWN,
        }
        if not picked_up or leg.name not in self.channels:  # no answer, or hung up meanwhile
            if leg.name in self.channels:
                self.emit("DialEnd", "call,all", leg.fields("Dest"), {"DialStatus": "NOANSWER"})
                self._hangup_channel(leg, cause=19)
            outcome |= {
                "Response": "Failure",
                "Reason": str(REASON_NO_ANSWER),
                "Uniqueid": "<null>",
            }
            self.emit("OriginateResponse", "call,all", outcome)
            return
        device = self._originated_devices.get(leg.name)
        if device is not None:
            self.devices[device].ringing -= 1
            self.devices[device].busy_with = leg.linkedid
        self._state(leg, 6)
        self._device_changed(device)
        self.emit("DialEnd", "call,all", leg.fields("Dest"), {"DialStatus": "ANSWER"})
        self.emit("OriginateResponse", "call,all", outcome)
        leg.waiting_in = None  # in the Originate's extension (or application) from now on
        self._run_originated(leg)

    def _originated_gone(self, channel: Channel) -> None:
        """An Originate's leg hung up: its phone is free again (or stops ringing)."""
        device = self._originated_devices.pop(channel.name, None)
        if device is None:
            return
        phone = self.devices[device]
        if phone.busy_with == channel.linkedid:
            phone.busy_with = None
        elif channel.state != 6:
            phone.ringing -= 1
        self._device_changed(device)
        self.dispatch()

    def _run_originated(self, leg: Channel) -> None:
        """The answered leg enters the dialplan: a [cti-spy-<mode>] extension starts ChanSpy
        (the supervisor listens in); an extension the dialplan lacks is hung up, as Asterisk
        does with "sent to invalid extension"."""
        if leg.application:  # Originate with Application: that runs instead of an extension
            return
        spy = SPY_DIALPLAN.get(leg.context)
        if spy is None or not extension_matches(spy[0], leg.exten):
            self._hangup_channel(leg)
            return
        prefix = f"PJSIP/{leg.exten}-"
        self._exten(leg, 1, "ChanSpy", f"{prefix},{spy[1]}")
        self._spies[leg.name] = _Spy(leg, prefix, ends_with_spyee="E" in spy[1])
        self._spy_look()

    def _spy_look(self) -> None:
        """ChanSpy without a channel to listen to keeps looking: the first channel whose
        name starts with its prefix (the agent's call leg) is spied on (ChanSpyStart)."""
        for spy in self._spies.values():
            if spy.spyee is not None:
                continue
            spyee = next(
                (
                    c
                    for c in self.channels.values()
                    if c.name.startswith(spy.prefix) and c is not spy.leg
                ),
                None,
            )
            if spyee is not None:
                spy.spyee = spyee
                self.emit(
                    "ChanSpyStart", "call,all", spy.leg.fields("Spyer"), spyee.fields("Spyee")
                )

    def _spy_stop(self, spy: _Spy) -> None:
        assert spy.spyee is not None
        self.emit("ChanSpyStop", "call,all", spy.leg.fields("Spyer"), spy.spyee.fields("Spyee"))
        spy.spyee = None
        if spy.ends_with_spyee:
            self._spies.pop(spy.leg.name, None)

    def mixmonitor_mute(self, action_id: str | None, name: str, state: str) -> Fields:
        channel = self.channels.get(name)
        if channel is None:
            return response(action_id, False, "No such channel")
        self.emit(
            "MixMonitorMute",
            "call,all",
            channel.fields(),
            {"Direction": "both", "State": "1" if state in ("1", "true", "yes") else "0"},
        )
        return response(action_id, True)

    # --- lists --------------------------------------------------------------------------

    def queue_status(self, action_id: str | None, only: str) -> list[Frame]:
        items: list[Fields] = []
        now = time.monotonic()
        for queue in self.queues.values():
            if only and queue.config.name != only:
                continue
            done = queue.completed
            items.append(
                {
                    "Event": "QueueParams",
                    "Queue": queue.config.name,
                    "Max": "0",
                    "Strategy": queue.config.strategy,
                    "Calls": str(len(queue.waiting)),
                    "Holdtime": str(queue.hold_total // done if done else 0),
                    "TalkTime": str(queue.talk_total // done if done else 0),
                    "Completed": str(done),
                    "Abandoned": str(queue.abandoned),
                    "ServiceLevel": str(queue.config.service_level_s),
                    "ServicelevelPerf": "0.0",
                    "ServicelevelPerf2": "0.0",
                    "Weight": "0",
                }
            )
            for member in queue.members.values():
                items.append({"Event": "QueueMember", **self.member_fields(member, live=False)})
            for position, call in enumerate(queue.waiting, start=1):
                c = call.caller
                items.append(
                    {
                        "Event": "QueueEntry",
                        "Queue": queue.config.name,
                        "Position": str(position),
                        "Channel": c.name,
                        "Uniqueid": c.uniqueid,
                        "CallerIDNum": c.caller_num or "unknown",
                        "CallerIDName": c.caller_name or "unknown",
                        "ConnectedLineNum": "unknown",
                        "ConnectedLineName": "unknown",
                        "Wait": str(int(now - call.joined)),
                        "Priority": str(call.priority),
                    }
                )
        return _as_list(action_id, "Queue status will follow", "QueueStatusComplete", items)

    def queue_summary(self, action_id: str | None, only: str) -> list[Frame]:
        items: list[Fields] = []
        now = time.monotonic()
        for queue in self.queues.values():
            if only and queue.config.name != only:
                continue
            free = sum(self._is_free(m, now) for m in queue.members.values())
            done = queue.completed
            longest = max((int(now - c.joined) for c in queue.waiting), default=0)
            items.append(
                {
                    "Event": "QueueSummary",
                    "Queue": queue.config.name,
                    "LoggedIn": str(len(queue.members)),
                    "Available": str(free),
                    "Callers": str(len(queue.waiting)),
                    "HoldTime": str(queue.hold_total // done if done else 0),
                    "TalkTime": str(queue.talk_total // done if done else 0),
                    "LongestHoldTime": str(longest),
                }
            )
        return _as_list(action_id, "Queue summary will follow", "QueueSummaryComplete", items)

    def core_show_channels(self, action_id: str | None) -> list[Frame]:
        items: list[Fields] = []
        for channel in self.channels.values():
            seconds = int(time.time() - channel.created)
            duration = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            items.append(
                {
                    "Event": "CoreShowChannel",
                    "ActionID": action_id or "",
                    **channel.fields(),
                    "Application": channel.application,
                    "ApplicationData": channel.app_data,
                    "Duration": duration,
                    "BridgeId": channel.bridge,
                }
            )
        return _as_list(action_id, "Channels will follow", "CoreShowChannelsComplete", items)

    def status(self, action_id: str | None, variables: Sequence[str] = ()) -> list[Frame]:
        """Status as manager.c answers it: one item per channel, each with a ``Variable:
        NAME=value`` line per variable asked for, after ``Seconds`` (generate_status). A
        variable the channel does not have is printed from a NULL pointer: "(null)"."""
        items: list[Frame] = []
        for channel in self.channels.values():
            pairs: Pairs = [
                *{
                    "Event": "Status",
                    "Privilege": "Call",
                    **channel.fields(),
                    "Type": "SIP",
                    "DNID": "",
                    "TimeToHangup": "0",
                    "BridgeID": channel.bridge,
                    "Application": channel.application,
                    "Data": channel.app_data,
                    "Seconds": str(int(time.time() - channel.created)),
                }.items()
            ]
            pairs += [
                ("Variable", f"{name}={channel.variables.get(name, '(null)')}")
                for name in variables
            ]
            items.append(pairs)
        return _as_list(
            action_id,
            "Channel status will follow",
            "StatusComplete",
            items,
            {"Items": str(len(items))},
        )

    # --- owned tasks ----------------------------------------------------------------------

    def _own(self, coroutine: Coroutine[Any, Any, _T], name: str) -> asyncio.Task[_T]:
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


def _seconds(text: str, default: float) -> float:
    """Dial's timeout argument: seconds, possibly with decimals; anything else: the default."""
    try:
        seconds = float(text)
    except ValueError:
        return default
    return seconds if math.isfinite(seconds) and seconds > 0 else default


def _as_list(
    action_id: str | None,
    opening: str,
    complete: str,
    items: Sequence[Frame],
    closing_extra: Fields | None = None,
) -> list[Frame]:
    """A list action's answer: the opening response, the items, the Complete event (with
    ``closing_extra`` after its ListItems)."""
    for item in items:
        if action_id is None:
            continue
        if isinstance(item, dict):
            item["ActionID"] = action_id
        else:
            item.append(("ActionID", action_id))
    closing: Fields = {"Event": complete}
    if action_id is not None:
        closing["ActionID"] = action_id
    closing.update({"EventList": "Complete", "ListItems": str(len(items))})
    closing.update(closing_extra or {})
    return [_opening(action_id, opening), *items, closing]


def _opening(action_id: str | None, message: str) -> Fields:
    fields: Fields = {"Response": "Success"}
    if action_id is not None:
        fields["ActionID"] = action_id
    fields.update({"EventList": "start", "Message": message})
    return fields
