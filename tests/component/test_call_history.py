"""The call history's API on the live daemon (issue 17): an agent is found by the name the
panel shows or their username (their phones' calls), each call carries what its agents
saved (disposition, notes) and its agent's name, and a search that cannot be answered is
refused with a 400 that says why, never answered with an empty page."""

from __future__ import annotations

import csv
import io
from typing import Any

import aiohttp
from harness import Daemon, signed_in

from cti.keys import DATABASE

PERIOD = {"from": "2031-03-09T00:00:00+00:00", "to": "2031-03-11T00:00:00+00:00"}


async def seed(daemon: Daemon) -> None:
    pool = await daemon.app[DATABASE].pool()
    # agent1 (Ayla Demir) has SIP/1001; a user with two phones; one with none.
    await pool.execute(
        "INSERT INTO users (username, display_name, role, password_hash, interfaces) VALUES"
        " ('twin', 'Cem İki Telefon', 'agent', 'x', '{SIP/1005,SIP/1006}'),"
        " ('desk', 'Deniz Masa', 'admin', 'x', '{}')"
    )
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction, queue,"
        " agent, agent_name, outcome, started_at) VALUES"
        " ('a.1', '0532', 'A', '4440', 'inbound', 'support', 'SIP/1001', 'Agent 1001',"
        "  'answered', '2031-03-10 09:00+00'),"
        " ('a.2', '0532', 'A', '4440', 'inbound', 'support', 'SIP/1001', 'Agent 1001',"
        "  'answered', '2031-03-10 10:00+00'),"
        " ('b.1', '0533', 'B', '4440', 'inbound', 'support', 'SIP/1002', 'Agent 1002',"
        "  'answered', '2031-03-10 11:00+00'),"
        " ('t.1', '0534', 'T', '4440', 'inbound', 'support', 'SIP/1005', NULL,"
        "  'answered', '2031-03-10 12:00+00'),"
        " ('t.2', '0534', 'T', '4440', 'inbound', 'support', 'SIP/1006', NULL,"
        "  'answered', '2031-03-10 13:00+00'),"
        " ('x.1', '0535', 'X', '4440', 'inbound', 'support', 'SIP/1077', 'Gone Member',"
        "  'answered', '2031-03-10 14:00+00'),"
        " ('n.1', '0536', 'N', '4440', 'inbound', 'support', NULL, NULL,"
        "  'abandoned', '2031-03-10 15:00+00')"
    )
    await pool.execute(
        "INSERT INTO call_notes (linkedid, user_id, disposition, text)"
        " SELECT 'a.2', id, d, x FROM users, (VALUES (1, 'Sale', 'First note'),"
        " (2, NULL, 'Second note'), (3, NULL, ''), (4, 'Callback', 'Third note'))"
        " AS notes (n, d, x) WHERE username = 'agent1' ORDER BY n"
    )


async def found(session: aiohttp.ClientSession, **params: str) -> tuple[int, Any]:
    async with session.get("/api/history", params=PERIOD | params) as r:
        return r.status, await (r.json() if r.status == 200 else r.text())


async def test_the_history_finds_an_agent_by_name_username_or_phone(daemon: Daemon) -> None:
    await seed(daemon)
    boss, _ = await signed_in(daemon, "boss")
    async with boss:
        for who, calls in [
            ("Ayla Demir", ["a.2", "a.1"]),  # the name the panel shows
            ("  ayla DEMIR ", ["a.2", "a.1"]),  # any case, spaces around
            ("agent1", ["a.2", "a.1"]),  # the username
            ("SIP/1001", ["a.2", "a.1"]),  # a phone, as before
            ("Burak Kaya", ["b.1"]),
            ("twin", ["t.2", "t.1"]),  # every phone of the agent
        ]:
            status, page = await found(boss, agent=who)
            assert status == 200, page
            assert [c["linkedid"] for c in page["calls"]] == calls, who
            assert page["total"] == len(calls)
        async with boss.get("/api/history.csv", params=PERIOD | {"agent": "Cem İki Telefon"}) as r:
            table = list(csv.DictReader(io.StringIO(await r.text())))
        assert [row["linkedid"] for row in table] == ["t.2", "t.1"]

        status, text = await found(boss, agent="Nobody")
        assert status == 400 and 'no one is called "Nobody"' in text
        status, text = await found(boss, agent="Deniz Masa")
        assert status == 400 and "has no phone" in text
        async with boss.get("/api/history.csv", params=PERIOD | {"agent": "Nobody"}) as r:
            assert r.status == 400

        async with boss.get("/api/history/agents") as r:
            agents = await r.json()
        assert [(a["name"], a["username"]) for a in agents] == [
            ("Ayla Demir", "agent1"),
            ("Burak Kaya", "agent2"),
            ("Cem İki Telefon", "twin"),
            ("Selin Aydın", "boss"),
        ]


async def test_each_call_has_its_agent_name_disposition_and_notes(daemon: Daemon) -> None:
    await seed(daemon)
    boss, _ = await signed_in(daemon, "boss")
    async with boss:
        status, page = await found(boss)
        assert status == 200, page
        calls = {c["linkedid"]: c for c in page["calls"]}
        assert calls["a.2"]["agent_name"] == "Ayla Demir"  # the user, not Asterisk's member name
        assert calls["x.1"]["agent_name"] == "Gone Member"  # no user has that phone any more
        assert calls["t.1"]["agent_name"] == "Cem İki Telefon"
        assert calls["n.1"]["agent_name"] is None
        # The last disposition given, and every note's text in the order written.
        assert calls["a.2"]["disposition"] == "Callback"
        assert calls["a.2"]["note"] == "First note\nSecond note\nThird note"
        assert calls["a.1"]["disposition"] is None and calls["a.1"]["note"] is None
        async with boss.get("/api/history.csv", params=PERIOD) as r:
            table = {row["linkedid"]: row for row in csv.DictReader(io.StringIO(await r.text()))}
        assert (table["a.2"]["disposition"], table["a.2"]["note"]) == (
            "Callback",
            "First note\nSecond note\nThird note",
        )
        assert table["a.2"]["agent_name"] == "Ayla Demir"


async def test_a_reversed_period_is_refused_and_says_so(daemon: Daemon) -> None:
    boss, _ = await signed_in(daemon, "boss")
    async with boss:
        for path in ("/api/history", "/api/history.csv"):
            for params in (
                {"from": "2031-03-11", "to": "2031-03-09"},
                {"from": PERIOD["to"], "to": PERIOD["from"]},
            ):
                async with boss.get(path, params=params) as r:
                    text = await r.text()
                assert r.status == 400, (path, params)
                assert text.startswith("the period is reversed or empty: to must be after from")
                assert f"(from {params['from']}, to {params['to']})" in text
        # One day, given as the same date twice, is that whole day: not reversed.
        async with boss.get("/api/history", params={"from": "2031-03-10", "to": "2031-03-10"}) as r:
            assert r.status == 200


async def test_customers_are_searched_by_the_name_and_phones_they_have_now(
    daemon: Daemon,
) -> None:
    # Each phone carries its customer's name for the search (migration 017): renaming the
    # customer, adding a phone or giving it to someone else changes what the search finds,
    # in the same transaction; the copy cannot be written by hand.
    pool = await daemon.app[DATABASE].pool()
    await pool.execute(
        "INSERT INTO customers (id, full_name) VALUES (1, 'Ayşe Yılmaz'), (2, 'Kemal Kaya');"
        "INSERT INTO customer_phones (customer_id, e164, raw) VALUES"
        " (1, '+905321112233', '0532 111 22 33');"
        "INSERT INTO calls (linkedid, caller_number, caller_e164, caller_name, dialed,"
        " direction, outcome, started_at) VALUES"
        " ('a.1', '05321112233', '+905321112233', 'A', '4440', 'inbound', 'answered',"
        "  '2031-03-10 09:00+00'),"
        " ('k.1', '05559998877', '+905559998877', 'K', '4440', 'inbound', 'answered',"
        "  '2031-03-10 10:00+00')"
    )
    boss, _ = await signed_in(daemon, "boss")

    async def search(part: str) -> list[tuple[str, str]]:
        status, page = await found(boss, customer=part)
        assert status == 200, page
        return [(c["linkedid"], c["customer"]) for c in page["calls"]]

    async with boss:
        assert await search("yılmaz") == [("a.1", "Ayşe Yılmaz")]
        await pool.execute("UPDATE customers SET full_name = 'Ayşe Demir' WHERE id = 1")
        assert (await search("yılmaz"), await search("DEMİR")) == ([], [("a.1", "Ayşe Demir")])
        await pool.execute(
            "INSERT INTO customer_phones (customer_id, e164, raw)"
            " VALUES (2, '+905559998877', '0555 999 88 77')"
        )
        assert await search("kaya") == [("k.1", "Kemal Kaya")]
        await pool.execute(
            "UPDATE customer_phones SET customer_id = 2 WHERE e164 = '+905321112233'"
        )
        assert await search("demir") == []
        assert await search("kaya") == [("k.1", "Kemal Kaya"), ("a.1", "Kemal Kaya")]
        await pool.execute("UPDATE customer_phones SET full_name = 'Sahte İsim'")
        assert await search("sahte") == []
    names = await pool.fetch("SELECT DISTINCT full_name FROM customer_phones")
    assert [r["full_name"] for r in names] == ["Kemal Kaya"]
