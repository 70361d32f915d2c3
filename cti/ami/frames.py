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

A frame we cannot understand (no ``Event``/``Response`` line) is counted and reported to the
caller instead of raising: one bad frame must never cost the connection.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

Message = dict[str, str]

FRAME_END = b"\r\n\r\n"
BANNER_PREFIX = b"Asterisk Call Manager/"
# A frame this large without a terminator means we are not talking to Asterisk (or the
# stream is corrupt); holding it forever would only grow memory.
MAX_FRAME_BYTES = 1 << 20

_FIELD = re.compile(r"^([^:\r\n]+): ?([^\r\n]*)", re.MULTILINE)


class FrameTooLarge(Exception):
    """The peer sent more than MAX_FRAME_BYTES without ending a message."""


@dataclass(frozen=True, slots=True)
class MalformedFrame:
    """A frame that is neither an event nor a response, kept for the error report."""

    text: str


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
        self._tail = b""
        self._banner_pending = True
        self.version: str | None = None
        self.skipped: Counter[bytes] = Counter()
        self.malformed: list[MalformedFrame] = []

    def feed(self, data: bytes) -> list[Message]:
        """Return the complete messages that ``data`` finishes, in stream order."""
        buffer = self._tail + data if self._tail else data
        if self._banner_pending:
            buffer = self._strip_banner(buffer)
            if self._banner_pending:
                self._tail = buffer
                return []
        frames = buffer.split(FRAME_END)
        self._tail = frames.pop()
        if len(self._tail) > MAX_FRAME_BYTES:
            self._tail = b""
            raise FrameTooLarge(f"no end of message after {MAX_FRAME_BYTES} bytes")
        messages: list[Message] = []
        wanted = self._wanted
        for frame in frames:
            if wanted is not None and frame.startswith(b"Event: "):
                end = frame.find(b"\r", 7)
                name = frame[7:end] if end > 0 else frame[7:]
                if name not in wanted and b"\nActionID: " not in frame:
                    self.skipped[name] += 1
                    continue
            if not frame:
                continue
            text = frame.decode("utf-8", "replace")
            message = parse_message(text)
            if "Event" in message or "Response" in message:
                messages.append(message)
            else:
                self.malformed.append(MalformedFrame(text[:200]))
        return messages

    def _strip_banner(self, buffer: bytes) -> bytes:
        """Remove the ``Asterisk Call Manager/x.y.z`` line that opens a session."""
        if len(buffer) < len(BANNER_PREFIX) and BANNER_PREFIX.startswith(buffer):
            return buffer  # wait for more bytes
        self._banner_pending = False
        if not buffer.startswith(BANNER_PREFIX):
            return buffer
        end = buffer.find(b"\r\n")
        if end < 0:
            self._banner_pending = True
            return buffer
        self.version = buffer[len(BANNER_PREFIX) : end].decode("ascii", "replace")
        return buffer[end + 2 :]
