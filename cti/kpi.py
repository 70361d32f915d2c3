"""Queue KPIs recomputed from the stored per-call events (pure; DESIGN §6).

The call log keeps, per call, when it joined a queue, how long it waited until an agent
connected or until the caller gave up, and how long the agent talked. From those facts any
service-level threshold can be applied after the fact. ``calls_from_events`` folds event
rows into one ``QueueCall`` per call and queue; ``compute`` turns a list of them into the
figures, with the definitions in ``DEFINITIONS`` shown next to them by the API and panel.

A call belongs to the window in which it entered the queue (its first event there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def compute(
    calls: Sequence[QueueCall], threshold_s: int, short_abandon_s: int = SHORT_ABANDON_S
) -> dict[str, Any]:
    """The figures of DEFINITIONS for these calls, with threshold T = ``threshold_s``."""
    answered = [c.answered_wait_s for c in calls if c.answered_wait_s is not None]
    abandoned = [
        c.abandoned_wait_s
        for c in calls
        if c.abandoned_wait_s is not None and c.answered_wait_s is None
    ]
    short = [w for w in abandoned if w < short_abandon_s]
    handled = [c for c in calls if c.answered_wait_s is not None and c.talk_s is not None]
    offered = len(calls)
    within = sum(w <= threshold_s for w in answered)
    abandoned_within = sum(w <= threshold_s for w in abandoned)
    return {
        "offered": offered,
        "answered": len(answered),
        "abandoned": len(abandoned),
        "short_abandoned": len(short),
        "timed_out": sum(c.timed_out and c.answered_wait_s is None for c in calls),
        "service_level": _ratio(within, len(answered)),
        "service_level_2": _ratio(within + abandoned_within, len(answered) + len(abandoned)),
        "abandon_rate": _ratio(len(abandoned), offered),
        "abandon_rate_without_short": _ratio(len(abandoned) - len(short), offered - len(short)),
        "asa_s": _mean(answered),
        "aht_s": _mean([(c.talk_s or 0) + c.hold_s + c.wrapup_s for c in handled]),
        "longest_answered_wait_s": max(answered, default=None),
        "threshold_s": threshold_s,
        "short_abandon_s": short_abandon_s,
    }
