"""Our asyncio protocol for panoramisk's ``Manager`` (passed as ``protocol_factory``).

Theory of operation
-------------------
panoramisk 1.4's own protocol decodes each TCP chunk separately (losing split UTF-8
characters), parses slowly, and lets a callback's exception escape ``data_received``, which
kills the connection. This subclass keeps panoramisk's action bookkeeping (``send`` returns a
future resolved by the matching ``ActionID``) and replaces the receive path:

- bytes go through ``FrameSplitter`` (framing before decoding; noise events skipped early);
- a message whose ActionID belongs to a pending action goes to that action;
- a message whose ActionID belongs to a *streamed* action (our resync lists) and every
  unsolicited event go to ``on_message``, the pipeline's one plain callback, in stream order;
- an exception in ``on_message`` is logged and counted, never propagated;
- frames we cannot read (see ``frames``) are counted by kind in ``GARBAGE`` and logged at
  most once per kind every ``GARBAGE_LOG_INTERVAL_S`` (a peer sending garbage at line rate
  must neither flood the log nor go unnoticed); a message or banner line too long to ever end
  closes the connection with that reason, and the next session starts clean;
- ``FullyBooted`` (Asterisk has loaded every module) resolves ``fully_booted``: the client
  waits for it before asking for snapshots; it reaches ``on_message`` too;
- ``Shutdown`` (Asterisk stops or restarts) ends the connection at once, as a lost link;
- when the connection goes, every pending future fails with ``AmiDisconnected`` at once
  instead of waiting forever (panoramisk would queue them to be re-sent later);
- the socket is read into one buffer of the connection's own (a ``BufferedProtocol``):
  asyncio's plain reads allocate 256 KiB each and shrink it to what came, ~400 a second at
  100 calls/s, and glibc's heap kept the holes they left (the daemon's RSS grew ~0.7 MB a
  minute in bench/soak.py while its objects stayed flat).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message as PanoramiskMessage

from cti.ami.events import WANTED_EVENTS
from cti.ami.frames import FrameSplitter, FrameTooLarge, Message

log = logging.getLogger(__name__)

GARBAGE_LOG_INTERVAL_S = 10.0
OVERSIZED = "oversized"  # a garbage kind besides frames.NO_EVENT and frames.INVALID_UTF8


class GarbageLog:
    """Frames we could not read, counted by kind and logged at most once per kind every
    ``interval`` seconds, with the number of lines held back since the last one."""

    def __init__(
        self, interval: float = GARBAGE_LOG_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.counts: Counter[str] = Counter()
        self._held: Counter[str] = Counter()  # not logged since the kind's last line
        self._quiet_until: dict[str, float] = {}  # kinds are a few constants: bounded

    def report(self, kind: str, level: int, message: str, detail: str) -> None:
        self.counts[kind] += 1
        now = self.clock()
        if now < self._quiet_until.get(kind, -float("inf")):
            self._held[kind] += 1
            return
        self._quiet_until[kind] = now + self.interval
        held = self._held.pop(kind, 0)
        more = f" ({held} more since the last such line)" if held else ""
        log.log(level, "%s: %.200r%s", message, detail, more)


# One per process, not per connection: the counts outlive reconnects (for /metrics), and a
# peer that sends garbage again on every new session is still logged at the same rate.
GARBAGE = GarbageLog()


class AmiError(Exception):
    """Base of the AMI errors our code raises."""


class AmiDisconnected(AmiError):
    """The connection went away before the action was answered."""


class ActionFailed(AmiError):
    """Asterisk answered an action with an error."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"Asterisk refused {action}: {message}")
        self.action = action
        self.message = message


MessageCallback = Callable[[Message, float], None]


READ_BUFFER_BYTES = 256 * 1024  # as much as asyncio's own reads take at a time


class CtiAmiProtocol(AMIProtocol, asyncio.BufferedProtocol):  # type: ignore[misc]
    def __init__(self, on_message: MessageCallback, on_lost: Callable[[str], None]) -> None:
        super().__init__()
        self._read_into = memoryview(bytearray(READ_BUFFER_BYTES))
        self.on_message = on_message
        self.on_lost = on_lost
        self.encoding = "utf-8"
        self.callback_errors = 0
        self.closed: bool = False
        self._splitter = FrameSplitter(WANTED_EVENTS | {"FullyBooted", "Shutdown"})
        self._streamed: dict[str, tuple[str, asyncio.Future[None]]] = {}  # action, done
        self.fully_booted: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # panoramisk's Manager sets attributes on the protocol after the connection is made;
    # we create ours here so the protocol is usable on its own too.
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.encoding = "utf-8"

    @property
    def skipped(self) -> dict[bytes, int]:
        return dict(self._splitter.skipped)

    def send_streamed(self, fields: dict[str, str]) -> asyncio.Future[None]:
        """Send a list action whose answers flow into ``on_message`` like events, so a
        snapshot lands in the event stream exactly where Asterisk produced it. The future
        resolves when the list is complete."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.closed:  # close() has failed the others already; this one must not hang
            future.set_exception(AmiDisconnected("AMI connection lost"))
            return future
        self._streamed[fields["ActionID"]] = (fields["Action"], future)
        text = "".join(f"{key}: {value}\r\n" for key, value in fields.items()) + "\r\n"
        self.transport.write(text.encode("utf-8"))
        return future

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._read_into

    def buffer_updated(self, nbytes: int) -> None:
        # A copy: the next read reuses the buffer, and the splitter keeps a frame not ended.
        self.data_received(bytes(self._read_into[:nbytes]))

    def data_received(self, data: bytes) -> None:
        received_at = time.time()
        splitter = self._splitter
        try:
            messages = splitter.feed(data)
        except FrameTooLarge as exc:
            reason = f"AMI peer sent garbage ({exc}); dropping the connection to resync"
            GARBAGE.report(OVERSIZED, logging.ERROR, reason, data[:200].decode("utf-8", "replace"))
            self.close(reason)  # not "AMI connection lost", nor "closed by peer" later
            self.on_lost(reason)
            return
        if splitter.malformed:
            for bad in splitter.malformed:
                GARBAGE.report(
                    bad.kind, logging.WARNING, f"malformed AMI frame ({bad.kind})", bad.text
                )
            splitter.malformed.clear()
        for message in messages:
            if message.get("Event") == "FullyBooted" and not self.fully_booted.done():
                self.fully_booted.set_result(None)
            if message.get("Event") == "Shutdown":
                # Asterisk stops or restarts: it refuses every action from now on (and logs
                # an ERROR for each, our Pings included). Leave now and log in again once it
                # is back; the resync then waits for FullyBooted.
                kind = "restarting" if message.get("Restart") == "True" else "shutting down"
                self.close()
                self.on_lost(f"Asterisk is {kind} ({message.get('Shutdown', 'Uncleanly')})")
                return
            action_id = message.get("ActionID")
            if action_id is not None and self._to_action(action_id, message):
                continue
            try:
                self.on_message(message, received_at)
            except Exception:
                self.callback_errors += 1
                log.exception("AMI message handler failed; connection kept")

    def _to_action(self, action_id: str, message: Message) -> bool:
        """Route an answer to the action that asked for it; False if nobody asked."""
        if action_id in self._streamed:
            action, streamed = self._streamed[action_id]
            if message.get("Response") == "Error":
                del self._streamed[action_id]
                if not streamed.done():
                    streamed.set_exception(ActionFailed(action, message.get("Message", "")))
                return True
            if message.get("EventList") == "Complete":
                del self._streamed[action_id]
                self._deliver(message)
                if not streamed.done():
                    streamed.set_result(None)
                return True
            self._deliver(message)
            return True
        pending = self.responses.get(action_id)
        if pending is None:
            return False
        if pending.add_message(PanoramiskMessage(message)):
            self.responses.pop(action_id, None)
        return True

    def _deliver(self, message: Message) -> None:
        try:
            self.on_message(message, time.time())
        except Exception:
            self.callback_errors += 1
            log.exception("AMI message handler failed; connection kept")

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()
        self.on_lost(str(exc) if exc else "closed by peer")

    def close(self, reason: str = "AMI connection lost") -> None:
        """Fail every pending action now: nothing is re-sent behind the caller's back."""
        failure = AmiDisconnected(reason)
        for action in list(self.responses.values()):
            if not action.future.done():
                action.future.set_exception(failure)
        self.responses.clear()
        for _, future in self._streamed.values():
            if not future.done():
                future.set_exception(failure)
        self._streamed.clear()
        if not self.closed:
            self.closed = True
            # abort, not close: a half-open peer never drains the buffer close() waits on.
            self.transport.abort()
