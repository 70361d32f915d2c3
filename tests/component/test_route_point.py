"""The ACD route point on the live daemon, asked over real TCP the way Asterisk's FastAGI
does it: skills decide the agent, the last agent is preferred, debt raises the priority,
nobody fitting holds the call, every decision is explained to supervisors,
and a broken or foreign AGI peer never stops the next call from being routed."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from harness import Daemon, free_port, running_daemon, signed_in

from cti.ami import actions
from cti.keys import AMI, DATABASE, METRICS, STATE
from cti.state.changes import AgentState

ROUTING = """
policy = "longest_idle"
ring_s = 15
debt_priority_over = 10000

[routes.collections-tr]
skills = "turkish:3, collections:2"
priority = 1

[routes.turkish]
skills = "turkish:1"

[routes.english]
skills = "english:1"

[agents]
"SIP/1001" = "turkish:5, collections:3"
"SIP/1002" = "turkish:2"
"SIP/1003" = "turkish:4, collections:2"
"""


async def ask(port: int, route: str, number: str, uniqueid: str) -> dict[str, str]:
    """One AGI conversation as Asterisk holds it: environment, then answer each command."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    environment = {
        "agi_network": "yes",
        "agi_network_script": "route",
        "agi_request": f"agi://127.0.0.1:{port}/route",
        "agi_channel": "SIP/trunk-00000007",
        "agi_language": "en",
        "agi_type": "SIP",
        "agi_uniqueid": uniqueid,
        "agi_callerid": number,
        "agi_calleridname": "Fatma Demir",
        "agi_context": "cti-route",
        "agi_extension": "s",
        "agi_priority": "3",
        "agi_arg_1": route,
    }
    writer.write("".join(f"{k}: {v}\n" for k, v in environment.items()).encode() + b"\n")
    variables = {}
    while line := await reader.readline():
        command = re.fullmatch(r'SET VARIABLE (\w+) "(.*)"', line.decode().strip())
        assert command, line
        variables[command[1]] = command[2]
        writer.write(b"200 result=1\n")
        await writer.drain()
    writer.close()
    return variables


async def test_route_point_decisions(database_url: str, tmp_path: Path) -> None:
    routing = tmp_path / "routing.toml"
    routing.write_text(ROUTING, encoding="utf-8")
    port = free_port()
    async with running_daemon(
        database_url, tmp_path, routing_file=str(routing), routing_agi_port=port
    ) as daemon:
        await ready(daemon, "SIP/1001", "SIP/1002", "SIP/1003")
        await actions.queue_pause(daemon.app[AMI], "SIP/1003", True, reason="Lunch")
        while daemon.app[STATE].agents["SIP/1003"].derive_state(None)[0] != AgentState.PAUSED:
            await asyncio.sleep(0.02)

        # Skills: only SIP/1001 has turkish>=3 and collections>=2 and is ready.
        assert await ask(port, "collections-tr", "905321112233", "1.1") == {
            "CTI_ROUTE": "agent",
            "CTI_ROUTE_AGENT": "SIP/1001",
            "CTI_ROUTE_RING_S": "15",
            "CTI_ROUTE_PRIORITY": "1",
        }
        # Nobody has the skill: the call holds for the ACD.
        assert await ask(port, "english", "905321112233", "1.2") == {
            "CTI_ROUTE": "hold",
            "CTI_ROUTE_RING_S": "15",
            "CTI_ROUTE_PRIORITY": "0",
        }
        assert (await ask(port, "no-such-route", "905321112233", "1.3"))["CTI_ROUTE"] == "queue"

        pool = await daemon.app[DATABASE].pool()
        # Sticky: this caller last spoke with SIP/1002, who is free and fits.
        await pool.execute(
            "INSERT INTO calls (linkedid, caller_number, caller_e164, caller_name, dialed, direction,"
            " agent, outcome, started_at, answered_at) VALUES ('0.9', '905551112233',"
            " '+905551112233', 'Mehmet', '4442', 'inbound', 'SIP/1002', 'answered',"
            " now() - interval '1 day', now() - interval '1 day')"
        )
        sticky = await ask(port, "turkish", "0555 111 22 33", "1.4")
        assert sticky["CTI_ROUTE_AGENT"] == "SIP/1002"
        # Debt over the threshold: one priority level up.
        customer = await pool.fetchval(
            "INSERT INTO customers (full_name, balance) VALUES ('Borçlu', 25000) RETURNING id"
        )
        await pool.execute(
            "INSERT INTO customer_phones VALUES ($1, '+905321112233', 'x')", customer
        )
        owed = await ask(port, "collections-tr", "+90 532 111 22 33", "1.5")
        assert owed["CTI_ROUTE_PRIORITY"] == "2"

        # A peer that is not Asterisk, or hangs up early, is dropped; routing goes on.
        for junk in (b"", b"agi_network: yes\n", b"agi_network_script: other\n\n", b"\xff\xfe\n\n"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(junk)
            writer.write_eof()
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
        # (SIP/1001 and SIP/1002 were offered calls that never rang: they sit out a while.)
        assert (await ask(port, "turkish", "905321112233", "1.6"))["CTI_ROUTE"] == "hold"

        boss, _ = await signed_in(daemon, "boss")
        async with boss, boss.get("/api/routing/decisions", params={"linkedid": "1.1"}) as r:
            [decision] = await r.json()
        assert decision["agent"] == "SIP/1001" and decision["route"] == "collections-tr"
        assert "turkish>=3 and collections>=2" in decision["reason"]
        why = {c["interface"]: c["why"] for c in decision["considered"]}
        assert why["SIP/1002"] == "turkish level 2 < 3, lacks collections"
        assert why["SIP/1003"] == "not ready"
        await pool.execute(
            "INSERT INTO calls (linkedid, caller_number, caller_e164, caller_name, dialed,"
            " direction, agent, outcome, started_at) VALUES ('1.1', '905321112233',"
            " '+905321112233', 'Fatma', '4442', 'inbound', 'SIP/1001', 'answered', now())"
        )
        boss, _ = await signed_in(daemon, "boss")
        async with boss, boss.get("/api/history", params={"number": "905321112233"}) as r:
            history = {row["linkedid"]: row["routing"] for row in (await r.json())["calls"]}
        assert history["1.1"] == decision["reason"]  # the call history says why, too
        registry = daemon.app[METRICS].registry
        assert [
            registry.get_sample_value(
                "cti_routing_decisions_total", {"route": "collections-tr", "outcome": outcome}
            )
            for outcome in ("agent", "hold")
        ] == [1.0, 1.0]  # 1.5: SIP/1001 was offered 1.1


async def ready(daemon: Daemon, *interfaces: str) -> None:
    agents = daemon.app[STATE].agents
    while not all(
        i in agents and agents[i].derive_state(None)[0] == AgentState.READY for i in interfaces
    ):
        await asyncio.sleep(0.02)
