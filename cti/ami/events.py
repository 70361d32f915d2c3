"""Typed, frozen AMI events: the only input of the state core.

Theory of operation
-------------------
``to_event(message, received_at)`` turns one parsed AMI message (a ``dict``) into one of the
dataclasses below, or ``None`` for messages the CTI server does not use. ``EVENTS`` is the
table: for each AMI event name we use, the dataclass it becomes and, for each of its fields,
the header it is read from and how (text, clamped integer, flag, ...); ``USER_EVENTS`` is the
same for our dialplan's UserEvents. Adding an event is one entry. The few values one header
cannot give are small named functions the table refers to, and ``Status`` (a channel's
variables, all in its repeated Variable lines) has a builder of its own. Each entry becomes
a builder once, at import: ``BUILDERS`` maps each AMI event name to it, and
``WANTED_EVENTS`` (its keys) is handed to the frame splitter so every other event is skipped
before it is even decoded. Events are built by keyword only (the builders set each field by
name: see ``_builder``).

Time: ``ts`` is the event's own ``Timestamp`` (``timestampevents = yes``). Responses to list
actions (QueueStatus, CoreShowChannels, Status) carry none; for them ``ts`` is the moment our
socket received them, or ``None`` when replaying a file offline.

Caller ID is attacker-controlled text: it is carried as-is (never interpreted) and Asterisk's
``<unknown>`` placeholder becomes the empty string.

Cleaning happens here, at the boundary, so that no value downstream can stop the call log,
the panel's JSON or the state clock (one NUL in a caller name once froze the call log; one
``Timestamp: inf`` made the state clock infinite): control characters are removed, text is cut
to ``MAX_TEXT`` characters (the call log's indexes hold such values), integers are kept in
PostgreSQL's ``integer`` range, and a timestamp that is not finite, negative or after 2100 is
treated as absent.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
from collections.abc import Callable
from dataclasses import dataclass

from cti.ami.frames import Message

UNKNOWN = "<unknown>"


def _cid(value: str | None) -> str:
    return "" if value is None or value == UNKNOWN else value


# What one AMI value may hold once cleaned. 255 characters fit every index of the call log
# (PostgreSQL's btree entries stop near 2,700 bytes: two such values of 4-byte characters).
MAX_TEXT = 255
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL integer
# Event times we accept: not negative, before 2100 (1e20 once made every duration absurd and
# the panel's JSON invalid). Small values stay: tests and replays use them.
TS_MIN, TS_MAX = 0.0, 4102444800.0
# Every C0 control character but the "\n" that joins repeated keys (frames.REPEATED_KEYS),
# and DEL. CR and LF never survive framing anyway.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def _clean_text(value: str) -> str:
    value = _CONTROL.sub("", value)
    if "\n" in value:  # repeated values: each one is cut on its own
        return "\n".join(part[:MAX_TEXT] for part in value.split("\n"))
    return value[:MAX_TEXT]


def clean_message(message: Message) -> Message:
    """The message with every value cleaned; the same object when nothing needed it. The
    common case is one regular-expression scan of all the values joined by "\n" (which the
    pattern lets through) and one pass over their lengths, rather than a scan per value
    (about 1.5 % of the whole ingest, bench/ami_throughput.py's stream, alternating runs)."""
    values = message.values()
    if _CONTROL.search("\n".join(values)) or max(map(len, values), default=0) > MAX_TEXT:
        return {key: _clean_text(value) for key, value in message.items()}
    return message


def _int(value: str | None, default: int = 0) -> int:
    try:
        number = int(value) if value else default
    except ValueError:
        return default
    return min(max(number, INT_MIN), INT_MAX)


def _hms(value: str | None) -> int:
    """``HH:MM:SS`` (CoreShowChannel Duration) to seconds."""
    if not value:
        return 0
    seconds = 0
    for part in value.split(":"):
        seconds = seconds * 60 + _int(part)
    return seconds


# Asterisk makes a channel's Uniqueid when it creates the channel: ``<time(NULL)>.<n>``, with
# ``<systemname>-`` in front when asterisk.conf sets systemname (channel.c). Ten digits are the
# epoch seconds of 2001 to 2286: anything else (an Originate's own ChannelId) is no time.
_UNIQUEID_TIME = re.compile(r"(?:^|-)(\d{10})\.\d+$")


def uniqueid_epoch(uniqueid: str) -> float | None:
    """The second Asterisk created the channel ``uniqueid`` in (Asterisk's clock, the one of
    the events' Timestamp), or None when the Uniqueid does not carry it."""
    match = _UNIQUEID_TIME.search(uniqueid)
    return float(match.group(1)) if match else None


# --- channels ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelCreated:
    ts: float | None
    channel: str
    uniqueid: str
    linkedid: str
    caller_number: str
    caller_name: str
    exten: str
    state: str
    context: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelStateChanged:
    ts: float | None
    channel: str
    uniqueid: str
    linkedid: str
    state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelHungUp:
    ts: float | None
    channel: str
    uniqueid: str
    linkedid: str
    cause: int
    cause_text: str
    context: str = ""  # where the channel's dialplan was when it ended


@dataclass(frozen=True, slots=True, kw_only=True)
class HangupRequested:
    """HangupRequest (the far end hung up: a SIP BYE) or SoftHangupRequest (something in
    Asterisk asked: the dialplan, an AMI Hangup). Either comes before the channel's own
    Hangup; a Redirect (async goto) sends neither."""

    ts: float | None
    channel: str
    uniqueid: str
    linkedid: str
    soft: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeEntered:
    ts: float | None
    bridge_id: str
    channel: str
    uniqueid: str
    linkedid: str


# --- queue callers ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCallerJoined:
    ts: float | None
    queue: str
    channel: str
    uniqueid: str
    linkedid: str
    caller_number: str
    caller_name: str
    position: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCallerLeft:
    ts: float | None
    queue: str
    uniqueid: str
    linkedid: str
    position: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCallerAbandoned:
    ts: float | None
    queue: str
    uniqueid: str
    linkedid: str
    position: int
    original_position: int
    hold_s: int


# --- agents (queue members) handling a caller --------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentCalled:
    ts: float | None
    queue: str
    interface: str
    member_name: str
    uniqueid: str
    linkedid: str
    caller_number: str
    caller_name: str
    agent_channel: str
    agent_uniqueid: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRingNoAnswer:
    ts: float | None
    queue: str
    interface: str
    uniqueid: str
    linkedid: str
    agent_uniqueid: str
    ring_ms: int  # milliseconds, unlike every other duration app_queue reports


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConnected:
    ts: float | None
    queue: str
    interface: str
    member_name: str
    uniqueid: str
    linkedid: str
    agent_channel: str
    agent_uniqueid: str
    hold_s: int
    ring_s: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentCompleted:
    ts: float | None
    queue: str
    interface: str
    member_name: str
    uniqueid: str
    linkedid: str
    hold_s: int
    talk_s: int
    reason: str


# --- the ACD route point: a Dial of the chosen agent, outside app_queue ---------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DialStarted:
    """DialBegin. app_queue sends it too, after AgentCalled, for each member it rings."""

    ts: float | None
    uniqueid: str
    linkedid: str
    dest_channel: str
    dest_uniqueid: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DialEnded:
    ts: float | None
    uniqueid: str
    linkedid: str
    dest_uniqueid: str
    status: str  # ANSWER, NOANSWER, BUSY, CANCEL, CHANUNAVAIL ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteEntered:
    """``UserEvent: CtiRoute`` from [cti-route]: the call asks the ACD; until an agent
    answers it counts as waiting in ``queue``, the route's holding queue."""

    ts: float | None
    uniqueid: str
    linkedid: str
    route: str
    queue: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteNoAnswer:
    """``UserEvent: CtiRouteNoAnswer``: the agent the ACD chose did not take the call."""

    ts: float | None
    uniqueid: str
    linkedid: str
    interface: str
    dial_status: str


# --- queue members ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberReported:
    """QueueMember (list item), QueueMemberAdded/Status/Pause: the member's full state."""

    ts: float | None
    queue: str
    interface: str
    state_interface: str
    member_name: str
    status: int  # AST_DEVICE_* code
    paused: bool
    paused_reason: str
    in_call: bool
    calls_taken: int
    wrapup_s: int
    action_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberRemoved:
    ts: float | None
    queue: str
    interface: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStateChanged:
    ts: float | None
    device: str
    state: str  # NOT_INUSE, INUSE, BUSY, RINGING, UNAVAILABLE, ...


# --- snapshot lists (answers to QueueStatus / CoreShowChannels) --------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ListStarted:
    ts: float | None
    action_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListCompleted:
    ts: float | None
    action_id: str
    name: str  # QueueStatusComplete, CoreShowChannelsComplete, ...


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueParamsReported:
    ts: float | None
    queue: str
    strategy: str
    service_level_s: int
    action_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueEntryReported:
    ts: float | None
    queue: str
    position: int
    channel: str
    uniqueid: str
    caller_number: str
    caller_name: str
    wait_s: int
    action_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelListed:
    ts: float | None
    channel: str
    uniqueid: str
    linkedid: str
    state: str
    caller_number: str
    caller_name: str
    application: str
    application_data: str
    duration_s: int
    bridge_id: str
    action_id: str
    context: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelVariablesListed:
    """A ``Status`` list item with the channel variables the resync asks for
    (``RESYNC_VARIABLES``): what the dialplan learnt before we were connected. Empty strings
    for variables the channel does not have (yet)."""

    ts: float | None
    channel: str
    uniqueid: str
    linkedid: str
    consent: str  # CONSENT: granted | declined, set by the consent AGI or its fallback
    consent_method: str  # CONSENT_METHOD
    recording: str  # base name of MIXMONITOR_FILENAME, which MixMonitor sets as it starts
    action_id: str


# --- recording -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentReported:
    """``UserEvent: RecordingConsent`` sent by our dialplan."""

    ts: float | None
    uniqueid: str
    linkedid: str
    consent: str  # granted | declined
    method: str
    recording: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStarted:
    ts: float | None
    uniqueid: str
    linkedid: str


# --- hold and transfer -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldChanged:
    ts: float | None
    uniqueid: str
    linkedid: str
    on_hold: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTransferred:
    """BlindTransfer / AttendedTransfer; ``linkedid`` is the transferring party's call."""

    ts: float | None
    linkedid: str
    succeeded: bool


# --- the link itself (made by our client, not by Asterisk) --------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkUp:
    ts: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkDown:
    ts: float | None
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ResyncDone:
    """Sent by our client after the last snapshot list of a login: it reaches the state core
    behind every list item, so the state is in step with Asterisk once it is applied."""

    ts: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundRequested:
    """The daemon is about to have Asterisk ring the agent's phone at ``interface`` and then
    dial ``number`` (AMI Originate with ``channel_id`` as the agent leg's Uniqueid): the call
    that channel starts is this agent's call to this customer (cti/state/outbound.py)."""

    ts: float
    channel_id: str
    interface: str
    number: str
    name: str
    # A campaign's attempt (cti/campaigns/dialer.py), logged with the call; None: click-to-dial.
    campaign_id: int | None = None
    attempt: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """The wall clock, injected periodically so time-based states (wrap-up) can end."""

    ts: float


AmiEvent = (
    ChannelCreated
    | ChannelStateChanged
    | ChannelHungUp
    | HangupRequested
    | BridgeEntered
    | QueueCallerJoined
    | QueueCallerLeft
    | QueueCallerAbandoned
    | AgentCalled
    | AgentRingNoAnswer
    | AgentConnected
    | AgentCompleted
    | DialStarted
    | DialEnded
    | RouteEntered
    | RouteNoAnswer
    | MemberReported
    | MemberRemoved
    | DeviceStateChanged
    | ListStarted
    | ListCompleted
    | QueueParamsReported
    | QueueEntryReported
    | ChannelListed
    | ChannelVariablesListed
    | ConsentReported
    | RecordingStarted
    | HoldChanged
    | CallTransferred
    | LinkUp
    | LinkDown
    | ResyncDone
    | OutboundRequested
    | Tick
)


# --- from AMI messages to events ---------------------------------------------------------


def _ts(m: Message, received_at: float | None) -> float | None:
    return _stamp(m.get("Timestamp", ""), received_at)


def _stamp(stamp: str, received_at: float | None) -> float | None:
    if stamp:
        try:
            seconds = float(stamp)
        except ValueError:
            return received_at
        if TS_MIN <= seconds < TS_MAX:  # False for nan and inf too
            return seconds
    return received_at


# Where one field of an event comes from, one of:
#   "Header"             the header's text ("" when the message lacks it);
#   ("Header", convert)  the header's text ("" when absent) through ``convert``;
#   a function           of the whole message, for what one header cannot say.
# ``ts`` is never listed: every event gets the message's time (``_stamp``).
Convert = Callable[[str], object]
Source = str | tuple[str, Convert] | Callable[[Message], object]
Spec = tuple[type[AmiEvent], dict[str, Source]]
# A builder takes the message and the moment it was received (see ``_builder``).
Builder = Callable[[Message, float | None], AmiEvent | None]


def _equals(expected: str) -> Convert:
    return expected.__eq__


# The QueueStatus list item names a member's fields Name/Location; the live events
# (QueueMemberAdded/Status/Pause/Removed) name them MemberName/Interface.
def _interface(m: Message) -> str:
    return m.get("Interface") or m.get("Location", "")


def _state_interface(m: Message) -> str:
    return m.get("StateInterface") or _interface(m)


def _member_name(m: Message) -> str:
    return m.get("MemberName") or m.get("Name", "")


# BlindTransfer names the transferring party's channel Transferer; AttendedTransfer names
# the party's first call OrigTransferer (its second, to the target, SecondTransferer).
def _transferer_linkedid(m: Message) -> str:
    return m.get("TransfererLinkedid") or m.get("OrigTransfererLinkedid", "")


# The channel variables the resync reads with ``Action: Status`` (cti/ami/connection.py):
# CONSENT and CONSENT_METHOD from the consent step of [cti-inbound], MIXMONITOR_FILENAME from
# its MixMonitor (the full path: MixMonitor puts a relative name under the monitor folder).
RESYNC_VARIABLES = ("CONSENT", "CONSENT_METHOD", "MIXMONITOR_FILENAME")
# manager.c prints a variable the channel does not have as ``%s`` of NULL: glibc's "(null)".
_UNSET = "(null)"


def _status(m: Message, received_at: float | None) -> ChannelVariablesListed:
    """Status list item: its Variable lines hold several fields, so it has its own builder."""
    m = clean_message(m)
    t = _ts(m, received_at)
    variables: dict[str, str] = {}
    for line in m.get("Variable", "").split("\n"):  # one per variable: see frames.py
        name, sep, value = line.partition("=")
        if sep and value != _UNSET:
            variables[name] = value
    return ChannelVariablesListed(
        ts=t,
        channel=m.get("Channel", ""),
        uniqueid=m.get("Uniqueid", ""),
        linkedid=m.get("Linkedid", ""),
        consent=variables.get("CONSENT", "").strip().lower(),
        consent_method=variables.get("CONSENT_METHOD", ""),
        recording=variables.get("MIXMONITOR_FILENAME", "").rsplit("/", 1)[-1],
        action_id=m.get("ActionID", ""),
    )


# Specs that several AMI events share.
_HANGUP_REQUEST: Spec = (
    HangupRequested,
    {
        "channel": "Channel",
        "uniqueid": "Uniqueid",
        "linkedid": "Linkedid",
        "soft": ("Event", _equals("SoftHangupRequest")),
    },
)
_MEMBER: Spec = (
    MemberReported,
    {
        "queue": "Queue",
        "interface": _interface,
        "state_interface": _state_interface,
        "member_name": _member_name,
        "status": ("Status", _int),
        "paused": ("Paused", _equals("1")),
        "paused_reason": "PausedReason",
        "in_call": ("InCall", _equals("1")),
        "calls_taken": ("CallsTaken", _int),
        "wrapup_s": ("Wrapuptime", _int),
        "action_id": "ActionID",
    },
)
_LIST_COMPLETE: Spec = (ListCompleted, {"action_id": "ActionID", "name": "Event"})
_HOLD: Spec = (
    HoldChanged,
    {"uniqueid": "Uniqueid", "linkedid": "Linkedid", "on_hold": ("Event", _equals("Hold"))},
)
_TRANSFER: Spec = (
    CallTransferred,
    {"linkedid": _transferer_linkedid, "succeeded": ("Result", _equals("Success"))},
)

# Each AMI event we use: the event it becomes and where each of its fields comes from.
EVENTS: dict[str, Spec] = {
    "Newchannel": (
        ChannelCreated,
        {
            "channel": "Channel",
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "caller_number": ("CallerIDNum", _cid),
            "caller_name": ("CallerIDName", _cid),
            "exten": "Exten",
            "state": "ChannelStateDesc",
            "context": "Context",
        },
    ),
    "Newstate": (
        ChannelStateChanged,
        {
            "channel": "Channel",
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "state": "ChannelStateDesc",
        },
    ),
    "Hangup": (
        ChannelHungUp,
        {
            "channel": "Channel",
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "cause": ("Cause", _int),
            "cause_text": "Cause-txt",
            "context": "Context",
        },
    ),
    # Cheap (one or two per hang-up) and needed: they tell a caller who hung up in a queue
    # from one the queue let go (timeout, Redirect), which app_queue reports alike.
    "HangupRequest": _HANGUP_REQUEST,
    "SoftHangupRequest": _HANGUP_REQUEST,
    "BridgeEnter": (
        BridgeEntered,
        {
            "bridge_id": "BridgeUniqueid",
            "channel": "Channel",
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
        },
    ),
    "QueueCallerJoin": (
        QueueCallerJoined,
        {
            "queue": "Queue",
            "channel": "Channel",
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "caller_number": ("CallerIDNum", _cid),
            "caller_name": ("CallerIDName", _cid),
            "position": ("Position", _int),
        },
    ),
    "QueueCallerLeave": (
        QueueCallerLeft,
        {
            "queue": "Queue",
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "position": ("Position", _int),
        },
    ),
    "QueueCallerAbandon": (
        QueueCallerAbandoned,
        {
            "queue": "Queue",
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "position": ("Position", _int),
            "original_position": ("OriginalPosition", _int),
            "hold_s": ("HoldTime", _int),
        },
    ),
    "AgentCalled": (
        AgentCalled,
        {
            "queue": "Queue",
            "interface": "Interface",
            "member_name": "MemberName",
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "caller_number": ("CallerIDNum", _cid),
            "caller_name": ("CallerIDName", _cid),
            "agent_channel": "DestChannel",
            "agent_uniqueid": "DestUniqueid",
        },
    ),
    "AgentRingNoAnswer": (
        AgentRingNoAnswer,
        {
            "queue": "Queue",
            "interface": "Interface",
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "agent_uniqueid": "DestUniqueid",
            "ring_ms": ("RingTime", _int),
        },
    ),
    "AgentConnect": (
        AgentConnected,
        {
            "queue": "Queue",
            "interface": "Interface",
            "member_name": "MemberName",
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "agent_channel": "DestChannel",
            "agent_uniqueid": "DestUniqueid",
            "hold_s": ("HoldTime", _int),
            "ring_s": ("RingTime", _int),
        },
    ),
    "AgentComplete": (
        AgentCompleted,
        {
            "queue": "Queue",
            "interface": "Interface",
            "member_name": "MemberName",
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "hold_s": ("HoldTime", _int),
            "talk_s": ("TalkTime", _int),
            "reason": "Reason",
        },
    ),
    "DialBegin": (
        DialStarted,
        {
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "dest_channel": "DestChannel",
            "dest_uniqueid": "DestUniqueid",
        },
    ),
    "DialEnd": (
        DialEnded,
        {
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "dest_uniqueid": "DestUniqueid",
            "status": "DialStatus",
        },
    ),
    "QueueMember": _MEMBER,
    "QueueMemberAdded": _MEMBER,
    "QueueMemberStatus": _MEMBER,
    "QueueMemberPause": _MEMBER,
    "QueueMemberRemoved": (MemberRemoved, {"queue": "Queue", "interface": _interface}),
    "DeviceStateChange": (DeviceStateChanged, {"device": "Device", "state": "State"}),
    "QueueParams": (
        QueueParamsReported,
        {
            "queue": "Queue",
            "strategy": "Strategy",
            "service_level_s": ("ServiceLevel", _int),
            "action_id": "ActionID",
        },
    ),
    "QueueEntry": (
        QueueEntryReported,
        {
            "queue": "Queue",
            "position": ("Position", _int),
            "channel": "Channel",
            "uniqueid": "Uniqueid",
            "caller_number": ("CallerIDNum", _cid),
            "caller_name": ("CallerIDName", _cid),
            "wait_s": ("Wait", _int),
            "action_id": "ActionID",
        },
    ),
    "QueueStatusComplete": _LIST_COMPLETE,
    "CoreShowChannel": (
        ChannelListed,
        {
            "channel": "Channel",
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "state": "ChannelStateDesc",
            "caller_number": ("CallerIDNum", _cid),
            "caller_name": ("CallerIDName", _cid),
            "application": "Application",
            "application_data": "ApplicationData",
            "duration_s": ("Duration", _hms),
            "bridge_id": "BridgeId",
            "action_id": "ActionID",
            "context": "Context",
        },
    ),
    "CoreShowChannelsComplete": _LIST_COMPLETE,
    "StatusComplete": _LIST_COMPLETE,
    "MixMonitorStart": (RecordingStarted, {"uniqueid": "Uniqueid", "linkedid": "Linkedid"}),
    "Hold": _HOLD,
    "Unhold": _HOLD,
    "BlindTransfer": _TRANSFER,
    "AttendedTransfer": _TRANSFER,
}

# The UserEvents our dialplan sends, by their UserEvent header; any other is someone else's.
USER_EVENTS: dict[str, Spec] = {
    "RecordingConsent": (
        ConsentReported,
        {
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "consent": ("Consent", str.lower),
            "method": "Method",
            "recording": "Recording",
        },
    ),
    "CtiRoute": (
        RouteEntered,
        {"uniqueid": "Uniqueid", "linkedid": "Linkedid", "route": "Route", "queue": "Queue"},
    ),
    "CtiRouteNoAnswer": (
        RouteNoAnswer,
        {
            "uniqueid": "Uniqueid",
            "linkedid": "Linkedid",
            "interface": "Agent",
            "dial_status": "DialStatus",
        },
    ),
}


def _slot_setters(event: type, names: set[str]) -> dict[str, Callable[[object, object], None]]:
    """The setter of each field's slot, for a builder that makes ``event`` the way ``copy``
    and ``pickle`` make an object, without calling ``__init__``: ``object.__new__``, then
    each slot set. Only a plain dataclass may be made so: every field is an ``__init__``
    parameter the builder sets (``names``), stored in a slot, and the class has neither a
    ``__post_init__`` nor a ``__new__`` of its own. Such an event is equal (``==``, ``hash``)
    to the one ``__init__`` makes from the same values, and as frozen: its ``__setattr__``
    is untouched, and the setters get past it just as ``object.__setattr__`` does in the
    ``__init__`` of a frozen dataclass."""
    if hasattr(event, "__post_init__"):
        raise TypeError(f"{event.__name__}: its builder would not call __post_init__")
    if inspect.getattr_static(event, "__new__") is not object.__new__:
        raise TypeError(f"{event.__name__}: its builder would not call its __new__")
    fields = {field.name for field in dataclasses.fields(event)}
    if not fields == names == set(inspect.signature(event).parameters):
        raise TypeError(f"{event.__name__}: a spec lists every field but ts: {sorted(names)}")
    setters = {}
    for name in names:
        slot = inspect.getattr_static(event, name, None)
        if not isinstance(slot, types.MemberDescriptorType):
            raise TypeError(f"{event.__name__}.{name} is not a slot")
        setters[name] = slot.__set__
    return setters


def _builder(spec: Spec) -> Builder:
    """The builder of one spec, made once at import: from a message and the moment it was
    received, the event, its values cleaned and its time read (``_stamp``).

    Building events is the hot path (every kept message), so the builder is compiled from
    source, like dataclasses' own ``__init__``: straight-line code that reads each header
    once into a local, then sets each field. For a spec of headers only, the values read are
    checked together first: printable (no control character is) and, all of them together,
    no longer than one value may be. Then each is clean as it is and the message is not
    copied; checking every value of the message instead (``clean_message``) is about three
    times the work. With a computed field, whose function may read any header, the whole
    message is cleaned first.

    The event is made without its ``__init__`` (``_slot_setters``): a frozen dataclass's
    ``__init__`` sets each field with ``object.__setattr__`` to get past its own guard, and
    ``to_event`` takes a quarter fewer instructions without it. For Hangup the source is:

        def build(m, received_at):
            h0 = m.get('Timestamp', '')
            h1 = m.get('Channel', '')
            ...
            h6 = m.get('Context', '')
            text = f"{h0}{h1}{h2}{h3}{h4}{h5}{h6}"
            if not (text.isprintable() and len(text) <= MAX_TEXT):
                m = clean(m)
                h0 = m.get('Timestamp', '')
                ...
            e = new(event)
            set_ts(e, stamp(h0, received_at))
            set_channel(e, h1)
            ...
            set_cause(e, convert3(h4))
            ...
            return e

    ``to_event`` takes a third of the instructions it took when it cleaned every message,
    filled a dict and called the event with it (bench/ami_throughput.py's stream, valgrind).
    """
    event, sources = spec
    scope: dict[str, object] = {
        "event": event,
        "new": object.__new__,
        "clean": clean_message,
        "stamp": _stamp,
        "MAX_TEXT": MAX_TEXT,
    }
    headers = ["Timestamp"]  # read into h0, h1, ... in this order
    fields = {"ts": "stamp(h0, received_at)"}  # each field's value, as source
    computed = False
    for number, (name, source) in enumerate(sources.items()):
        if isinstance(source, str):
            fields[name] = f"h{len(headers)}"
            headers.append(source)
        elif isinstance(source, tuple):
            fields[name] = f"convert{number}(h{len(headers)})"
            headers.append(source[0])
            scope[f"convert{number}"] = source[1]
        else:
            fields[name] = f"read{number}(m)"
            computed = True
            scope[f"read{number}"] = source
    for name, setter in _slot_setters(event, set(fields)).items():
        scope[f"set_{name}"] = setter
    locals_ = [f"h{number}" for number in range(len(headers))]
    read = [f"h{number} = m.get({header!r}, '')" for number, header in enumerate(headers)]
    check = [
        f'text = f"{"".join("{" + name + "}" for name in locals_)}"',
        "if not (text.isprintable() and len(text) <= MAX_TEXT):",
        *(f"    {line}" for line in ["m = clean(m)", *read]),
    ]
    body = ["m = clean(m)", *read] if computed else [*read, *check]
    body.append("e = new(event)")
    body += [f"set_{name}(e, {value})" for name, value in fields.items()]
    body.append("return e")
    code = "def build(m, received_at):\n" + "".join(f"    {line}\n" for line in body)
    # The source holds only names and headers of the tables above. Named after the event,
    # so that a traceback or a profile says which builder it is.
    exec(compile(code, f"<builder of {event.__name__}>", "exec"), scope)
    build: Builder = scope["build"]  # type: ignore[assignment]
    return build


_USER_BUILDERS = {name: _builder(spec) for name, spec in USER_EVENTS.items()}


def _user_event(m: Message, received_at: float | None) -> AmiEvent | None:
    m = clean_message(m)
    build = _USER_BUILDERS.get(m.get("UserEvent", ""))
    return build(m, received_at) if build else None


BUILDERS: dict[str, Builder] = {
    **{name: _builder(spec) for name, spec in EVENTS.items()},
    "Status": _status,  # only ever an answer to our resync's Status action
    "UserEvent": _user_event,
}

WANTED_EVENTS = frozenset(BUILDERS)


def to_event(message: Message, received_at: float | None = None) -> AmiEvent | None:
    """The typed event for one AMI message, or None when we do not use it."""
    name = message.get("Event")
    if name is None:
        # The opening response of a list action ("... will follow") starts a snapshot.
        if message.get("EventList") == "start":
            return ListStarted(ts=received_at, action_id=message.get("ActionID", ""))
        return None
    builder = BUILDERS.get(name)
    return builder(message, received_at) if builder else None
