"""Reconciliation against a real PostgreSQL, with Asterisk's records as cdr_pgsql, cel_pgsql
and the realtime queue_log write them (tables of migration 008; the real-PBX tier checks
that Asterisk really writes them so): calls that ended while the daemon was away get their
rows, a call the daemon followed until the gap keeps its facts and gets Asterisk's end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from harness import wait_until

from cti.calllog import reconcile as reconciliation
from cti.calllog.reconcile import Reconciler, fill_consent_of, reconcile
from cti.calllog.rows import rows_for
from cti.calllog.writer import prepare, write_rows
from cti.database import Database
from cti.state.changes import CallAnswered, CallEnded, CallRecord, Outcome, Resynced

T0 = 1_795_343_700.0


def utc_text(epoch: float) -> str:  # the queue_log's time, as logger.c writes it in GMT
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


MEMBERS = {"Agent 1001": "PJSIP/1001", "Agent 1003": "PJSIP/1003"}


def interface_of(member_name: str) -> str:
    return MEMBERS.get(member_name, member_name)


async def cel_wrote(pool: asyncpg.Pool, rows: list[tuple[Any, ...]]) -> None:
    """eventtype, eventtime, cid_num, cid_name, exten, context, uniqueid, linkedid"""
    await pool.executemany(
        "INSERT INTO asterisk_cel (eventtype, eventtime, cid_num, cid_name, exten, context,"
        " uniqueid, linkedid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        rows,
    )


async def queue_log_wrote(pool: asyncpg.Pool, rows: list[tuple[Any, ...]]) -> None:
    """time (epoch), callid, queuename, agent, event, data1..3"""
    await pool.executemany(
        "INSERT INTO asterisk_queue_log (time, callid, queuename, agent, event, data1, data2,"
        " data3) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [(utc_text(t), *rest) for t, *rest in rows],
    )


async def cdr_wrote(pool: asyncpg.Pool, rows: list[tuple[Any, ...]]) -> None:
    """start, linkedid, uniqueid, cti_consent, cti_consent_method, recording"""
    await pool.executemany(
        "INSERT INTO asterisk_cdr (start, linkedid, uniqueid, cti_consent, cti_consent_method,"
        " recording) VALUES ($1, $2, $3, $4, $5, $6)",
        rows,
    )


async def asterisk_recorded(pool: asyncpg.Pool) -> None:
    cel = [  # eventtype, eventtime, cid_num, cid_name, exten, context, uniqueid, linkedid
        ("CHAN_START", T0, "905321234567", "Ayşe Yılmaz", "4440", "from-trunk", "a.1", "a.1"),
        ("CHAN_START", T0 + 9, "", "", "s", "from-internal", "a.2", "a.1"),
        ("LINKEDID_END", T0 + 80, "905321234567", "Ayşe Yılmaz", "", "cti-inbound", "a.1", "a.1"),
        ("CHAN_START", T0 + 1, "905551112233", "Mehmet Öztürk", "4440", "from-trunk", "b.1", "b.1"),
        ("LINKEDID_END", T0 + 31, "905551112233", "Mehmet Öztürk", "", "cti-inbound", "b.1", "b.1"),
        ("CHAN_START", T0 + 2, "1001", "Supervisor", "s", "from-internal", "s.1", "s.1"),
        ("HANGUP", T0 + 20, "1001", "Supervisor", "s", "cti-spy-listen", "s.1", "s.1"),
        ("LINKEDID_END", T0 + 20, "1001", "Supervisor", "", "cti-spy-listen", "s.1", "s.1"),
        ("CHAN_START", T0 + 3, "905559998877", "Zeynep Kaya", "4441", "from-trunk", "c.1", "c.1"),
        ("LINKEDID_END", T0 + 70, "905559998877", "Zeynep Kaya", "", "cti-inbound", "c.1", "c.1"),
        ("CHAN_START", T0 + 4, "905550000000", "Still Talking", "4441", "from-trunk", "d.1", "d.1"),
        ("CHAN_START", T0 + 5, "905554443322", "Ali Can", "4441", "from-trunk", "e.1", "e.1"),
        ("LINKEDID_END", T0 + 12, "905554443322", "Ali Can", "", "cti-inbound", "e.1", "e.1"),
    ]
    await cel_wrote(pool, cel)
    queue_log = [  # time, callid, queuename, agent, event, data1..3
        (T0 + 6, "a.1", "support", "NONE", "ENTERQUEUE", "", "905321234567", "1"),
        (T0 + 9, "a.1", "support", "Agent 1001", "CONNECT", "3", "a.2", "2"),
        (T0 + 80, "a.1", "support", "Agent 1001", "COMPLETECALLER", "3", "71", "1"),
        (T0 + 5, "b.1", "support", "NONE", "ENTERQUEUE", "", "905551112233", "2"),
        (T0 + 31, "b.1", "support", "NONE", "ABANDON", "2", "2", "26"),
        (T0 + 6, "c.1", "sales", "NONE", "ENTERQUEUE", "", "905559998877", "1"),
        (T0 + 10, "c.1", "sales", "Agent 1003", "CONNECT", "4", "c.2", "3"),
        (T0 + 6, "e.1", "sales", "NONE", "ENTERQUEUE", "", "905554443322", "1"),
        (T0 + 12, "e.1", "sales", "NONE", "ABANDON", "1", "1", "6"),
    ]
    await queue_log_wrote(pool, queue_log)
    await cdr_wrote(
        pool,
        [
            (T0, "a.1", "a.1", "granted", "dtmf", "a.1.wav"),
            (T0 + 9, "a.1", "a.2", "", "", ""),
            (T0 + 1, "b.1", "b.1", "declined", "dtmf", ""),
            (T0 + 3, "c.1", "c.1", "granted", "implied", "c.1.wav"),
            (T0 + 5, "e.1", "e.1", "granted", "implied", "e.1.wav"),
        ],
    )


async def the_daemon_followed_c_until_the_gap(pool: asyncpg.Pool) -> None:
    """Its row as the daemon writes a call that vanished at a resync: agent and consent
    known, end and talk time not, outcome answered."""
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue,"
        " agent, agent_name, outcome, started_at, answered_at, wait_s, consent,"
        " consent_method, recording, ended_while_disconnected) VALUES ('c.1', '905559998877',"
        " 'Zeynep Kaya', '4441', 'inbound', 'sales', 'PJSIP/1003', 'Agent 1003', 'answered',"
        " to_timestamp($1), to_timestamp($2), 4, 'granted', 'implied', 'c.1.wav', true)",
        T0 + 3,
        T0 + 10,
    )


async def the_daemon_saw_e_end_but_missed_facts_in_a_gap(pool: asyncpg.Pool) -> None:
    """The link was down as the consent was decided and as the caller hung up: the daemon
    saw the call end, without a consent, and took the exit for a queue timeout."""
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue,"
        " outcome, started_at, ended_at, wait_s, through_gap) VALUES ('e.1', '905554443322',"
        " 'Ali Can', '4441', 'inbound', 'sales', 'timed_out', to_timestamp($1),"
        " to_timestamp($2), 6, true)",
        T0 + 5,
        T0 + 12,
    )


async def test_calls_that_ended_while_away_are_written_from_asterisks_records(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        pool = await database.pool()
        await asterisk_recorded(pool)
        await the_daemon_followed_c_until_the_gap(pool)
        await the_daemon_saw_e_end_but_missed_facts_in_a_gap(pool)
        written = await reconcile(pool, "TR", T0 + 100, interface_of)
        again = await reconcile(pool, "TR", T0 + 100, interface_of)
        rows = {
            r["linkedid"]: dict(r)
            for r in await pool.fetch(
                "SELECT linkedid, caller_number, caller_e164, caller_name, queue, agent, outcome,"
                " extract(epoch FROM started_at) AS started, extract(epoch FROM answered_at)"
                " AS answered, extract(epoch FROM ended_at) AS ended, wait_s, talk_s,"
                " abandon_position, consent, consent_method, recording, facts_source FROM calls"
            )
        }
        events = [
            tuple(r)
            for r in await pool.fetch(
                "SELECT linkedid, kind, interface, seconds FROM call_events ORDER BY linkedid, at"
            )
        ]
    finally:
        await database.close()
    assert (written.written, again.written) == (4, 0)
    assert written.consent_to_come == set()  # every call's CDR is in: nothing to look at again
    assert set(rows) == {"a.1", "b.1", "c.1", "e.1"}  # not the spy call nor one in progress
    a, b, c, e = rows["a.1"], rows["b.1"], rows["c.1"], rows["e.1"]
    expected_a: dict[str, Any] = {
        "caller_number": "905321234567",
        "caller_e164": "+905321234567",
        "caller_name": "Ayşe Yılmaz",
        "queue": "support",
        "agent": "PJSIP/1001",
        "outcome": "answered",
        "started": T0,
        "answered": T0 + 9,
        "ended": T0 + 80,
        "wait_s": 3,
        "talk_s": 71,
        "consent": "granted",
        "consent_method": "dtmf",
        "recording": "a.1.wav",
        "facts_source": "asterisk",
    }
    assert {k: a[k] for k in expected_a} == expected_a
    assert (
        b["outcome"],
        b["abandon_position"],
        b["wait_s"],
        b["consent"],
        b["recording"],
        b["agent"],
    ) == ("abandoned", 2, 26, "declined", None, None)
    # The daemon's own facts kept; Asterisk's end and the talk time it implies filled in.
    assert (c["agent"], c["wait_s"], c["ended"], c["talk_s"], c["facts_source"]) == (
        "PJSIP/1003",
        4,
        T0 + 70,
        60,
        "ami+asterisk",
    )
    # Seen to its end through a gap: the consent it missed, and app_queue's exit, filled in.
    assert (
        e["outcome"],
        e["abandon_position"],
        e["consent"],
        e["recording"],
        e["ended"],
        e["facts_source"],
    ) == ("abandoned", 1, "granted", "e.1.wav", T0 + 12, "ami+asterisk")
    assert sorted(events, key=repr) == sorted(
        [
            ("a.1", "queue_join", "", None),
            ("a.1", "agent_connect", "PJSIP/1001", 3),
            ("a.1", "call_end", "PJSIP/1001", 71),
            ("b.1", "queue_join", "", None),
            ("b.1", "queue_abandon", "", 26),
            ("b.1", "call_end", "", None),
            ("c.1", "queue_join", "", None),
            ("c.1", "agent_connect", "PJSIP/1003", 4),
            ("c.1", "call_end", "PJSIP/1003", 60),
            ("e.1", "queue_join", "", None),
            ("e.1", "queue_abandon", "", 6),
            ("e.1", "call_end", "", None),
        ],
        key=repr,
    )


F_ANSWERED = CallAnswered(
    ts=T0 + 209.25,
    linkedid="f.1",
    queue="support",
    interface="PJSIP/1001",
    member_name="Agent 1001",
    wait_s=3,
)


def the_daemon_saw_f_end_live() -> list[Any]:
    """The daemon's rows for the end of f.1, a call it learnt after a restart, consent
    missed, and saw end live: at the AMI Hangup's time, a few milliseconds before CEL's."""
    record = CallRecord(
        linkedid="f.1",
        caller_number="905327776655",
        caller_name="Emre Şahin",
        dialed="4440",
        direction="inbound",
        queue="support",
        agent="PJSIP/1001",
        agent_name="Agent 1001",
        outcome=Outcome.ANSWERED,
        started_at=T0 + 200,
        queued_at=T0 + 206,
        answered_at=T0 + 209.25,
        ended_at=T0 + 230.5,
        wait_s=3,
        talk_s=21,
        hold_s=0,
        abandon_position=None,
        consent=None,
        consent_method=None,
        consent_at=None,
        recorded=False,
        recording=None,
        hangup_cause=16,
        no_answer_count=0,
        ended_while_disconnected=False,
    )
    return rows_for([CallEnded(ts=T0 + 230.5, record=record)], "TR")


async def asterisk_ended_f_before_its_cdr(pool: asyncpg.Pool) -> None:
    """f.1 answered (the daemon's row says so), and ended in CEL; no CDR yet."""
    await cel_wrote(
        pool,
        [
            (kind, at, "905327776655", "Emre Şahin", exten, context, "f.1", "f.1")
            for kind, at, exten, context in (
                ("CHAN_START", T0 + 200, "4440", "from-trunk"),
                ("LINKEDID_END", T0 + 230.504, "", "cti-inbound"),
            )
        ],
    )
    await queue_log_wrote(
        pool,
        [
            (T0 + 206, "f.1", "support", "NONE", "ENTERQUEUE", "", "", "1"),
            (T0 + 209, "f.1", "support", "Agent 1001", "CONNECT", "3", "f.2", "2"),
        ],
    )
    await write_rows(pool, [prepare(r) for r in rows_for([F_ANSWERED], "TR")])


@pytest.mark.parametrize("filled_by", ["the follow-up", "the next reconciliation"])
async def test_a_call_the_daemon_follows_is_left_to_it_and_a_late_consent_filled(
    database_url: str, filled_by: str
) -> None:
    """Asterisk ended f.1 (CEL's LINKEDID_END is in) while the daemon still follows it and
    before cdr_pgsql wrote its CDR. A reconciliation then must neither write the call (the
    daemon's own row follows, with its own end: two call_end events) nor close it without
    its consent for good: the CDR's consent is filled in by the reconciliation's follow-up
    (no other reconciliation may come for hours), or by the next reconciliation."""
    database = Database(database_url)
    try:
        pool = await database.pool()
        await asterisk_ended_f_before_its_cdr(pool)
        # The daemon follows f.1: the reconciliation runs before its Hangup reached the state.
        first = await reconcile(pool, "TR", T0 + 231, interface_of, lambda ids: {"f.1"} & {*ids})
        await write_rows(pool, [prepare(r) for r in the_daemon_saw_f_end_live()])
        before_the_cdr = await fill_consent_of(pool, ["f.1"])
        await cdr_wrote(pool, [(T0 + 200, "f.1", "f.1", "granted", "dtmf", "f.1.wav")])
        if filled_by == "the follow-up":
            assert await fill_consent_of(pool, ["f.1"]) == set()
        else:
            assert (await reconcile(pool, "TR", T0 + 300, interface_of)).written == 0
        row = await pool.fetchrow(
            "SELECT consent, consent_method, recording, facts_source,"
            " extract(epoch FROM ended_at)::float8 AS ended FROM calls WHERE linkedid = 'f.1'"
        )
        events = [
            tuple(r)
            for r in await pool.fetch(
                "SELECT kind, interface, count(*) FROM call_events WHERE linkedid = 'f.1'"
                " GROUP BY 1, 2 ORDER BY 1"
            )
        ]
    finally:
        await database.close()
    assert (first.written, first.consent_to_come) == (0, {"f.1"})
    assert before_the_cdr == {"f.1"}  # closed by the daemon, without consent, and no CDR yet
    assert dict(row) == {
        "consent": "granted",
        "consent_method": "dtmf",
        "recording": "f.1.wav",
        "facts_source": "ami+asterisk",
        "ended": T0 + 230.5,  # the daemon's own end kept
    }
    assert events == [("agent_connect", "PJSIP/1001", 1), ("call_end", "PJSIP/1001", 1)]


async def consent_of(pool: asyncpg.Pool, linkedid: str) -> str | None:
    return await pool.fetchval("SELECT consent FROM calls WHERE linkedid = $1", linkedid)


async def test_the_reconciler_follows_up_a_consent_to_come_without_another_gap(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """After a reconciliation, no other may come for hours: a call whose consent was still
    to come (f.1: its CDR not written yet, its end the daemon's) is looked at again every
    FOLLOW_UP_S until it is filled in, and a call of which Asterisk never writes a CDR
    (g.1) is given up after FOLLOW_UPS looks, with a warning that says why."""
    monkeypatch.setattr(reconciliation, "RECORDS_SETTLE_S", 0.0)
    monkeypatch.setattr(reconciliation, "FOLLOW_UP_S", 0.02)
    monkeypatch.setattr(reconciliation, "FOLLOW_UPS", 5)
    database = Database(database_url)
    followed = {"f.1", "g.1"}  # the daemon follows both when the reconciliation runs
    reconciler = Reconciler(
        database, "TR", lambda: T0 + 231, interface_of, left_to_daemon=lambda ids: followed & {*ids}
    )
    running = asyncio.ensure_future(reconciler.run())
    try:
        pool = await database.pool()
        await asterisk_ended_f_before_its_cdr(pool)
        await cel_wrote(
            pool,
            [
                (
                    "CHAN_START",
                    T0 + 201,
                    "905320001122",
                    "No Cdr",
                    "4440",
                    "from-trunk",
                    "g.1",
                    "g.1",
                ),
                (
                    "LINKEDID_END",
                    T0 + 225,
                    "905320001122",
                    "No Cdr",
                    "",
                    "cti-inbound",
                    "g.1",
                    "g.1",
                ),
            ],
        )
        reconciler.offer([Resynced(ts=T0 + 231)])
        await wait_until(lambda: reconciler.runs == 1, timeout=10)
        assert reconciler.consent_to_come == {"f.1", "g.1"}
        followed.clear()  # their Hangups reached the daemon, which writes f.1's end
        await write_rows(pool, [prepare(r) for r in the_daemon_saw_f_end_live()])
        await cdr_wrote(pool, [(T0 + 200, "f.1", "f.1", "granted", "dtmf", "f.1.wav")])
        await wait_until(lambda: reconciler.consent_to_come == {"g.1"}, timeout=10)
        assert await consent_of(pool, "f.1") == "granted"
        with caplog.at_level(logging.WARNING, logger=reconciliation.__name__):
            await wait_until(lambda: not reconciler.consent_to_come, timeout=10)
        assert reconciler.runs == 1  # follow-ups only, no other reconciliation
        assert "1 calls stay without a recording consent" in caplog.text
        assert "Linkedid g.1" in caplog.text
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await database.close()
