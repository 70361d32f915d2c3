"""Bad values and restarts against a real PostgreSQL: a value PostgreSQL refuses is
quarantined with its reason while every other row is written; hostile AMI values are cleaned
before they reach the state or the log; a restarted daemon does not log a call's events twice."""

from __future__ import annotations

import asyncio
import json
import math
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from harness import frames, live_sim_config, poll, ready, running_simulator
from test_restart import cti_serve

from cti.calllog.spool import Spool
from cti.calllog.writer import CallLogWriter
from cti.database import Database
from cti.pipeline import Pipeline
from cti.state.store import CtiState

T0 = 1_795_343_700.0


def served_dir(tmp_path: Path) -> tuple[Path, Path]:
    """The data folder of a `cti serve` process, and its log file."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return data_dir, data_dir / "daemon.log"


def call(linkedid: str, name: str = "Ayşe Yılmaz", **changes: Any) -> list[Any]:
    """A call row as rows.call_row makes it, with ``changes`` by column name."""
    from cti.calllog.queries import CALL_COLUMNS

    values: dict[str, Any] = dict.fromkeys(CALL_COLUMNS)
    values |= {
        "linkedid": linkedid,
        "caller_number": "905321234567",
        "caller_e164": "+905321234567",
        "caller_name": name,
        "dialed": "4440",
        "direction": "inbound",
        "queue": "support",
        "outcome": "answered",
        "started_at": T0,
        "ended_at": T0 + 60,
        "hold_s": 0,
        "no_answer_count": 0,
        "ended_while_disconnected": False,
        "through_gap": False,
    }
    values |= changes
    return ["call", values]


def event(linkedid: str, at: float, seconds: int | None = None, **changes: Any) -> list[Any]:
    values = {
        "linkedid": linkedid,
        "at": at,
        "kind": "agent_connect",
        "queue": "support",
        "interface": "SIP/1001",
        "seconds": seconds,
        "position": None,
    }
    return ["event", values | changes]


POISONED = {
    "nul-name": call("p1", name="Ali\x00 Veli"),
    "infinite-time": call("p2", ended_at=math.inf),
    "time-after-year-9999": call("p3", ended_at=1e20),
    "integer-overflow": call("p4", talk_s=2**40),
    "unknown-outcome": call("p5", outcome="exploded"),
    "recorded-though-declined": call("p6", consent="declined", recording="x.wav"),
    "event-nul-queue": event("p7", T0, kind="queue_join", queue="sup\x00port", interface=""),
    "wrong-shape": ["call", ["too", "few"]],
    "unknown-kind": ["bogus", []],
}


async def test_refused_rows_are_quarantined_and_every_other_row_is_written(
    database_url: str, tmp_path: Path
) -> None:
    good = [call(f"g{i}") for i in range(40)] + [event(f"g{i}", T0 + 5, 5) for i in range(40)]
    rows = list(POISONED.values())
    mixed = [
        row
        for pair in zip(good, rows + [None] * len(good), strict=False)
        for row in pair
        if row is not None
    ]
    spool = Spool(tmp_path / "call-log.spool")
    spool.append(mixed)
    database = Database(database_url)
    writer = CallLogWriter(database, spool, "TR")
    try:
        assert await writer.flush()  # refusals are not an outage
        assert writer.healthy and writer.spool_depth == 0
        pool = await database.pool()
        calls = await pool.fetchval("SELECT count(*) FROM calls")
        events = await pool.fetchval("SELECT count(*) FROM call_events")
        quarantined = await pool.fetch(
            "SELECT kind, linkedid, row_json, reason FROM call_log_quarantine ORDER BY id"
        )
    finally:
        await database.close()
    print(
        f"\n{len(good)} good rows, {len(rows)} poisoned: {calls} calls + {events} events "
        f"written, {len(quarantined)} quarantined"
    )
    assert (calls, events) == (40, 40)
    assert writer.stats.quarantined == len(quarantined) == len(POISONED)
    assert {json.dumps(json.loads(r["row_json"])) for r in quarantined} == {
        json.dumps(row) for row in rows
    }
    reasons = " ".join(r["reason"] for r in quarantined)
    for expected in (
        "0x00",
        "out of int32 range",
        "calls_outcome_check",
        "calls_check",
        "cannot convert",
        "unknown row kind",
    ):
        assert expected in reasons, (expected, reasons)


async def test_an_outage_keeps_rows_and_is_not_a_refusal(own_pg: Any, tmp_path: Path) -> None:
    url = own_pg.create_database()
    database = Database(url)
    writer = CallLogWriter(database, Spool(tmp_path / "spool"), "TR")
    writer.spool.append([call("o1"), event("o1", T0 + 3, 3)])
    own_pg.stop()
    try:
        assert not await writer.flush()
        assert writer.stats.quarantined == 0 and writer.spool_depth == 2
        own_pg.start()
        assert await writer.flush()
        pool = await database.pool()
        assert await pool.fetchval("SELECT count(*) FROM calls") == 1
        assert await pool.fetchval("SELECT count(*) FROM call_log_quarantine") == 0
    finally:
        await database.close()


def hostile_stream() -> bytes:
    """One queue call whose caller name carries a NUL and control characters, whose events
    carry impossible Timestamps, and whose caller number is 10,000 characters long."""
    name = "Kötü\x00\x07\x1b[31mAdam"
    number = "9" * 10_000
    base = f"Channel: PJSIP/trunk-00000001\r\nUniqueid: {T0}\r\nLinkedid: {T0}\r\n"
    stream = (
        f"Event: Newchannel\r\nTimestamp: {T0}\r\n{base}CallerIDNum: {number}\r\n"
        f"CallerIDName: {name}\r\nExten: 4440\r\nChannelStateDesc: Up\r\n\r\n"
        f"Event: QueueCallerJoin\r\nTimestamp: inf\r\n{base}Queue: support\r\n"
        f"CallerIDNum: {number}\r\nCallerIDName: {name}\r\nPosition: 1\r\n\r\n"
        f"Event: QueueCallerAbandon\r\nTimestamp: 1e20\r\n{base}Queue: support\r\n"
        "Position: 99999999999999\r\nOriginalPosition: 1\r\nHoldTime: 4\r\n\r\n"
        f"Event: HangupRequest\r\nTimestamp: nan\r\n{base}Cause: 16\r\n\r\n"
        f"Event: Hangup\r\nTimestamp: {T0 + 4}\r\n{base}Cause: 16\r\nCause-txt: Normal\r\n\r\n"
    )
    return stream.encode()


async def test_hostile_values_are_cleaned_before_state_and_log(
    database_url: str, tmp_path: Path
) -> None:
    database = Database(database_url)
    writer = CallLogWriter(database, Spool(tmp_path / "spool"), "TR")
    state = CtiState()
    pipeline = Pipeline(state, [writer])
    try:
        for message in frames(hostile_stream()):
            pipeline.process(message, None)
        await writer.drain()
        assert math.isfinite(state.clock) and state.clock <= T0 + 4
        assert pipeline.stats.handler_errors == 0
        pool = await database.pool()
        row = await pool.fetchrow("SELECT caller_name, caller_number, outcome, ended_at FROM calls")
        quarantined = await pool.fetchval("SELECT count(*) FROM call_log_quarantine")
    finally:
        await database.close()
    assert row["caller_name"] == "Kötü[31mAdam"
    assert row["caller_number"] == "9" * 255
    assert row["outcome"] == "abandoned"
    assert row["ended_at"].timestamp() == T0 + 4
    assert quarantined == 0 and writer.stats.quarantined == 0


async def event_counts(database_url: str) -> list[tuple[str, str, str, int]]:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT linkedid, kind, interface, count(*) AS n FROM call_events"
            " WHERE kind IN ('queue_join', 'agent_ring') GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
    finally:
        await connection.close()
    return [(r["linkedid"], r["kind"], r["interface"], r["n"]) for r in rows]


async def test_a_restart_mid_call_does_not_log_a_call_event_twice(
    database_url: str, tmp_path: Path
) -> None:
    data_dir, log = served_dir(tmp_path)
    async with running_simulator(live_sim_config()) as sim:
        async with cti_serve(sim, database_url, data_dir) as (process, url):
            await poll(lambda: ready(url), "daemon ready", log)
            ringing = [
                await sim.place_call(
                    "90532111223" + str(i), f"Arayan {i}", "support", answer_after=None, talk_s=0.2
                )
                for i in range(3)
            ]

            async def rings_logged() -> bool:
                kinds = [r[1] for r in await event_counts(database_url)]
                return kinds.count("queue_join") == len(ringing) and "agent_ring" in kinds

            await poll(rings_logged, "queue joins and rings logged", log)
            before = await event_counts(database_url)
            process.kill()
            await process.wait()
        async with cti_serve(sim, database_url, data_dir) as (process, url):
            await poll(lambda: ready(url), "daemon ready again", log)

            async def calls_logged() -> bool:
                for linkedid in ringing:  # whichever is ringing now; the others wait
                    sim.answer(linkedid)
                connection = await asyncpg.connect(database_url)
                try:
                    return await connection.fetchval("SELECT count(*) FROM calls") == len(ringing)
                finally:
                    await connection.close()

            await poll(calls_logged, "calls logged after the restart", log)
    after = await event_counts(database_url)
    print(f"\nbefore the kill: {before}\nafter the restart: {after}")
    assert all(n == 1 for *_, n in after)
    assert {r[:3] for r in before} <= {r[:3] for r in after}


async def test_a_task_that_dies_makes_the_daemon_unready_and_exit_non_zero(
    database_url: str, tmp_path: Path
) -> None:
    """The call-log writer dies when its spool cannot be written (here: a directory where
    the file should be). `cti serve` stops with status 70 for its supervisor to restart it,
    and the rows it held in memory still reach the database."""
    data_dir, log = served_dir(tmp_path)
    async with (
        running_simulator(live_sim_config()) as sim,
        cti_serve(sim, database_url, data_dir) as (process, url),
    ):
        await poll(lambda: ready(url), "daemon ready", log)
        spool = data_dir / "call-log.spool"
        spool.unlink(missing_ok=True)
        spool.mkdir()
        linkedid = await sim.place_call(
            "905321112233", "Fatma Demir", "sales", answer_after=0.1, talk_s=0.2
        )
        status = await asyncio.wait_for(process.wait(), 60)
    text = log.read_text(errors="replace")
    assert status == 70, text
    assert "task call-log writer died: IsADirectoryError" in text
    assert "rows to the database directly" in text
    connection = await asyncpg.connect(database_url)
    try:
        assert (
            await connection.fetchval(
                "SELECT count(*) FROM call_events WHERE linkedid = $1 AND kind = 'queue_join'",
                linkedid,
            )
            == 1
        )
    finally:
        await connection.close()


OUTAGE_S = 60.0
CALL_LIFE_S = 3.0  # a simulated call here: 0.3 s ringing, 1.5 s talk, and a margin


async def resynced(url: str) -> bool:
    """The daemon is logged in and resynced (it is not ready: the database is down)."""
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{url}/readyz") as response:
            return bool((await response.json())["resynced"])
    except aiohttp.ClientError:
        return False


@pytest.mark.timeout(300)
async def test_a_database_outage_and_a_kill_during_it_lose_no_call_a_daemon_saw(
    own_pg: Any, tmp_path: Path
) -> None:
    """PostgreSQL stops for a minute while calls come and go; halfway through, the daemon is
    killed (SIGKILL) and started again at once, with the database still down. Once the
    database is back, every call a daemon saw is in the call log: the spool kept what the
    killed daemon had, and the new daemon's resync closed the calls that ended meanwhile.

    A call that began and ended while no daemon ran, with the database down, leaves no trace
    the daemon can read: the simulator keeps no records, and a real Asterisk's cdr_pgsql and
    cel_pgsql cannot write into a database that is down either. Those are counted, and must
    all lie in that window."""
    database_url = own_pg.create_database()
    data_dir, log = served_dir(tmp_path)
    async with running_simulator(live_sim_config()) as sim:
        placed: dict[str, float] = {}  # Linkedid -> when it was placed (monotonic)

        async def traffic(seconds: float) -> None:
            for i in range(int(seconds)):
                queue = "sales" if i % 2 else "support"
                number = f"90532{len(placed):07d}"
                linkedid = await sim.place_call(
                    number, f"Arayan {i}", queue, answer_after=0.3, talk_s=1.5
                )
                placed[linkedid] = time.monotonic()
                await asyncio.sleep(1.0)

        async with cti_serve(sim, database_url, data_dir) as (process, url):
            await poll(lambda: ready(url), "daemon ready", log)
            own_pg.stop()
            await traffic(OUTAGE_S / 2)
            killed_at = time.monotonic()
            process.kill()
            await process.wait()
        async with cti_serve(sim, database_url, data_dir) as (process, url):
            more = asyncio.ensure_future(traffic(OUTAGE_S / 2))
            await poll(lambda: resynced(url), "the new daemon resynced", log)
            back_at = time.monotonic()
            await more
            await asyncio.sleep(CALL_LIFE_S)  # the last calls end
            own_pg.start()

            async def written() -> set[str]:
                connection = await asyncpg.connect(database_url)
                try:
                    rows = await connection.fetch(
                        "SELECT linkedid FROM calls WHERE linkedid = ANY($1::text[])", list(placed)
                    )
                finally:
                    await connection.close()
                return {r["linkedid"] for r in rows}

            async def settled() -> bool:  # the spool empty once the writer retried
                return (data_dir / "call-log.spool").stat().st_size == 0 and bool(await written())

            await poll(settled, "the spool written after the outage", log, timeout=90)
            logged = await written()
    unseen = {k for k, at in placed.items() if at >= killed_at - CALL_LIFE_S and at < back_at}
    lost = set(placed) - logged
    connection = await asyncpg.connect(database_url)
    try:
        ended = await connection.fetchval("SELECT count(*) FROM calls WHERE ended_at IS NOT NULL")
        twice = await connection.fetchval(
            "SELECT count(*) FROM (SELECT linkedid, kind, interface FROM call_events"
            " WHERE kind IN ('queue_join', 'agent_ring', 'agent_connect', 'call_end')"
            " GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
        )
    finally:
        await connection.close()
    print(
        f"\n{len(placed)} calls through a {OUTAGE_S:.0f} s outage with a SIGKILL in it "
        f"(no daemon for {back_at - killed_at:.1f} s): {len(logged)} written, {ended} with "
        f"their end; {len(lost)} lost, all born and gone while no daemon ran (at most "
        f"{len(unseen)} could be); events written twice: {twice}"
    )
    assert lost <= unseen
    assert twice == 0
