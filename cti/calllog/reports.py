"""Reading the call log back: KPI facts for a period, the call history, recordings.

Parameterised SQL only; filters the user did not give are NULL and match everything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from cti.kpi import QueueCall, calls_from_events

# A call's queue events are grouped from this long before the period, so a call that entered
# just before it is still dated by its entry, not by its answer.
_LOOKBACK = "1 day"

QUEUE_EVENTS = f"""
WITH entered AS (
    SELECT linkedid, queue FROM call_events
    WHERE queue <> '' AND kind <> 'call_end' AND at >= $1::timestamptz - interval '{_LOOKBACK}'
      AND at < $2 AND ($3::text IS NULL OR queue = $3)
    GROUP BY linkedid, queue
    HAVING min(at) >= $1
)
SELECT e.linkedid, e.queue, e.kind, extract(epoch FROM e.at)::float8 AS at, e.seconds,
       c.hold_s, c.wrapup_s
FROM call_events e JOIN entered USING (linkedid, queue) LEFT JOIN calls c USING (linkedid)
ORDER BY e.at, e.kind
"""


async def queue_calls(
    pool: asyncpg.Pool, since: datetime, until: datetime, queue: str | None = None
) -> list[QueueCall]:
    rows = await pool.fetch(QUEUE_EVENTS, since, until, queue)
    extra = {r["linkedid"]: (r["hold_s"], r["wrapup_s"]) for r in rows}
    return calls_from_events(rows, extra)


@dataclass(frozen=True, slots=True)
class CallFilter:
    since: datetime
    until: datetime
    number: str | None = None  # E.164 or as received; matches either
    customer: str | None = None  # part of the customer's name
    agent: str | None = None  # interface
    queue: str | None = None
    outcome: str | None = None
    consent: str | None = None  # granted | declined | none
    limit: int | None = 500  # None: every call of the period (the CSV export)


HISTORY_COLUMNS = (
    "linkedid",
    "started_at",
    "caller_number",
    "caller_e164",
    "caller_name",
    "customer",
    "queue",
    "agent",
    "agent_name",
    "outcome",
    "wait_s",
    "talk_s",
    "hold_s",
    "consent",
    "has_recording",
    "routing",
)

SEARCH = """
SELECT k.linkedid, k.started_at, k.caller_number, k.caller_e164, k.caller_name,
       (SELECT c.full_name FROM customer_phones p JOIN customers c ON c.id = p.customer_id
        WHERE p.e164 = k.caller_e164 ORDER BY c.id LIMIT 1) AS customer,
       k.queue, k.agent, k.agent_name, k.outcome, k.wait_s, k.talk_s, k.hold_s, k.consent,
       k.recording IS NOT NULL AS has_recording,
       (SELECT r.reason FROM routing_decisions r WHERE r.linkedid = k.linkedid
        ORDER BY r.id DESC LIMIT 1) AS routing  -- why the ACD sent it there, if it did
FROM calls k
WHERE k.started_at >= $1 AND k.started_at < $2
  AND ($3::text IS NULL OR k.caller_e164 = $3 OR k.caller_number = $3)
  AND ($4::text IS NULL OR EXISTS (
        SELECT 1 FROM customer_phones p JOIN customers c ON c.id = p.customer_id
        WHERE p.e164 = k.caller_e164 AND c.full_name ILIKE '%' || $4 || '%'))
  AND ($5::text IS NULL OR k.agent = $5)
  AND ($6::text IS NULL OR k.queue = $6)
  AND ($7::text IS NULL OR k.outcome = $7)
  AND ($8::text IS NULL OR k.consent IS NOT DISTINCT FROM nullif($8, 'none'))
ORDER BY k.started_at DESC
LIMIT $9  -- NULL: no limit
"""


def _search_arguments(f: CallFilter) -> tuple[Any, ...]:
    # The customer's name is matched as typed: LIKE's wildcards in it are escaped.
    customer = (
        None
        if f.customer is None
        else (f.customer.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
    )
    return (f.since, f.until, f.number, customer, f.agent, f.queue, f.outcome, f.consent, f.limit)


async def search_calls(pool: asyncpg.Pool, f: CallFilter) -> list[dict[str, Any]]:
    return [dict(r) for r in await pool.fetch(SEARCH, *_search_arguments(f))]


async def stream_calls(
    pool: asyncpg.Pool, f: CallFilter, batch: int = 1000
) -> AsyncIterator[list[dict[str, Any]]]:
    """The calls of ``f`` in batches, read through a server-side cursor: however many the
    period holds, only one batch is in memory at a time."""
    async with pool.acquire() as connection, connection.transaction():
        cursor = await connection.cursor(SEARCH, *_search_arguments(f))
        while rows := await cursor.fetch(batch):
            yield [dict(r) for r in rows]


async def recording_name(pool: asyncpg.Pool, linkedid: str) -> str | None:
    value = await pool.fetchval("SELECT recording FROM calls WHERE linkedid = $1", linkedid)
    return None if value is None else str(value)
