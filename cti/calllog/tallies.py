"""Queue KPIs aggregated in PostgreSQL: tallies, not rows, come back to Python.

``FOLD`` folds each call's passage through a queue from its stored events (as
``kpi.calls_from_events`` does in Python: dated by its first event there, answered with the
wait of its last agent_connect, abandoned with its last queue_abandon, timed out by a
queue_leave, talk from its call_end, hold from the call row) and counts passages with the same
facts together, per queue and per slot of ``$4`` seconds. What returns grows with the queues,
slots and distinct waits, not with the calls.

Folding costs about 16 µs per call on the 2-core benchmark machine: 16 s for a month of a
million calls. So finished 15-minute slots are rolled up once into ``kpi_slots`` (migration
012; ``roll_up``, run by the daemon every minute), and a period reads the rolled-up slots it
covers and folds only the rest: its ragged edges, the last hour or so, and any slot a late
event marked dirty. Both halves are read in one snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from cti.kpi import QueueCall, Tally, TallyRow

log = logging.getLogger(__name__)

SLOT = timedelta(minutes=15)
# A slot is rolled up when its calls are over: 75 minutes after it ended. The trigger of
# migration 012 marks dirty any slot older than an hour that a new event touches.
ROLL_AFTER = timedelta(minutes=75)
ROLL_CHUNK = timedelta(days=1)  # slots rolled up per transaction
WHOLE_PERIOD_S = 1e12  # as a slot length: every time falls in slot 0
SLOTS_A_DAY = 96  # a UTC day: no daylight saving time


# The passages that entered a queue in [$1, $2): found from the events of the period (index
# call_events_at), then followed through all their events wherever they fall (primary key).
def passages(which: str) -> str:
    """The CTE ``passages``; ``which``: a condition on the events that enter them."""
    return PASSAGES.replace("{which}", which)


PASSAGES = """
entered AS (
    SELECT DISTINCT linkedid, queue FROM call_events
    WHERE at >= $1 AND at < $2 AND queue <> '' AND kind <> 'call_end' AND {which}
),
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
    FROM call_events JOIN entered USING (linkedid, queue)
    GROUP BY linkedid, queue
    HAVING min(at) FILTER (WHERE kind <> 'call_end') >= $1
)"""

FOLD = f"""
WITH {passages("($3::text IS NULL OR queue = $3)")},
facts AS (
    SELECT p.queue, floor(extract(epoch FROM p.entered) / $4)::int8 AS slot,
           p.answered_wait,
           CASE WHEN p.answered_wait IS NULL THEN p.abandoned_wait END AS abandoned_wait,
           p.answered_wait IS NULL AND p.timed_out AS timed_out,
           CASE WHEN p.answered_wait IS NOT NULL AND p.talk IS NOT NULL
                THEN p.talk + coalesce(c.hold_s, 0) + coalesce(c.wrapup_s, 0) END AS handle_s
    FROM passages p LEFT JOIN calls c USING (linkedid)
)
SELECT queue, slot * $4 AS slot_start, answered_wait, abandoned_wait, timed_out,
       count(*) AS passages, count(handle_s) AS handled,
       coalesce(sum(handle_s), 0)::int8 AS handle_s
FROM facts GROUP BY queue, slot, answered_wait, abandoned_wait, timed_out
"""

# Passages of calls that have not ended (no call row yet): the live tallies follow them on.
# Only those calls are folded (the anti-join comes first): folding a whole day to keep its
# few open calls made a restart at a million calls a day take 20 s.
OPEN_PASSAGES = f"""
WITH {passages("NOT EXISTS (SELECT 1 FROM calls c WHERE c.linkedid = call_events.linkedid)")}
SELECT linkedid, queue, extract(epoch FROM entered)::float8 AS entered,
       answered_wait, abandoned_wait, timed_out
FROM passages
"""
# A call that entered a queue longer ago than this before a restart, and is still going, is
# not followed by the wallboard (its end shows in the KPI API only): calls do not last hours.
OPEN_WITHIN = timedelta(hours=3)

# Rolled-up slots of [$1, $2) that no later event made dirty.
CLEAN_SLOTS = """
SELECT r.slot FROM kpi_rolled r
WHERE r.slot >= $1 AND r.slot + interval '15 minutes' <= $2
  AND NOT EXISTS (SELECT 1 FROM kpi_dirty d WHERE d.slot = r.slot)
ORDER BY r.slot
"""

# The rolled-up rows of these slots (or days), summed per slot of $3 seconds.
ROLLED = """
SELECT queue, floor(extract(epoch FROM {time}) / $3) * $3 AS slot_start, answered_wait,
       abandoned_wait, timed_out, sum(passages)::int8 AS passages,
       sum(handled)::int8 AS handled, sum(handle_s)::int8 AS handle_s
FROM {table}
WHERE {time} = ANY($1::timestamptz[]) AND ($2::text IS NULL OR queue = $2)
GROUP BY 1, 2, 3, 4, 5
"""
ROLLED_SLOTS = ROLLED.format(table="kpi_slots", time="slot")
ROLLED_DAYS = ROLLED.format(table="kpi_days", time="day")


async def queue_tallies(
    pool: asyncpg.Pool, since: datetime, until: datetime, queue: str | None = None
) -> dict[str, Tally]:
    """Each queue's tally of the calls that entered it in [since, until)."""
    by_queue: dict[str, Tally] = {}
    for row in await _period(pool, since, until, queue, slot_s=WHOLE_PERIOD_S):
        by_queue.setdefault(row.queue, Tally()).add_row(row)
    return by_queue


async def seed(
    pool: asyncpg.Pool, since: datetime, minutes_from: datetime, until: datetime
) -> tuple[list[TallyRow], list[QueueCall]]:
    """For today's live tallies: the calls that entered in [since, until), per 15-minute
    slot before ``minutes_from`` and per minute after it (the rolling windows), and the
    passages of the calls still in progress, all in one snapshot so that no call is in two
    of them or in none."""
    async with pool.acquire() as connection, connection.transaction(isolation="repeatable_read"):
        rows = await _read(connection, since, minutes_from, None, SLOT.total_seconds())
        rows += await _read(connection, minutes_from, until, None, 60.0)
        still_open = await connection.fetch(OPEN_PASSAGES, max(since, until - OPEN_WITHIN), until)
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
    return rows, passages


async def _period(
    pool: asyncpg.Pool, since: datetime, until: datetime, queue: str | None, slot_s: float
) -> list[TallyRow]:
    async with pool.acquire() as connection, connection.transaction(isolation="repeatable_read"):
        return await _read(connection, since, until, queue, slot_s)


async def _read(
    connection: asyncpg.Connection,
    since: datetime,
    until: datetime,
    queue: str | None,
    slot_s: float,
) -> list[TallyRow]:
    """Rolled-up slots where there are, a fold of the events elsewhere, per slot of
    ``slot_s`` seconds (60 or 900, or WHOLE_PERIOD_S for one slot; a rolled-up slot is 15
    minutes whatever ``slot_s``)."""
    if until <= since:
        return []
    clean = [r["slot"] for r in await connection.fetch(CLEAN_SLOTS, since, until)]
    slots_by_day: dict[datetime, list[datetime]] = {}
    for slot in clean:
        slots_by_day.setdefault(utc_day(slot), []).append(slot)
    # A day is read whole when the period is summed in one slot (the KPI API).
    whole_days = [
        d for d, s in slots_by_day.items() if len(s) == SLOTS_A_DAY and slot_s == WHOLE_PERIOD_S
    ]
    in_days = {slot for day in whole_days for slot in slots_by_day[day]}
    slots = [slot for slot in clean if slot not in in_days]
    rows = []
    if whole_days:
        rows += _tally_rows(await connection.fetch(ROLLED_DAYS, whole_days, queue, slot_s))
    if slots:
        rows += _tally_rows(await connection.fetch(ROLLED_SLOTS, slots, queue, slot_s))
    for start, end in gaps(since, until, clean):
        rows += _tally_rows(await connection.fetch(FOLD, start, end, queue, slot_s))
    return rows


def gaps(
    since: datetime, until: datetime, clean: Sequence[datetime]
) -> list[tuple[datetime, datetime]]:
    """The parts of [since, until) that the (sorted) clean slots do not cover."""
    out = []
    start = since
    for slot in clean:
        if slot > start:
            out.append((start, slot))
        start = max(start, slot + SLOT)
    if start < until:
        out.append((start, until))
    return out


def _tally_rows(rows: Sequence[asyncpg.Record]) -> list[TallyRow]:
    return [
        TallyRow(
            queue=r["queue"],
            slot_start=float(r["slot_start"]),
            answered_wait_s=r["answered_wait"],
            abandoned_wait_s=r["abandoned_wait"],
            timed_out=r["timed_out"],
            passages=r["passages"],
            handled=r["handled"],
            handle_s=r["handle_s"],
        )
        for r in rows
    ]


# --- the rollup ------------------------------------------------------------------------

ROLL = f"""
INSERT INTO kpi_slots (slot, queue, answered_wait, abandoned_wait, timed_out, passages,
                       handled, handle_s)
SELECT to_timestamp(slot_start), queue, answered_wait, abandoned_wait, timed_out, passages,
       handled, handle_s
FROM ({FOLD.strip()}) folded
"""

# The days of [$1, $2) from their slots (used only once all 96 slots are rolled up and clean).
ROLL_DAYS = """
INSERT INTO kpi_days (day, queue, answered_wait, abandoned_wait, timed_out, passages,
                      handled, handle_s)
SELECT date_trunc('day', slot, 'UTC'), queue, answered_wait, abandoned_wait, timed_out,
       sum(passages), sum(handled), sum(handle_s)
FROM kpi_slots WHERE slot >= $1 AND slot < $2
GROUP BY 1, 2, 3, 4, 5
"""

# A rolled-up slot that a later event made dirty, oldest first.
NEXT_DIRTY = """
SELECT min(d.slot) FROM kpi_dirty d JOIN kpi_rolled USING (slot) WHERE d.slot < $1
"""

# The slot of the first event after the last rolled-up slot (slots without events need no
# rolling up: no call entered a queue in them).
NEXT_UNROLLED = """
SELECT to_timestamp(floor(extract(epoch FROM min(at)) / 900) * 900) FROM call_events
WHERE at >= coalesce((SELECT max(slot) + interval '15 minutes' FROM kpi_rolled), '-infinity')
  AND at < $1
"""


def utc_day(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def slot_floor(at: datetime) -> datetime:
    seconds = SLOT.total_seconds()
    return datetime.fromtimestamp(at.timestamp() // seconds * seconds, UTC)


async def roll_up(pool: asyncpg.Pool, now: datetime) -> int:
    """Roll up every finished slot not rolled up yet, and every dirty one, a day at most per
    transaction; returns the slots rolled. Idempotent: a slot rolled again is replaced."""
    horizon = slot_floor(now - ROLL_AFTER)
    rolled = 0
    while True:
        start = await pool.fetchval(NEXT_DIRTY, horizon)
        if start is not None:
            end = start + SLOT
        else:
            start = await pool.fetchval(NEXT_UNROLLED, horizon)
            if start is None:
                return rolled
            end = min(start + ROLL_CHUNK, horizon)
        async with pool.acquire() as connection, connection.transaction():
            # One roller at a time (two daemons on one database): the second waits here,
            # then replaces what the first wrote instead of adding to it.
            await connection.execute("SELECT pg_advisory_xact_lock(hashtext('cti kpi rollup'))")
            # Dirty marks go first: an event stored while this runs marks its slot again.
            await connection.execute(
                "DELETE FROM kpi_dirty WHERE slot >= $1 AND slot < $2", start, end
            )
            await connection.execute(
                "DELETE FROM kpi_slots WHERE slot >= $1 AND slot < $2", start, end
            )
            await connection.execute(ROLL, start, end, None, SLOT.total_seconds())
            await connection.execute(
                "INSERT INTO kpi_rolled SELECT generate_series($1::timestamptz,"
                " $2::timestamptz - interval '15 minutes', interval '15 minutes')"
                " ON CONFLICT DO NOTHING",
                start,
                end,
            )
            first_day, after_last_day = utc_day(start), utc_day(end - SLOT) + timedelta(days=1)
            await connection.execute(
                "DELETE FROM kpi_days WHERE day >= $1 AND day < $2", first_day, after_last_day
            )
            await connection.execute(ROLL_DAYS, first_day, after_last_day)
        rolled += round((end - start) / SLOT)
