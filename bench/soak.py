"""Soak: a long run of queue calls at a steady rate; the daemon's event lag and memory.

    .venv/bin/python bench/soak.py [--calls 100000] [--rate 100] [--agents 400]
        [--supervisors 5] [--warmup-share 0.2]

Real processes and sockets, as ``bench/pop_latency.py`` (whose simulator child, daemon
start-up and process figures this reuses): an embedded PostgreSQL, the PBX simulator in a
child process with ``--agents`` members in one queue, ``python -m cti serve``, and
``--supervisors`` supervisors' websockets open (so the wall is pushed every second).

The simulator places ``--calls`` calls at ``--rate`` calls/s (Poisson arrivals; each call
answered after 0.2-0.6 s, talk 1-3 s). Once a minute the bench prints the calls placed,
the daemon's event lag from its own histogram (``cti_ami_event_lag_seconds``: now minus the
AMI event's Timestamp when handled; the share within 100 ms and the bucket its p99 falls
in), its RSS, CPU and the machine's load. At the end: the run's event-lag p99 bucket
against the target (<= 100 ms), RSS at the end of the warm-up (``--warmup-share`` of the
calls, and not before the daemon's bounded caches are full) against the end (flat: within
10 %), AMI reconnects (0: the daemon never missed its Pong), and the calls the call log
holds against those placed (every call once, with its end).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg

from cti.http.answered import KEEP

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pop_latency import (
    PASSWORD,
    USERS,
    Daemon,
    Panels,
    SimChild,
    Usage,
    bound,
    load_line,
    memory_mb,
    mint_sessions,
    say,
    start_daemon,
)

TARGET_LAG_S = 0.1
FLAT_RSS_SHARE = 0.10  # RSS may grow this much after the warm-up and still be flat
# The warm-up lasts at least until AnsweredLately (cti/http/answered.py) holds its last KEEP
# ended calls, some 1.3 MB: before, a short run's warm-up (20 % of 30,000 calls) ended while
# that cache still filled, and its growth read as a leak. The 1,000: calls still under way.
WARMUP_MIN_CALLS = KEEP + 1_000
LAG = "cti_ami_event_lag_seconds"
FIRST_AGENT = 3001
LOGGED = "SELECT count(*) FROM calls WHERE queue = 'soak' AND ended_at IS NOT NULL"


def within(before: dict[str, float], after: dict[str, float], metric: str, le: str) -> float:
    """The share of a histogram's observations between two scrapes that fell within ``le``."""
    count = after.get(f"{metric}_count", 0) - before.get(f"{metric}_count", 0)
    bucket = f'{metric}_bucket{{le="{le}"}}'
    return (after.get(bucket, 0) - before.get(bucket, 0)) / count if count else float("nan")


async def soak(args: argparse.Namespace, folder: Path, url: str, pool: asyncpg.Pool) -> bool:
    spec = {"queue": "soak", "first": FIRST_AGENT, "agents": args.agents, "secret": "soak"}
    sim = await SimChild.start(spec, folder / "sim.log")
    daemon: Daemon | None = None
    panels: Panels | None = None
    try:
        async with aiohttp.ClientSession() as http:
            daemon = await start_daemon(http, url, sim.port, "soak", folder / "daemon")
            panels = Panels(daemon.url, collect_garbage=True)  # 17 minutes
            await panels.open(
                await mint_sessions(pool, [f"sup{n + 1}" for n in range(args.supervisors)])
            )
            say(f"daemon ready in {daemon.ready_s:.2f} s; {len(panels.panels)} supervisors open")
            say(
                f"\n{'min':>4} {'calls':>8} {'calls/s':>8} {'lag<=100ms':>11} {'lag p99':>8}"
                f" {'RSS MB':>7} {'daemon':>7} {'sim':>5} {'load1':>6}"
            )
            first = previous = await daemon.metrics(http)
            usage = start_usage = Usage.now({"daemon": daemon.pid, "sim": sim.process.pid})
            await sim.ask("calls", rate=args.rate)
            started = time.monotonic()
            placed, minute = 0, 0
            rss: list[tuple[int, float]] = []  # (calls placed, MB)
            while placed < args.calls:
                await asyncio.sleep(min(60.0, max(1.0, (args.calls - placed) / args.rate)))
                placed = int((await sim.ask("calls", rate=args.rate))["calls"])
                if placed >= args.calls:
                    placed = int((await sim.ask("calls", rate=0))["calls"])
                minute += 1
                now_metrics = await daemon.metrics(http)
                now_usage = Usage.now(usage.pids)
                shares = now_usage.since(usage)
                rss.append((placed, memory_mb(daemon.pid)))
                rate = placed / (time.monotonic() - started)
                say(
                    f"{minute:>4} {placed:>8,} {rate:>8.1f}"
                    f" {100 * within(previous, now_metrics, LAG, '0.1'):>10.1f}%"
                    f" {bound(previous, now_metrics, LAG):>8} {rss[-1][1]:>7.1f}"
                    f" {shares['daemon']:>6.0f}% {shares['sim']:>4.0f}% {load_line().split()[2]:>6}"
                )
                previous, usage = now_metrics, now_usage
            elapsed = time.monotonic() - started
            total = Usage.now(usage.pids).since(start_usage)
            logged = 0
            for _ in range(120):  # the last calls end, their rows are written
                logged = await pool.fetchval(LOGGED)
                if logged >= placed:
                    break
                await asyncio.sleep(1)
            last = await daemon.metrics(http)
        warmup_calls = max(args.warmup_share * args.calls, WARMUP_MIN_CALLS)
        # (calls, MB) at the first minute past the warm-up; a run shorter than that says so
        warm_calls, warm = next(((c, mb) for c, mb in rss if c >= warmup_calls), rss[0])
        growth = (rss[-1][1] - warm) / warm
        lag_p99 = bound(first, last, LAG)
        lag_ok = within(first, last, LAG, "0.1") >= 0.99
        reconnects = last.get("cti_ami_reconnects_total", 0) - first.get(
            "cti_ami_reconnects_total", 0
        )
        say(
            f"\n{placed:,} calls in {elapsed:.0f} s ({placed / elapsed:.1f} calls/s);"
            f" daemon CPU {total['daemon']:.0f} % of a core, simulator {total['sim']:.0f} %,"
            f" cores busy {total['machine']:.0f} %"
        )
        say(
            f"event lag: {100 * within(first, last, LAG, '0.1'):.2f} % within 100 ms, p99"
            f" {lag_p99} (target <= 100 ms): {'met' if lag_ok else 'NOT MET'}"
        )
        say(
            f"daemon RSS: {warm:.1f} MB at {warm_calls:,} calls (warm-up: {warmup_calls:,.0f}),"
            f" {rss[-1][1]:.1f} MB at the end ({growth:+.1%}; flat within"
            f" {FLAT_RSS_SHARE:.0%}): {'met' if growth <= FLAT_RSS_SHARE else 'NOT MET'}"
        )
        say(f"AMI reconnects during the run: {reconnects:.0f}")
        say(f"calls in the call log: {logged:,} of {placed:,} placed")
        return lag_ok and growth <= FLAT_RSS_SHARE and logged == placed and not reconnects
    finally:
        if panels is not None:
            await panels.close()
        if daemon is not None:
            await daemon.stop()
        await sim.stop()


async def run(args: argparse.Namespace) -> bool:
    from pgserver import get_server  # type: ignore[attr-defined]

    from cti.auth.passwords import hash_password
    from cti.database.migrate import migrate

    say(
        f"soak bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.calls:,} calls at"
        f" {args.rate:g} calls/s, {args.agents} agents; {load_line()}"
    )
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    folder.chmod(0o755)  # pgserver runs PostgreSQL as its own user when we are root
    server = get_server(folder / "pg", cleanup_mode="delete")
    try:
        server.psql("CREATE DATABASE bench;")
        url = str(server.get_uri("bench"))
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            await migrate(pool)
            await pool.execute(USERS, hash_password(PASSWORD), [], args.supervisors)
            return await soak(args, folder, url, pool)
        finally:
            await pool.close()
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)
        say(load_line())


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=100.0, help="calls/s")
    parser.add_argument("--agents", type=int, default=400)
    parser.add_argument("--supervisors", type=int, default=5)
    parser.add_argument("--warmup-share", type=float, default=0.2)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> bool:
    return asyncio.run(run(parse(argv)))


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
