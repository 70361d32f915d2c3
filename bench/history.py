"""The call history at ten million calls: pages, totals and the CSV export, timed.

    .venv/bin/python bench/history.py [--calls 10000000] [--data DIR] [--repeat 5]
                                      [--csv-rows 1000000]

An embedded PostgreSQL (pgserver, its default settings: what `cti demo` and a database-less
install run on) gets the migrations before 011, then ``--calls`` calls over the year up to
now and one customer (with a phone) per ten calls, generated in SQL (generate_series, no
row crosses the wire); then migration 011 is applied and timed, as an upgrade of a full
call log would. The calls: 72 % from customers' phones, 2 % withheld ("anonymous"), the
rest from other numbers; 200 agents, five queues, answered 85 %, abandoned 10 %.

Then, for each search of the history page (``cti.calllog.reports``, the functions behind
``GET /api/history``), over the whole year and over the page's default period (the last
seven days): the first page, a page from a cursor in the middle of the period, and the
total (capped at 10,000, given up after 0.3 s: "not counted"), each the median of
``--repeat`` runs after one warm-up. Target: a page in at most 100 ms. Last,
``GET /api/history.csv`` of the newest ``--csv-rows`` calls through the real handler over
HTTP (same process), with the process's RSS before, at its peak and after: streamed, it
must stay flat.

``--data DIR`` keeps the database there; a later run with the same ``--calls`` reuses it
instead of loading again.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from pgserver import get_server  # type: ignore[attr-defined]

from cti.calllog import reports
from cti.clock import CenterClock
from cti.database import Database
from cti.database.migrate import MIGRATIONS_DIR, migrate
from cti.keys import CLOCK, DATABASE, SETTINGS
from cti.settings import Settings
from cti.supervision.http import call_history_csv

PAGE_TARGET_MS = 100.0
HISTORY_MIGRATION = 11
CHUNK = 1_000_000  # calls per INSERT: progress shows, and no statement runs for long

# fmt: off
FIRST_NAMES = [
    "Ayşe", "Fatma", "Emine", "Hatice", "Zeynep", "Elif", "Meryem", "Şerife", "Zehra", "Sultan",
    "Hanife", "Merve", "Havva", "Esra", "Gül", "Mehmet", "Mustafa", "Ahmet", "Ali", "Hüseyin",
    "Hasan", "İbrahim", "İsmail", "Osman", "Yusuf", "Murat", "Ömer", "Ramazan", "Halil",
    "Süleyman", "Abdullah", "Mahmut", "Salih", "Kemal", "Recep", "Burak", "Emre", "Can", "Deniz",
    "Selin",
]
SURNAMES = [
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın",
    "Özdemir", "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Kara", "Koç", "Kurt", "Özkan",
    "Şimşek", "Polat", "Özcan", "Korkmaz", "Çakır", "Erdoğan", "Yavuz", "Acar", "Şen", "Aktaş",
    "Güler", "Yalçın", "Güneş", "Bozkurt", "Bulut", "Keskin", "Ünal", "Turan", "Gül", "Özer",
    "Tekin",
]
# fmt: on

# Customer i: given name, a second one for 40 %, surname, a second (hyphenated) for 20 %;
# phone +90 530 000 0000 + i.
CUSTOMERS = """
INSERT INTO customers (id, external_ref, full_name)
SELECT i, 'C' || i, ($2::text[])[1 + floor(random() * $3::int)::int]
    || CASE WHEN random() < 0.4 THEN ' ' || ($2::text[])[1 + floor(random() * $3::int)::int]
       ELSE '' END
    || ' ' || ($4::text[])[1 + floor(random() * $5::int)::int]
    || CASE WHEN random() < 0.2 THEN '-' || ($4::text[])[1 + floor(random() * $5::int)::int]
       ELSE '' END
FROM generate_series(1, $1::int) AS i
"""
PHONES = """
INSERT INTO customer_phones (customer_id, e164, raw)
SELECT i, '+90' || (5300000000 + i), '0' || (5300000000 + i) FROM generate_series(1, $1::int) AS i
"""
# Calls $1..$2 of the load, call i at $3 - i * $4 (plus up to one $4 of jitter): i = 0 is
# the newest. $5 customers.
CALLS = """
INSERT INTO calls (linkedid, caller_number, caller_e164, caller_name, dialed, direction,
                   queue, agent, agent_name, outcome, started_at, queued_at, answered_at,
                   ended_at, wait_s, talk_s, consent, recording)
SELECT floor(extract(epoch FROM t))::bigint || '.' || i,
       CASE WHEN who < 0.02 THEN 'anonymous' ELSE '0' || substr(e164, 4) END,
       CASE WHEN who < 0.02 THEN NULL ELSE e164 END,
       CASE WHEN who < 0.02 THEN '' ELSE 'Arayan ' || (i % 9973) END,
       '4440', 'inbound', queue, agent, 'Agent ' || substr(agent, 7), outcome,
       t, t, t + wait * interval '1 second', t + (wait + talk) * interval '1 second',
       wait, talk, consent,
       CASE WHEN consent = 'granted' AND agent IS NOT NULL THEN i || '.wav' END
FROM (
    SELECT i, t, who, outcome, queue, consent,
           CASE WHEN outcome IN ('answered', 'transferred')
                THEN 'PJSIP/' || (1000 + floor(random() * 200)::int) END AS agent,
           floor(random() * 120)::int AS wait,
           CASE WHEN outcome IN ('answered', 'transferred')
                THEN 20 + floor(random() * 600)::int END AS talk,
           CASE WHEN who < 0.74 THEN '+90' || (5300000000 + 1 + floor(random() * $5::int)::bigint)
                ELSE '+90' || (5600000000 + floor(random() * 2000000)::bigint) END AS e164
    FROM (
        SELECT i, $3::timestamptz - (i + random()) * $4::interval AS t, random() AS who,
               (ARRAY['answered', 'abandoned', 'timed_out', 'unanswered', 'transferred'])[
                   width_bucket(random(), ARRAY[0, 0.85, 0.95, 0.97, 0.99]::float8[])] AS outcome,
               (ARRAY['support', 'sales', 'collections', 'billing', 'vip'])[
                   width_bucket(random(), ARRAY[0, 0.40, 0.65, 0.85, 0.95]::float8[])] AS queue,
               (ARRAY['granted', 'declined', NULL])[
                   width_bucket(random(), ARRAY[0, 0.80, 0.85]::float8[])] AS consent
        FROM generate_series($1::bigint, $2::bigint) AS i
    ) g
) h
"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def say(text: str) -> None:
    print(text, flush=True)


async def migrate_up_to(pool: asyncpg.Pool, version: int) -> None:
    """The migrations up to ``version`` (the same files: the same checksums)."""
    with tempfile.TemporaryDirectory(prefix="history-migrations-") as folder:
        for path in MIGRATIONS_DIR.glob("*.sql"):
            if int(path.stem.partition("_")[0]) <= version:
                shutil.copy(path, folder)
        await migrate(pool, Path(folder))


async def load(pool: asyncpg.Pool, calls: int) -> datetime:
    """Migrations before 011, customers, calls; returns the newest call's time."""
    await migrate_up_to(pool, HISTORY_MIGRATION - 1)
    # 011 replaces these; dropped now, the load maintains the primary key only. 011's own
    # work (its new indexes) is the same with or without them.
    await pool.execute(
        "DROP INDEX calls_started_at, calls_caller_e164, calls_agent_started,"
        " calls_queue_started, calls_outcome_started"
    )
    customers = max(1, calls // 10)
    newest = datetime.now(UTC).replace(microsecond=0)
    step = timedelta(days=365) / calls
    start = time.perf_counter()
    async with pool.acquire() as connection:
        await connection.execute("SELECT setseed(0.16)")
        await connection.execute(
            CUSTOMERS, customers, FIRST_NAMES, len(FIRST_NAMES), SURNAMES, len(SURNAMES)
        )
        await connection.execute(PHONES, customers)
        await connection.execute("SELECT setval('customers_id_seq', $1)", customers)
        say(f"  {customers:,} customers with a phone: {time.perf_counter() - start:.0f} s")
        for low in range(0, calls, CHUNK):
            high = min(calls, low + CHUNK) - 1
            await connection.execute(CALLS, low, high, newest, step, customers)
            say(f"  calls {high + 1:>11,}: {time.perf_counter() - start:.0f} s")
    return newest


async def timed(run: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, Any]:
    """Median milliseconds of ``repeat`` runs after a warm-up, and the last result."""
    result = await run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = await run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


async def named(pool: asyncpg.Pool, part: str) -> int:
    sql = "SELECT count(*) FROM customers WHERE strpos(lower(full_name), lower($1)) > 0"
    return int(await pool.fetchval(sql, part))


async def searches(pool: asyncpg.Pool, newest: datetime, repeat: int) -> list[list[str]]:
    one = await pool.fetchrow(
        "SELECT c.full_name, p.e164 FROM customers c JOIN customer_phones p"
        " ON p.customer_id = c.id WHERE c.id = 4242 OR c.id = (SELECT max(id) FROM customers)"
        " ORDER BY c.id LIMIT 1"
    )
    year = (newest - timedelta(days=366), newest + timedelta(minutes=1))
    midnight = newest.replace(hour=0, minute=0, second=0)
    week = (midnight - timedelta(days=7), newest + timedelta(minutes=1))
    cases: list[tuple[str, dict[str, Any]]] = [
        ("no filter", {}),
        ("number (a customer's)", {"number": one["e164"]}),
        ("number: withheld (2 %)", {"number": "anonymous"}),
        *[
            (f"customer: {part!r} ({await named(pool, part):,} customers)", {"customer": part})
            for part in (one["full_name"], "Yılmaz-", "ılmaz")
        ],
        ("agent PJSIP/1042", {"phones": ("PJSIP/1042",)}),
        ("queue vip (5 %)", {"queue": "vip"}),
        ("outcome abandoned (10 %)", {"outcome": "abandoned"}),
        ("queue vip + outcome abandoned", {"queue": "vip", "outcome": "abandoned"}),
        ("consent declined (5 %, no index)", {"consent": "declined"}),
    ]
    table = []
    for name, filters in cases:
        for period_name, (since, until) in (("year", year), ("7 days", week)):
            f = reports.CallFilter(since, until, **filters)
            middle = reports.Cursor(since + (until - since) / 2, "")

            async def first(f: reports.CallFilter = f) -> Any:
                async with reports.history_reader(pool) as connection:
                    return await reports.page_calls(connection, f, reports.PAGE_SIZE)

            async def deep(f: reports.CallFilter = f, middle: reports.Cursor = middle) -> Any:
                async with reports.history_reader(pool) as connection:
                    return await reports.page_calls(connection, f, reports.PAGE_SIZE, middle)

            customer = None  # the page's customer condition: GET /api/history shares it
            if f.customer is not None:
                async with reports.history_reader(pool) as connection:
                    customer = await reports.customer_condition(connection, f.customer)

            async def total(f: reports.CallFilter = f, customer: Any = customer) -> Any:
                async with reports.history_reader(pool) as connection:
                    return await reports.count_calls(connection, f, customer)

            first_ms, (rows, _) = await timed(first, repeat)
            deep_ms, _ = await timed(deep, repeat)
            total_ms, (count, capped) = await timed(total, repeat)
            worst = max(first_ms, deep_ms)
            row = [
                name,
                period_name,
                f"{len(rows)}",
                "not counted" if count is None else f"{'>' if capped else ''}{count:,}",
                f"{first_ms:.1f}",
                f"{deep_ms:.1f}",
                f"{total_ms:.1f}",
                "yes" if worst <= PAGE_TARGET_MS else "**no**",
            ]
            say("  " + " | ".join(row))
            table.append(row)
    return table


async def csv_export(url: str, pool: asyncpg.Pool, rows_wanted: int) -> dict[str, float]:
    """The newest ``rows_wanted`` calls through GET /api/history.csv, RSS sampled."""
    since = await pool.fetchval(
        "SELECT started_at FROM calls ORDER BY started_at DESC, linkedid DESC OFFSET $1 LIMIT 1",
        rows_wanted - 1,
    ) or datetime(1970, 1, 1, tzinfo=UTC)
    app = web.Application()
    app[SETTINGS] = Settings()
    app[CLOCK] = CenterClock()
    app[DATABASE] = Database(url)
    app.router.add_get("/api/history.csv", call_history_csv)  # the handler, without sign-in
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    await app[DATABASE].pool()  # connected and migrated before the baseline
    params = {"from": since.isoformat(), "to": datetime.now(UTC).isoformat()}
    before = peak = rss_mb()
    lines = 0
    start = time.perf_counter()
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/api/history.csv", params=params) as response,
    ):
        assert response.status == 200, await response.text()
        async for chunk in response.content.iter_chunked(1 << 16):
            lines += chunk.count(b"\n")
            peak = max(peak, rss_mb())
    seconds = time.perf_counter() - start
    after = rss_mb()
    await app[DATABASE].close()
    await runner.cleanup()
    return {"rows": lines - 1, "seconds": seconds, "before": before, "peak": peak, "after": after}


async def main(args: argparse.Namespace) -> None:
    keep = args.data is not None
    data = Path(args.data) if keep else Path(tempfile.mkdtemp(prefix="history-bench-"))
    server = get_server(data, cleanup_mode="stop" if keep else "delete")
    url = str(server.get_uri())
    pool = await asyncpg.create_pool(url, min_size=1, max_size=4, command_timeout=None)
    try:
        if await pool.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
            done = await pool.fetchval(
                "SELECT EXISTS (SELECT FROM schema_migrations WHERE version = $1)"
                " AND (SELECT count(*) FROM calls) = $2",
                HISTORY_MIGRATION,
                args.calls,
            )
            if not done:
                raise SystemExit(f"{data} holds another database: give an empty --data")
            newest = await pool.fetchval("SELECT max(started_at) FROM calls")
            say(f"reusing the {args.calls:,} calls in {data}")
        else:
            say(f"loading {args.calls:,} calls into {data}")
            start = time.perf_counter()
            newest = await load(pool, args.calls)
            say(f"  loaded in {time.perf_counter() - start:.0f} s")
            start = time.perf_counter()
            await migrate_up_to(pool, HISTORY_MIGRATION)
            say(f"migration 011: {time.perf_counter() - start:.0f} s")
            start = time.perf_counter()
            await migrate(pool)  # any after it (017 copies each customer's name to its phones)
            say(f"migrations after 011: {time.perf_counter() - start:.0f} s")
            start = time.perf_counter()
            await pool.execute("VACUUM ANALYZE calls, customers, customer_phones")
            say(f"VACUUM ANALYZE: {time.perf_counter() - start:.0f} s")
        sizes = await pool.fetch(
            "SELECT relname, pg_size_pretty(pg_relation_size(oid)) AS size FROM pg_class"
            " WHERE relname LIKE 'calls%' OR relname LIKE 'customer%' ORDER BY relname"
        )
        say("sizes: " + ", ".join(f"{r['relname']} {r['size']}" for r in sizes))

        say(f"\nmedian of {args.repeat} runs after a warm-up, milliseconds:")
        header = ["search", "period", "rows", "total", "page 1", "mid page", "total", "page ≤ 100"]
        table = await searches(pool, newest, args.repeat)
        say("\n| " + " | ".join(header) + " |")
        say("|" + "---|" * len(header))
        for row in table:
            say("| " + " | ".join(row) + " |")

        if args.csv_rows <= 0:
            say("\nCSV export: not measured (--csv-rows 0)")
            return
        csv = await csv_export(url, pool, min(args.csv_rows, args.calls))
        say(
            f"\nCSV export: {csv['rows']:,.0f} rows in {csv['seconds']:.1f} s"
            f" ({csv['rows'] / csv['seconds']:,.0f} rows/s); process RSS before"
            f" {csv['before']:.0f} MB, peak {csv['peak']:.0f} MB, after {csv['after']:.0f} MB"
            f" (growth {csv['peak'] - csv['before']:+.0f} MB: flat if a few MB)"
        )
    finally:
        await pool.close()
        server.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--data", help="keep the database in this directory (and reuse it)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args()))
