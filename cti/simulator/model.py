"""What the simulated Asterisk is made of: channels, phones, queues and their members, calls.

Plain data, shared by every part of the simulator; the behaviour lives in ``pbx.py`` (the
channels' life and the events it emits), ``inbound.py``, ``app_queue.py``,
``route_point.py``, ``originate.py``, ``outbound.py`` and ``ami_actions.py``. A ``Channel``
renders its own AMI fields (``fields``), because every event about it carries them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from cti.simulator.config import MemberConfig, OutboundBehaviour, QueueConfig, RoutePointConfig
from cti.simulator.wire import Fields

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
UNKNOWN = "<unknown>"
# app_queue's member Status codes (AST_DEVICE_*).
NOT_INUSE, INUSE, RINGING = 1, 2, 6
ROUTE_CONTEXT = "cti-route"  # the route point's context in dialplan/extensions_cti.conf
INBOUND_CONTEXT = "cti-inbound"  # where every DID of [from-trunk] goes (Goto cti-inbound,s,1)
CONSENT_CONTEXT = "cti-consent"  # the consent step's gosub, inbound and outbound
TRUNK_CONTEXT = "from-trunk"  # the trunk's endpoint context: inbound calls, outbound legs
OUTBOUND_CONTEXT = "cti-outbound"  # an agent's outbound call (click-to-dial)
# The agents' phones' endpoint context (asterisk-conf/pjsip.conf): a channel Asterisk makes
# to a phone (a queue's or Dial's leg, an Originate) is born there, at extension s.
PHONE_CONTEXT = "agents"
# Asterisk's cause of a ringing leg the dialling side hung up (app_queue's hangupcalls, a
# Dial given up): none is set, 0. (26, answered elsewhere, only with Queue's C option.)
CAUSE_NONE = 0
CAUSE_NORMAL = 16  # Normal Clearing: a party hung up


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
    language: str = "en"  # CHANNEL(language): the consent step sets the prompts' language
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
            f"{prefix}Language": self.language,
            f"{prefix}AccountCode": "",
            f"{prefix}Context": context,
            f"{prefix}Exten": exten,
            f"{prefix}Priority": str(self.priority),
            f"{prefix}Uniqueid": self.uniqueid,
            f"{prefix}Linkedid": self.linkedid,
        }


@dataclass(eq=False, slots=True)
class Device:
    """A phone, shared by every queue it is a member of (ringinuse = no)."""

    answers: bool
    busy_with: str | None = None  # linkedid
    ringing: int = 0
    free_at: float = 0.0  # monotonic end of wrap-up
    reported: int = NOT_INUSE  # the status its members' QueueMemberStatus last said


@dataclass(eq=False, slots=True)
class Member:
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
class Queue:
    config: QueueConfig
    members: dict[str, Member]
    waiting: list[Call] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    hold_total: int = 0
    talk_total: int = 0
    rr_next: int = 0


@dataclass(eq=False, slots=True)
class Attempt:
    """app_queue ringing one member for one caller."""

    member: Member
    channel: Channel
    started: float
    task: asyncio.Task[None] | None = None
    hold_s: int = 0  # how long the caller had waited in the queue when it was answered


@dataclass(eq=False, slots=True)
class Dial:
    """Dial() of one phone from [cti-route]: the phone is a device, not a queue member."""

    interface: str
    device: str  # its key in Pbx.devices
    channel: Channel
    app_data: str  # Dial's arguments, for the Cdr
    outcome: asyncio.Future[str]  # ANSWER, or BUSY when the phone rejected the call
    task: asyncio.Task[None] | None = None  # answers after the call's answer delay
    answered_at: float | None = None  # monotonic


@dataclass(eq=False, slots=True)
class Spy:
    """ChanSpy running on an originated leg: the channel-name prefix it looks for, whom it
    listens to now, and whether it ends with that channel (option E)."""

    leg: Channel
    prefix: str
    ends_with_spyee: bool
    spyee: Channel | None = None


@dataclass(frozen=True, slots=True)
class TransferAsked:
    """A transfer the agent's leg asked for: where to (the dialplan's context and extension),
    and whether the agent consults the target first (Atxfer) or not (BlindTransfer)."""

    context: str
    exten: str
    attended: bool


@dataclass(eq=False, slots=True)
class Consultation:
    """An agent's attended transfer (atxfer.py): the Local channel pair that dials
    [cti-transfer-agent], the consulted phone's leg, and the bridges they are in."""

    exten: str
    caller_bridge: str  # where the caller holds (the agent's leg was there too)
    # What the call's task has yet to act on: "abort" (CancelAtxfer) or "target" (an AMI
    # Hangup of the consulted side).
    news: asyncio.Future[str]
    answered: asyncio.Future[None]  # the consulted phone answered
    bridge: str = ""  # the consultation's own: the agent's leg and Local ;1
    one: Channel | None = None  # Local ;1
    two: Channel | None = None  # Local ;2, which Dials the consulted phone
    phone: Channel | None = None  # the consulted phone's leg, once Dial has made it
    interface: str = ""  # what Dial rang, and its key in Pbx.devices
    phone_bridge: str = ""  # Local ;2 and the phone, once it answered
    rang_at: float = 0.0  # monotonic
    ringing: asyncio.Task[None] | None = None  # answers after the call's answer delay


@dataclass(eq=False, slots=True)
class Call:
    """An inbound call: its caller's channel and whatever rings or talks to it."""

    spec: CallSpec
    caller: Channel
    connected: asyncio.Future[Attempt]
    hangup_by: asyncio.Future[str]  # "caller" or "agent"
    point: RoutePointConfig | None = None
    deadline: float | None = None  # monotonic end of the caller's patience
    queue: str = ""
    joined: float = 0.0  # monotonic
    leave_at: float | None = None  # Queue()'s own timeout in the current queue
    priority: int = 0  # QUEUE_PRIO: app_queue seats higher priorities first
    original_position: int = 0
    attempts: dict[str, Attempt] = field(default_factory=dict)
    retry_at: float = 0.0
    agent: Attempt | None = None
    answered_at: float = 0.0
    dial: Dial | None = None
    # Pending while a Redirect into [cti-route] can move the call (it waits in a queue or
    # a Dial rings); its result is the extension to run.
    redirect: asyncio.Future[str] | None = None
    # Pending while the agent talks: a BlindTransfer (transfer.py) or an Atxfer (atxfer.py)
    # from their leg sets what was asked for.
    transfer: asyncio.Future[TransferAsked] | None = None
    transferred: bool = False  # it came where it is by a transfer
    consult: Consultation | None = None  # the agent's attended transfer in progress

    async def hung_up_within(self, seconds: float) -> bool:
        """Sleep; True when a hangup was asked for meanwhile."""
        done, _ = await asyncio.wait({self.hangup_by}, timeout=seconds)
        return bool(done)

    def patience_left(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())


@dataclass(eq=False, slots=True)
class OutboundCall:
    """An agent's outbound call: the agent's leg (an Originate's, running [cti-outbound])
    and, once Dial has made it, the customer's leg through the trunk."""

    agent: Channel
    number: str
    behaviour: OutboundBehaviour
    # Who ended it: "agent" or "customer"; ``soft``: an AMI Hangup asked (a soft hangup
    # request), not the party's own phone (a BYE: HangupRequest).
    hangup_by: asyncio.Future[str]
    customer: Channel | None = None
    soft: bool = False

    def end(self, party: str, soft: bool) -> None:
        if not self.hangup_by.done():
            self.soft = soft
            self.hangup_by.set_result(party)
