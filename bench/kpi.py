"""The KPI API over a month of calls: rolled-up slots, and a fold of the rest.

    .venv/bin/python bench/kpi.py [--calls 10000000] [--days 30] [--keep DIR]

Starts an embedded PostgreSQL (pgserver), applies the migrations, and loads ``--calls``
queue calls spread evenly over ``--days`` days into ``calls`` and ``call_events`` (4 events
a call: queue_join, agent_ring, agent_connect with a wait of 0-59 s, call_end with a talk of
60-359 s; 10 queues). Loading drops the event indexes and the rollup trigger and builds them
again after, since loading is not what is measured. Then it times:

- the first rollup (``tallies.roll_up``: what the daemon does once after the upgrade);
- ``tallies.queue_tallies`` (the work of ``GET /api/kpi``) for the whole month, three times,
  and for a month with ragged edges (folded from events at both ends), against the target
  of 500 ms;
- the same month folded from the events alone (``tallies.FOLD``), for comparison.

``--keep DIR`` keeps the database in DIR for another run (loading 10M calls takes minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from pgserver import get_server  # type: ignore[attr-defined]

from cti.calllog import tallies
from cti.database.migrate import migrate

TARGET_MS = 500.0
START = datetime(2026, 10, 1, tzinfo=UTC)

LOAD_EVENTS = """
INSERT INTO call_events (linkedid, at, kind, queue, interface, seconds)
SELECT 'c' || g, $1::timestamptz + (g * $3::float8 + k.off) * interval '1 second', k.kind,
       'q' || (g % 10),
       CASE WHEN k.kind = 'queue_join' THEN '' ELSE 'SIP/' || (1000 + g % 300) END,
       CASE k.kind WHEN 'agent_connect' THEN g % 60 WHEN 'call_end' THEN 60 + g % 300 END
FROM generate_series(0, $2::int - 1) g,
     (VALUES ('queue_join', 0), ('agent_ring', 1), ('agent_connect', 5),
             ('call_end', 400)) AS k(kind, off)
"""
LOAD_CALLS = """
INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue, agent,
                   outcome, started_at, answered_at, ended_at, wait_s, talk_s, hold_s)
SELECT 'c' || g, '90532' || lpad((g % 10000000)::text, 7, '0'), '', '4440', 'inbound',
       'q' || (g % 10), 'SIP/' || (1000 + g % 300), 'answered',
       $1::timestamptz + g * $3::float8 * interval '1 second',
       $1::timestamptz + (g * $3::float8 + 5) * interval '1 second',
       $1::timestamptz + (g * $3::float8 + 400) * interval '1 second', g % 60, 60 + g % 300, 0
FROM generate_series(0, $2::int - 1) g
"""
EVENT_INDEXES = """
ALTER TABLE call_events ADD PRIMARY KEY (linkedid, kind, at, interface);
CREATE INDEX call_events_at ON call_events (at);
ALTER TABLE call_events ENABLE TRIGGER call_events_kpi_dirty;
"""


def ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def load(pool: asyncpg.Pool, calls: int, days: int) -> None:
    if await pool.fetchval("SELECT count(*) FROM calls") == calls:
        print(f"database already holds {calls:,} calls")
        return
    spacing = days * 86400 / calls
    started = time.perf_counter()
    await pool.execute(
        "ALTER TABLE call_events DISABLE TRIGGER call_events_kpi_dirty;"
        " ALTER TABLE call_events DROP CONSTRAINT call_events_pkey;"
        " DROP INDEX call_events_at;"
    )
    await pool.execute(LOAD_EVENTS, START, calls, spacing, timeout=None)
    await pool.execute(LOAD_CALLS, START, calls, spacing, timeout=None)
    await pool.execute(EVENT_INDEXES, timeout=None)
    await pool.execute("VACUUM ANALYZE calls", timeout=None)
    await pool.execute("VACUUM ANALYZE call_events", timeout=None)
    print(f"loaded {calls:,} calls ({4 * calls:,} events) in {ms(started) / 1000:.0f} s")


async def month(pool: asyncpg.Pool, since: datetime, until: datetime) -> tuple[float, int]:
    started = time.perf_counter()
    by_queue = await tallies.queue_tallies(pool, since, until)
    return ms(started), sum(t.offered for t in by_queue.values())


async def run(args: argparse.Namespace, data: Path) -> float:
    server = get_server(data, cleanup_mode=None if args.keep else "stop")
    pool = await asyncpg.create_pool(server.get_uri("postgres"), command_timeout=None)
    await migrate(pool)
    await load(pool, args.calls, args.days)
    end = START + timedelta(days=args.days)
    started = time.perf_counter()
    rolled = await tallies.roll_up(pool, end + timedelta(hours=2))
    print(f"first rollup: {rolled:,} slots of 15 min in {ms(started) / 1000:.1f} s")
    print(f"KPI of {args.days} days, {args.calls:,} calls (target <= {TARGET_MS:.0f} ms):")
    worst = 0.0
    for attempt in range(3):
        took, offered = await month(pool, START, end)
        worst = max(worst, took)
        print(f"  whole month, run {attempt + 1}: {took:7.0f} ms  ({offered:,} calls offered)")
    ragged = (START + timedelta(hours=3, minutes=7), end - timedelta(hours=5, minutes=11))
    took, offered = await month(pool, *ragged)
    worst = max(worst, took)
    print(f"  ragged edges:       {took:7.0f} ms  ({offered:,} calls offered)")
    print(f"worst {worst:.0f} ms: {'meets' if worst <= TARGET_MS else 'misses'} the target")
    started = time.perf_counter()
    await pool.fetch(tallies.FOLD, START, end, None, tallies.WHOLE_PERIOD_S)
    print(f"the same month folded from the events alone: {ms(started):.0f} ms")
    await pool.close()
    print(f"machine load (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return worst


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="keep the database here for another run")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run(args, args.keep))
    with tempfile.TemporaryDirectory(prefix="cti-bench-kpi-") as scratch:
        return asyncio.run(run(args, Path(scratch) / "pg"))


if __name__ == "__main__":
    main()
