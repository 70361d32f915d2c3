"""A reconciliation after a gap, with a million calls ended today (issue 16).

    .venv/bin/python bench/reconcile.py [--calls-today 1000000] [--cel-per-call 13]
        [--missed 700] [--unfilled 100] [--repeat 5] [--explain]

Every resync (an AMI reconnect, a restart) makes the daemon reconcile the call log with
Asterisk's own records of the last 24 hours (cti/calllog/reconcile.py): the calls CEL says
ended that the call log has not closed, then the consents the call log lacks and the CDR
holds. Its cost grows with the day's calls. An embedded PostgreSQL (pgserver, a temporary
directory) gets every migration and, spread over today, ``--calls-today`` calls as
Asterisk and the daemon record them: in ``asterisk_cel`` (``--cel-per-call`` events each, a
queue call's CHAN_START to LINKEDID_END), ``asterisk_cdr`` (two legs, the caller's with its
consent) and ``calls``. ``--missed`` of them are not in ``calls`` (the daemon was away: 700
is about a minute of a million-call day), with their queue_log; ``--unfilled`` are in
``calls`` without the consent their CDR holds. Then ``VACUUM ANALYZE``, and timed:

- the first reconciliation (writes the missed calls, fills the consents);
- a reconciliation with nothing missed, ``--repeat`` times (the reconnect of a quiet link);
- a follow-up for ``--unfilled`` calls whose consent is still to come (FILL_CONSENT_OF).

Figures in milliseconds of PostgreSQL's work, which runs beside the daemon's event loop (the
loop waits for none of it): median and worst. No target is set for them in issue 16; they
say what a gap costs the database at this size.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from pgserver import get_server  # type: ignore[attr-defined]

from cti.calllog.queries import FILL_CONSENT, MISSED_CALLS
from cti.calllog.reconcile import HORIZON_S, fill_consent_of, reconcile
from cti.database.migrate import migrate

NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC).timestamp()
DAY_START = NOW - 19 * 3600  # calls from 21:00 UTC (midnight in Istanbul) to now
MEMBER = "Agent 1001"

# Call i starts at $1 + i * $3 seconds and ends a minute later; its Linkedid is 'r.<i>'.
CEL = """
INSERT INTO asterisk_cel (eventtype, eventtime, cid_num, cid_name, exten, context,
                          uniqueid, linkedid)
SELECT CASE WHEN k = 1 THEN 'CHAN_START' WHEN k = $4 THEN 'LINKEDID_END'
            ELSE (ARRAY['ANSWER', 'BRIDGE_ENTER', 'BRIDGE_EXIT', 'HANGUP', 'CHAN_END',
                        'APP_START', 'APP_END'])[1 + k % 7] END,
       $1 + i * $3 + (k - 1) * 60.0 / greatest($4 - 1, 1),
       '90532' || lpad(i::text, 7, '0'), 'Caller ' || i, '4440',
       CASE WHEN k = 1 THEN 'from-trunk' ELSE 'cti-inbound' END,
       'r.' || i || CASE WHEN k % 2 = 0 THEN '.2' ELSE '' END, 'r.' || i
FROM generate_series(1, $2) AS i, generate_series(1, $4) AS k
"""
CDR = """
INSERT INTO asterisk_cdr (start, "end", linkedid, uniqueid, cti_consent, cti_consent_method,
                          recording)
SELECT $1 + i * $3, $1 + i * $3 + 60, 'r.' || i, 'r.' || i || leg,
       CASE WHEN leg = '' THEN 'granted' END, CASE WHEN leg = '' THEN 'dtmf' END,
       CASE WHEN leg = '' THEN 'r.' || i || '.wav' END
FROM generate_series(1, $2) AS i, unnest(ARRAY['', '.2']) AS leg
"""
# The calls the daemon logged: all but the first $4 (missed), the next $5 without consent.
CALLS = """
INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue, agent,
                   outcome, started_at, ended_at, talk_s, consent, consent_method, recording)
SELECT 'r.' || i, '90532' || lpad(i::text, 7, '0'), 'Caller ' || i, '4440', 'inbound',
       'support', 'PJSIP/1001', 'answered', to_timestamp($1 + i * $3),
       to_timestamp($1 + i * $3 + 60), 50,
       CASE WHEN i > $4 + $5 THEN 'granted' END, CASE WHEN i > $4 + $5 THEN 'dtmf' END,
       CASE WHEN i > $4 + $5 THEN 'r.' || i || '.wav' END
FROM generate_series($4 + 1, $2) AS i
"""
QUEUE_LOG = """
INSERT INTO asterisk_queue_log (time, callid, queuename, agent, event, data1, data2, data3)
SELECT to_char(to_timestamp($1 + i * $3 + q.after) AT TIME ZONE 'UTC',
               'YYYY-MM-DD HH24:MI:SS.US'),
       'r.' || i, 'support', q.agent, q.event, q.data1, q.data2, q.data3
FROM generate_series(1, $2) AS i,
     (VALUES (2, 'NONE', 'ENTERQUEUE', '', '', '1'),
             (10, $4, 'CONNECT', '8', '', '2'),
             (60, $4, 'COMPLETECALLER', '8', '50', '1')) AS q(after, agent, event, data1,
                                                              data2, data3)
"""


def say(text: str) -> None:
    print(text, flush=True)


def timed_ms(times: list[float]) -> str:
    return f"median {statistics.median(times):.0f} ms, worst {max(times):.0f} ms"


async def load(pool: asyncpg.Pool, args: argparse.Namespace) -> None:
    spacing = (NOW - 120 - DAY_START) / args.calls_today  # every call ended before NOW
    start = time.perf_counter()
    await pool.execute(CEL, DAY_START, args.calls_today, spacing, args.cel_per_call)
    await pool.execute(CDR, DAY_START, args.calls_today, spacing)
    await pool.execute(CALLS, DAY_START, args.calls_today, spacing, args.missed, args.unfilled)
    await pool.execute(QUEUE_LOG, DAY_START, args.missed, spacing, MEMBER)
    loaded = time.perf_counter() - start
    await pool.execute("VACUUM ANALYZE")
    say(
        f"  {args.calls_today:,} calls today: {args.calls_today * args.cel_per_call:,} CEL"
        f" events, {2 * args.calls_today:,} CDRs, {args.calls_today - args.missed:,} calls"
        f" logged ({args.unfilled:,} without their consent) in {loaded:.0f} s; VACUUM"
        f" ANALYZE {time.perf_counter() - start - loaded:.0f} s"
    )


async def run(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="reconcile-bench-"))
    server = get_server(data, cleanup_mode="delete")
    pool = await asyncpg.create_pool(str(server.get_uri()), min_size=1, max_size=2)
    try:
        await migrate(pool)
        say(f"reconciliation bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; loading into {data}")
        await load(pool, args)
        if args.explain:
            for query in (MISSED_CALLS, FILL_CONSENT):
                plan = await pool.fetch("EXPLAIN (ANALYZE, BUFFERS) " + query, NOW - HORIZON_S)
                say("\n".join(row[0] for row in plan))

        def interface_of(member_name: str) -> str:
            return "PJSIP/1001" if member_name == MEMBER else ""

        start = time.perf_counter()
        first = await reconcile(pool, "TR", NOW, interface_of)
        first_ms = (time.perf_counter() - start) * 1000
        unfilled = await pool.fetchval("SELECT count(*) FROM calls WHERE consent IS NULL")
        assert (first.written, unfilled) == (args.missed, 0), (first, unfilled)
        say(
            f"first reconciliation after the gap: {first.written:,} missed calls written,"
            f" {args.unfilled:,} consents filled in, in {first_ms:.0f} ms"
        )
        quiet = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            again = await reconcile(pool, "TR", NOW, interface_of)
            quiet.append((time.perf_counter() - start) * 1000)
            assert again.written == 0 and not again.consent_to_come, again
        say(f"a reconciliation with nothing missed: {timed_ms(quiet)} over {args.repeat}")
        to_come = [f"r.{i}" for i in range(args.missed + 1, args.missed + args.unfilled + 1)]
        follow_ups = []
        for _ in range(args.repeat):
            await pool.execute(
                "UPDATE calls SET consent = NULL, consent_method = NULL, recording = NULL"
                " WHERE linkedid = ANY($1::text[])",
                to_come,
            )
            start = time.perf_counter()
            left = await fill_consent_of(pool, to_come)
            follow_ups.append((time.perf_counter() - start) * 1000)
            assert left == set(), sorted(left)[:3]
        say(f"a follow-up of {len(to_come):,} calls' consents: {timed_ms(follow_ups)}")
    finally:
        await pool.close()
        server.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls-today", type=int, default=1_000_000)
    parser.add_argument("--cel-per-call", type=int, default=13)
    parser.add_argument("--missed", type=int, default=700)
    parser.add_argument("--unfilled", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="print the queries' plans")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
