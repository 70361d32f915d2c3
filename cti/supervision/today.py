"""Today's queue figures, kept up to date from the state changes (pure).

The wallboard used to re-read the whole day from PostgreSQL on every refresh (57 s at a
million calls). ``TodayTallies`` instead folds each change into ``kpi.Tally`` counts: one for
the day, one per 15-minute slot (the chart) and one per minute of the last hour (the rolling
windows), per queue. Reading them costs the same at ten calls or a million; it is seeded at
start-up from the call log by one aggregate query (``cti.calllog.tallies``).

The facts are those the call log stores and ``kpi.calls_from_events`` folds back, taken from
the same changes (``cti.calllog.rows.rows_for``): a call's passage through a queue is dated
by its first event there; it is answered with the wait of its agent_connect, abandoned with
that of its queue_abandon, timed out by a queue_leave; its talk comes with the call's end in
the queue it ended in, its hold with the call row. So the wallboard equals the KPI API's
recomputation from the stored events (tests/component/test_supervisor.py). Only calls the
daemon never saw, completed later from Asterisk's own records, reach the KPI API and not
these tallies until the next start.

A passage's facts can change after it was counted (answered minutes after it entered), so
each update takes the passage out of its tallies and counts it again with the new facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from cti.clock import midnight
from cti.kpi import Counts, QueueCall, Tally, TallyRow, counts, ratio
from cti.state.changes import (
    AgentRingEnded,
    AgentRinging,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    Change,
    Outcome,
)

MINUTE_S = 60
SLOT = timedelta(minutes=15)
WINDOW_MINUTES = 60  # the longest rolling window the wallboard shows
# A passage still open after this long lost its end (a call the daemon never saw finish):
# it is forgotten so that nothing grows without bound.
FORGET_OPEN_S = 24 * 3600


@dataclass(slots=True)
class Passage:
    """One call's passage through one queue while the call lasts (``QueueCall``'s facts)."""

    linkedid: str
    queue: str
    entered_at: float
    answered_wait_s: int | None = None
    abandoned_wait_s: int | None = None
    timed_out: bool = False
    talk_s: int | None = None
    hold_s: int = 0

    @classmethod
    def following(cls, call: QueueCall) -> Passage:
        """A passage read back from the call log (its fields are named as QueueCall's)."""
        return cls(*(getattr(call, name) for name in cls.__dataclass_fields__))

    def as_call(self) -> QueueCall:
        return QueueCall(
            self.linkedid,
            self.queue,
            self.entered_at,
            answered_wait_s=self.answered_wait_s,
            abandoned_wait_s=self.abandoned_wait_s,
            timed_out=self.timed_out,
            talk_s=self.talk_s,
            hold_s=self.hold_s,
        )


@dataclass(frozen=True, slots=True)
class Bucket:
    """One slot of a queue's day chart, as sent, and the day's sums up to its end."""

    wire: dict[str, Any]
    within_to_date: int
    answered_to_date: int


@dataclass(slots=True)
class QueueTallies:
    day: Tally = field(default_factory=Tally)
    slots: dict[int, Tally] = field(default_factory=dict)  # 15-minute slot of the day
    minutes: dict[int, Tally] = field(default_factory=dict)  # epoch minute, the last hour


class TodayTallies:
    def __init__(self, zone: tzinfo, now: float) -> None:
        self.zone = zone
        self.by_queue: dict[str, QueueTallies] = {}
        self.open: dict[tuple[str, str], Passage] = {}
        self.version = 0  # moves with every counted fact: a wallboard is rebuilt only then
        self.day_start = midnight(datetime.fromtimestamp(now, UTC), zone)
        self._day_start_s = self.day_start.timestamp()
        self._next_day_s = self._next_midnight()
        self._slot_starts: dict[int, str] = {}
        self._oldest_minute = int(now // MINUTE_S) - WINDOW_MINUTES
        # Each queue's chart as last built, by threshold: (slot start, tally version) per
        # bucket, the buckets, and the to-date sums (answered within, answered) after each.
        self._charts: dict[tuple[str, int], tuple[list[tuple[str, int]], list[Bucket]]] = {}

    def _next_midnight(self) -> float:
        later = (self.day_start + timedelta(hours=26)).astimezone(self.zone)
        return midnight(later, self.zone).timestamp()

    # --- time ---------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Start a new day at the center's midnight; drop minutes older than the windows."""
        if now >= self._next_day_s:
            self.day_start = midnight(datetime.fromtimestamp(now, UTC), self.zone)
            self._day_start_s = self.day_start.timestamp()
            self._next_day_s = self._next_midnight()
            self._slot_starts = {}
            for tallies in self.by_queue.values():
                tallies.day, tallies.slots = Tally(), {}
            forget = now - FORGET_OPEN_S
            self.open = {k: p for k, p in self.open.items() if p.entered_at >= forget}
            self.version += 1
        oldest = int(now // MINUTE_S) - WINDOW_MINUTES
        if oldest > self._oldest_minute:
            self._oldest_minute = oldest
            for tallies in self.by_queue.values():
                for minute in [m for m in tallies.minutes if m < oldest]:
                    del tallies.minutes[minute]

    # --- counting -----------------------------------------------------------------------

    def _tallies_of(self, queue: str, entered_at: float, minute: int) -> Iterable[Tally]:
        tallies = self.by_queue.setdefault(queue, QueueTallies())
        if self._day_start_s <= entered_at < self._next_day_s:
            yield tallies.day
            slot = int((entered_at - self._day_start_s) // SLOT.total_seconds())
            yield tallies.slots.setdefault(slot, Tally())
        # A time far ahead of the clock (a corrupt Timestamp) must not keep a minute forever.
        if self._oldest_minute <= minute <= self._oldest_minute + 2 * WINDOW_MINUTES:
            yield tallies.minutes.setdefault(minute, Tally())

    def _count(self, passage: Passage, times: int) -> None:
        call = passage.as_call()
        for tally in self._tallies_of(
            passage.queue, passage.entered_at, int(passage.entered_at // MINUTE_S)
        ):
            tally.count(call, times)
        self.version += 1

    def seed(self, rows: Iterable[TallyRow], open_calls: Iterable[QueueCall]) -> None:
        """The call log's figures from before the daemon started (cti.calllog.tallies), per
        minute, and the passages of the calls still in progress then, to be followed on."""
        for row in rows:
            minute = int(row.slot_start // MINUTE_S)
            for tally in self._tallies_of(row.queue, row.slot_start, minute):
                tally.add_row(row)
        for call in open_calls:
            self.open[(call.linkedid, call.queue)] = Passage.following(call)
        self.version += 1

    def _passage(self, linkedid: str, queue: str, at: float | None) -> Passage | None:
        """The passage an event belongs to, opened by it if it is the first; none for an
        event the call log does not keep (no time, no queue)."""
        if at is None or not queue:
            return None
        key = (linkedid, queue)
        passage = self.open.get(key)
        if passage is None:
            if self._next_day_s <= at < self._next_day_s + 24 * 3600:
                self.advance(at)  # the first call after midnight opens the new day
            passage = self.open[key] = Passage(linkedid, queue, at)
            self._count(passage, 1)
        return passage

    def offer(self, changes: Sequence[Change]) -> None:
        for change in changes:
            match change:
                case CallOffered() | AgentRinging():
                    self._passage(change.linkedid, change.queue, change.ts)
                case AgentRingEnded(reason="no_answer"):
                    self._passage(change.linkedid, change.queue, change.ts)
                case CallAnswered():
                    passage = self._passage(change.linkedid, change.queue, change.ts)
                    if passage is not None:
                        self._recount(passage, answered_wait_s=change.wait_s)
                case CallAbandoned():
                    passage = self._passage(change.linkedid, change.queue, change.ts)
                    if passage is not None:
                        self._recount(passage, abandoned_wait_s=change.wait_s)
                case CallEnded(record=record):
                    self._end(change, record.linkedid, record.queue or "")

    def _end(self, change: CallEnded, linkedid: str, queue: str) -> None:
        record = change.record
        if record.outcome is Outcome.TIMED_OUT:
            passage = self._passage(linkedid, queue, change.ts)
            if passage is not None:
                self._recount(passage, timed_out=True)
        ended_in = self.open.get((linkedid, queue)) if record.ended_at is not None else None
        if ended_in is not None and ended_in.answered_wait_s is not None:
            self._recount(ended_in, talk_s=record.talk_s)
        for key in [k for k in self.open if k[0] == linkedid]:
            passage = self.open.pop(key)
            if record.hold_s:
                self._recount(passage, hold_s=record.hold_s)

    def _recount(self, passage: Passage, **facts: object) -> None:
        self._count(passage, -1)
        for name, value in facts.items():
            setattr(passage, name, value)
        self._count(passage, 1)

    # --- reading ------------------------------------------------------------------------

    def day(self, queue: str) -> Tally:
        tallies = self.by_queue.get(queue)
        return tallies.day if tallies else Tally()

    def slots(self, queue: str) -> list[tuple[str, Tally]]:
        """Today's 15-minute slots that had calls: their start (ISO 8601) and tally."""
        tallies = self.by_queue.get(queue)
        if tallies is None:
            return []
        return [
            (self._slot_start(slot), tally)
            for slot, tally in sorted(tallies.slots.items())
            if tally.offered
        ]

    def chart(self, queue: str, threshold_s: int) -> list[dict[str, Any]]:
        """The day chart: per 15-minute slot with calls, offered/answered/abandoned and
        that slot's service level, and the service level of the day up to the end of the
        slot (the line). A refresh rebuilds from the first slot that changed since the last
        (usually the current one) and reuses the buckets before it."""
        slots = self.slots(queue)
        stamps = [(start, tally.version) for start, tally in slots]
        key = (queue, threshold_s)
        before_stamps, before = self._charts.get(key, ([], []))
        same = 0
        for now, then in zip(stamps, before_stamps, strict=False):
            if now != then:
                break
            same += 1
        built = before[:same]
        within, answered = (
            (built[-1].within_to_date, built[-1].answered_to_date) if built else (0, 0)
        )
        for start, tally in slots[same:]:
            read = counts(tally, threshold_s)
            within += read.within
            answered += read.answered
            wire = {
                "start": start,
                "offered": read.offered,
                "answered": read.answered,
                "abandoned": read.abandoned,
                "service_level": ratio(read.within, read.answered),
                "service_level_to_date": ratio(within, answered),
            }
            built.append(Bucket(wire, within, answered))
        self._charts[key] = (stamps, built)
        return [bucket.wire for bucket in built]

    def _slot_start(self, slot: int) -> str:
        start = self._slot_starts.get(slot)
        if start is None:
            start = self._slot_starts[slot] = (self.day_start + slot * SLOT).isoformat()
        return start

    def since(self, queue: str, now: float, minutes: int, threshold_s: int) -> Counts:
        """Counts of the calls that entered from the start of the minute ``minutes`` minutes
        ago: a sum of per-minute counts, each read once per change of its minute."""
        total = Counts()
        tallies = self.by_queue.get(queue)
        if tallies is not None:
            first = int(now // MINUTE_S) - minutes
            for minute, tally in tallies.minutes.items():
                if minute >= first:
                    total += counts(tally, threshold_s)
        return total

    def queue_names(self) -> set[str]:
        return set(self.by_queue)
