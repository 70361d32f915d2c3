"""Call-log writer throughput: synthetic calls through a real CallLogWriter into PostgreSQL.

    .venv/bin/python bench/calllog_writer.py [--calls 200000] [--backlog 60000]
        [--without-triggers] [--through-offer] [--writer FILE --spool FILE]

An embedded PostgreSQL (the ``pgserver`` package, default settings: fsync on) is started in
a temporary folder and migrated by ``cti.database`` (every migration of the tree). ``--calls``
synthetic queue calls are made as the state core reports them: real change objects
(``cti.state.changes``) for each AMI event of a call (offered, ringing, a ring unanswered now
and then, answered or abandoned or timed out, ended, and the agent and queue changes the
writer ignores), interleaved the way concurrent calls are, with Turkish caller numbers and
names and AMI's microsecond timestamps. About 85 % are answered (one in eight of those after
a ring nobody answered), 12 % abandoned, 3 % time out; 1 % are learnt from a snapshot
(``event_once`` rows). ``cti.calllog.rows.rows_for`` makes their rows before the clock starts
(its time is printed: most of it is the caller number's E.164 form): about 5.2 rows a call,
one call row and the rest events.

One producer task hands each event's rows to ``CallLogWriter.offer_rows``, letting the loop
run every ``cti.pipeline.YIELD_EVERY`` events as the pipeline does during a backlog, while the
writer's own ``run`` task batches, spools (fsync, in the temporary folder) and writes them, in
the same event loop, as in the daemon. The producer waits while more than ``--backlog`` rows
are not yet committed, so the figure is what the writer sustains, not how fast a queue fills.
The clock stops when every row is committed; then the tables are counted (every call and
event must be there, once, or a "note:" says otherwise).

It prints calls/s and rows/s sustained and whether 10,000 calls/s is met, then the CPU time
per call of this process and of PostgreSQL, and how busy the machine was: on a shared machine
the rate moves with the others' load, the CPU per call much less.

``--without-triggers`` disables the triggers other features put on ``calls`` and
``call_events`` (the writer's cost alone). ``--through-offer`` hands the changes to
``offer`` instead, which makes the rows with ``rows_for`` inside the clock. ``--writer`` and
``--spool`` measure another version of ``writer.py`` / ``spool.py`` (e.g. the committed one,
``git show HEAD:cti/calllog/writer.py > /tmp/writer.py``); one without ``offer_rows`` gets the
rows through its ``offer``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from cti.calllog.rows import Row, rows_for
from cti.database import Database
from cti.pipeline import YIELD_EVERY
from cti.state.changes import (
    AgentRingEnded,
    AgentRinging,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallRecord,
    Change,
    Outcome,
    QueueChanged,
)

TARGET_CALLS_PER_S = 10_000
T0 = 1_795_343_700.0
QUEUES = ("support", "sales", "collections")
AGENTS = tuple(f"PJSIP/{1001 + i}" for i in range(60))
AGENT_NAMES = ("Ayla Demir", "Mehmet Öztürk", "Zeynep Kaya", "Emre Şahin", "Elif Çelik")
CALLER_NAMES = (
    "Ayşe Çağrı Yılmaz",
    "Mehmet Öztürk",
    "Fatma Demir",
    "Ali Veli",
    "Hüseyin Güneş",
    "Şule Ağaoğlu",
    "CELL PHONE",
    "",
)
PREFIXES = ("0532", "0505", "0542", "0212", "0216", "90533", "+90544", "90312")
WINDOW = 64  # calls in progress at once: their events interleave


def _caller(rng: random.Random) -> str:
    if rng.random() < 0.02:
        return "anonymous"
    return rng.choice(PREFIXES) + f"{rng.randrange(10_000_000):07d}"


def synthetic_call(i: int, rng: random.Random) -> list[list[Change]]:
    """One call's changes, per AMI event that made them (what one ``offer`` gets)."""
    linkedid = f"{int(T0) + i // 10_000}.{i}"
    start = round(T0 + i / 10_000, 6)  # AMI's Timestamp: microseconds
    number, name = _caller(rng), rng.choice(CALLER_NAMES)
    queue = rng.choice(QUEUES)
    agent, missed_by = rng.sample(AGENTS, 2)
    agent_name = rng.choice(AGENT_NAMES)
    resynced = rng.random() < 0.01
    fate = rng.random()
    outcome = (
        Outcome.ANSWERED if fate < 0.85 else Outcome.ABANDONED if fate < 0.97 else Outcome.TIMED_OUT
    )
    missed = outcome is Outcome.ANSWERED and rng.random() < 0.125
    queued_at = round(start + 0.5, 6)
    t = round(queued_at + rng.uniform(1, 20), 6)
    events: list[list[Change]] = [
        [
            CallOffered(
                ts=queued_at,
                linkedid=linkedid,
                queue=queue,
                caller_number=number,
                caller_name=name,
                position=1 + i % 7,
                resynced=resynced,
            ),
            QueueChanged(ts=queued_at, queue=queue, waiting=1 + i % 7, oldest_queued_at=start),
        ]
    ]

    def ring(interface: str, at: float) -> list[Change]:
        return [
            AgentRinging(
                ts=at,
                interface=interface,
                member_name=agent_name,
                linkedid=linkedid,
                queue=queue,
                caller_number=number,
                caller_name=name,
                queued_at=queued_at,
                resynced=resynced,
            ),
            AgentStateChanged(
                ts=at,
                interface=interface,
                member_name=agent_name,
                state=AgentState.RINGING,
                reason="",
                queues=(queue,),
            ),
        ]

    wait_s = answered_at = talk_s = None
    if outcome is not Outcome.TIMED_OUT:
        if missed:
            events.append(ring(missed_by, queued_at + 1))
            events.append(
                [
                    AgentRingEnded(
                        ts=queued_at + 16,
                        interface=missed_by,
                        linkedid=linkedid,
                        queue=queue,
                        reason="no_answer",
                    )
                ]
            )
        events.append(ring(agent, t - 1))
    if outcome is Outcome.ANSWERED:
        answered_at, wait_s = t, int(t - queued_at)
        events.append(
            [
                AgentRingEnded(
                    ts=t, interface=agent, linkedid=linkedid, queue=queue, reason="answered"
                ),
                CallAnswered(
                    ts=t,
                    linkedid=linkedid,
                    queue=queue,
                    interface=agent,
                    member_name=agent_name,
                    wait_s=wait_s,
                ),
            ]
        )
        talk_s = rng.randrange(5, 600)
        ended_at = t + talk_s
    elif outcome is Outcome.ABANDONED:
        wait_s = int(t - queued_at)
        events.append(
            [CallAbandoned(ts=t, linkedid=linkedid, queue=queue, position=1, wait_s=wait_s)]
        )
        ended_at = t
    else:
        wait_s, ended_at = 60, queued_at + 60
    consent = "granted" if outcome is Outcome.ANSWERED and rng.random() < 0.6 else None
    record = CallRecord(
        linkedid=linkedid,
        caller_number=number,
        caller_name=name,
        dialed="4440",
        direction="inbound",
        queue=queue,
        agent=agent if answered_at else None,
        agent_name=agent_name if answered_at else None,
        outcome=outcome,
        started_at=start,
        queued_at=queued_at,
        answered_at=answered_at,
        ended_at=ended_at,
        wait_s=wait_s,
        talk_s=talk_s,
        hold_s=0,
        abandon_position=1 if outcome is Outcome.ABANDONED else None,
        consent=consent,
        consent_method="dtmf" if consent else None,
        consent_at=start + 4 if consent else None,
        recorded=bool(consent),
        recording=f"{linkedid}.wav" if consent else None,
        hangup_cause=16,
        no_answer_count=int(missed),
        ended_while_disconnected=False,
    )
    end: list[Change] = [CallEnded(ts=ended_at, record=record)]
    if answered_at:
        end.append(
            AgentStateChanged(
                ts=ended_at,
                interface=agent,
                member_name=agent_name,
                state=AgentState.READY,
                reason="",
                queues=(queue,),
            )
        )
    events.append(end)
    return events


def synthetic_stream(calls: int, seed: int = 16) -> list[list[Change]]:
    """Every call's events, ``WINDOW`` calls at a time interleaved: all their first events,
    then all their second events, and so on (as concurrent calls reach the writer)."""
    rng = random.Random(seed)
    stream: list[list[Change]] = []
    for first in range(0, calls, WINDOW):
        block = [synthetic_call(i, rng) for i in range(first, min(calls, first + WINDOW))]
        for step in range(max(len(events) for events in block)):
            stream += [events[step] for events in block if step < len(events)]
    return stream


def load(path: str | None, default: str) -> ModuleType:
    if path is None:
        return importlib.import_module(default)
    name = f"bench_{Path(path).stem}_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Cpu:
    """CPU seconds spent since it was made (Linux's /proc; zeros elsewhere): by this process,
    by the PostgreSQL server (its postmaster and every backend, also those that ended), and
    by the whole machine, busy and in all."""

    def __init__(self, pgdata: Path) -> None:
        try:
            self.postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            self.postmaster = 0
        self.start = self._now()

    def _server(self) -> float:
        ticks = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as file:
                    fields = file.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(entry) == self.postmaster:  # its own, and its children's that ended
                ticks += sum(int(f) for f in fields[11:15])
            elif int(fields[1]) == self.postmaster:
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def _now(self) -> tuple[float, float, float, float]:
        if not self.postmaster or not os.path.exists("/proc/stat"):
            return (time.process_time(), 0.0, 0.0, 0.0)
        with open("/proc/stat") as file:
            ticks = [int(x) for x in file.readline().split()[1:9]]
        hz = os.sysconf("SC_CLK_TCK")
        idle = ticks[3] + ticks[4]
        return (time.process_time(), self._server(), (sum(ticks) - idle) / hz, sum(ticks) / hz)

    def since(self) -> tuple[float, float, float, float]:
        """Ours, the server's, the machine's busy and total CPU seconds since it was made."""
        now = self._now()
        return (
            now[0] - self.start[0],
            now[1] - self.start[1],
            now[2] - self.start[2],
            now[3] - self.start[3],
        )


@dataclass
class Result:
    calls: int
    rows: int
    seconds: float
    offer_seconds: float
    writes: list[float] = field(default_factory=list)
    overflows: int = 0
    quarantined: int = 0
    in_db: tuple[int, int] = (0, 0)
    cpu: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # Cpu.since()

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.seconds

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


async def push(
    url: str,
    stream: list[list[Change]],
    offers: list[list[Row]],
    calls: int,
    spool_dir: Path,
    writer_module: ModuleType,
    spool_module: ModuleType,
    backlog: int,
    through_offer: bool,
    without_triggers: bool,
    pgdata: Path,
) -> Result:
    database = Database(url)
    pool = await database.pool()  # connected and migrated before the clock starts
    if without_triggers:  # the writer's own cost, without what other features hook on
        for table in ("calls", "call_events"):
            await pool.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    writes: list[float] = []
    writer = writer_module.CallLogWriter(
        database,
        spool_module.Spool(spool_dir / "call-log.spool"),
        "TR",
        on_write=writes.append,
    )
    offer: Callable[[Any], None]
    items: list[Any]
    if through_offer:
        offer, items = writer.offer, stream
    else:
        # Rows copied as they are offered: new objects, as rows_for makes them in the
        # daemon. (Rows made long before, scattered in a heap of millions of objects, cost
        # the writer a third more: its work is mostly reading them.)
        offer_rows = getattr(writer, "offer_rows", None)
        if offer_rows is None:  # a version without offer_rows: offer() takes the rows
            writer_module.rows_for = lambda rows, region: rows
            offer_rows = writer.offer

        def offer(rows: list[Row]) -> None:
            offer_rows([[kind, dict(values)] for kind, values in rows])

        items = offers
    task = asyncio.create_task(writer.run())
    offer_seconds = 0.0
    try:
        cpu = Cpu(pgdata)
        started = time.perf_counter()
        for first in range(0, len(items), YIELD_EVERY):
            while writer.spool_depth > backlog:
                await asyncio.sleep(0.001)
            before = time.perf_counter()
            for item in items[first : first + YIELD_EVERY]:
                offer(item)
            offer_seconds += time.perf_counter() - before
            await asyncio.sleep(0)  # as the pipeline lets the loop run during a backlog
        while writer.spool_depth:
            if task.done():
                task.result()  # the writer died: say why
            await asyncio.sleep(0.001)
        seconds = time.perf_counter() - started
        spent = cpu.since()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    pool = await database.pool()
    in_db = (
        await pool.fetchval("SELECT count(*) FROM calls"),
        await pool.fetchval("SELECT count(*) FROM call_events"),
    )
    await database.close()
    return Result(
        calls=calls,
        rows=sum(map(len, offers)),
        seconds=seconds,
        offer_seconds=offer_seconds,
        writes=writes,
        overflows=writer.stats.overflows,
        quarantined=writer.stats.quarantined,
        in_db=in_db,
        cpu=spent,
    )


def run(
    calls: int,
    backlog: int,
    writer_path: str | None = None,
    spool_path: str | None = None,
    through_offer: bool = False,
    without_triggers: bool = False,
) -> Result:
    from pgserver import get_server  # type: ignore[attr-defined]

    writer_module = load(writer_path, "cti.calllog.writer")
    spool_module = load(spool_path, "cti.calllog.spool")
    made = time.perf_counter()
    stream = synthetic_stream(calls)
    print(
        f"{calls:,} synthetic calls, {len(stream):,} events' changes made in "
        f"{time.perf_counter() - made:.1f} s (not timed)"
    )
    made = time.perf_counter()
    offers = [rows_for(changes, "TR") for changes in stream]
    seconds = time.perf_counter() - made
    print(
        f"rows_for() made their rows in {seconds:.1f} s: {seconds / calls * 1e6:.0f} µs per "
        f"call, {'timed below (--through-offer)' if through_offer else 'not timed below'}"
    )
    # The bench's own millions of objects are no garbage: keep the collector off them, as a
    # daemon's heap does not hold them.
    gc.collect()
    gc.freeze()
    with tempfile.TemporaryDirectory(prefix="calllog-bench-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)  # pgserver runs PostgreSQL as its own user when we are root
        server = get_server(folder / "pg", cleanup_mode="delete")
        try:
            server.psql("CREATE DATABASE bench;")
            url = str(server.get_uri("bench"))
            (folder / "spool").mkdir()
            return asyncio.run(
                push(
                    url,
                    stream,
                    offers,
                    calls,
                    folder / "spool",
                    writer_module,
                    spool_module,
                    backlog,
                    through_offer,
                    without_triggers,
                    folder / "pg",
                )
            )
        finally:
            server.cleanup()
            gc.unfreeze()


def report(result: Result, expected_events: int) -> None:
    writes = sorted(result.writes)
    print(
        f"{result.rows:,} rows ({result.rows / result.calls:.2f} per call) written in "
        f"{result.seconds:.2f} s; offering them took {result.offer_seconds:.2f} s of it"
    )
    if writes:
        print(
            # on_write times a flush: the spooled rows into PostgreSQL, then the spool emptied
            f"{len(writes):,} writes of spooled rows: median {statistics.median(writes) * 1000:.0f}"
            f" ms, max {writes[-1] * 1000:.0f} ms; {result.rows / len(writes):,.0f} rows each"
        )
    print(f"{'calls/s':>12}{'rows/s':>12}")
    print(f"{result.calls_per_s:>12,.0f}{result.rows_per_s:>12,.0f}")
    verdict = "meets" if result.calls_per_s >= TARGET_CALLS_PER_S else "misses"
    print(
        f"sustained: {result.calls_per_s:,.0f} calls/s "
        f"({verdict} the target {TARGET_CALLS_PER_S:,})"
    )
    ours, server, busy, total = result.cpu
    if server:
        per_call = (ours + server) / result.calls
        print(
            f"CPU per call: {ours / result.calls * 1e6:.0f} µs in this process, "
            f"{server / result.calls * 1e6:.0f} µs in PostgreSQL. The machine was "
            f"{busy / total:.0%} busy, this bench {(ours + server) / total:.0%} of it; with its "
            f"{os.cpu_count()} cores to itself, at most about "
            f"{(os.cpu_count() or 1) / per_call:,.0f} calls/s (an estimate, not a measurement)"
        )
    calls, events = result.in_db
    if (calls, events) != (result.calls, expected_events) or result.quarantined:
        print(
            f"note: the database holds {calls:,} calls and {events:,} events, expected "
            f"{result.calls:,} and {expected_events:,}; {result.quarantined} quarantined"
        )
    if result.overflows:
        print(f"note: the writer's queue overflowed {result.overflows:,} times")


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument(
        "--backlog", type=int, default=60_000, help="rows offered but not committed, at most"
    )
    parser.add_argument("--writer", help="another writer.py to measure (its CallLogWriter)")
    parser.add_argument("--spool", help="another spool.py to measure (its Spool)")
    parser.add_argument(
        "--through-offer",
        action="store_true",
        help="offer() the changes (rows_for timed too) instead of offer_rows() made rows",
    )
    parser.add_argument(
        "--without-triggers",
        action="store_true",
        help="disable the triggers on calls and call_events (the writer's cost alone)",
    )
    args = parser.parse_args(argv)
    result = run(
        args.calls,
        args.backlog,
        args.writer,
        args.spool,
        args.through_offer,
        args.without_triggers,
    )
    report(result, result.rows - result.calls)
    return result.calls_per_s


if __name__ == "__main__":
    main()
