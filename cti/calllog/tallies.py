"""Queue KPIs aggregated in PostgreSQL: tallies, not rows, come back to Python.

One statement folds each call's passage through a queue from its stored events (as
``kpi.calls_from_events`` does in Python: dated by its first event there, answered with the
wait of its last agent_connect, abandoned with its last queue_abandon, timed out by a
queue_leave, talk from its call_end, hold from the call row) and counts passages with the same
facts together, per queue and per slot of ``slot_s`` seconds. What returns grows with the
queues, slots and distinct waits, not with the calls: the KPI API takes one slot for the whole
period, the wallboard's seed one per minute of today.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from cti.kpi import QueueCall, Tally, TallyRow

# Events are read from this long around the period, so a call that entered just before it is
# dated by its entry, not by its answer, and one that entered in it is followed to its end.
_AROUND = "interval '1 day'"

PASSAGES = f"""
passages AS (
    SELECT linkedid, queue,
           min(at) FILTER (WHERE kind <> 'call_end') AS entered,
           (array_agg(seconds ORDER BY at DESC, kind DESC)
               FILTER (WHERE kind = 'agent_connect'))[1] AS answered_wait,
           (array_agg(seconds ORDER BY at DESC, kind DESC)
               FILTER (WHERE kind = 'queue_abandon'))[1] AS abandoned_wait,
           bool_or(kind = 'queue_leave') AS timed_out,
           (array_agg(seconds ORDER BY at DESC, kind DESC)
               FILTER (WHERE kind = 'call_end'))[1] AS talk
    FROM call_events
    WHERE queue <> '' AND at >= $1::timestamptz - {_AROUND} AND at < $2::timestamptz + {_AROUND}
      AND ($3::text IS NULL OR queue = $3)
    GROUP BY linkedid, queue
    HAVING min(at) FILTER (WHERE kind <> 'call_end') >= $1
       AND min(at) FILTER (WHERE kind <> 'call_end') < $2
)"""

TALLIES = f"""
WITH {PASSAGES},
facts AS (
    SELECT p.queue, floor(extract(epoch FROM p.entered) / $4)::int8 AS slot,
           p.answered_wait,
           CASE WHEN p.answered_wait IS NULL THEN p.abandoned_wait END AS abandoned_wait,
           p.answered_wait IS NULL AND p.timed_out AS timed_out,
           CASE WHEN p.answered_wait IS NOT NULL AND p.talk IS NOT NULL
                THEN p.talk + coalesce(c.hold_s, 0) + coalesce(c.wrapup_s, 0) END AS handle_s
    FROM passages p LEFT JOIN calls c USING (linkedid)
)
SELECT queue, slot, answered_wait, abandoned_wait, timed_out, count(*) AS passages,
       count(handle_s) AS handled, coalesce(sum(handle_s), 0)::int8 AS handle_s
FROM facts GROUP BY queue, slot, answered_wait, abandoned_wait, timed_out
"""

# Passages of calls that have not ended (no call row yet): the live tallies follow them on.
OPEN_PASSAGES = f"""
WITH {PASSAGES}
SELECT p.linkedid, p.queue, extract(epoch FROM p.entered)::float8 AS entered,
       p.answered_wait, p.abandoned_wait, p.timed_out
FROM passages p LEFT JOIN calls c USING (linkedid)
WHERE c.linkedid IS NULL
"""


async def queue_tallies(
    pool: asyncpg.Pool, since: datetime, until: datetime, queue: str | None = None
) -> dict[str, Tally]:
    """Each queue's tally of the calls that entered it in [since, until)."""
    rows = await pool.fetch(TALLIES, since, until, queue, 1e12)  # one slot: the period
    by_queue: dict[str, Tally] = {}
    for row in _tally_rows(rows, slot_s=0):
        by_queue.setdefault(row.queue, Tally()).add_row(row)
    return by_queue


async def seed(
    pool: asyncpg.Pool, since: datetime, until: datetime
) -> tuple[list[TallyRow], list[QueueCall]]:
    """Per-minute tallies of the calls that entered in [since, until), and the passages of
    those still in progress, read in one snapshot so that no call is in both or neither."""
    async with pool.acquire() as connection, connection.transaction(isolation="repeatable_read"):
        rows = await connection.fetch(TALLIES, since, until, None, 60)
        still_open = await connection.fetch(OPEN_PASSAGES, since, until, None)
    passages = [
        QueueCall(
            r["linkedid"],
            r["queue"],
            r["entered"],
            answered_wait_s=r["answered_wait"],
            abandoned_wait_s=r["abandoned_wait"],
            timed_out=r["timed_out"],
        )
        for r in still_open
    ]
    return _tally_rows(rows, slot_s=60), passages


def _tally_rows(rows: Sequence[asyncpg.Record], slot_s: int) -> list[TallyRow]:
    return [
        TallyRow(
            queue=r["queue"],
            slot_start=float(r["slot"] * slot_s),
            answered_wait_s=r["answered_wait"],
            abandoned_wait_s=r["abandoned_wait"],
            timed_out=r["timed_out"],
            passages=r["passages"],
            handled=r["handled"],
            handle_s=r["handle_s"],
        )
        for r in rows
    ]
