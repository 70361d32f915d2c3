"""The supervisor's API on the live daemon: KPIs recomputed from replayed captures against
figures worked out by hand from the captures' README, the call history and its CSV,
recordings by call id with Range, and audited actions on agents."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from harness import (
    Daemon,
    daemon_on,
    handled_call,
    live_sim_config,
    next_message,
    running_daemon,
    signed_in,
)

from cti.calllog import reports
from cti.calllog.spool import Spool
from cti.calllog.writer import CallLogWriter
from cti.keys import CALL_LOG, DATABASE, METRICS, STATE
from cti.replay import capture_bytes, read_capture, replay
from cti.simulator import Simulator


def capture_period(path: Path) -> dict[str, str]:
    """from/to around a capture's first and last Timestamp."""
    stamps = [float(s) for s in re.findall(rb"Timestamp: ([0-9.]+)", read_capture(path))]
    return {
        "from": datetime.fromtimestamp(int(min(stamps)) - 1, UTC).isoformat(),
        "to": datetime.fromtimestamp(int(max(stamps)) + 2, UTC).isoformat(),
    }


async def replay_captures(
    daemon: Daemon, captures: Path, names: tuple[str, ...], spool: Path
) -> None:
    writer = CallLogWriter(daemon.app[DATABASE], Spool(spool), "TR")
    for name in names:
        replay(capture_bytes(captures / name), sinks=[writer])
    await writer.drain()
    assert writer.spool_depth == 0


async def kpi(session: aiohttp.ClientSession, **params: Any) -> dict[str, Any]:
    async with session.get("/api/kpi", params={k: str(v) for k, v in params.items()}) as r:
        assert r.status == 200, await r.text()
        return await r.json()  # type: ignore[no-any-return]


async def test_kpis_from_replayed_captures_match_the_readme(
    daemon: Daemon, captures: Path, tmp_path: Path
) -> None:
    names = ("basic-queue-calls.ami", "ring-no-answer.ami", "load-6cps.ami.xz")
    await replay_captures(daemon, captures, names, tmp_path / "replay.spool")
    boss, _ = await signed_in(daemon, "boss")
    async with boss:
        basic = capture_period(captures / names[0])
        # support: waits 2, 2, 3 and talks 2, 2, 1 (README table)
        support = (await kpi(boss, **basic, queue="support", threshold=2))["queues"]["support"]
        assert (support["offered"], support["answered"], support["abandoned"]) == (3, 3, 0)
        assert support["asa_s"] == round(7 / 3, 2) and support["aht_s"] == round(5 / 3, 2)
        assert support["service_level"] == round(2 / 3, 4)  # 3 s is over T = 2
        again = (await kpi(boss, **basic, queue="support", threshold=3))["queues"]["support"]
        assert again["service_level"] == 1.0  # the same calls, another threshold after the fact
        sales = (await kpi(boss, **basic, queue="sales"))["queues"]["sales"]
        assert (sales["offered"], sales["answered"], sales["asa_s"]) == (2, 2, 2.0)

        # ring-no-answer: Fatma answered after 2 s; Ali abandoned after 24 s.
        rna = capture_period(captures / names[1])
        figures = (await kpi(boss, **rna, queue="support", threshold=20))["queues"]["support"]
        assert (figures["offered"], figures["answered"], figures["abandoned"]) == (2, 1, 1)
        assert figures["abandon_rate"] == 0.5 and figures["short_abandoned"] == 0
        assert figures["service_level"] == 1.0 and figures["service_level_2"] == 0.5
        longer = (await kpi(boss, **rna, queue="support", threshold=30))["queues"]["support"]
        assert longer["service_level_2"] == 1.0  # Ali gave up within 30 s

        # load-6cps: 240 calls into bulk, all answered, total wait 360 s.
        load = (await kpi(boss, **capture_period(captures / names[2])))["queues"]
        assert list(load) == ["bulk"]
        assert (load["bulk"]["offered"], load["bulk"]["answered"]) == (240, 240)
        assert load["bulk"]["asa_s"] == 1.5
        assert "÷" in (await kpi(boss, **basic))["definitions"]["service_level"]

        async with boss.get("/api/kpi", params={"from": "yesterday"}) as r:
            assert r.status == 400 and "ISO 8601" in await r.text()
        async with boss.get("/api/kpi", params={"threshold": "-3"}) as r:
            assert r.status == 400


async def wait_for(condition: Any, timeout: float = 15.0) -> None:
    async def poll() -> None:
        while not await condition():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def logged(daemon: Daemon, *linkedids: str) -> bool:
    pool = await daemon.app[DATABASE].pool()
    count = await pool.fetchval(
        "SELECT count(*) FROM calls WHERE linkedid = ANY($1)", list(linkedids)
    )
    return bool(count == len(linkedids))


async def test_history_csv_and_recordings(daemon: Daemon) -> None:
    sim = daemon.sim
    recorded = await sim.place_call(
        "905321112233", "Fatma Demir", "sales", consent="granted", answer_after=0.05, talk_s=0.2
    )
    formula = await sim.place_call(
        "4930123456",
        '=HYPERLINK("http://evil.example","x")',
        "sales",
        consent="declined",
        answer_after=0.05,
        talk_s=0.2,
    )
    await wait_for(lambda: logged(daemon, recorded, formula))
    boss, _ = await signed_in(daemon, "boss")
    async with boss:
        async with boss.get("/api/history", params={"number": "+90 532 111 22 33"}) as r:
            rows = (await r.json())["calls"]
        assert [row["linkedid"] for row in rows] == [recorded]
        assert rows[0]["has_recording"] and rows[0]["consent"] == "granted"
        async with boss.get("/api/history", params={"consent": "declined"}) as r:
            assert [row["linkedid"] for row in (await r.json())["calls"]] == [formula]
        async with boss.get("/api/history", params={"outcome": "maybe"}) as r:
            assert r.status == 400
        async with boss.get("/api/history.csv") as r:
            assert r.headers["Content-Type"].startswith("text/csv")
            table = list(csv.DictReader(io.StringIO(await r.text())))
        names = {row["linkedid"]: row["caller_name"] for row in table}
        assert names[formula].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it

        async with boss.get(f"/api/recordings/{recorded}", headers={"Range": "bytes=0-99"}) as r:
            assert r.status == 206 and r.headers["Content-Type"] == "audio/wav"
            body = await r.read()
        assert len(body) == 100 and body[:4] == b"RIFF"
        async with boss.get(f"/api/recordings/{formula}") as r:
            assert r.status == 404 and "no recording" in await r.text()
    agent, _ = await signed_in(daemon, "agent1")
    async with agent, agent.get(f"/api/recordings/{recorded}") as r:
        assert r.status == 403


async def test_the_csv_export_has_every_call_of_the_period_not_a_page(daemon: Daemon) -> None:
    # More calls than a page of the history (100) and than one batch of the stream (1000).
    pool = await daemon.app[DATABASE].pool()
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue,"
        " outcome, started_at) SELECT 'bulk.' || n, '0532' || n, 'Arayan ' || n, '4440',"
        " 'inbound', 'support', 'answered', now() - n * interval '1 second'"
        " FROM generate_series(1, 1234) AS n"
    )
    boss, _ = await signed_in(daemon, "boss")
    async with boss:
        async with boss.get("/api/history", params={"queue": "support"}) as r:
            page = await r.json()
        assert (len(page["calls"]), page["total"], page["total_capped"]) == (100, 1234, False)
        async with boss.get("/api/history.csv", params={"queue": "support"}) as r:
            assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
            table = list(csv.DictReader(io.StringIO(await r.text())))
        bulk = [row for row in table if row["linkedid"].startswith("bulk.")]
        assert len(bulk) == 1234
        assert bulk[0]["linkedid"] == "bulk.1"  # newest first, as on the page
        async with boss.get("/api/history.csv", params={"queue": "nobody"}) as r:
            assert (await r.text()).splitlines() == [",".join(reports.HISTORY_COLUMNS)]


# A fixed period, given with its offset: nothing here depends on today or the machine's zone.
PERIOD = {"from": "2031-03-09T00:00:00+00:00", "to": "2031-03-11T00:00:00+00:00"}


async def history_pages(
    session: aiohttp.ClientSession, **params: str
) -> tuple[list[dict[str, Any]], list[int], set[Any]]:
    """Every page of a search, following ``next``: the calls, each page's size, the totals."""
    calls: list[dict[str, Any]] = []
    sizes, totals = [], set()
    after = None
    while True:
        query = PERIOD | params | ({"after": after} if after else {})
        async with session.get("/api/history", params=query) as r:
            assert r.status == 200, await r.text()
            page = await r.json()
        calls += page["calls"]
        sizes.append(len(page["calls"]))
        totals.add((page["total"], page["total_capped"]))
        after = page["next"]
        if after is None:
            return calls, sizes, totals


async def test_the_history_pages_newest_first_through_cursors(daemon: Daemon) -> None:
    pool = await daemon.app[DATABASE].pool()
    # 250 calls, three to a second (ties broken by linkedid), and one on each side of the
    # period; every fifth abandoned.
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue,"
        " outcome, started_at) SELECT 'p.' || lpad(n::text, 3, '0'), '0532' || n, 'Arayan',"
        " '4440', 'inbound', 'support', CASE WHEN n % 5 = 0 THEN 'abandoned' ELSE 'answered'"
        " END, timestamptz '2031-03-10 12:00:00+00' - (n / 3) * interval '1 second'"
        " FROM generate_series(1, 250) AS n"
    )
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue,"
        " outcome, started_at) VALUES"
        " ('out.1', '1', 'x', '4440', 'inbound', 'support', 'answered', '2031-03-11 00:00+00'),"
        " ('out.2', '1', 'x', '4440', 'inbound', 'support', 'answered', '2031-03-08 23:59+00')"
    )
    expected = sorted(
        ((n // 3, f"p.{n:03d}") for n in range(1, 251)), key=lambda c: (-c[0], c[1]), reverse=True
    )
    boss, _ = await signed_in(daemon, "boss")
    async with boss:
        calls, sizes, totals = await history_pages(boss)
        assert sizes == [100, 100, 50] and totals == {(250, False)}
        assert [c["linkedid"] for c in calls] == [linkedid for _, linkedid in expected]
        starts = [datetime.fromisoformat(c["started_at"]) for c in calls]
        assert starts == sorted(starts, reverse=True)

        calls, sizes, totals = await history_pages(boss, outcome="abandoned", limit="7")
        assert sizes == [7] * 7 + [1] and totals == {(50, False)}
        assert [c["linkedid"] for c in calls] == [
            linkedid for n, linkedid in expected if int(linkedid[2:]) % 5 == 0
        ]
        async with boss.get("/api/history", params=PERIOD | {"limit": "1000"}) as r:
            page = await r.json()
        assert len(page["calls"]) == 250 and page["next"] is None

        for params, complaint in [
            ({"after": "not-a-cursor!"}, "after must be the `next` cursor"),
            ({"after": "WzEsMl0"}, "after must be the `next` cursor"),  # [1,2]: no linkedid
            ({"after": "WzEsIlx1MDAwMCJd"}, "after must be the `next` cursor"),  # [1,"\\u0000"]
            (
                {"after": "Wzk5OTk5OTk5OTk5OTk5OTk5OTk5LCIxLjEiXQ"},
                "after must be the `next` cursor",
            ),  # year 3e6
            ({"limit": "0"}, "limit must be a whole number from 1 to 1000"),
            ({"limit": "1001"}, "limit must be a whole number from 1 to 1000"),
            ({"limit": "ten"}, "limit must be a whole number from 1 to 1000"),
            ({"customer": "ab"}, "at least 3 letters"),
        ]:
            async with boss.get("/api/history", params=PERIOD | params) as r:
                assert (r.status, complaint in await r.text()) == (400, True), params
        backwards = {"from": PERIOD["to"], "to": PERIOD["from"]}
        for path in ("/api/history", "/api/history.csv"):
            async with boss.get(path, params=backwards) as r:
                assert r.status == 400 and "to must be after from" in await r.text()


async def test_the_history_total_is_counted_up_to_a_cap(daemon: Daemon) -> None:
    pool = await daemon.app[DATABASE].pool()
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue,"
        " outcome, started_at) SELECT 'c.' || n, '0532' || n, 'Arayan', '4440', 'inbound',"
        " CASE WHEN n <= 10000 THEN 'busy' ELSE 'calm' END, 'answered',"
        " timestamptz '2031-03-10 12:00:00+00' - n * interval '1 second'"
        " FROM generate_series(1, 10050) AS n"
    )
    boss, _ = await signed_in(daemon, "boss")
    async with boss:
        for params, total in [({}, (10000, True)), ({"queue": "busy"}, (10000, False))]:
            async with boss.get("/api/history", params=PERIOD | params) as r:
                page = await r.json()
            assert (page["total"], page["total_capped"]) == total
            assert len(page["calls"]) == 100 and page["next"] is not None


async def test_the_history_finds_customers_by_part_of_their_name(daemon: Daemon) -> None:
    pool = await daemon.app[DATABASE].pool()
    await pool.execute(
        "INSERT INTO customers (id, full_name) VALUES (1, 'Ayşe Yılmaz'), (2, 'Ali 100%_Kaya');"
        "INSERT INTO customer_phones (customer_id, e164, raw) VALUES"
        " (1, '+905321112233', '0532 111 22 33'), (2, '+905559998877', '0555 999 88 77');"
        "INSERT INTO calls (linkedid, caller_number, caller_e164, caller_name, dialed,"
        " direction, outcome, started_at) VALUES"
        " ('a.1', '05321112233', '+905321112233', 'A', '4440', 'inbound', 'answered',"
        "  '2031-03-10 09:00+00'),"
        " ('a.2', '05321112233', '+905321112233', 'A', '4440', 'inbound', 'answered',"
        "  '2031-03-10 10:00+00'),"
        " ('k.1', '05559998877', '+905559998877', 'K', '4440', 'inbound', 'answered',"
        "  '2031-03-10 11:00+00'),"
        " ('u.1', '05001112233', '+905001112233', 'U', '4440', 'inbound', 'answered',"
        "  '2031-03-10 12:00+00')"
    )
    # More phones of customers named alike than a page lists (reports.PHONES_LISTED).
    many = reports.PHONES_LISTED + 1
    await pool.execute(
        "INSERT INTO customers (id, full_name) SELECT 100 + n, 'Toplu Müşteri ' || n"
        " FROM generate_series(1, $1) AS n",
        many,
    )
    await pool.execute(
        "INSERT INTO customer_phones (customer_id, e164, raw) SELECT 100 + n,"
        " '+90544' || (1000000 + n), '0544' || (1000000 + n) FROM generate_series(1, $1) AS n",
        many,
    )
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_e164, caller_name, dialed,"
        " direction, outcome, started_at) SELECT 't.' || n, '0544' || (1000000 + n),"
        " '+90544' || (1000000 + n), 'T', '4440', 'inbound', 'answered',"
        " timestamptz '2031-03-10 08:00+00' - n * interval '1 second'"
        " FROM generate_series(1, $1, 1000) AS n",
        many,
    )
    boss, _ = await signed_in(daemon, "boss")
    async with boss:
        for part, found in [
            ("Yılmaz", ["a.2", "a.1"]),
            ("AYŞE", ["a.2", "a.1"]),  # case does not matter
            (" yıl ", ["a.2", "a.1"]),  # nor spaces around the part
            ("0%_K", ["k.1"]),  # LIKE's wildcards are plain characters
            ("a%a", []),
            ("Mehmet", []),
        ]:
            async with boss.get("/api/history", params=PERIOD | {"customer": part}) as r:
                page = await r.json()
            assert [c["linkedid"] for c in page["calls"]] == found, part
            assert page["total"] == len(found)
        assert page["calls"] == [] and page["next"] is None
        async with boss.get("/api/history.csv", params=PERIOD | {"customer": "kaya"}) as r:
            table = list(csv.DictReader(io.StringIO(await r.text())))
        assert [(row["linkedid"], row["customer"]) for row in table] == [("k.1", "Ali 100%_Kaya")]

        # A part that names that many customers is found another way: the same calls.
        for part, found in [
            ("toplu", ["t.1", "t.1001", "t.2001"]),  # every one of them
            ("Müşteri 2001", ["t.2001"]),  # one of them
        ]:
            async with boss.get(
                "/api/history", params=PERIOD | {"customer": part, "limit": "3"}
            ) as r:
                page = await r.json()
            assert [c["linkedid"] for c in page["calls"]] == found, part
            assert page["total"] == (11 if part == "toplu" else 1)
            calls, _, _ = await history_pages(boss, customer=part, limit="3")
            assert len(calls) == page["total"] and calls[0]["customer"].startswith("Toplu")


@pytest.mark.parametrize("mode", ["listen", "barge"])
async def test_supervisor_actions_are_audited_and_refusals_explained(
    daemon: Daemon, mode: str
) -> None:
    boss, csrf = await signed_in(daemon, "boss")
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    members = daemon.sim.pbx.queues["support"].members
    async with boss:
        while "SIP/1001" not in daemon.app[STATE].agents:
            await asyncio.sleep(0.05)
        async with boss.post(
            "/api/supervisor/pause",
            headers=headers,
            json={"interface": "SIP/1001", "paused": True, "reason": "Meeting"},
        ) as r:
            assert r.status == 200, await r.text()
        assert members["SIP/1001"].paused and members["SIP/1001"].reason == "Meeting"
        async with boss.post(
            "/api/supervisor/pause",
            headers=headers,
            json={"interface": "SIP/4242", "paused": True, "reason": "Meeting"},
        ) as r:
            assert r.status == 404
        async with boss.post(
            "/api/supervisor/spy", headers=headers, json={"interface": "SIP/1001", "mode": mode}
        ) as r:
            assert r.status == 200, await r.text()
        assert any(
            c.exten == "1001" and c.context == f"cti-spy-{mode}"
            for c in daemon.sim.pbx.channels.values()
        )
        await daemon.sim.go_offline()  # Asterisk away: the action fails and says so
        async with boss.post(
            "/api/supervisor/pause",
            headers=headers,
            json={"interface": "SIP/1001", "paused": False},
        ) as r:
            assert r.status == 502 and "Asterisk refused to unpause SIP/1001" in await r.text()
        async with boss.get("/api/supervisor/audit") as r:
            audit = await r.json()
    assert [(a["username"], a["action"], a["target"], a["accepted"]) for a in reversed(audit)] == [
        ("boss", "pause", "SIP/1001", True),
        ("boss", mode, "SIP/1001", True),
        ("boss", "unpause", "SIP/1001", False),
    ]


async def test_a_supervisor_reads_an_agents_day(daemon: Daemon) -> None:
    linkedid = await handled_call(daemon, "SIP/1001")
    agent, csrf = await signed_in(daemon, "agent1")
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    async with agent:
        async with agent.post(
            "/api/customers",
            headers=headers,
            json={"full_name": "Fatma Demir", "phone": "0532 111 22 33"},
        ) as r:
            customer = (await r.json())["id"]
        async with agent.post(
            f"/api/calls/{linkedid}/notes",
            headers=headers,
            json={
                "customer_id": customer,
                "disposition": "Payment promised",
                "text": "Pays on Friday",
            },
        ) as r:
            assert r.status == 201, await r.text()
        async with agent.post(
            f"/api/customers/{customer}/promises",
            headers=headers,
            json={"amount": "250.00", "due_date": "2099-01-02", "linkedid": linkedid},
        ) as r:
            assert r.status == 201, await r.text()
        async with agent.get("/api/supervisor/agent-day", params={"interface": "SIP/1001"}) as r:
            assert r.status == 403
    boss, _ = await signed_in(daemon, "boss")
    async with boss:
        async with boss.get("/api/supervisor/agent-day", params={"interface": "SIP/1001"}) as r:
            day = await r.json()
        assert (day["username"], day["day"]["calls"], day["day"]["promises"]) == ("agent1", 1, 1)
        assert [(n["customer_name"], n["text"]) for n in day["notes"]] == [
            ("Fatma Demir", "Pays on Friday")
        ]
        assert [(p["amount"], p["due_date"]) for p in day["promises"]] == [("250.00", "2099-01-02")]
        assert day["recent_calls"][0]["linkedid"] == linkedid
        async with boss.get("/api/supervisor/agent-day", params={"username": "agent2"}) as r:
            assert (await r.json())["day"]["calls"] == 0
        async with boss.get("/api/supervisor/agent-day", params={"interface": "SIP/4242"}) as r:
            assert r.status == 404


async def test_a_long_wait_raises_and_clears_an_alert_pushed_to_supervisors(
    database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(database_url, tmp_path, center_max_wait_s=1) as daemon:
        boss, _ = await signed_in(daemon, "boss")
        agent, _ = await signed_in(daemon, "agent1")
        async with (
            boss,
            agent,
            boss.ws_connect("/ws", headers={"Origin": daemon.url}) as ws,
            agent.ws_connect("/ws", headers={"Origin": daemon.url}) as agent_ws,
        ):
            await next_message(ws, "snapshot")
            await next_message(agent_ws, "snapshot")
            linkedid = await daemon.sim.place_call(
                "905321112233", "Fatma Demir", "sales", answer_after=None
            )
            raised = await next_message(ws, "alert", timeout=15)
            assert (raised["queue"], raised["kind"], raised["raised"]) == (
                "sales",
                "long_wait",
                True,
            )
            assert "limit 1 s" in raised["text"]
            async with boss.get("/api/wallboard") as r:
                sales = next(q for q in (await r.json())["queues"] if q["queue"] == "sales")
            assert [a["kind"] for a in sales["alerts"]] == ["long_wait"]
            assert daemon.sim.answer(linkedid)
            cleared = await next_message(ws, "alert", timeout=15)
            assert (cleared["queue"], cleared["kind"], cleared["raised"]) == (
                "sales",
                "long_wait",
                False,
            )
            raised_total = daemon.app[METRICS].registry.get_sample_value(
                "cti_alerts_raised_total", {"queue": "sales", "kind": "long_wait"}
            )
            assert raised_total == 1.0  # one event for the whole wait, not one per check
            with pytest.raises(TimeoutError):  # agents are not told about the center's alerts
                await next_message(agent_ws, "alert", timeout=0.5)


async def wallboard_and_kpi(daemon: Daemon, boss: aiohttp.ClientSession) -> tuple[Any, Any]:
    """Today's figures per queue from the wallboard, and recomputed from the stored events
    by the KPI API over the wallboard's day."""
    async with boss.get("/api/wallboard") as r:
        board = await r.json()
    recomputed = (await kpi(boss, **{"from": board["day_start"]}))["queues"]
    shown = {
        q["queue"]: q["windows"]["today"]
        for q in board["queues"]
        if q["windows"]["today"]["offered"]
    }
    return shown, recomputed


async def test_the_wallboard_equals_the_kpi_recomputation_before_and_after_a_restart(
    database_url: str, tmp_path: Path
) -> None:
    """The wallboard's live tallies and the KPI API's aggregate over the stored events give
    the same figures; after a restart the tallies come back from the call log (one query)."""
    sim = Simulator(replace(live_sim_config(), recordings_dir=tmp_path / "recordings"), port=0)
    await sim.start()
    try:
        async with daemon_on(sim, database_url, tmp_path) as daemon:
            boss, _ = await signed_in(daemon, "boss")
            async with boss, boss.ws_connect("/ws", headers={"Origin": daemon.url}) as ws:
                await next_message(ws, "snapshot")
                calls = [
                    await sim.place_call(
                        f"90532111{n:04}", "A", queue, answer_after=0.2, talk_s=0.3
                    )
                    for n, queue in enumerate(["support", "sales", "support", "sales"])
                ] + [
                    await sim.place_call(
                        f"90532122{n:04}", "B", "support", answer_after=None, patience_s=0.4
                    )
                    for n in range(2)
                ]
                await wait_for(lambda: logged(daemon, *calls), timeout=30)
                wall = await next_message(ws, "wall", timeout=5)  # pushed, not polled
                assert {q["queue"] for q in wall["queues"]} >= {"support", "sales"}

                async def quiet() -> bool:
                    return not daemon.app[STATE].calls

                await wait_for(quiet)
                await daemon.app[CALL_LOG].drain()
                shown, recomputed = await wallboard_and_kpi(daemon, boss)
                assert shown == recomputed
                assert shown["support"]["abandoned"] >= 2 and shown["sales"]["answered"] >= 2
                # A caller still waiting when the daemon stops.
                waiting = await sim.place_call("905321130000", "C", "sales", answer_after=None)

                async def queued() -> bool:
                    pool = await daemon.app[DATABASE].pool()
                    return bool(
                        await pool.fetchval(
                            "SELECT count(*) FROM call_events WHERE linkedid = $1", waiting
                        )
                    )

                await wait_for(queued)
        async with daemon_on(sim, database_url, tmp_path) as daemon:
            boss, _ = await signed_in(daemon, "boss")
            async with boss:
                shown, recomputed = await wallboard_and_kpi(daemon, boss)  # seeded
                assert shown == recomputed
                # ... is followed on from the call log after the restart: answered, ended.
                assert sim.answer(waiting)
                await sim.hangup(waiting)
                await wait_for(lambda: logged(daemon, waiting), timeout=30)
                await daemon.app[CALL_LOG].drain()
                shown, recomputed = await wallboard_and_kpi(daemon, boss)
                assert shown == recomputed
    finally:
        await sim.stop()
