"""The one ordered pipeline: AMI messages in, state changes out to every sink.

Theory of operation
-------------------
panoramisk would dispatch each event to coroutine callbacks as unowned tasks, in no order.
Instead the AMI protocol calls one plain function, ``submit_message``, which only appends to
one queue; a single consumer task (``run``) turns each message into a typed event, applies it
to the pure state core and hands the resulting changes to every sink, in arrival order.

Nothing here may block: sinks' ``offer`` must return at once (each sink owns its own bounded
queue and task), so a slow database never delays a screen-pop. A failure while handling one
event is logged and counted; the next event is handled as usual.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cti.ami.events import AmiEvent, to_event
from cti.ami.frames import Message, event_label
from cti.state.changes import Anomaly, Change
from cti.state.store import CtiState

log = logging.getLogger(__name__)

YIELD_EVERY = 50  # messages handled between two turns of the event loop during a backlog


class Sink(Protocol):
    """Receives the changes of each event. Must not block and must not raise."""

    def offer(self, changes: Sequence[Change]) -> None: ...


@dataclass(slots=True)
class PipelineStats:
    messages: int = 0
    events: int = 0
    handler_errors: int = 0
    sink_errors: int = 0
    anomalies: Counter[str] = field(default_factory=Counter)
    by_event: Counter[str] = field(default_factory=Counter)


Item = tuple[Message | AmiEvent, float | None]


class Pipeline:
    def __init__(
        self,
        state: CtiState,
        sinks: Sequence[Sink] = (),
        on_lag: Callable[[float], None] | None = None,
    ) -> None:
        self.state = state
        self.sinks = list(sinks)
        self.stats = PipelineStats()
        # Live only: how far behind Asterisk we are (now minus the event's Timestamp).
        self.on_lag = on_lag
        # Unbounded on purpose: dropping or reordering AMI events would corrupt the state;
        # the depth is exported as a metric instead. A deque, and a future ``run`` awaits
        # when it is empty, rather than an asyncio.Queue: there is one consumer, and the
        # Queue's put and get were ten Python calls per message, 4 % of the ingest's
        # instructions (bench/ami_throughput.py, valgrind).
        self._items: deque[Item] = deque()
        self._idle: asyncio.Future[None] | None = None  # what ``run`` awaits, while it does
        # When the AMI message being handled arrived (wall clock), for sinks that measure
        # from there (the hub's pop latency); None while handling one of our own events.
        self.received_at: float | None = None

    @property
    def depth(self) -> int:
        return len(self._items)

    def submit_message(self, message: Message, received_at: float | None) -> None:
        """The single AMI callback: enqueue only, in arrival order."""
        self._items.append((message, received_at))
        if self._idle is not None:
            self._wake()

    def submit_event(self, event: AmiEvent) -> None:
        """Events made by us (link up/down, clock ticks) join the same ordered stream."""
        self._items.append((event, None))
        if self._idle is not None:
            self._wake()

    def _wake(self) -> None:
        idle, self._idle = self._idle, None
        if idle is not None and not idle.done():
            idle.set_result(None)

    async def run(self) -> None:
        items = self._items
        handled = 0
        while True:
            while not items:  # wait only when nothing is queued: no yield while items wait
                if self._idle is not None and not self._idle.done():
                    raise RuntimeError("Pipeline.run is running already: one consumer only")
                self._idle = asyncio.get_running_loop().create_future()
                await self._idle
            self.process(*items.popleft())
            handled += 1
            if handled % YIELD_EVERY == 0:
                # A backlog (a resync, a burst) must not hold the loop: what it wrote to the
                # panels leaves for their sockets meanwhile, so no page is dropped as too slow.
                await asyncio.sleep(0)

    async def drain(self) -> None:
        """Process what is queued now (for shutdown and tests)."""
        items = self._items
        while items:
            self.process(*items.popleft())

    def process(self, item: Message | AmiEvent, received_at: float | None) -> list[Change]:
        stats = self.stats
        self.received_at = received_at
        try:
            if isinstance(item, dict):
                stats.messages += 1
                stats.by_event[event_label(item.get("Event", "Response"))] += 1
                event = to_event(item, received_at)
                if event is None:
                    return []
                if self.on_lag is not None and event.ts is not None and event.ts != received_at:
                    self.on_lag(time.time() - event.ts)
            else:
                event = item
            stats.events += 1
            changes = self.state.apply(event)
        except Exception:
            stats.handler_errors += 1
            log.exception("failed to handle AMI message %.300r; continuing", item)
            return []
        if changes:
            for change in changes:
                if type(change) is Anomaly:
                    stats.anomalies[change.kind] += 1
                    log.debug("anomaly %s: %s", change.kind, change.detail)
            for sink in self.sinks:
                try:
                    sink.offer(changes)
                except Exception:
                    stats.sink_errors += 1
                    log.exception("sink %r failed; continuing", sink)
        return changes
