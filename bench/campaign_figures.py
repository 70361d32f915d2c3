"""The campaigns' figures of today with a million inbound calls logged today (issue 16).

    .venv/bin/python bench/campaign_figures.py [--calls-today 1000000] [--campaign-calls 20000]
        [--campaigns 3] [--repeat 20] [--explain]

The supervisor's Campaigns section asks ``GET /api/campaigns`` on opening and every 10 s
(web/src/wall/Campaigns.tsx), so 50 supervisors ask it 5 times a second. Its figures
(attempts, contacts, right-party contacts and promises of today, per campaign) read today's
calls of each campaign. An embedded PostgreSQL (pgserver, a temporary directory) gets every
migration, ``--calls-today`` inbound calls and ``--campaign-calls`` campaign calls spread
over today (generate_series), promises on a tenth of the contacts, then ``VACUUM ANALYZE``;
the query of ``cti.campaigns.http`` is timed ``--repeat`` times after a warm-up: median and
worst, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from datetime import time as wall_time
from pathlib import Path

import asyncpg
from pgserver import get_server  # type: ignore[attr-defined]

from cti.auth.users import set_user
from cti.campaigns import http, lists
from cti.campaigns.rules import CallingHours
from cti.database.migrate import migrate

NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
DAY_START = datetime(2026, 3, 1, 21, 0, tzinfo=UTC)  # midnight in Istanbul

# Inbound calls, then campaign calls (campaign 1 + i % campaigns, attempt 1), all today.
CALLS = """
INSERT INTO calls (linkedid, caller_number, caller_e164, caller_name, dialed, direction,
                   queue, agent, outcome, started_at, ended_at, talk_s, campaign_id, attempt)
SELECT 'b-' || $5 || '-' || i, '90532' || lpad((i % 9999991)::text, 7, '0'),
       '+90532' || lpad((i % 9999991)::text, 7, '0'), 'Caller ' || i, '4440',
       CASE WHEN $4 THEN 'other' ELSE 'inbound' END, 'support', 'PJSIP/1001',
       CASE WHEN i % 3 = 0 THEN 'unanswered' ELSE 'answered' END,
       $1::timestamptz + (i::float8 / $2) * ($3::timestamptz - $1::timestamptz),
       $1::timestamptz + (i::float8 / $2) * ($3::timestamptz - $1::timestamptz)
           + interval '1 minute',
       60,
       CASE WHEN $4 THEN 1 + i % $6 END, CASE WHEN $4 THEN 1 END
FROM generate_series(1, $2) AS i
"""


def say(text: str) -> None:
    print(text, flush=True)


async def load(pool: asyncpg.Pool, args: argparse.Namespace) -> None:
    await set_user(pool, "agent1", "Ayla Demir", "agent", "correct horse battery", ("PJSIP/1001",))
    user_id = await pool.fetchval("SELECT id FROM users WHERE username = 'agent1'")
    for number in range(args.campaigns):
        campaign = await lists.create_campaign(
            pool,
            name=f"Campaign {number + 1}",
            caller_id="+902125550000",
            agent_interfaces=["PJSIP/1001"],
            hours=CallingHours(wall_time(9), wall_time(20), frozenset({1, 2, 3, 4, 5})),
            max_attempts_per_day=2,
            max_attempts_total=6,
        )
        assert campaign.id == number + 1
    start = time.perf_counter()
    await pool.execute(CALLS, DAY_START, args.calls_today, NOW, False, "in", args.campaigns)
    await pool.execute(CALLS, DAY_START, args.campaign_calls, NOW, True, "cp", args.campaigns)
    await pool.execute(
        "INSERT INTO customers (id, external_ref, full_name, balance)"
        " SELECT i, 'C' || i, 'Customer ' || i, 100 FROM generate_series(1, 1000) AS i"
    )
    await pool.execute(
        "INSERT INTO promises (customer_id, user_id, amount, currency, due_date, status,"
        " linkedid) SELECT 1 + i % 1000, $1, 100, 'TRY', DATE '2026-03-09', 'open', 'b-cp-' || i"
        " FROM generate_series(1, $2, 10) AS i",
        user_id,
        args.campaign_calls,
    )
    await pool.execute("VACUUM ANALYZE")
    say(
        f"  {args.calls_today:,} inbound and {args.campaign_calls:,} campaign calls today,"
        f" promises, VACUUM ANALYZE: {time.perf_counter() - start:.1f} s"
    )


async def run(args: argparse.Namespace) -> float:
    data = Path(tempfile.mkdtemp(prefix="campaign-figures-"))
    server = get_server(data, cleanup_mode="delete")
    pool = await asyncpg.create_pool(str(server.get_uri()), min_size=1, max_size=2)
    try:
        await migrate(pool)
        say(f"campaign figures bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; loading into {data}")
        await load(pool, args)
        values = (DAY_START, NOW, list(http.NOT_THE_RIGHT_PARTY))
        if args.explain:
            plan = await pool.fetch("EXPLAIN (ANALYZE, BUFFERS) " + http._FIGURES, *values)
            say("\n".join(row[0] for row in plan))
        rows = await pool.fetch(http._FIGURES, *values)  # warm-up, and the figures checked
        attempts = sum(row["attempts"] for row in rows)
        assert attempts == args.campaign_calls, (attempts, args.campaign_calls)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            await pool.fetch(http._FIGURES, *values)
            times.append((time.perf_counter() - start) * 1000)
        median = statistics.median(times)
        say(
            f"GET /api/campaigns' figures, {args.campaigns} campaigns, {args.calls_today:,}"
            f" inbound + {args.campaign_calls:,} campaign calls today: median {median:.1f} ms,"
            f" worst {max(times):.1f} ms over {args.repeat} (50 supervisors ask 5 a second)"
        )
        return median
    finally:
        await pool.close()
        server.cleanup()


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls-today", type=int, default=1_000_000)
    parser.add_argument("--campaign-calls", type=int, default=20_000)
    parser.add_argument("--campaigns", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--explain", action="store_true", help="print the query's plan")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
