"""Typed, frozen AMI events: the only input of the state core.

Theory of operation
-------------------
``to_event(message, received_at)`` turns one parsed AMI message (a ``dict``) into one of the
dataclasses below, or ``None`` for messages the CTI server does not use. ``BUILDERS`` maps each
AMI event name we use to its builder; ``WANTED_EVENTS`` (its keys) is handed to the frame
splitter so every other event is skipped before it is even decoded.

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

import re
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
    """The message with every value cleaned; the same object when nothing needed it (the
    common case costs one scan per value)."""
    for value in message.values():
        if len(value) > MAX_TEXT or _CONTROL.search(value):
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class ChannelStateChanged:
    ts: float | None
    channel: str
    uniqueid: str
    linkedid: str
    state: str


@dataclass(frozen=True, slots=True)
class ChannelHungUp:
    ts: float | None
    channel: str
    uniqueid: str
    linkedid: str
    cause: int
    cause_text: str
    context: str = ""  # where the channel's dialplan was when it ended


@dataclass(frozen=True, slots=True)
class HangupRequested:
    """HangupRequest (the far end hung up: a SIP BYE) or SoftHangupRequest (something in
    Asterisk asked: the dialplan, an AMI Hangup). Either comes before the channel's own
    Hangup; a Redirect (async goto) sends neither."""

    ts: float | None
    channel: str
    uniqueid: str
    linkedid: str
    soft: bool


@dataclass(frozen=True, slots=True)
class BridgeEntered:
    ts: float | None
    bridge_id: str
    channel: str
    uniqueid: str
    linkedid: str


# --- queue callers ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueCallerJoined:
    ts: float | None
    queue: str
    channel: str
    uniqueid: str
    linkedid: str
    caller_number: str
    caller_name: str
    position: int


@dataclass(frozen=True, slots=True)
class QueueCallerLeft:
    ts: float | None
    queue: str
    uniqueid: str
    linkedid: str
    position: int


@dataclass(frozen=True, slots=True)
class QueueCallerAbandoned:
    ts: float | None
    queue: str
    uniqueid: str
    linkedid: str
    position: int
    original_position: int
    hold_s: int


# --- agents (queue members) handling a caller --------------------------------------------


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer:
    ts: float | None
    queue: str
    interface: str
    uniqueid: str
    linkedid: str
    agent_uniqueid: str
    ring_ms: int  # milliseconds, unlike every other duration app_queue reports


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class DialStarted:
    """DialBegin. app_queue sends it too, after AgentCalled, for each member it rings."""

    ts: float | None
    uniqueid: str
    linkedid: str
    dest_channel: str
    dest_uniqueid: str


@dataclass(frozen=True, slots=True)
class DialEnded:
    ts: float | None
    uniqueid: str
    linkedid: str
    dest_uniqueid: str
    status: str  # ANSWER, NOANSWER, BUSY, CANCEL, CHANUNAVAIL ...


@dataclass(frozen=True, slots=True)
class RouteEntered:
    """``UserEvent: CtiRoute`` from [cti-route]: the call asks the ACD; until an agent
    answers it counts as waiting in ``queue``, the route's holding queue."""

    ts: float | None
    uniqueid: str
    linkedid: str
    route: str
    queue: str


@dataclass(frozen=True, slots=True)
class RouteNoAnswer:
    """``UserEvent: CtiRouteNoAnswer``: the agent the ACD chose did not take the call."""

    ts: float | None
    uniqueid: str
    linkedid: str
    interface: str
    dial_status: str


# --- queue members ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class MemberRemoved:
    ts: float | None
    queue: str
    interface: str


@dataclass(frozen=True, slots=True)
class DeviceStateChanged:
    ts: float | None
    device: str
    state: str  # NOT_INUSE, INUSE, BUSY, RINGING, UNAVAILABLE, ...


# --- snapshot lists (answers to QueueStatus / CoreShowChannels) --------------------------


@dataclass(frozen=True, slots=True)
class ListStarted:
    ts: float | None
    action_id: str


@dataclass(frozen=True, slots=True)
class ListCompleted:
    ts: float | None
    action_id: str
    name: str  # QueueStatusComplete, CoreShowChannelsComplete, ...


@dataclass(frozen=True, slots=True)
class QueueParamsReported:
    ts: float | None
    queue: str
    strategy: str
    service_level_s: int
    action_id: str


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class ConsentReported:
    """``UserEvent: RecordingConsent`` sent by our dialplan."""

    ts: float | None
    uniqueid: str
    linkedid: str
    consent: str  # granted | declined
    method: str
    recording: str


@dataclass(frozen=True, slots=True)
class RecordingStarted:
    ts: float | None
    uniqueid: str
    linkedid: str


# --- hold and transfer -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HoldChanged:
    ts: float | None
    uniqueid: str
    linkedid: str
    on_hold: bool


@dataclass(frozen=True, slots=True)
class CallTransferred:
    """BlindTransfer / AttendedTransfer; ``linkedid`` is the transferring party's call."""

    ts: float | None
    linkedid: str
    succeeded: bool


# --- the link itself (made by our client, not by Asterisk) --------------------------------


@dataclass(frozen=True, slots=True)
class LinkUp:
    ts: float | None


@dataclass(frozen=True, slots=True)
class LinkDown:
    ts: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class ResyncDone:
    """Sent by our client after the last snapshot list of a login: it reaches the state core
    behind every list item, so the state is in step with Asterisk once it is applied."""

    ts: float | None


@dataclass(frozen=True, slots=True)
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
    | Tick
)


# --- builders -------------------------------------------------------------------------


def _ts(m: Message, received_at: float | None) -> float | None:
    stamp = m.get("Timestamp")
    if stamp:
        try:
            seconds = float(stamp)
        except ValueError:
            return received_at
        if TS_MIN <= seconds < TS_MAX:  # False for nan and inf too
            return seconds
    return received_at


def _newchannel(m: Message, t: float | None) -> ChannelCreated:
    return ChannelCreated(
        t,
        m.get("Channel", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        _cid(m.get("CallerIDNum")),
        _cid(m.get("CallerIDName")),
        m.get("Exten", ""),
        m.get("ChannelStateDesc", ""),
        m.get("Context", ""),
    )


def _newstate(m: Message, t: float | None) -> ChannelStateChanged:
    return ChannelStateChanged(
        t,
        m.get("Channel", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        m.get("ChannelStateDesc", ""),
    )


def _hangup(m: Message, t: float | None) -> ChannelHungUp:
    return ChannelHungUp(
        t,
        m.get("Channel", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        _int(m.get("Cause")),
        m.get("Cause-txt", ""),
        m.get("Context", ""),
    )


def _hangup_request(m: Message, t: float | None) -> HangupRequested:
    return HangupRequested(
        t,
        m.get("Channel", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        m.get("Event") == "SoftHangupRequest",
    )


def _bridge_enter(m: Message, t: float | None) -> BridgeEntered:
    return BridgeEntered(
        t,
        m.get("BridgeUniqueid", ""),
        m.get("Channel", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
    )


def _caller_join(m: Message, t: float | None) -> QueueCallerJoined:
    return QueueCallerJoined(
        t,
        m.get("Queue", ""),
        m.get("Channel", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        _cid(m.get("CallerIDNum")),
        _cid(m.get("CallerIDName")),
        _int(m.get("Position")),
    )


def _caller_leave(m: Message, t: float | None) -> QueueCallerLeft:
    return QueueCallerLeft(
        t,
        m.get("Queue", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        _int(m.get("Position")),
    )


def _caller_abandon(m: Message, t: float | None) -> QueueCallerAbandoned:
    return QueueCallerAbandoned(
        t,
        m.get("Queue", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        _int(m.get("Position")),
        _int(m.get("OriginalPosition")),
        _int(m.get("HoldTime")),
    )


def _agent_called(m: Message, t: float | None) -> AgentCalled:
    return AgentCalled(
        t,
        m.get("Queue", ""),
        m.get("Interface", ""),
        m.get("MemberName", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        _cid(m.get("CallerIDNum")),
        _cid(m.get("CallerIDName")),
        m.get("DestChannel", ""),
        m.get("DestUniqueid", ""),
    )


def _agent_ring_no_answer(m: Message, t: float | None) -> AgentRingNoAnswer:
    return AgentRingNoAnswer(
        t,
        m.get("Queue", ""),
        m.get("Interface", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        m.get("DestUniqueid", ""),
        _int(m.get("RingTime")),
    )


def _agent_connect(m: Message, t: float | None) -> AgentConnected:
    return AgentConnected(
        t,
        m.get("Queue", ""),
        m.get("Interface", ""),
        m.get("MemberName", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        m.get("DestChannel", ""),
        m.get("DestUniqueid", ""),
        _int(m.get("HoldTime")),
        _int(m.get("RingTime")),
    )


def _agent_complete(m: Message, t: float | None) -> AgentCompleted:
    return AgentCompleted(
        t,
        m.get("Queue", ""),
        m.get("Interface", ""),
        m.get("MemberName", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        _int(m.get("HoldTime")),
        _int(m.get("TalkTime")),
        m.get("Reason", ""),
    )


def _dial_begin(m: Message, t: float | None) -> DialStarted:
    return DialStarted(
        t,
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        m.get("DestChannel", ""),
        m.get("DestUniqueid", ""),
    )


def _dial_end(m: Message, t: float | None) -> DialEnded:
    return DialEnded(
        t,
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        m.get("DestUniqueid", ""),
        m.get("DialStatus", ""),
    )


def _member(m: Message, t: float | None) -> MemberReported:
    # The QueueStatus list item names the fields Name/Location; the live events
    # (QueueMemberAdded/Status/Pause) name them MemberName/Interface.
    interface = m.get("Interface") or m.get("Location", "")
    return MemberReported(
        t,
        m.get("Queue", ""),
        interface,
        m.get("StateInterface") or interface,
        m.get("MemberName") or m.get("Name", ""),
        _int(m.get("Status")),
        m.get("Paused") == "1",
        m.get("PausedReason", ""),
        m.get("InCall") == "1",
        _int(m.get("CallsTaken")),
        _int(m.get("Wrapuptime")),
        m.get("ActionID", ""),
    )


def _member_removed(m: Message, t: float | None) -> MemberRemoved:
    return MemberRemoved(t, m.get("Queue", ""), m.get("Interface") or m.get("Location", ""))


def _device_state(m: Message, t: float | None) -> DeviceStateChanged:
    return DeviceStateChanged(t, m.get("Device", ""), m.get("State", ""))


def _list_complete(m: Message, t: float | None) -> ListCompleted:
    return ListCompleted(t, m.get("ActionID", ""), m.get("Event", ""))


def _queue_params(m: Message, t: float | None) -> QueueParamsReported:
    return QueueParamsReported(
        t,
        m.get("Queue", ""),
        m.get("Strategy", ""),
        _int(m.get("ServiceLevel")),
        m.get("ActionID", ""),
    )


def _queue_entry(m: Message, t: float | None) -> QueueEntryReported:
    return QueueEntryReported(
        t,
        m.get("Queue", ""),
        _int(m.get("Position")),
        m.get("Channel", ""),
        m.get("Uniqueid", ""),
        _cid(m.get("CallerIDNum")),
        _cid(m.get("CallerIDName")),
        _int(m.get("Wait")),
        m.get("ActionID", ""),
    )


def _channel_listed(m: Message, t: float | None) -> ChannelListed:
    return ChannelListed(
        t,
        m.get("Channel", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        m.get("ChannelStateDesc", ""),
        _cid(m.get("CallerIDNum")),
        _cid(m.get("CallerIDName")),
        m.get("Application", ""),
        m.get("ApplicationData", ""),
        _hms(m.get("Duration")),
        m.get("BridgeId", ""),
        m.get("ActionID", ""),
        m.get("Context", ""),
    )


# The channel variables the resync reads with ``Action: Status`` (cti/ami/connection.py):
# CONSENT and CONSENT_METHOD from the consent step of [cti-inbound], MIXMONITOR_FILENAME from
# its MixMonitor (the full path: MixMonitor puts a relative name under the monitor folder).
RESYNC_VARIABLES = ("CONSENT", "CONSENT_METHOD", "MIXMONITOR_FILENAME")
# manager.c prints a variable the channel does not have as ``%s`` of NULL: glibc's "(null)".
_UNSET = "(null)"


def _status(m: Message, t: float | None) -> ChannelVariablesListed:
    variables: dict[str, str] = {}
    for line in m.get("Variable", "").split("\n"):  # one per variable: see frames.py
        name, sep, value = line.partition("=")
        if sep and value != _UNSET:
            variables[name] = value
    path = variables.get("MIXMONITOR_FILENAME", "")
    return ChannelVariablesListed(
        t,
        m.get("Channel", ""),
        m.get("Uniqueid", ""),
        m.get("Linkedid", ""),
        variables.get("CONSENT", "").strip().lower(),
        variables.get("CONSENT_METHOD", ""),
        path.rsplit("/", 1)[-1],
        m.get("ActionID", ""),
    )


def _user_event(m: Message, t: float | None) -> AmiEvent | None:
    """The UserEvents our dialplan sends; any other is someone else's business."""
    uniqueid, linkedid = m.get("Uniqueid", ""), m.get("Linkedid", "")
    match m.get("UserEvent"):
        case "RecordingConsent":
            return ConsentReported(
                t,
                uniqueid,
                linkedid,
                m.get("Consent", "").lower(),
                m.get("Method", ""),
                m.get("Recording", ""),
            )
        case "CtiRoute":
            return RouteEntered(t, uniqueid, linkedid, m.get("Route", ""), m.get("Queue", ""))
        case "CtiRouteNoAnswer":
            return RouteNoAnswer(t, uniqueid, linkedid, m.get("Agent", ""), m.get("DialStatus", ""))
        case _:
            return None


def _mixmonitor_start(m: Message, t: float | None) -> RecordingStarted:
    return RecordingStarted(t, m.get("Uniqueid", ""), m.get("Linkedid", ""))


def _hold(m: Message, t: float | None) -> HoldChanged:
    return HoldChanged(t, m.get("Uniqueid", ""), m.get("Linkedid", ""), m.get("Event") == "Hold")


def _transfer(m: Message, t: float | None) -> CallTransferred:
    linkedid = m.get("TransfererLinkedid") or m.get("OrigTransfererLinkedid", "")
    return CallTransferred(t, linkedid, m.get("Result") == "Success")


Builder = Callable[[Message, float | None], AmiEvent | None]

BUILDERS: dict[str, Builder] = {
    "Newchannel": _newchannel,
    "Newstate": _newstate,
    "Hangup": _hangup,
    # Cheap (one or two per hang-up) and needed: they tell a caller who hung up in a queue
    # from one the queue let go (timeout, Redirect), which app_queue reports alike.
    "HangupRequest": _hangup_request,
    "SoftHangupRequest": _hangup_request,
    "BridgeEnter": _bridge_enter,
    "QueueCallerJoin": _caller_join,
    "QueueCallerLeave": _caller_leave,
    "QueueCallerAbandon": _caller_abandon,
    "AgentCalled": _agent_called,
    "AgentRingNoAnswer": _agent_ring_no_answer,
    "AgentConnect": _agent_connect,
    "AgentComplete": _agent_complete,
    "DialBegin": _dial_begin,
    "DialEnd": _dial_end,
    "QueueMember": _member,
    "QueueMemberAdded": _member,
    "QueueMemberStatus": _member,
    "QueueMemberPause": _member,
    "QueueMemberRemoved": _member_removed,
    "DeviceStateChange": _device_state,
    "QueueParams": _queue_params,
    "QueueEntry": _queue_entry,
    "QueueStatusComplete": _list_complete,
    "CoreShowChannel": _channel_listed,
    "CoreShowChannelsComplete": _list_complete,
    "Status": _status,  # only ever an answer to our resync's Status action
    "StatusComplete": _list_complete,
    "UserEvent": _user_event,
    "MixMonitorStart": _mixmonitor_start,
    "Hold": _hold,
    "Unhold": _hold,
    "BlindTransfer": _transfer,
    "AttendedTransfer": _transfer,
}

WANTED_EVENTS = frozenset(BUILDERS)


def to_event(message: Message, received_at: float | None = None) -> AmiEvent | None:
    """The typed event for one AMI message, or None when we do not use it."""
    name = message.get("Event")
    if name is None:
        # The opening response of a list action ("... will follow") starts a snapshot.
        if message.get("EventList") == "start":
            return ListStarted(received_at, message.get("ActionID", ""))
        return None
    builder = BUILDERS.get(name)
    if builder is None:
        return None
    message = clean_message(message)
    return builder(message, _ts(message, received_at))
