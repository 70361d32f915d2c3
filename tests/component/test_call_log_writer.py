"""The call-log writer's set-based path (COPY into staging tables, one statement per kind)
against a real PostgreSQL: it stores what the row-by-row statements store, to the
microsecond, by the same merge rules; what it spooled is written after a restart."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from harness import wait_until

from cti.calllog import queries
from cti.calllog.rows import Row
from cti.calllog.spool import Spool
from cti.calllog.writer import CallLogWriter, prepare, spooled, write_isolating, write_rows
from cti.database import Database

T0 = 1_795_343_700.0


def call(linkedid: str, **changes: Any) -> Row:
    values: dict[str, Any] = dict.fromkeys(queries.CALL_COLUMNS)
    values |= {
        "linkedid": linkedid,
        "caller_number": "905321234567",
        "caller_e164": "+905321234567",
        "caller_name": "Ayşe Yılmaz",
        "dialed": "4440",
        "direction": "inbound",
        "queue": "support",
        "agent": "PJSIP/1001",
        "outcome": "answered",
        "started_at": T0,
        "answered_at": T0 + 5.25,
        "ended_at": T0 + 60.123456,
        "hold_s": 0,
        "no_answer_count": 0,
        "ended_while_disconnected": False,
        "through_gap": False,
    }
    return ["call", values | changes]


def event(linkedid: str, at: float, kind: str = "agent_connect", once: bool = False) -> Row:
    values = {
        "linkedid": linkedid,
        "at": at,
        "kind": kind,
        "queue": "support",
        "interface": "PJSIP/1001",
        "seconds": 5,
        "position": None,
    }
    return ["event_once" if once else "event", values]


def renamed(rows: list[Row], prefix: str) -> list[Row]:
    return [[kind, values | {"linkedid": prefix + values["linkedid"]}] for kind, values in rows]


async def table(pool: asyncpg.Pool, prefix: str) -> list[dict[str, Any]]:
    """Both tables' rows of the calls whose linkedid starts with ``prefix``, without it."""
    found = []
    for name, order in (("calls", "linkedid"), ("call_events", "linkedid, kind, at")):
        for record in await pool.fetch(
            f"SELECT * FROM {name} WHERE starts_with(linkedid, $1) ORDER BY {order}", prefix
        ):
            found.append(dict(record) | {"linkedid": record["linkedid"][len(prefix) :]})
    return found


async def both_ways(pool: asyncpg.Pool, writes: list[list[Row]]) -> None:
    """Each list of rows written by the set-based path (calls prefixed "s-") and, in the same
    order, row by row (prefixed "r-"), as reconcile.py and the writer before it did."""
    for rows in writes:
        assert await write_isolating(pool, renamed(rows, "s-")) == []
        await write_rows(pool, [prepare(row) for row in renamed(rows, "r-")])


async def test_times_are_the_microsecond_the_row_by_row_path_stores(database_url: str) -> None:
    rng = random.Random(16)
    times = [
        *(round(T0 + rng.uniform(0, 86_400), 6) for _ in range(400)),  # AMI's Timestamps
        *(T0 + rng.random() * 3_600 for _ in range(400)),  # any double
        *(T0 + n / 128 for n in range(1, 128, 2)),  # exact half microseconds: to even
        *(-86_400.0 + n / 128 for n in range(1, 16, 2)),  # before 1970
        0.0,
        1e-6,
        -1e-6,
        0.9999999,
        T0 + 0.9999996,  # rounds up into the next second
        253_402_214_399.999,  # 9999-12-30
    ]
    rows = [event(f"c{i}", at) for i, at in enumerate(times)]
    database = Database(database_url)
    try:
        pool = await database.pool()
        await both_ways(pool, [rows])
        by_set, by_row = await table(pool, "s-"), await table(pool, "r-")
    finally:
        await database.close()
    assert len(by_set) == len(times)
    assert by_set == by_row
    # and the value datetime.fromtimestamp gives, which is what the row-by-row path sends
    stored = {r["linkedid"]: r["at"] for r in by_set}
    for (_, values), at in zip(rows, times, strict=True):
        expected = prepare(["event", values])[1][1]
        assert stored[values["linkedid"]] == expected, at


async def test_set_based_writes_follow_the_row_by_row_rules(database_url: str) -> None:
    """New rows, rows already there (the merge rules), two rows of one call in one write,
    events written twice, and events learnt from a snapshot: the same tables either way."""
    writes = [
        # new calls and events: the plain INSERT
        [call("a"), event("a", T0 + 5), event("a", T0 + 60, "call_end")]
        + [call(f"n{i}", ended_at=T0 + i) for i in range(50)],
        # the same again (a replayed spool): nothing doubles
        [call("a"), event("a", T0 + 5), event("a", T0 + 60, "call_end")],
        # the daemon knows less than the row there: NULLs and 'unknown' keep what is stored
        [call("a", outcome="unknown", agent=None, answered_at=None, talk_s=None)],
        # two rows of one call in one write, applied in order
        [call("b", outcome="unknown"), call("b", outcome="abandoned", agent=None)],
        # the same event twice in one write; a snapshot's estimate after the real event
        [
            event("c", T0 + 1, "queue_join"),
            event("c", T0 + 1, "queue_join"),
            event("c", T0 + 0.5, "queue_join", once=True),
        ],
        # two estimates of one event from snapshots: the first is kept
        [
            event("d", T0 + 2, "agent_ring", once=True),
            event("d", T0 + 3, "agent_ring", once=True),
        ],
        # an estimate of an event stored before: dropped
        [event("a", T0 + 4, "agent_connect", once=True)],
    ]
    database = Database(database_url)
    try:
        pool = await database.pool()
        await both_ways(pool, writes)
        by_set, by_row = await table(pool, "s-"), await table(pool, "r-")
    finally:
        await database.close()
    assert by_set == by_row
    calls = {r["linkedid"]: r for r in by_set if "caller_number" in r}
    assert len(calls) == 52
    answered = datetime.fromtimestamp(T0 + 5.25, UTC)  # a NULL keeps what is stored
    assert (calls["a"]["outcome"], calls["a"]["answered_at"]) == ("answered", answered)
    assert calls["a"]["agent"] == calls["b"]["agent"] == "PJSIP/1001"
    assert calls["b"]["outcome"] == "abandoned"
    events = [(r["linkedid"], r["kind"]) for r in by_set if "caller_number" not in r]
    assert events.count(("c", "queue_join")) == 1 and events.count(("d", "agent_ring")) == 1
    assert events.count(("a", "agent_connect")) == 1


async def test_spooled_rows_are_written_after_a_restart(database_url: str, tmp_path: Path) -> None:
    """Rows the writer spooled while the database was unreachable are written by the next
    daemon; a row that PostgreSQL refuses is quarantined."""
    rows = [call("a"), event("a", T0 + 5), call("b", caller_name="Ali\x00 Veli")]
    path = tmp_path / "call-log.spool"
    away = Database("postgresql://cti@127.0.0.1:1/cti")  # nothing listens there
    writer = CallLogWriter(away, Spool(path), "TR")
    task = asyncio.create_task(writer.run())
    try:
        writer.offer_rows([list(row) for row in rows])
        await wait_until(
            lambda: writer.stats.write_errors > 0 and writer.spool.depth == 3, timeout=30
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert json.loads(path.read_text().splitlines()[0]) == rows

    database = Database(database_url)
    restarted = CallLogWriter(database, Spool(path), "TR")
    try:
        assert restarted.spool_depth == 3
        assert await restarted.flush()
        pool = await database.pool()
        written = await table(pool, "")
        quarantined = await pool.fetch("SELECT row_json FROM call_log_quarantine")
    finally:
        await database.close()
    assert path.stat().st_size == 0
    assert [r["linkedid"] for r in written] == ["a", "a"]
    assert written[0]["ended_at"] == prepare(rows[0])[1][queries.CALL_COLUMNS.index("ended_at")]
    assert [json.loads(r["row_json"]) for r in quarantined] == [rows[2]]


async def test_the_ends_it_holds_are_named_wherever_they_wait(tmp_path: Path) -> None:
    """A reconciliation leaves to the writer the calls whose end it holds uncommitted: in a
    spool from before a restart (positional, or anything), spooled (staged), or queued."""
    path = tmp_path / "call-log.spool"
    positional = ["call", [call("old")[1][c] for c in queries.CALL_COLUMNS]]  # an older spool's
    path.write_text(json.dumps([positional, 7, "call", ["call", {"linkedid": "x"}]]) + "\n")
    writer = CallLogWriter(Database("postgresql://cti@127.0.0.1:1/cti"), Spool(path), "TR")
    writer.spool.append(*spooled([call("staged"), call("open", ended_at=None)]))
    writer.offer_rows([call("queued"), event("event-only", T0)])
    asked = ["old", "staged", "open", "queued", "event-only", "x", "never"]
    assert writer.ends_held(asked) == {"old", "staged", "queued"}
    assert writer.ends_held(["queued"]) == {"queued"}
