"""The dialer's choice with a million customers on the list: next_entry's time.

    .venv/bin/python bench/campaign_next.py [--entries 1000000] [--calls 200] [--explain]

An embedded PostgreSQL (pgserver, a temporary directory, its default settings) gets every
migration, ``--entries`` customers (generate_series) and one campaign whose list holds them
all, written with COPY. The list is a campaign in its second week, seeded, so every run is
the same:

- numbers: 70 % Turkish mobiles (Istanbul), 10 % New York, 8 % Los Angeles, 5 % Russian
  mobiles (sixteen zones), 4 % Tokyo, 3 % with no zone known (the center's, Istanbul). The
  zones are cti.campaigns.rules.number_zones of one number of each kind (phonenumbers gives
  a prefix's zones; asking it for a million numbers would take a minute and find the same);
- 40 % attempted before (1 to 4 times, the last one in the past three days), a third of
  those waiting for their retry, one in eight at the day's limit; priority 0 for 80 %, 1
  for 15 %, 2 for 5 %; 1 % with a callback (half of them due); 3 % done; 2 % of the numbers
  on the do-not-call list; 10 % of the customers with an open promise, half not yet due.

Then ``--calls`` choices at 11:00 on a Monday in Istanbul (08:00 UTC: Istanbul and Tokyo
within hours, the Americas at night, the Russian mobiles not all within hours), each taking
its customer as a dialer does: the median and the 99th percentile, in milliseconds. Then the
same when only Tokyo's 4 % are within hours (the scan passes over the other 96 %), and at
night (no zone within hours: the choice learns it from the list's zone sets, not a scan).
``--explain`` prints the plan of the main query once.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path

import asyncpg
from pgserver import get_server  # type: ignore[attr-defined]

from cti.auth.users import set_user
from cti.campaigns import lists
from cti.campaigns.rules import CallingHours, number_zones
from cti.database.migrate import migrate

CENTER_ZONE = "Europe/Istanbul"
MONDAY_11_IN_ISTANBUL = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SATURDAY_NIGHT = datetime(2026, 3, 7, 23, 0, tzinfo=UTC)
MONDAY_13_30_IN_TOKYO = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # everyone else: night
# (share of the list, a number of the kind, digits to vary at its end)
KINDS = [
    (0.70, "+905321234567", 7),
    (0.10, "+12125551234", 7),
    (0.08, "+12135551234", 7),
    (0.05, "+79161234567", 7),
    (0.04, "+81312345678", 8),
    (0.03, "+15551234567", 7),
]
COLUMNS = (
    "campaign_id",
    "customer_id",
    "number",
    "zones",
    "priority",
    "attempts_total",
    "attempts_today",
    "attempts_day",
    "last_attempt_at",
    "next_attempt_at",
    "callback_at",
    "status",
)


def say(text: str) -> None:
    print(text, flush=True)


def entry_rows(campaign_id: int, count: int, now: datetime) -> list[tuple[object, ...]]:
    rng = random.Random(18)
    kinds = [(number, digits, number_zones(number, CENTER_ZONE)) for _, number, digits in KINDS]
    weights = [share for share, _, _ in KINDS]
    today = date(2026, 3, 2)
    rows: list[tuple[object, ...]] = []
    for customer_id in range(1, count + 1):
        example, digits, zones = rng.choices(kinds, weights)[0]
        number = example[:-digits] + f"{rng.randrange(10**digits):0{digits}d}"
        attempted = rng.random() < 0.4
        last = now - timedelta(minutes=rng.randint(10, 3 * 24 * 60)) if attempted else None
        waiting = attempted and rng.random() < 1 / 3
        at_limit = attempted and rng.random() < 1 / 8
        callback = now + timedelta(minutes=rng.randint(-120, 120)) if rng.random() < 0.01 else None
        rows.append(
            (
                campaign_id,
                customer_id,
                number,
                list(zones),
                rng.choices((0, 1, 2), (80, 15, 5))[0],
                rng.randint(1, 4) if attempted else 0,
                2 if at_limit else (1 if attempted else 0),
                today if attempted else None,
                last,
                now + timedelta(minutes=rng.randint(1, 360)) if waiting else callback,
                callback,
                "done" if rng.random() < 0.03 else "open",
            )
        )
    return rows


async def load(pool: asyncpg.Pool, count: int, now: datetime) -> lists.Campaign:
    campaign = await lists.create_campaign(
        pool,
        name="Second week",
        caller_id="+902125550000",
        agent_interfaces=[f"PJSIP/{1000 + i}" for i in range(50)],
        hours=CallingHours(wall_time(9), wall_time(20), frozenset({1, 2, 3, 4, 5})),
        max_attempts_per_day=2,
        max_attempts_total=6,
    )
    await lists.set_paused(pool, campaign.id, False)
    await set_user(pool, "agent1", "Ayla Demir", "agent", "correct horse battery", ("PJSIP/1001",))
    start = time.perf_counter()
    await pool.execute(
        "INSERT INTO customers (id, external_ref, full_name, balance)"
        " SELECT i, 'C' || i, 'Customer ' || i, 100 + i % 5000 FROM generate_series(1, $1) AS i",
        count,
    )
    await pool.execute("SELECT setval('customers_id_seq', $1)", count)
    say(f"  {count:,} customers: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    rows = entry_rows(campaign.id, count, now)
    async with pool.acquire() as conn:
        await conn.copy_records_to_table("campaign_entries", records=rows, columns=COLUMNS)
    say(f"  {count:,} entries (COPY): {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    await pool.execute(
        "INSERT INTO do_not_call (number, reason)"
        " SELECT number, 'asked not to be called' FROM campaign_entries"
        " WHERE customer_id % 50 = 7 ON CONFLICT DO NOTHING"
    )
    # Half due on or before today (callable), half later (not yet due).
    await pool.execute(
        "INSERT INTO promises (customer_id, user_id, amount, currency, due_date, status)"
        " SELECT i, (SELECT id FROM users WHERE username = 'agent1'), 100, 'TRY',"
        "        DATE '2026-03-02' + (i % 11 - 5), 'open'"
        " FROM generate_series(3, $1, 10) AS i",
        count,
    )
    await pool.execute("VACUUM ANALYZE")
    say(f"  do-not-call, promises, VACUUM ANALYZE: {time.perf_counter() - start:.1f} s")
    return campaign


async def timed_choices(
    pool: asyncpg.Pool, campaign: lists.Campaign, now: datetime, calls: int
) -> tuple[list[float], int]:
    """Milliseconds of each choice, and how many found someone."""
    times, found = [], 0
    for _ in range(calls):
        start = time.perf_counter()
        entry = await lists.next_entry(pool, campaign, now)
        times.append((time.perf_counter() - start) * 1000)
        found += entry is not None
    return times, found


def p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[98]


async def run(args: argparse.Namespace) -> float:
    data = Path(tempfile.mkdtemp(prefix="campaign-bench-"))
    server = get_server(data, cleanup_mode="delete")
    pool = await asyncpg.create_pool(str(server.get_uri()), min_size=1, max_size=2)
    try:
        await migrate(pool)
        say(f"loading {args.entries:,} entries into {data}")
        campaign = await load(pool, args.entries, MONDAY_11_IN_ISTANBUL)
        if args.explain:
            hours = campaign.hours
            in_hours = (campaign.id, MONDAY_11_IN_ISTANBUL, hours.calls_from, hours.calls_until)
            in_hours += (sorted(hours.weekdays),)
            zone_sets = await pool.fetchval(lists._ZONE_SETS_IN_HOURS, *in_hours)
            limits = (campaign.max_attempts_per_day, campaign.max_attempts_total)
            plan = await pool.fetch(
                "EXPLAIN (ANALYZE, BUFFERS) " + lists._NEXT_IN_ORDER, *in_hours, *limits, zone_sets
            )
            say("\n".join(row[0] for row in plan))
        await lists.next_entry(pool, campaign, MONDAY_11_IN_ISTANBUL)  # warm-up
        times, found = await timed_choices(pool, campaign, MONDAY_11_IN_ISTANBUL, args.calls)
        median = statistics.median(times)
        say(
            f"\nnext_entry, {args.entries:,} entries, Monday 11:00 in Istanbul:"
            f" median {median:.2f} ms, p99 {p99(times):.2f} ms, max {max(times):.2f} ms"
            f" over {args.calls} calls ({found} found a customer)"
        )
        for moment, what in [
            (MONDAY_13_30_IN_TOKYO, "Monday 13:30 in Tokyo (only Tokyo's 4 % within hours)"),
            (SATURDAY_NIGHT, "Saturday night (no zone within hours)"),
        ]:
            times, found = await timed_choices(pool, campaign, moment, args.calls)
            say(
                f"next_entry, {what}: median {statistics.median(times):.2f} ms,"
                f" p99 {p99(times):.2f} ms ({found} found a customer)"
            )
        return median
    finally:
        await pool.close()
        server.cleanup()


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--explain", action="store_true", help="print the main query's plan")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
