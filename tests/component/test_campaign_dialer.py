"""The progressive dialer (cti/campaigns/dialer.py) in the live daemon against the simulator:
a ready agent of a running campaign is given its customers one after the other, the answered
one is held in wrap-up until the agent is ready again, each attempt is counted with its
outcome, and those the rules keep off the list (a promise not yet due, the do-not-call list)
are never dialled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
from harness import Daemon, posted, running_daemon, signed_in, wait_until

from cti.campaigns.dialer import ROUND_S
from cti.demo import DEMO_CAMPAIGN, seed_demo_campaign, seed_demo_customers
from cti.keys import DATABASE, METRICS, STATE
from cti.simulator import OutboundBehaviour
from cti.state import views
from cti.state.changes import AgentState
from cti.state.store import CtiState

# name, number (E.164), balance, what their phone does
CUSTOMERS = (
    ("Ali Veli", "+905301000001", 100, OutboundBehaviour(outcome="answer", answer_after_s=0.2)),
    ("Banu Er", "+905301000002", 200, OutboundBehaviour(outcome="busy", answer_after_s=0.2)),
    ("Cem Ay", "+905301000003", 300, OutboundBehaviour(outcome="answer")),  # promised, not due
    ("Deniz Su", "+905301000004", 400, OutboundBehaviour(outcome="answer")),  # do not call
)
ALL_DAY = {"calls_from": "00:00", "calls_until": "23:59:59.999999", "weekdays": list(range(1, 8))}


async def _customer(pool: asyncpg.Pool, name: str, number: str, balance: int) -> int:
    customer_id: int = await pool.fetchval(
        "INSERT INTO customers (full_name, balance) VALUES ($1, $2) RETURNING id", name, balance
    )
    await pool.execute(
        "INSERT INTO customer_phones (customer_id, e164, raw) VALUES ($1, $2, $2)",
        customer_id,
        number,
    )
    return customer_id


def agent_state(state: CtiState, interface: str) -> AgentState | None:
    agent = views.agent(state, interface)
    return agent.state if agent is not None else None


async def _rows(daemon: Daemon, campaign_id: int) -> list[dict[str, Any]]:
    pool = await daemon.app[DATABASE].pool()
    found = await pool.fetch(
        "SELECT * FROM calls WHERE campaign_id = $1 AND ended_at IS NOT NULL ORDER BY started_at",
        campaign_id,
    )
    return [dict(r) for r in found]


async def test_a_campaign_calls_its_list_for_a_ready_agent(
    database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(database_url, tmp_path) as daemon:
        pool = await daemon.app[DATABASE].pool()
        for name, number, balance, behaviour in CUSTOMERS:
            await _customer(pool, name, number, balance)
            daemon.sim.set_customer(number.removeprefix("+"), behaviour)
        await pool.execute(
            "INSERT INTO promises (customer_id, user_id, amount, currency, due_date)"
            " SELECT c.id, u.id, 50, 'TRY', current_date + 5 FROM customers c, users u"
            " WHERE c.full_name = 'Cem Ay' AND u.username = 'agent2'"
        )
        status, body = await posted(
            daemon, "boss", "/api/do-not-call", {"number": "0530 100 00 04", "reason": "asked"}
        )
        assert status == 201, body
        new = {"name": "Arrears", "caller_id": "+902125550000", "agents": ["SIP/1002"], **ALL_DAY}
        status, body = await posted(daemon, "root", "/api/campaigns", new)
        assert status == 201, body
        campaign_id = body["id"]
        path = f"/api/campaigns/{campaign_id}"
        status, body = await posted(daemon, "boss", f"{path}/list", {"filter": {"balance_over": 0}})
        assert (status, body["added"]) == (200, 4), body
        state = daemon.app[STATE]
        await asyncio.sleep(2 * ROUND_S + 0.5)  # two dialing rounds, SIP/1002 ready
        assert not await _rows(daemon, campaign_id)  # a new campaign is paused
        status, _ = await posted(daemon, "boss", f"{path}/paused", {"paused": False})
        assert status == 200

        # Ali answers: the agent is held in wrap-up until they are ready again.
        await wait_until(lambda: agent_state(state, "SIP/1002") is AgentState.WRAP_UP, 30)
        while not await _rows(daemon, campaign_id):  # the call log's row follows the call
            await asyncio.sleep(0.05)
        (ali,) = await _rows(daemon, campaign_id)
        assert (ali["caller_number"], ali["direction"], ali["agent"]) == (
            "905301000001",
            "outbound",
            "SIP/1002",
        )
        assert (ali["attempt"], ali["outcome"], ali["consent"]) == (1, "answered", "granted")
        # The agent's disposition says how the attempt ended: a machine took it.
        note = {"disposition": "Answering machine", "text": "left no message"}
        status, _ = await posted(daemon, "agent2", f"/api/calls/{ali['linkedid']}/notes", note)
        assert status == 201
        # Paused meanwhile, the campaign calls no one, however ready the agent is.
        status, _ = await posted(daemon, "boss", f"{path}/paused", {"paused": True})
        assert status == 200
        status, _ = await posted(daemon, "agent2", "/api/agent/state", {"paused": False})
        assert status == 200
        await wait_until(lambda: agent_state(state, "SIP/1002") is AgentState.READY)
        await asyncio.sleep(2 * ROUND_S + 0.5)
        assert len(await _rows(daemon, campaign_id)) == 1
        status, _ = await posted(daemon, "boss", f"{path}/paused", {"paused": False})
        assert status == 200
        # Then Banu, busy; then no one: Cem promised to pay later, Deniz is not to be called.
        while len(await _rows(daemon, campaign_id)) < 2:
            await asyncio.sleep(0.1)
        entries = {
            r["full_name"]: (r["attempts_total"], r["last_outcome"], r["status"])
            for r in await pool.fetch(
                "SELECT c.full_name, e.* FROM campaign_entries e JOIN customers c"
                " ON c.id = e.customer_id WHERE e.campaign_id = $1",
                campaign_id,
            )
        }
        while entries["Banu Er"][0] == 0:  # counted once its call has ended
            await asyncio.sleep(0.1)
            entries["Banu Er"] = tuple(
                await pool.fetchrow(
                    "SELECT attempts_total, last_outcome, status FROM campaign_entries e"
                    " JOIN customers c ON c.id = e.customer_id WHERE c.full_name = 'Banu Er'"
                )
            )
        assert entries == {
            "Ali Veli": (1, "machine", "open"),  # tried again after the machine's delay
            "Banu Er": (1, "busy", "open"),  # again after the busy retry delay
            "Cem Ay": (0, None, "open"),
            "Deniz Su": (0, None, "open"),
        }
        banu = (await _rows(daemon, campaign_id))[1]
        assert (banu["caller_number"], banu["outcome"]) == ("905301000002", "busy")
        session, _ = await signed_in(daemon, "boss")
        async with session, session.get("/api/campaigns") as r:
            (figures,) = await r.json()
        assert (figures["attempts_today"], figures["contacts_today"], figures["listed"]) == (
            2,
            1,
            4,
        )
        assert figures["right_party_today"] == 0  # Ali's was an answering machine
        registry = daemon.app[METRICS].registry
        for outcome, count in (("machine", 1), ("busy", 1)):
            labels = {"campaign": str(campaign_id), "outcome": outcome}
            assert registry.get_sample_value("cti_campaign_attempts_total", labels) == count
        status, _ = await posted(daemon, "boss", f"{path}/paused", {"paused": True})
        assert status == 200


async def test_the_demo_campaign_calls_the_debtors_but_one_who_promised(
    database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(database_url, tmp_path) as daemon:
        pool = await daemon.app[DATABASE].pool()
        await seed_demo_customers(pool, "agent1")
        await seed_demo_campaign(pool)
        await seed_demo_campaign(pool)  # idempotent, as `cti demo` restarts
        for number in ("905301110001", "905301110002", "4930123456"):
            daemon.sim.set_customer(number, OutboundBehaviour(outcome="busy", answer_after_s=0.1))
        called: set[str] = set()
        while len(called) < 3:  # Zeynep, Emre, José; never Ayşe (promised) nor Mehmet (owes 0)
            rows = await pool.fetch(
                "SELECT caller_number, agent FROM calls WHERE campaign_id IS NOT NULL"
                " AND ended_at IS NOT NULL"
            )
            assert {r["agent"] for r in rows} <= {"SIP/1003"}
            called = {r["caller_number"] for r in rows}
            assert called <= {"905301110001", "905301110002", "4930123456"}, called
            await asyncio.sleep(0.1)
        (campaign,) = await pool.fetch("SELECT name, paused FROM campaigns")
        assert (campaign["name"], campaign["paused"]) == (DEMO_CAMPAIGN, False)


async def test_a_campaign_calls_wrap_up_ends_by_itself_after_the_centers_wrap_up_time(
    database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(database_url, tmp_path, center_wrapup_s=1) as daemon:
        pool = await daemon.app[DATABASE].pool()
        number = "+905301000009"
        customer_id = await _customer(pool, "Ece Nur", number, 90)
        daemon.sim.set_customer(
            number.removeprefix("+"), OutboundBehaviour(outcome="answer", talk_s=0.5)
        )
        new = {"name": "Short", "caller_id": "+902125550000", "agents": ["SIP/1002"], **ALL_DAY}
        _, body = await posted(daemon, "root", "/api/campaigns", new)
        path = f"/api/campaigns/{body['id']}"
        await posted(daemon, "boss", f"{path}/list", {"filter": {"balance_over": 0}})
        await posted(daemon, "boss", f"{path}/paused", {"paused": False})
        # Nobody presses Ready: the wrap-up ends after 1 s and the attempt is counted.
        while not await pool.fetchval(
            "SELECT last_outcome FROM campaign_entries WHERE customer_id = $1", customer_id
        ):
            await asyncio.sleep(0.1)
        assert agent_state(daemon.app[STATE], "SIP/1002") is AgentState.READY
        assert (
            await pool.fetchval(
                "SELECT last_outcome FROM campaign_entries WHERE customer_id = $1", customer_id
            )
            == "answered"
        )


async def test_the_figures_give_todays_promises_in_each_currency(
    database_url: str, tmp_path: Path
) -> None:
    """A campaign's customers may owe in other currencies than the center's: today's promises
    are summed per currency (promised_today_by_currency), those of another day not at all."""
    async with running_daemon(database_url, tmp_path) as daemon:
        new = {"name": "Arrears", "caller_id": "+902125550000", "agents": ["SIP/1002"], **ALL_DAY}
        status, body = await posted(daemon, "root", "/api/campaigns", new)
        assert status == 201, body
        pool = await daemon.app[DATABASE].pool()
        # (linkedid, currency, amount, days ago): the call and the promise made on it
        made = (("c1", "TRY", "100.50", 0), ("c2", "TRY", "200", 0), ("c3", "EUR", "50", 0))
        for linkedid, currency, amount, days_ago in (*made, ("c0", "TRY", "999", 2)):
            await pool.execute(
                "INSERT INTO calls (linkedid, caller_number, caller_name, dialed, direction,"
                " outcome, started_at, campaign_id, attempt) VALUES ($1, '905301000001', '',"
                " '905301000001', 'outbound', 'answered', now() - make_interval(days => $2),"
                " $3, 1)",
                linkedid,
                days_ago,
                body["id"],
            )
            await pool.execute(
                "INSERT INTO customers (full_name, balance, currency) VALUES ($1, 1000, $2)",
                f"Customer {linkedid}",
                currency,
            )
            await pool.execute(
                "INSERT INTO promises (customer_id, user_id, linkedid, amount, currency, due_date)"
                " SELECT c.id, u.id, $1, $2::numeric, $3, current_date + 3 FROM customers c,"
                " users u WHERE c.full_name = $4 AND u.username = 'agent2'",
                linkedid,
                amount,
                currency,
                f"Customer {linkedid}",
            )
        session, _ = await signed_in(daemon, "boss")
        async with session, session.get("/api/campaigns") as r:
            (figures,) = await r.json()
        assert (figures["attempts_today"], figures["promises_today"]) == (3, 3)
        assert figures["promised_today_by_currency"] == [  # that of the most promises first
            {"currency": "TRY", "amount": "300.50"},
            {"currency": "EUR", "amount": "50.00"},
        ]
