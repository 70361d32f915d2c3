"""The KPI rollup: finished 15-minute slots are read from kpi_slots instead of folding
their events again, with the same figures; an event stored later for a rolled-up slot
(a call completed from Asterisk's records, a spool written after an outage) counts at once
and is rolled up again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import Daemon

from cti import kpi
from cti.calllog import tallies
from cti.calllog.rows import Row
from cti.calllog.spool import Spool
from cti.calllog.writer import CallLogWriter
from cti.database import Database
from cti.keys import DATABASE
from cti.replay import capture_bytes, replay

NAMES = ("basic-queue-calls.ami", "ring-no-answer.ami", "load-6cps.ami.xz")


async def figures(daemon: Daemon, since: datetime, until: datetime) -> dict[str, object]:
    pool = await daemon.app[DATABASE].pool()
    by_queue = await tallies.queue_tallies(pool, since, until)
    return {queue: kpi.figures(tally, 20) for queue, tally in sorted(by_queue.items())}


async def test_rolled_up_slots_give_the_figures_of_the_events_and_late_events_count(
    daemon: Daemon, captures: Path, tmp_path: Path
) -> None:
    writer = CallLogWriter(daemon.app[DATABASE], Spool(tmp_path / "replay.spool"), "TR")
    for name in NAMES:
        replay(capture_bytes(captures / name), sinks=[writer])
    await writer.drain()
    pool = await daemon.app[DATABASE].pool()
    first, last = await pool.fetchrow("SELECT min(at), max(at) FROM call_events")
    # Ragged edges on purpose: the API folds them, the slots between come from the rollup.
    since, until = first - timedelta(minutes=7), last + timedelta(hours=2, minutes=3)
    folded = await figures(daemon, since, until)
    assert sum(f["offered"] for f in folded.values()) >= 245  # type: ignore[misc,attr-defined]

    # (The daemon's own rollup task may run meanwhile: rolling up is locked and idempotent.)
    now = datetime.now(UTC)
    await tallies.roll_up(pool, now)
    assert await pool.fetchval("SELECT count(*) FROM kpi_slots") > 0
    assert await tallies.roll_up(pool, now) == 0  # nothing left to do
    assert await figures(daemon, since, until) == folded
    # The figures really come from kpi_slots now: a change there shows.
    await pool.execute("UPDATE kpi_slots SET passages = passages + 1000")
    bent = await figures(daemon, since, until)
    assert sum(f["offered"] for f in bent.values()) == (  # type: ignore[misc,attr-defined]
        sum(f["offered"] for f in folded.values())
        + 1000
        * await pool.fetchval(  # type: ignore[misc,attr-defined]
            "SELECT count(*) FROM kpi_slots"
        )
    )
    await pool.execute("UPDATE kpi_slots SET passages = passages - 1000")

    # A caller who waited in 'support' in the middle of the period and gave up, learnt only
    # now (as the reconciler writes a call from Asterisk's records).
    entered = first + (last - first) / 2
    await pool.execute(
        "INSERT INTO call_events (linkedid, at, kind, queue, seconds) VALUES"
        " ('late-1', $1, 'queue_join', 'support', NULL),"
        " ('late-1', $1 + interval '30 seconds', 'queue_abandon', 'support', 30)",
        entered,
    )
    assert await pool.fetchval("SELECT count(*) FROM kpi_dirty") == 1
    with_late = await figures(daemon, since, until)
    assert with_late["support"]["offered"] == folded["support"]["offered"] + 1  # type: ignore[index]
    assert with_late["support"]["abandoned"] == folded["support"]["abandoned"] + 1  # type: ignore[index]
    await tallies.roll_up(pool, now)  # that one slot again
    assert await pool.fetchval("SELECT count(*) FROM kpi_dirty") == 0
    assert await figures(daemon, since, until) == with_late


def _event(linkedid: str, at: datetime, kind: str, seconds: int | None = None) -> Row:
    values = {"linkedid": linkedid, "at": at.timestamp(), "kind": kind, "queue": "support"}
    return ["event", values | {"interface": "", "seconds": seconds, "position": None}]


def _slot(at: datetime) -> datetime:
    return datetime.fromtimestamp(at.timestamp() // 900 * 900, UTC)


async def test_events_mark_the_entry_slot_of_their_passage_wherever_it_is_stored(
    database_url: str, tmp_path: Path
) -> None:
    """Rows the writer stores mark the slot their passage entered the queue in, when that
    slot is more than an hour old: the slot of an entry stored by an earlier write, not the
    slot of the new event; a passage entered within the hour marks nothing."""
    database = Database(database_url)
    writer = CallLogWriter(database, Spool(tmp_path / "dirty.spool"), "TR")
    now = datetime.now(UTC)
    old = _slot(now - timedelta(days=2)) + timedelta(minutes=14)  # a minute before its end
    try:
        pool = await database.pool()
        writer.offer_rows([_event("long", old, "queue_join"), _event("new", old, "queue_join")])
        await writer.drain()
        assert await pool.fetchval("SELECT array_agg(slot) FROM kpi_dirty") == [_slot(old)]
        await pool.execute("DELETE FROM kpi_dirty")

        # The rest of the long call, hours later, in another write; and a call of now.
        later = old + timedelta(hours=3)
        writer.offer_rows(
            [
                _event("long", old + timedelta(minutes=2), "agent_connect", 120),
                _event("long", later, "call_end", 10_680),
                _event("recent", now - timedelta(minutes=10), "queue_join"),
                _event("recent", now - timedelta(minutes=9), "queue_abandon", 60),
            ]
        )
        await writer.drain()
        assert await pool.fetchval("SELECT array_agg(slot) FROM kpi_dirty") == [_slot(old)]
        await pool.execute("DELETE FROM kpi_dirty")

        # A row written by something else than the writer marks too (the reconciler).
        await pool.execute(
            "INSERT INTO call_events (linkedid, at, kind, queue) VALUES ('long', $1, 'queue_leave',"
            " 'support')",
            later,
        )
        assert await pool.fetchval("SELECT array_agg(slot) FROM kpi_dirty") == [_slot(old)]
    finally:
        await database.close()


async def test_a_new_event_marks_the_old_entry_slot_stored_by_an_earlier_write(
    database_url: str, tmp_path: Path
) -> None:
    """A call that entered the queue two hours ago and goes on now: its events of now mark
    the slot of its entry, stored by an earlier write (the trigger reads only the stored
    events earlier than the new ones, not only the new ones); so does its call_end alone."""
    database = Database(database_url)
    writer = CallLogWriter(database, Spool(tmp_path / "late.spool"), "TR")
    now = datetime.now(UTC)
    entered = now - timedelta(hours=2)
    try:
        pool = await database.pool()
        writer.offer_rows([_event("lingering", entered, "queue_join")])
        await writer.drain()
        await pool.execute("DELETE FROM kpi_dirty")

        writer.offer_rows(
            [
                _event("lingering", now - timedelta(minutes=1), "agent_ring"),
                _event("lingering", now, "agent_connect", 7_140),
            ]
        )
        await writer.drain()
        assert await pool.fetchval("SELECT array_agg(slot) FROM kpi_dirty") == [_slot(entered)]
        await pool.execute("DELETE FROM kpi_dirty")

        writer.offer_rows([_event("lingering", now + timedelta(seconds=30), "call_end", 30)])
        await writer.drain()
        assert await pool.fetchval("SELECT array_agg(slot) FROM kpi_dirty") == [_slot(entered)]
    finally:
        await database.close()
