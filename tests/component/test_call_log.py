"""The call log against a real PostgreSQL: migrations, idempotent replays, outages."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from harness import wait_until

from cti.ami.events import WANTED_EVENTS
from cti.ami.frames import FrameSplitter
from cti.calllog import tallies
from cti.calllog.spool import Spool
from cti.calllog.writer import CallLogWriter
from cti.database import Database
from cti.database.migrate import MIGRATIONS_DIR, MigrationError, load_migrations, migrate
from cti.pipeline import Pipeline
from cti.replay import capture_bytes, replay
from cti.state.store import CtiState

CAPTURE_CALLS = {
    "basic-queue-calls.ami": 5,
    "ring-no-answer.ami": 2,
    "login-snapshot-midcall.ami": 3,
    "load-6cps.ami.xz": 240,
}


async def counts(url: str) -> tuple[int, int]:
    connection = await asyncpg.connect(url)
    try:
        return (
            await connection.fetchval("SELECT count(*) FROM calls"),
            await connection.fetchval("SELECT count(*) FROM call_events"),
        )
    finally:
        await connection.close()


async def replay_into(url: str, capture: Path, spool_dir: Path) -> CallLogWriter:
    database = Database(url)
    writer = CallLogWriter(database, Spool(spool_dir / "spool"), "TR")
    replay(capture_bytes(capture), sinks=[writer])
    await writer.drain()
    await database.close()
    return writer


async def test_migrations_apply_once_from_empty(database_url: str, tmp_path: Path) -> None:
    pool = await asyncpg.create_pool(database_url)
    try:
        assert await migrate(pool) == [m.version for m in load_migrations()]
        assert await migrate(pool) == []
        tables = {
            r["tablename"]
            for r in await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert {"calls", "call_events", "recording_mutes", "schema_migrations"} <= tables
        changed = tmp_path / "migrations"
        shutil.copytree(MIGRATIONS_DIR, changed)
        first = next(changed.glob("001_*.sql"))
        first.write_text(first.read_text() + "\n-- edited after the fact\n")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(pool, changed)
    finally:
        await pool.close()


@pytest.mark.parametrize("capture", sorted(CAPTURE_CALLS))
async def test_every_capture_lands_once_even_when_replayed_twice(
    captures: Path, database_url: str, tmp_path: Path, capture: str
) -> None:
    writer = await replay_into(database_url, captures / capture, tmp_path)
    assert writer.spool_depth == 0 and writer.stats.write_errors == 0
    first = await counts(database_url)
    assert first[0] == CAPTURE_CALLS[capture]
    await replay_into(database_url, captures / capture, tmp_path)
    assert await counts(database_url) == first


async def test_rows_match_the_capture_readme(
    captures: Path, database_url: str, tmp_path: Path
) -> None:
    await replay_into(database_url, captures / "basic-queue-calls.ami", tmp_path)
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT caller_number, caller_e164, caller_name, queue, agent, outcome, wait_s, talk_s,"
            " consent, recording FROM calls ORDER BY started_at"
        )
        waits = await connection.fetch(
            "SELECT seconds FROM call_events WHERE kind = 'agent_connect' ORDER BY at"
        )
    finally:
        await connection.close()
    assert [tuple(r) for r in rows] == [
        (
            "905321234567",
            "+905321234567",
            "Ayşe Çağrı Yılmaz",
            "support",
            "SIP/1001",
            "answered",
            2,
            2,
            "granted",
            "1795343720.0.wav",
        ),
        (
            "905551112233",
            "+905551112233",
            "Mehmet Öztürk",
            "support",
            "SIP/1002",
            "answered",
            2,
            2,
            "declined",
            None,
        ),
        (
            "74951234567",
            "+74951234567",
            "Иван Петров",
            "support",
            "SIP/1001",
            "answered",
            3,
            1,
            "granted",
            "1795343724.4.wav",
        ),
        (
            "15551234567",
            "+15551234567",
            "<img src=x onerror=alert(1)>",
            "sales",
            "SIP/1003",
            "answered",
            2,
            2,
            None,
            None,
        ),
        (
            "4930123456",
            "+4930123456",
            "José Müller",
            "sales",
            "SIP/1003",
            "answered",
            2,
            2,
            None,
            None,
        ),
    ]
    assert [r["seconds"] for r in waits] == [2, 2, 3, 2, 2]


async def test_database_outage_mid_stream_loses_and_duplicates_nothing(
    captures: Path, tmp_path: Path, own_pg: Any
) -> None:
    server = own_pg
    url = server.create_database()
    records_expected = 240
    database = Database(url)
    writer = CallLogWriter(database, Spool(tmp_path / "spool"), "TR")
    task = asyncio.create_task(writer.run())
    data = capture_bytes(captures / "load-6cps.ami.xz")
    half = data.index(b"\r\n\r\n", len(data) // 2) + 4
    try:
        # First half with the database up: the pipeline hands changes to the writer.
        pipeline = Pipeline(CtiState(), [writer])
        splitter = FrameSplitter(WANTED_EVENTS)
        for message in splitter.feed(data[:half]):
            pipeline.process(message, None)
        await wait_until(
            lambda: writer.spool_depth == 0 and writer.stats.rows_written > 0, timeout=30
        )
        server.stop()
        for message in splitter.feed(data[half:]):
            pipeline.process(message, None)  # the pipeline never waits for the database
        await wait_until(
            lambda: writer.stats.write_errors > 0 and writer.spool.depth > 0, timeout=30
        )
        assert (tmp_path / "spool").stat().st_size > 0
        server.start()
        await wait_until(lambda: writer.spool_depth == 0, timeout=60)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await database.close()
    calls, _events = await counts(url)
    assert calls == records_expected
    connection = await asyncpg.connect(url)
    try:
        assert (
            await connection.fetchval(
                "SELECT count(*) FROM (SELECT linkedid FROM call_events WHERE kind = 'call_end'"
                " GROUP BY linkedid HAVING count(*) > 1) d"
            )
            == 0
        )
        assert await connection.fetchval("SELECT sum(wait_s) FROM calls") == 360
    finally:
        await connection.close()


def test_a_torn_spool_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    spool = Spool(path)
    spool.append([["event", ["1.1", 1.0, "queue_join", "q", "", None, 1]]])
    with path.open("a") as file:
        file.write('[["call", ["half')  # the process died mid-write
    again = Spool(path)
    assert again.pending == [["event", ["1.1", 1.0, "queue_join", "q", "", None, 1]]]
    again.clear(1)
    assert Spool(path).pending == []


def migrations_before(version: int, folder: Path) -> Path:
    """The project's migrations older than ``version``, copied into ``folder``: what a
    database of an older release was migrated with."""
    folder.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if int(path.stem.partition("_")[0]) < version:
            shutil.copy(path, folder)
    return folder


async def test_phones_take_their_customers_names_when_migration_017_upgrades(
    database_url: str, tmp_path: Path
) -> None:
    # An existing database: its customers' phones get their names, which the call
    # history's name search reads (cti/calllog/reports.py).
    before = migrations_before(17, tmp_path / "before-017")
    pool = await asyncpg.create_pool(database_url)
    try:
        await migrate(pool, before)
        await pool.execute(
            "INSERT INTO customers (id, full_name) VALUES (1, 'Ayşe Yılmaz'), (2, 'Kemal Kaya');"
            "INSERT INTO customer_phones (customer_id, e164, raw) VALUES"
            " (1, '+905321112233', '0532'), (1, '+905321112244', '0532'),"
            " (2, '+905559998877', '0555')"
        )
        assert 17 in await migrate(pool)
        rows = await pool.fetch("SELECT e164, full_name FROM customer_phones ORDER BY e164")
        assert [tuple(r) for r in rows] == [
            ("+905321112233", "Ayşe Yılmaz"),
            ("+905321112244", "Ayşe Yılmaz"),
            ("+905559998877", "Kemal Kaya"),
        ]
    finally:
        await pool.close()


async def test_migration_018_drops_the_index_no_query_reads_and_kpis_of_a_queue_stay(
    database_url: str, tmp_path: Path
) -> None:
    # Every event paid an entry in call_events_queue_at; a KPI of one queue now finds its
    # passages through call_events_at and keeps the queue's (cti/calllog/tallies.py).
    before = migrations_before(18, tmp_path / "before-018")
    entered = datetime(2026, 10, 1, 9, 0, 5, tzinfo=UTC)
    pool = await asyncpg.create_pool(database_url)
    try:
        await migrate(pool, before)
        await pool.executemany(
            "INSERT INTO call_events (linkedid, at, kind, queue, seconds) VALUES ($1, $2, $3, $4, $5)",
            [
                ("1.1", entered, "queue_join", "support", None),
                ("1.1", entered + timedelta(seconds=4), "agent_connect", "support", 4),
                ("1.2", entered, "queue_join", "sales", None),
                ("1.2", entered + timedelta(seconds=9), "queue_abandon", "sales", 9),
            ],
        )
        assert 18 in await migrate(pool)
        indexes = await pool.fetch(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'call_events'"
        )
        assert {r["indexname"] for r in indexes} == {"call_events_pkey", "call_events_at"}
        hour = (entered - timedelta(minutes=5), entered + timedelta(hours=1))
        support = await tallies.queue_tallies(pool, *hour, "support")
        assert list(support) == ["support"]
        assert support["support"].offered == 1 and support["support"].answered_waits == {4: 1}
        sales = await tallies.queue_tallies(pool, *hour, "sales")
        assert sales["sales"].offered == 1 and sales["sales"].abandoned_waits == {9: 1}
    finally:
        await pool.close()
