"""Garbage collection that does not hold the event loop for long.

CPython's full collection walks every object its collector tracks. With 2,000 panels open
the daemon tracks about half a million (each connection's request, tasks, queues), and one
walk held the event loop 95 ms to 1.4 s on a busy machine while pops waited behind it
(bench/pop_latency.py, many panels, with the collections timed through ``gc.callbacks``).

The objects that survive a full collection are the long-lived ones: the state, the open
connections. So each full collection ends by freezing its survivors (``gc.freeze``: moved
where no later walk visits them), and the next walks only what came since.

The price: a frozen object that later becomes garbage in a reference cycle (part of a closed
connection) is not reclaimed while frozen. Once an hour everything is unfrozen and walked
once, which reclaims those and freezes the rest again: one long walk an hour, instead of one
each time the tracked objects grew by a quarter (CPython's rule), which is often while
thousands of panels connect.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

RECLAIM_EVERY_S = 3600.0


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    # Called by the collector itself, in whichever thread allocated last: it must not take
    # a lock or allocate much. The collection is over at "stop"; freezing only moves lists.
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


def reclaim_frozen() -> None:
    """Walk everything once: cyclic garbage among the frozen objects is reclaimed, and the
    survivors are frozen again (by the callback, at the end of this full collection)."""
    gc.unfreeze()
    gc.collect()


async def collect_in_short_walks(every_s: float = RECLAIM_EVERY_S) -> None:
    """The daemon's owned task: survivors frozen after each full collection, and everything
    walked once every ``every_s``."""
    gc.callbacks.append(_freeze_survivors)
    try:
        while True:
            await asyncio.sleep(every_s)
            reclaim_frozen()
    finally:
        gc.callbacks.remove(_freeze_survivors)
        gc.unfreeze()
