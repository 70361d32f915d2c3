"""Queue KPIs recomputed from the stored per-call events (pure; DESIGN §6).

The call log keeps, per call, when it joined a queue, how long it waited until an agent
connected or until the caller gave up, and how long the agent talked. From those facts any
service-level threshold can be applied after the fact. ``calls_from_events`` folds event
rows into one ``QueueCall`` per call and queue; ``compute`` turns a list of them into the
figures, with the definitions in ``DEFINITIONS`` shown next to them by the API and panel.

A call belongs to the window in which it entered the queue (its first event there).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SHORT_ABANDON_S = 5

DEFINITIONS = {
    "offered": "calls that entered the queue in the period",
    "answered": "offered calls an agent connected to",
    "abandoned": "offered calls whose caller hung up while waiting (short ones included)",
    "short_abandoned": "abandoned within the short-abandon limit (default 5 s)",
    "timed_out": "offered calls that left the queue unanswered (queue timeout)",
    "service_level": "answered within T seconds ÷ answered",
    "service_level_2": "(answered within T + abandoned within T) ÷ (answered + abandoned)",
    "abandon_rate": "abandoned ÷ offered",
    "abandon_rate_without_short": "(abandoned − short) ÷ (offered − short)",
    "asa_s": "mean wait of answered calls (seconds)",
    "aht_s": "(talk + hold + wrap-up) ÷ handled calls, handled = answered and ended (seconds)",
    "longest_answered_wait_s": "longest wait of an answered call in the period (seconds)",
}


@dataclass(frozen=True, slots=True)
class QueueCall:
    """One call's passage through one queue, as the events recorded it."""

    linkedid: str
    queue: str
    entered_at: float  # epoch seconds of its first event in the queue
    answered_wait_s: int | None = None
    abandoned_wait_s: int | None = None
    timed_out: bool = False
    talk_s: int | None = None
    hold_s: int = 0
    wrapup_s: int = 0


def calls_from_events(
    rows: Iterable[Mapping[str, Any]], extra: Mapping[str, tuple[int, int]] | None = None
) -> list[QueueCall]:
    """Rows with ``linkedid, queue, kind, at (epoch s), seconds``, ordered by time; ``extra``
    gives (hold_s, wrapup_s) per Linkedid from the calls table."""
    folded: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        queue = row["queue"]
        if not queue:
            continue
        key = (row["linkedid"], queue)
        call = folded.setdefault(
            key, {"linkedid": row["linkedid"], "queue": queue, "entered_at": row["at"]}
        )
        kind, seconds = row["kind"], row["seconds"]
        if kind == "agent_connect":
            call["answered_wait_s"] = seconds
        elif kind == "queue_abandon":
            call["abandoned_wait_s"] = seconds
        elif kind == "queue_leave":
            call["timed_out"] = True
        elif kind == "call_end" and "answered_wait_s" in call:
            call["talk_s"] = seconds
    extra = extra or {}
    result = []
    for call in folded.values():
        hold, wrapup = extra.get(call["linkedid"], (0, 0))
        result.append(QueueCall(**call, hold_s=hold or 0, wrapup_s=wrapup or 0))
    return result


@dataclass(frozen=True, slots=True)
class TallyRow:
    """``passages`` calls of one queue that entered in one slot of time with the same facts,
    ``handled`` of them handled in ``handle_s`` seconds in all (cti.calllog.tallies)."""

    queue: str
    slot_start: float  # epoch seconds
    answered_wait_s: int | None
    abandoned_wait_s: int | None  # unanswered only
    timed_out: bool  # unanswered only
    passages: int  # calls that passed through the queue with these facts
    handled: int
    handle_s: int


@dataclass(slots=True)
class Tally:
    """What the figures of DEFINITIONS are computed from, for any number of calls: counts,
    and waits per whole second, so that any threshold can still be applied afterwards. Its
    size grows with the distinct waits seen, not with the calls: a day of a million calls
    is as cheap to read as a day of ten."""

    offered: int = 0
    answered_waits: Counter[int] = field(default_factory=Counter)  # wait (s) -> calls
    abandoned_waits: Counter[int] = field(default_factory=Counter)  # unanswered only
    timed_out: int = 0  # left unanswered
    handled: int = 0  # answered and ended
    handle_s: int = 0  # talk + hold + wrap-up of the handled calls
    version: int = 0  # moves with every change: what was read from it may be reused until then
    read: tuple[int, int, int, Counts] | None = field(default=None, repr=False, compare=False)

    def count(self, call: QueueCall, times: int = 1) -> None:
        """Add one call (``times=-1``: take it away again, when its facts change)."""
        self.version += 1
        self.offered += times
        if call.answered_wait_s is not None:
            _bump(self.answered_waits, call.answered_wait_s, times)
            if call.talk_s is not None:
                self.handled += times
                self.handle_s += times * (call.talk_s + call.hold_s + call.wrapup_s)
        else:
            if call.abandoned_wait_s is not None:
                _bump(self.abandoned_waits, call.abandoned_wait_s, times)
            if call.timed_out:
                self.timed_out += times

    def add_row(self, row: TallyRow) -> None:
        """Add ``row.passages`` calls with the row's facts (an aggregate from PostgreSQL)."""
        self.version += 1
        self.offered += row.passages
        if row.answered_wait_s is not None:
            self.answered_waits[row.answered_wait_s] += row.passages
        elif row.abandoned_wait_s is not None:
            self.abandoned_waits[row.abandoned_wait_s] += row.passages
        if row.timed_out:
            self.timed_out += row.passages
        self.handled += row.handled
        self.handle_s += row.handle_s

    def add(self, other: Tally) -> None:
        self.version += 1
        self.offered += other.offered
        self.answered_waits.update(other.answered_waits)
        self.abandoned_waits.update(other.abandoned_waits)
        self.timed_out += other.timed_out
        self.handled += other.handled
        self.handle_s += other.handle_s


def _bump(counts: Counter[int], key: int, times: int) -> None:
    left = counts[key] + times
    if left:
        counts[key] = left
    else:
        del counts[key]


def tally_of(calls: Iterable[QueueCall]) -> Tally:
    tally = Tally()
    for call in calls:
        tally.count(call)
    return tally


def ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def compute(
    calls: Sequence[QueueCall], threshold_s: int, short_abandon_s: int = SHORT_ABANDON_S
) -> dict[str, Any]:
    """The figures of DEFINITIONS for these calls, with threshold T = ``threshold_s``."""
    return figures(tally_of(calls), threshold_s, short_abandon_s)


@dataclass(frozen=True, slots=True)
class Counts:
    """A tally read at one threshold: sums that add up, so that the figures of a window or of
    the day so far are the sum of its slots' counts, without merging their waits again."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short: int = 0
    within: int = 0  # answered within the threshold
    abandoned_within: int = 0
    timed_out: int = 0
    waited: int = 0  # seconds, answered calls
    handled: int = 0
    handle_s: int = 0
    longest: int | None = None

    def __add__(self, other: Counts) -> Counts:
        longest = max((w for w in (self.longest, other.longest) if w is not None), default=None)
        return Counts(
            self.offered + other.offered,
            self.answered + other.answered,
            self.abandoned + other.abandoned,
            self.short + other.short,
            self.within + other.within,
            self.abandoned_within + other.abandoned_within,
            self.timed_out + other.timed_out,
            self.waited + other.waited,
            self.handled + other.handled,
            self.handle_s + other.handle_s,
            longest,
        )


def counts(tally: Tally, threshold_s: int, short_abandon_s: int = SHORT_ABANDON_S) -> Counts:
    """The tally's counts at a threshold, read once per change of the tally."""
    if tally.read is not None and tally.read[:3] == (tally.version, threshold_s, short_abandon_s):
        return tally.read[3]
    answered_waits, abandoned_waits = tally.answered_waits, tally.abandoned_waits
    read = Counts(
        offered=tally.offered,
        answered=sum(answered_waits.values()),
        abandoned=sum(abandoned_waits.values()),
        short=sum(n for wait, n in abandoned_waits.items() if wait < short_abandon_s),
        within=sum(n for wait, n in answered_waits.items() if wait <= threshold_s),
        abandoned_within=sum(n for wait, n in abandoned_waits.items() if wait <= threshold_s),
        timed_out=tally.timed_out,
        waited=sum(wait * n for wait, n in answered_waits.items()),
        handled=tally.handled,
        handle_s=tally.handle_s,
        longest=max(answered_waits, default=None),
    )
    tally.read = (tally.version, threshold_s, short_abandon_s, read)
    return read


def figures(
    tally: Tally, threshold_s: int, short_abandon_s: int = SHORT_ABANDON_S
) -> dict[str, Any]:
    """The figures of DEFINITIONS from a tally, with threshold T = ``threshold_s``."""
    return figures_of(counts(tally, threshold_s, short_abandon_s), threshold_s, short_abandon_s)


def figures_of(
    c: Counts, threshold_s: int, short_abandon_s: int = SHORT_ABANDON_S
) -> dict[str, Any]:
    """The figures of DEFINITIONS from counts read at threshold T = ``threshold_s``."""
    return {
        "offered": c.offered,
        "answered": c.answered,
        "abandoned": c.abandoned,
        "short_abandoned": c.short,
        "timed_out": c.timed_out,
        "service_level": ratio(c.within, c.answered),
        "service_level_2": ratio(c.within + c.abandoned_within, c.answered + c.abandoned),
        "abandon_rate": ratio(c.abandoned, c.offered),
        "abandon_rate_without_short": ratio(c.abandoned - c.short, c.offered - c.short),
        "asa_s": round(c.waited / c.answered, 2) if c.answered else None,
        "aht_s": round(c.handle_s / c.handled, 2) if c.handled else None,
        "longest_answered_wait_s": c.longest,
        "threshold_s": threshold_s,
        "short_abandon_s": short_abandon_s,
    }
