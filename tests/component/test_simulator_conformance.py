"""The simulator against a real Asterisk: each scenario of tests/captures/real/ (recorded by
tests/pbx/record_captures.py on Asterisk 22 with the project's asterisk-conf/ and dialplan/)
is played again on the simulator, configured as that Asterisk was, and what one raw AMI
client receives is compared with the capture.

What is compared (``shape_of``): per call (the channels of one Linkedid, in the order they
appeared) and per channel (named by its device and its rank in the call, ``PJSIP/1002#2``),
the events the daemon consumes, in order, with their key fields; and, per queue member, the
member events in order (status, pause). Left aside: ids, channel name suffixes, times
(HoldTime, TalkTime, RingTime, Timestamp, counters such as CallsTaken) and the events the
daemon does not read (see ``CALL_EVENTS``).

Per channel, not one list for the whole stream: the real Asterisk itself orders events of
different channels differently from one run to the next (the agent leg's Hangup before or
after the caller's, a BridgeLeave before or after the AgentComplete), and member status
events come from the device state thread whenever it runs. Three recordings of every
scenario agreed on everything compared here (the route point's once the daemon wrapped up
the calls it routed), but for the two races noted in ``shape_of``.

What this comparison cannot see, the phone's status after a call, follows Asterisk too: the
simulator reports it free only after AgentComplete and the legs' hang-up
(cti/simulator/app_queue.py ``_complete``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import frames

from cti.ami.events import WANTED_EVENTS
from cti.simulator import (
    FeaturesConfig,
    MemberConfig,
    OutboundBehaviour,
    OutboundConfig,
    QueueConfig,
    RoutePointConfig,
    SimConfig,
    Simulator,
)

REAL = Path(__file__).resolve().parents[1] / "captures" / "real"

Frame = dict[str, str]
Item = tuple[str, ...]

# Events the daemon does not read (not in cti/ami/events.py BUILDERS), so their order and
# fields cannot change what it concludes: MusicOnHoldStart/Stop, NewCallerid,
# NewConnectedLine, DialState, BridgeCreate/Leave/Destroy, Cdr, and VarSet/Newexten. Where
# the simulator differs from Asterisk in those, it is noise the daemon ignores, left as is:
# - VarSet and Newexten: the real Asterisk does not send them to the daemon's user at all
#   (manager.conf's read class has no "dialplan"); the simulator does, as a load to cope with.
# - Cdr: the project's cdr_manager.conf maps "linkedid" and "recording" (lower case, real
#   captures); the simulator's Cdr says "Linkedid" as the Asterisk 20 captures of
#   tests/captures/ did, and has no "recording"; its tests match on "Linkedid".
# - The banner: Asterisk 22 says "Asterisk Call Manager/11.0.0", the simulator 9.0.0 (20).
# OriginateResponse and ChanSpyStart/Stop are compared all the same: they are what a
# supervisor's listen-in does on the PBX.
CALL_EVENTS = (WANTED_EVENTS | {"OriginateResponse", "ChanSpyStart", "ChanSpyStop"}) - {
    "QueueMember",
    "QueueMemberAdded",
    "QueueMemberStatus",
    "QueueMemberPause",
    "QueueMemberRemoved",
    "DeviceStateChange",
    "QueueParams",
    "QueueEntry",
    "QueueStatusComplete",
    "CoreShowChannel",
    "CoreShowChannelsComplete",
    "Status",
    "StatusComplete",
}
MEMBER_EVENTS = {
    "QueueMemberAdded",
    "QueueMemberStatus",
    "QueueMemberPause",
    "QueueMemberRemoved",
    "DeviceStateChange",
}

# The key fields of each event; a field naming a channel is replaced by that channel's role.
KEYS: dict[str, tuple[str, ...]] = {
    "Newchannel": ("ChannelStateDesc", "CallerIDNum", "CallerIDName", "Context", "Exten"),
    "Newstate": ("ChannelStateDesc",),
    "Hangup": ("Cause", "Context"),
    "HangupRequest": (),
    "SoftHangupRequest": (),
    "BridgeEnter": (),
    "QueueCallerJoin": ("Queue", "Position", "Count"),
    "QueueCallerLeave": ("Queue", "Position", "Count"),
    "QueueCallerAbandon": ("Queue", "Position", "OriginalPosition"),
    "AgentCalled": ("Queue", "Interface", "MemberName", "DestChannel"),
    "AgentRingNoAnswer": ("Queue", "Interface", "MemberName", "DestChannel"),
    "AgentConnect": ("Queue", "Interface", "MemberName", "DestChannel"),
    "AgentComplete": ("Queue", "Interface", "MemberName", "Reason", "DestChannel"),
    # DialString left aside: a real Dial(PJSIP/1001) says "1001", the simulator's route
    # point "PJSIP/1001" (its tests match on it); the daemon never reads it (DialStarted).
    "DialBegin": ("DestChannel",),
    "DialEnd": ("DialStatus", "DestChannel"),
    "UserEvent": ("UserEvent", "Consent", "Method", "Route", "Queue", "Agent", "DialStatus"),
    "MixMonitorStart": (),
    "Hold": (),
    "Unhold": (),
    "OriginateResponse": ("Response", "Reason", "Context", "Exten", "CallerIDNum", "CallerIDName"),
    "ChanSpyStart": ("SpyeeChannel",),
    "ChanSpyStop": ("SpyeeChannel",),
    # Owned by the transferring agent's leg (Transferer, OrigTransferer).
    "BlindTransfer": ("Result", "TransfereeChannel", "IsExternal", "Context", "Extension"),
    "AttendedTransfer": (
        "Result",
        "SecondTransfererChannel",
        "TransfereeChannel",
        "TransferTargetChannel",
        "IsExternal",
        "DestType",
    ),
}
MEMBER_KEYS = (
    "Status",
    "Paused",
    "PausedReason",
    "InCall",
    "Ringinuse",
    "Wrapuptime",
    "Membership",
    "Penalty",
    "StateInterface",
    "State",
)
CHANNEL_FIELDS = (
    "DestChannel",
    "SpyeeChannel",
    "SecondTransfererChannel",
    "TransfereeChannel",
    "TransferTargetChannel",
)
# The field naming the channel an event is about: the first of these it has.
OWNER_FIELDS = (
    "Channel",
    "SpyerChannel",
    "TransfererChannel",
    "OrigTransfererChannel",
    "DestChannel",
)


@dataclass
class Shape:
    # Per call, in order of appearance: each channel's role -> its events.
    calls: list[dict[str, list[Item]]] = field(default_factory=list)
    # "queue interface" (or "device ...") -> its member events in order.
    members: dict[str, list[Item]] = field(default_factory=dict)


def shape_of(frames: list[Frame]) -> Shape:
    shape = Shape()
    calls: dict[str, dict[str, list[Item]]] = {}  # linkedid -> role -> items
    roles: dict[str, str] = {}  # channel name -> "<call index>:<role>" or role
    role_of: dict[str, tuple[str, str]] = {}  # channel name -> (linkedid, role)
    for frame in frames:
        name = frame.get("Event", "")
        if name == "Newchannel":
            linkedid, channel = frame["Linkedid"], frame["Channel"]
            call = calls.setdefault(linkedid, {})
            if not call:
                shape.calls.append(call)
            device = channel.rsplit("-", 1)[0]
            rank = 1 + sum(1 for role in call if role.split("#")[0] == device)
            role = f"{device}#{rank}"
            call[role] = []
            role_of[channel] = (linkedid, role)
            roles[channel] = f"call{list(calls).index(linkedid) + 1}:{role}"
        if name in MEMBER_EVENTS:
            key = (
                f"{frame.get('Queue')} {frame.get('Interface')}"
                if "Queue" in frame
                else f"device {frame.get('Device')}"
            )
            # InCall of a QueueMemberStatus is a race in Asterisk itself: the device state
            # thread reports the phone in use before or after app_queue's AgentConnect set
            # the flag (two recordings of consent-declined said 1 and 0).
            keys = [k for k in MEMBER_KEYS if not (k == "InCall" and name == "QueueMemberStatus")]
            shape.members.setdefault(key, []).append(
                (name, *(f"{k}={frame[k]}" for k in keys if k in frame))
            )
            continue
        if name not in CALL_EVENTS:
            continue
        owner = next((frame[k] for k in OWNER_FIELDS if frame.get(k)), None)
        if owner not in role_of:
            continue  # a channel born before the capture began
        linkedid, role = role_of[owner]
        if name == "OriginateResponse":
            # Sent by the thread that placed the call, when the phone answered: before or
            # after the DialEnd of the same answer (two recordings differed). Compared on
            # its own.
            role = f"{role} OriginateResponse"
        values = []
        for key in KEYS.get(name, ()):
            if key in frame:
                value = frame[key]
                values.append(
                    f"{key}={roles.get(value, value) if key in CHANNEL_FIELDS else value}"
                )
        calls[linkedid].setdefault(role, []).append((name, *values))
    return shape


def differences(real: Shape, sim: Shape) -> list[str]:
    """What differs, readably: per call and channel, then per member."""
    out = []
    if len(real.calls) != len(sim.calls):
        out.append(f"calls: real {len(real.calls)}, simulator {len(sim.calls)}")
    for n, (theirs, ours) in enumerate(zip(real.calls, sim.calls, strict=False), start=1):
        for role in sorted(set(theirs) | set(ours)):
            if theirs.get(role) != ours.get(role):
                out.append(
                    f"call {n} {role}:\n  real      {theirs.get(role)}\n"
                    f"  simulator {ours.get(role)}"
                )
    for key in sorted(set(real.members) | set(sim.members)):
        if real.members.get(key) != sim.members.get(key):
            out.append(
                f"member {key}:\n  real      {real.members.get(key)}\n"
                f"  simulator {sim.members.get(key)}"
            )
    return out


# --- the scenarios, played on the simulator ------------------------------------------------

# The simulator runs the real scenarios' times scaled down (ring 12 s -> 1.2 s, ...); the
# orders compared depend on which of two things comes first, never on how long apart.
SCALE = 0.1
WAIT_S = 15.0  # a wait for an event, never a measure of speed
SECRET = "conformance"


def real_config(agi_port: int) -> SimConfig:
    """The simulator as the recording's Asterisk was configured: asterisk-conf/queues.conf
    (PJSIP members, strategies, timeout 12, retry 1, wrapuptime 5 on the queues: none on the
    members), dialplan/ (4440 explicit consent, 4441 implied, 4442 the route point
    collections-tr, outbound calls ringing 30 s with implied consent), asterisk-conf/features.conf
    (transferdigittimeout 2 s, atxfernoanswertimeout 15 s by default) and the tier's overlay
    (Queue() timeout 16 s, hold 20 s, outbound calls by the endpoint test-carrier)."""

    def queue(
        name: str, did: str, numbers: tuple[str, ...], strategy: str, sl: int, consent: str
    ) -> QueueConfig:
        members = tuple(MemberConfig(f"PJSIP/{n}", f"Agent {n}") for n in numbers)
        return QueueConfig(
            name,
            did,
            members,
            strategy,
            sl,
            consent,
            ring_timeout_s=12 * SCALE,
            retry_s=1 * SCALE,
            wrapup_s=5 * SCALE,
        )

    queues = (
        queue("support", "4440", ("1001", "1002"), "rrmemory", 20, "explicit"),
        queue("sales", "4441", ("1003", "1004"), "leastrecent", 30, "implied"),
        queue("collections", "4449", (), "ringall", 20, "none"),
    )
    point = RoutePointConfig(
        "collections-tr",
        "4442",
        "collections",
        "support",
        consent="implied",
        hold_s=20 * SCALE,
        ring_s=15 * SCALE,
    )
    return SimConfig(
        queues=queues,
        route_points=(point,),
        username="cti",
        secret=SECRET,
        trunk="PJSIP/trunk",
        arrival_rate=0,
        announcement_s=2 * SCALE,
        queue_timeout_s=16 * SCALE,
        agi_port=agi_port,
        originate_answer_s=1.5 * SCALE,
        outbound=OutboundConfig(trunk="test-carrier", ring_s=30 * SCALE),
        features=FeaturesConfig(transfer_digit_timeout_s=2 * SCALE, atxfer_no_answer_s=15 * SCALE),
    )


class Raw:
    """A raw AMI client: every byte received, the frames, and actions (ActionIDs raw-<n>, as
    the recording's client numbered them)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.raw = bytearray()
        self.frames: list[Frame] = []
        self._arrived = asyncio.Event()
        self._ids = itertools.count(1)
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def login(cls, port: int) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        raw = cls(reader, writer)
        answer = await raw.action("Login", Username="cti", Secret=SECRET)
        assert answer["Response"] == "Success", answer
        return raw

    async def _read(self) -> None:
        while data := await self.reader.read(65536):
            self.raw += data
            complete = bytes(self.raw[: self.raw.rfind(b"\r\n\r\n") + 4])
            self.frames = frames(complete)
            self._arrived.set()

    async def wait(self, test: Callable[[list[Frame]], Any], what: str) -> Any:
        async def loop() -> Any:
            while not (found := test(self.frames)):
                self._arrived.clear()
                await self._arrived.wait()
            return found

        try:
            return await asyncio.wait_for(loop(), WAIT_S)
        except TimeoutError:
            raise AssertionError(f"simulator: {what} not seen") from None

    async def event(self, name: str, **match: str) -> Frame:
        found = await self.wait(
            lambda frames: [
                f
                for f in frames
                if f.get("Event") == name and all(f.get(k) == v for k, v in match.items())
            ],
            f"{name} {match}",
        )
        return found[0]  # type: ignore[no-any-return]

    async def action(self, name: str, **fields: str) -> Frame:
        action_id = f"raw-{next(self._ids)}"
        lines = [
            f"Action: {name}",
            f"ActionID: {action_id}",
            *(f"{k}: {v}" for k, v in fields.items()),
        ]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        found = await self.wait(
            lambda frames: [
                f for f in frames if "Response" in f and f.get("ActionID") == action_id
            ],
            name,
        )
        return found[0]  # type: ignore[no-any-return]

    async def pause(self, queue: str, *interfaces: str) -> None:
        for interface in interfaces:
            answer = await self.action(
                "QueuePause", Queue=queue, Interface=interface, Paused="true", Reason="Test"
            )
            assert answer["Response"] == "Success", answer

    async def all_hung_up(self) -> None:
        def done(frames: list[Frame]) -> bool:
            born = {f["Uniqueid"] for f in frames if f.get("Event") == "Newchannel"}
            gone = {f["Uniqueid"] for f in frames if f.get("Event") == "Hangup"}
            return bool(born) and born <= gone

        await self.wait(done, "every channel hung up")
        await asyncio.sleep(5 * SCALE)  # what still follows a hang-up (member status)

    async def close(self) -> None:
        self.writer.close()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class Agi:
    """The daemon's FastAGI, scripted: each route point conversation sets the next
    script's variables, as the daemon's answer did in the recording."""

    def __init__(self) -> None:
        self.scripts: list[dict[str, str]] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readline() not in (b"\n", b""):
            pass
        for name, value in (self.scripts.pop(0) if self.scripts else {}).items():
            writer.write(f'SET VARIABLE {name} "{value}"\n'.encode())
            await writer.drain()
            await reader.readline()
        writer.close()


@dataclass
class Stage:
    sim: Simulator
    raw: Raw
    control: Raw  # the daemon's own connection: its actions' answers are not in the capture
    agi: Agi
    real: list[Frame]  # the real capture's frames, for the numbers and names it used

    def caller(self) -> tuple[str, str]:
        first = next(f for f in self.real if f.get("Event") == "Newchannel")
        return first["CallerIDNum"], first["CallerIDName"]

    def dialled(self) -> tuple[str, str]:
        """The route point's Dial(agent,ring) as the recording's Cdr says it ran."""
        cdr = next(
            f for f in self.real if f.get("Event") == "Cdr" and f.get("LastApplication") == "Dial"
        )
        agent, ring = cdr["LastData"].split(",")
        return agent, f"{float(ring) * SCALE:g}"

    async def daemon_wraps_up(self, linkedid: str) -> None:
        """What the daemon did after a call it routed (cti/routing/wrapup.py), as the recording shows
        it: once the caller hung up, a Wrap-up pause of the agent in all its queues, and the
        unpause when the routing file's wrapup_s (5 s) is over."""
        agents = [
            f["Interface"]
            for f in self.real
            if f.get("Event") == "QueueMemberPause" and f.get("PausedReason") == "Wrap-up"
        ]
        await self.raw.event("Hangup", Uniqueid=linkedid)
        for agent in agents:
            answer = await self.control.action(
                "QueuePause", Interface=agent, Paused="true", Reason="Wrap-up"
            )
            assert answer["Response"] == "Success", answer
        await asyncio.sleep(5 * SCALE)
        for agent in agents:
            await self.control.action("QueuePause", Interface=agent, Paused="false")

    async def call(
        self, where: str, consent: str | None, talk_s: float, patience_s: float | None = None
    ) -> str:
        number, name = self.caller()
        return await self.sim.place_call(
            number,
            name,
            where,
            consent=consent,
            answer_after=1.5 * SCALE,
            talk_s=talk_s * SCALE,
            patience_s=patience_s,
        )


async def consent_granted(stage: Stage) -> None:
    await stage.call("support", "granted", talk_s=12)


async def consent_declined(stage: Stage) -> None:
    await stage.call("support", "declined", talk_s=12)


async def implied_consent(stage: Stage) -> None:
    await stage.call("sales", "granted", talk_s=7)


async def caller_abandon(stage: Stage) -> None:
    await stage.raw.pause("sales", "PJSIP/1003", "PJSIP/1004")
    await stage.call("sales", "granted", talk_s=1, patience_s=5 * SCALE)


async def queue_timeout(stage: Stage) -> None:
    await stage.raw.pause("sales", "PJSIP/1003", "PJSIP/1004")
    await stage.call("sales", "granted", talk_s=1, patience_s=36 * SCALE)


async def ring_no_answer(stage: Stage) -> None:
    stage.sim.set_phone("PJSIP/1002", answers=False)
    await stage.raw.pause("support", "PJSIP/1001")
    await stage.call("support", "granted", talk_s=1, patience_s=26 * SCALE)


async def route_point_answered(stage: Stage) -> None:
    await stage.raw.pause("support", "PJSIP/1002")
    agent, ring = stage.dialled()
    stage.agi.scripts.append(
        {
            "CTI_ROUTE": "agent",
            "CTI_ROUTE_AGENT": agent,
            "CTI_ROUTE_RING_S": ring,
            "CTI_ROUTE_PRIORITY": "1",
        }
    )
    linkedid = await stage.call("collections-tr", "granted", talk_s=6)
    await stage.daemon_wraps_up(linkedid)


async def route_point_hold_then_move(stage: Stage) -> None:
    await stage.raw.pause("support", "PJSIP/1001", "PJSIP/1002")
    agent, ring = stage.dialled()
    stage.agi.scripts.append(
        {"CTI_ROUTE": "hold", "CTI_ROUTE_RING_S": ring, "CTI_ROUTE_PRIORITY": "1"}
    )
    linkedid = await stage.call("collections-tr", "granted", talk_s=8)
    joined = await stage.raw.event("QueueCallerJoin", Queue="collections", Uniqueid=linkedid)
    await asyncio.sleep(2 * SCALE)
    answer = await stage.raw.action("QueuePause", Queue="support", Interface=agent, Paused="false")
    assert answer["Response"] == "Success", answer
    # The daemon moves the held call to the agent it freed (cti/routing/acd.py).
    channel = joined["Channel"]
    for action, fields in (
        ("Setvar", {"Channel": channel, "Variable": "CTI_ROUTE_AGENT", "Value": agent}),
        (
            "Redirect",
            {"Channel": channel, "Context": "cti-route", "Exten": "agent", "Priority": "1"},
        ),
    ):
        answer = await stage.control.action(action, **fields)
        assert answer["Response"] == "Success", answer
    await stage.daemon_wraps_up(linkedid)


async def supervisor_listen(stage: Stage) -> None:
    await stage.raw.pause("support", "PJSIP/1002")
    await stage.raw.pause("sales", "PJSIP/1004")
    linkedid = await stage.call("support", "granted", talk_s=8)
    await stage.raw.event("AgentConnect", Uniqueid=linkedid)
    answer = await stage.raw.action(
        "Originate",
        Channel="PJSIP/1004",
        Context="cti-spy-listen",
        Exten="1001",
        Priority="1",
        CallerID='"listen 1001" <1001>',
        Timeout="30000",
        Async="true",
    )
    assert answer["Response"] == "Success", answer
    await stage.raw.event("ChanSpyStart")
    await stage.raw.event("ChanSpyStop")


async def blind_transfer(stage: Stage) -> None:
    await stage.raw.pause("support", "PJSIP/1002")
    await stage.raw.pause("sales", "PJSIP/1004")
    linkedid = await stage.call("support", "granted", talk_s=9)
    connect = await stage.raw.event("AgentConnect", Uniqueid=linkedid)
    await asyncio.sleep(1 * SCALE)
    answer = await stage.raw.action(
        "BlindTransfer", Channel=connect["DestChannel"], Context="cti-transfer-queue", Exten="sales"
    )
    assert answer["Response"] == "Success", answer


async def click_to_dial(stage: Stage) -> None:
    await stage.raw.pause("support", "PJSIP/1001")
    # What the recording's Originate asked for; the customer's phone answered after 1.5 s
    # and stayed on the line until the agent hung up.
    originate = next(
        f for f in stage.real if f.get("Event") == "OriginateResponse" and "Exten" in f
    )
    number, channel_id = originate["Exten"], originate["Uniqueid"]
    stage.sim.set_customer(number, OutboundBehaviour(answer_after_s=1.5 * SCALE, talk_s=None))
    answer = await stage.raw.action(
        "Originate",
        Channel="PJSIP/1001",
        Context="cti-outbound",
        Exten=number,
        Priority="1",
        CallerID=f'"{originate["CallerIDName"]}" <{originate["CallerIDNum"]}>',
        Timeout="30000",
        Async="true",
        ChannelId=channel_id,
    )
    assert answer["Response"] == "Success", answer
    await stage.raw.event("MixMonitorStart")
    await asyncio.sleep(4 * SCALE)
    # The agent hangs up (cti/ami/actions.py hangup on the agent's leg), as the recorder did.
    answer = await stage.raw.action("Hangup", Channel="/^PJSIP/1001-.*/")
    assert answer["Response"] == "Success", answer


async def attended_transfer(stage: Stage) -> None:
    await stage.raw.pause("support", "PJSIP/1002")
    # The caller hung up 30 s after Asterisk answered them: 26 s after PJSIP/1001 did.
    linkedid = await stage.call("support", "granted", talk_s=26)
    connect = await stage.raw.event("AgentConnect", Uniqueid=linkedid)
    await asyncio.sleep(1 * SCALE)
    leg = connect["DestChannel"]
    # What cti/ami/actions.py attended_transfer() sends to consult PJSIP/1002.
    answer = await stage.raw.action(
        "Atxfer", Channel=leg, Context="cti-transfer-agent", Exten="1002"
    )
    assert answer["Response"] == "Success", answer
    await stage.raw.wait(
        lambda frames: [
            f
            for f in frames
            if f.get("Event") == "DialEnd"
            and f.get("DestChannel", "").startswith("PJSIP/1002-")
            and f.get("DialStatus") == "ANSWER"
        ],
        "PJSIP/1002 answering the consultation",
    )
    await asyncio.sleep(2 * SCALE)
    # The agent completes it by hanging up their own leg (the panel's Complete).
    answer = await stage.raw.action("Hangup", Channel=leg)
    assert answer["Response"] == "Success", answer
    await stage.raw.event("AttendedTransfer")


# In the order they were recorded: app_queue's rrmemory carries over from one to the next.
SCENARIOS: tuple[tuple[str, Callable[[Stage], Awaitable[None]]], ...] = (
    ("consent-granted", consent_granted),
    ("consent-declined", consent_declined),
    ("implied-consent", implied_consent),
    ("caller-abandon", caller_abandon),
    ("queue-timeout", queue_timeout),
    ("ring-no-answer", ring_no_answer),
    ("route-point-answered", route_point_answered),
    ("route-point-hold-then-move", route_point_hold_then_move),
    ("supervisor-listen", supervisor_listen),
    ("blind-transfer", blind_transfer),
    ("click-to-dial", click_to_dial),
    ("attended-transfer", attended_transfer),
)


def test_every_real_capture_has_a_scenario() -> None:
    recorded = {path.stem for path in REAL.glob("*.ami")}
    assert recorded == {name for name, _ in SCENARIOS}


async def test_the_simulator_plays_the_real_scenarios_as_asterisk_did() -> None:
    agi = Agi()
    sim = Simulator(real_config(await agi.start()), port=0)
    await sim.start()
    control = await Raw.login(sim.port)
    found: list[str] = []
    try:
        for name, play in SCENARIOS:
            # As the recorder left the PBX before each: phones answering, nobody paused,
            # wrap-up over.
            for device in sim.pbx.devices:
                sim.set_phone(device, answers=True)
            for queue in ("support", "sales"):
                for member in sim.pbx.queues[queue].members:
                    await control.action(
                        "QueuePause", Queue=queue, Interface=member, Paused="false"
                    )
            await asyncio.sleep(6 * SCALE)
            real = frames((REAL / f"{name}.ami").read_bytes())
            raw = await Raw.login(sim.port)
            try:
                await play(Stage(sim, raw, control, agi, real))
                await raw.all_hung_up()
            finally:
                await raw.close()
            ours = frames(bytes(raw.raw))
            found += [f"{name}: {d}" for d in differences(shape_of(real), shape_of(ours))]
    finally:
        await control.close()
        await sim.stop()
        if agi.server is not None:
            agi.server.close()
    assert not found, "the simulator differs from the real Asterisk:\n" + "\n".join(found)
