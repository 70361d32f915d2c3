"""AMI framing: bytes in, messages out (Sans-IO).

Theory of operation
-------------------
Asterisk sends each message as CRLF-terminated ``Key: Value`` lines ended by an empty line.
We split the *byte* stream on ``\\r\\n\\r\\n`` before decoding anything: CR and LF never occur
inside a multi-byte UTF-8 sequence, so a character split across two TCP reads always ends up
whole inside one buffered frame and decodes correctly. (panoramisk 1.4 decodes every chunk
on its own with ``errors='ignore'`` and silently drops such characters: "Çağrı" -> "Çar".)

Most events are noise for a CTI server (VarSet and Newexten are two thirds of real traffic).
The splitter reads the event name straight from the raw bytes and skips events nobody asked
for before decoding or parsing them, counting them by name. Frames that carry an ``ActionID``
are always parsed: they answer one of our actions.

A frame we cannot understand (no ``Event``/``Response`` line) or that is not valid UTF-8 is
reported to the caller (``malformed``, with its kind) instead of raising: one bad frame must
never cost the connection. Only a message, or the banner line, that never ends within
``MAX_FRAME_BYTES`` raises ``FrameTooLarge``: the stream is beyond repair, and holding it
would grow memory without limit.

Event names come off the wire, so garbage can hold any number of them: counters by name
(``skipped`` here, the pipeline's) count a name that is not in ``ASTERISK_EVENTS`` as
``OTHER_EVENTS``, so their label set stays bounded.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import NoReturn

Message = dict[str, str]

FRAME_END = b"\r\n\r\n"
BANNER_PREFIX = b"Asterisk Call Manager/"
# A frame this large without a terminator means we are not talking to Asterisk (or the
# stream is corrupt); holding it forever would only grow memory.
MAX_FRAME_BYTES = 1 << 20

_FIELD = re.compile(r"^([^:\r\n]+): ?([^\r\n]*)", re.MULTILINE)


class FrameTooLarge(Exception):
    """The peer sent more than MAX_FRAME_BYTES without ending a message or the banner."""


# Kinds of MalformedFrame.
NO_EVENT = "no_event"  # neither an Event nor a Response line: dropped
INVALID_UTF8 = "invalid_utf8"  # delivered, each bad byte replaced by U+FFFD


@dataclass(frozen=True, slots=True)
class MalformedFrame:
    """A frame we could not read as sent, kept for the error report (``text`` is cut)."""

    kind: str
    text: str


# Every event name Asterisk 20 sends to a user with our read classes (call, agent, user,
# system, cdr) or in answer to our actions, plus a few modules' common ones: the label set
# of the counters by event name. Any other name counts as OTHER_EVENTS; it must be bounded
# because a name is whatever text follows "Event: " on the wire. Every name the event
# builders use (events.WANTED_EVENTS) is in it (tests/unit/test_frames.py checks).
ASTERISK_EVENTS = frozenset(
    [
        # call
        "Newchannel",
        "Newstate",
        "Hangup",
        "HangupRequest",
        "SoftHangupRequest",
        "Newexten",
        "VarSet",
        "NewCallerid",
        "NewConnectedLine",
        "NewAccountCode",
        "Rename",
        "DialBegin",
        "DialState",
        "DialEnd",
        "OriginateResponse",
        "BridgeCreate",
        "BridgeDestroy",
        "BridgeEnter",
        "BridgeLeave",
        "BridgeMerge",
        "BridgeVideoSourceUpdate",
        "BlindTransfer",
        "AttendedTransfer",
        "LocalBridge",
        "LocalOptimizationBegin",
        "LocalOptimizationEnd",
        "Hold",
        "Unhold",
        "MusicOnHoldStart",
        "MusicOnHoldStop",
        "MixMonitorStart",
        "MixMonitorStop",
        "MixMonitorMute",
        "ChanSpyStart",
        "ChanSpyStop",
        "DTMFBegin",
        "DTMFEnd",
        "HangupHandlerPush",
        "HangupHandlerPop",
        "HangupHandlerRun",
        "Pickup",
        "ChannelTalkingStart",
        "ChannelTalkingStop",
        "MessageWaiting",
        "AGIExecStart",
        "AGIExecEnd",
        "AsyncAGIStart",
        "AsyncAGIExec",
        "AsyncAGIEnd",
        "ParkedCall",
        "ParkedCallGiveUp",
        "ParkedCallTimeOut",
        "ParkedCallSwap",
        "UnParkedCall",
        "ConfbridgeStart",
        "ConfbridgeEnd",
        "ConfbridgeJoin",
        "ConfbridgeLeave",
        "ConfbridgeTalking",
        "ConfbridgeMute",
        "ConfbridgeUnmute",
        "ConfbridgeRecord",
        "ConfbridgeStopRecord",
        "MeetmeJoin",
        "MeetmeLeave",
        "MeetmeEnd",
        "MeetmeTalking",
        "MeetmeMute",
        "FAXStatus",
        "ReceiveFAX",
        "SendFAX",
        "SessionTimeout",
        "MCID",
        "AOC-D",
        "AOC-E",
        "AOC-S",
        "DAHDIChannel",
        # agent
        "AgentCalled",
        "AgentConnect",
        "AgentComplete",
        "AgentDump",
        "AgentRingNoAnswer",
        "AgentLogin",
        "AgentLogoff",
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
        "QueueMemberAdded",
        "QueueMemberRemoved",
        "QueueMemberPause",
        "QueueMemberStatus",
        "QueueMemberPenalty",
        "QueueMemberRinginuse",
        # user
        "UserEvent",
        # system
        "FullyBooted",
        "Shutdown",
        "Reload",
        "ModuleLoadReport",
        "Registry",
        "PeerStatus",
        "ContactStatus",
        "DeviceStateChange",
        "ExtensionStatus",
        "PresenceStateChange",
        "PresenceStatus",
        "Alarm",
        "AlarmClear",
        "SpanAlarm",
        "SpanAlarmClear",
        "DNDState",
        "LoadAverageLimit",
        "MemoryLimit",
        "ChannelReload",
        # cdr, cel
        "Cdr",
        "CEL",
        # answers to our actions (QueueStatus, CoreShowChannels, Status)
        "QueueParams",
        "QueueMember",
        "QueueEntry",
        "QueueStatusComplete",
        "QueueSummary",
        "QueueSummaryComplete",
        "CoreShowChannel",
        "CoreShowChannelsComplete",
        "Status",
        "StatusComplete",
    ]
)
OTHER_EVENTS = "other"
_OTHER = OTHER_EVENTS.encode()
_LABELS = ASTERISK_EVENTS | {"Response"}  # a message without an Event line answers an action


def event_label(name: str) -> str:
    """The counter label of event ``name``: itself if Asterisk sends such events, else
    OTHER_EVENTS (one label per distinct garbage name would grow without limit)."""
    return name if name in _LABELS else OTHER_EVENTS


# Keys Asterisk repeats within one message on purpose: a Status list item has one
# ``Variable: NAME=value`` line per variable asked for (manager.c, generate_status). Their
# values are kept, in order, joined by "\n": a value never holds CR or LF, so nothing is lost.
REPEATED_KEYS = frozenset({"Variable"})


def parse_message(text: str) -> Message:
    """Parse one decoded frame into a dict. A key of ``REPEATED_KEYS`` that repeats keeps
    every value (joined by "\n"); for any other repeated key the last one wins."""
    pairs = _FIELD.findall(text)
    message = dict(pairs)
    if len(message) < len(pairs) and not REPEATED_KEYS.isdisjoint(message):
        for key in REPEATED_KEYS & message.keys():
            message[key] = "\n".join(value for name, value in pairs if name == key)
    return message


class FrameSplitter:
    """Turns an AMI byte stream into messages. Feed it every chunk read from the socket."""

    def __init__(self, wanted_events: Collection[str] | None = None) -> None:
        self._wanted: frozenset[bytes] | None = (
            None if wanted_events is None else frozenset(e.encode() for e in wanted_events)
        )
        # The names ``skipped`` keeps; any other folds into b"other".
        self._known = frozenset({_OTHER, *(e.encode() for e in ASTERISK_EVENTS)})
        self._tail = bytearray()  # the start of a message whose end has not come yet
        self._banner_pending = True
        self.version: str | None = None
        self._skipped: Counter[bytes] = Counter()
        self.malformed: list[MalformedFrame] = []  # the caller reports and clears it

    def feed(self, data: bytes) -> list[Message]:
        """Return the complete messages that ``data`` finishes, in stream order."""
        held = len(self._tail)
        if held:
            self._tail += data
            # Look for the end only where it can be: in the new bytes and the last held ones.
            # A long message (or garbage) sent a few bytes per read then costs linear time.
            terminator = b"\r\n" if self._banner_pending else FRAME_END
            if self._tail.find(terminator, max(0, held - len(terminator) + 1)) < 0:
                if len(self._tail) > MAX_FRAME_BYTES:
                    self._too_large()
                return []
            buffer = bytes(self._tail)
        else:
            buffer = data
        if self._banner_pending:
            buffer = self._strip_banner(buffer)
            if self._banner_pending:  # the banner line has not ended yet
                self._hold(buffer)
                return []
        frames = buffer.split(FRAME_END)
        self._hold(frames.pop())
        messages: list[Message] = []
        wanted, skipped = self._wanted, self._skipped
        for frame in frames:
            if wanted is not None and frame.startswith(b"Event: "):
                end = frame.find(b"\r", 7)
                name = frame[7:end] if end > 0 else frame[7:]
                if name not in wanted and b"\nActionID: " not in frame:
                    skipped[name] += 1
                    continue
            if not frame:
                continue
            try:  # strict first: valid input, the common case, costs nothing more
                text = frame.decode("utf-8")
            except UnicodeDecodeError:
                text = frame.decode("utf-8", "replace")
                self.malformed.append(MalformedFrame(INVALID_UTF8, text[:200]))
            message = parse_message(text)
            if "Event" in message or "Response" in message:
                messages.append(message)
            else:
                self.malformed.append(MalformedFrame(NO_EVENT, text[:200]))
        if len(skipped) > len(self._known):  # names we do not know: fold them once per read
            self._fold_unknown_names()  # (not per frame: noise is most of the traffic)
        return messages

    @property
    def skipped(self) -> Counter[bytes]:
        """Events skipped as noise, by name; names not in ASTERISK_EVENTS as b"other"."""
        self._fold_unknown_names()
        return self._skipped

    def _fold_unknown_names(self) -> None:
        for name in [name for name in self._skipped if name not in self._known]:
            self._skipped[_OTHER] += self._skipped.pop(name)

    def _hold(self, rest: bytes) -> None:
        if len(rest) > MAX_FRAME_BYTES:
            self._too_large()
        self._tail = bytearray(rest)

    def _too_large(self) -> NoReturn:
        self._tail = bytearray()
        what = "the banner line" if self._banner_pending else "a message"
        raise FrameTooLarge(f"no end of {what} after {MAX_FRAME_BYTES:,} bytes")

    def _strip_banner(self, buffer: bytes) -> bytes:
        """Remove the ``Asterisk Call Manager/x.y.z`` line that opens a session."""
        if len(buffer) < len(BANNER_PREFIX) and BANNER_PREFIX.startswith(buffer):
            return buffer  # wait for more bytes
        self._banner_pending = False
        if not buffer.startswith(BANNER_PREFIX):
            return buffer
        end = buffer.find(b"\r\n")
        if end < 0 or end > MAX_FRAME_BYTES:
            self._banner_pending = True
            if end > MAX_FRAME_BYTES:  # refused whichever read brings its line end
                self._too_large()
            return buffer
        self.version = buffer[len(BANNER_PREFIX) : end].decode("ascii", "replace")
        return buffer[end + 2 :]
