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

Cost: this is the hot path of the daemon (bench/ami_throughput.py). Per read, the noise is
told apart by one compiled pattern mapped over all the frames, so a skipped frame costs no
Python statement of its own. A kept frame is parsed against the layout of the last frames
of its kind, else split with str methods; the general pattern (``_FIELD``) reads only what
neither can read the same way. Parsing a kept frame takes less than half the instructions
it took with the general pattern alone.

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

import itertools
import re
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import NoReturn

Message = dict[str, str]

FRAME_END = b"\r\n\r\n"
BANNER_PREFIX = b"Asterisk Call Manager/"
# A frame this large without a terminator means we are not talking to Asterisk (or the
# stream is corrupt); holding it forever would only grow memory.
MAX_FRAME_BYTES = 1 << 20

_FIELD = re.compile(r"^([^:\r\n]+): ?([^\r\n]*)", re.MULTILINE)
_COLON_SPACE, _ONCE = itertools.repeat(": "), itertools.repeat(1)


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


# Layouts. Asterisk prints each kind of event with one format, so the frames of one kind
# (one first line, "Event: Newstate") come with the same headers in the same order.
# ``parse_message`` keeps the headers of a frame it split as a compiled pattern of the whole
# frame, literal keys and one group per value:
#     Event: ([^\r]*)\r\nPrivilege: ([^\r]*)\r\nTimestamp: ([^\r]*)\r\n...
# and matches the next frames of that kind against it, in C: only their values become new
# strings, the keys are the same (already hashed) objects and no line is cut out on its own.
# That takes a third fewer instructions than splitting (``_split``), which takes a third
# fewer than the general pattern; parsing is most of the cost of a kept event. The message
# is a copy of the layout's blank message (its keys, each with ""), its values then set:
# the copy takes the blank's table whole, where a new dict grows as it is filled (three
# times for 20 headers); splitting the bench's stream takes some 5 % less time so.
# Only the kinds of ASTERISK_EVENTS are learnt (garbage brings any number of first lines),
# each up to LAYOUTS_PER_KIND layouts (UserEvents of several kinds share a first line, and
# a module may add a header to some events of a kind), of up to MAX_LAYOUT_KEYS headers:
# compiling one costs as much as splitting a few hundred frames, so a kind whose layout
# keeps changing is left to ``_split``.
LAYOUTS_PER_KIND = 4
MAX_LAYOUT_KEYS = 64
Layout = tuple[Callable[[str], re.Match[str] | None], tuple[str, ...], Message]
_LAYOUTS: dict[str, list[Layout]] = {f"Event: {name}": [] for name in ASTERISK_EVENTS}


def parse_message(text: str) -> Message:
    """Parse one decoded frame into a dict. A key of ``REPEATED_KEYS`` that repeats keeps
    every value (joined by "\n"); for any other repeated key the last one wins."""
    layouts = _LAYOUTS.get(text[: text.find("\r")])
    if layouts is None:
        return _split(text) or _parse_by_pattern(text)
    for match, keys, blank in layouts:
        found = match(text)
        if found is not None:
            values = found.groups()
            # A value ends at a CR but may hold a LF, which the general pattern takes for
            # the start of a line: such a frame is read as below. (Looking for a LF in the
            # values joined, with memchr, costs less than counting the frame's LFs.)
            if "\n" not in "".join(values):
                laid_out = blank.copy()
                laid_out.update(zip(keys, values, strict=True))
                return laid_out
    message = _split(text)
    if message is None:
        return _parse_by_pattern(text)
    if len(layouts) < LAYOUTS_PER_KIND and len(message) <= MAX_LAYOUT_KEYS:
        keys = tuple(message)
        pattern = "\r\n".join(f"{re.escape(key)}: ([^\r]*)" for key in keys)
        layouts.append((re.compile(pattern).fullmatch, keys, dict.fromkeys(keys, "")))
    return message


def _split(text: str) -> Message | None:
    """What Asterisk sends, every line "Key: value", split on CR LF and on each line's first
    ": " by str methods called from C; None for a frame ``_parse_by_pattern`` reads otherwise:
    a line without ": " (ValueError here), a key repeated, empty or holding a colon (the
    pattern ends a key at its first colon), a CR or LF that does not end a line (the pattern
    ends a value at a lone CR and starts a line after a lone LF; here either is left inside
    a line)."""
    lines = text.split("\r\n")
    try:
        message = dict(map(str.split, lines, _COLON_SPACE, _ONCE))
    except ValueError:
        return None
    count = len(lines)
    joined = "".join(lines)
    if (
        len(message) < count
        or "" in message
        or "\r" in joined
        or "\n" in joined
        # Each line has one colon, before its first ": "; a key may hold more only if the
        # frame has more (about 1 kept event in 2,000: a colon in a value).
        or (text.count(":") > count and ":" in "".join(message))
    ):
        return None
    return message


def _parse_by_pattern(text: str) -> Message:
    pairs = _FIELD.findall(text)
    message = dict(pairs)
    if len(message) < len(pairs) and not REPEATED_KEYS.isdisjoint(message):
        for key in REPEATED_KEYS & message.keys():
            message[key] = "\n".join(value for name, value in pairs if name == key)
    return message


NoiseMatch = Callable[[bytes], re.Match[bytes] | None]


class FrameSplitter:
    """Turns an AMI byte stream into messages. Feed it every chunk read from the socket."""

    def __init__(self, wanted_events: Collection[str] | None = None) -> None:
        # Matches a frame whose Event line names an event not wanted, capturing that name (up
        # to the line's CR, or the frame's end); None for a kept frame. Mapped over a read's
        # frames, it sorts them in C: two thirds of the traffic never reaches Python code.
        self._noise: NoiseMatch | None = None
        if wanted_events is not None:
            names = b"|".join(re.escape(name.encode()) for name in sorted(wanted_events))
            wanted = rb"(?!(?:" + names + rb")(?:\r|\Z))" if wanted_events else b""
            self._noise = re.compile(rb"Event: " + wanted + rb"([^\r]*)").match
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
        if self._noise is not None:
            frames = self._drop_noise(frames, buffer, self._noise)
        messages: list[Message] = []
        for frame in frames:
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
        if len(self._skipped) > len(self._known):  # names we do not know: fold them once per
            self._fold_unknown_names()  # read (not per frame: noise is most of the traffic)
        return messages

    def _drop_noise(
        self, frames: list[bytes], buffer: bytes, match_noise: NoiseMatch
    ) -> list[bytes]:
        """The frames but the noise, which is counted by name."""
        noise = list(map(match_noise, frames))
        if not any(noise):
            return frames
        # An answer to one of our actions is kept whatever its name. Such frames are rare
        # (a resync's lists), so they are looked for per frame only if the read has one.
        if b"\nActionID: " in buffer:
            noise = [
                None if match is not None and b"\nActionID: " in frame else match
                for frame, match in zip(frames, noise, strict=True)
            ]
        self._skipped.update([match[1] for match in noise if match is not None])
        return [frame for frame, match in zip(frames, noise, strict=True) if match is None]

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
