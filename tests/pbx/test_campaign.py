"""A small campaign on a real Asterisk: the dialer rings the agent's phone, then the
customer's phone behind the trunk, who hears the recording notice; the agent hangs up, is
held in wrap-up, gets ready, and the next customer is called. Each call is logged as the
campaign's attempt, and each entry counted."""

from __future__ import annotations

import asyncio

from ami_reader import RawAmi
from conftest import LiveDaemon, Pbx

from cti.keys import DATABASE, STATE
from cti.state import views
from cti.state.changes import AgentState

CUSTOMERS = (("Nur Tan", "+905320000701"), ("Oya Kar", "+905320000702"))
ALL_DAY = {"calls_from": "00:00", "calls_until": "23:59:59.999999", "weekdays": list(range(1, 8))}


async def _post(daemon: LiveDaemon, username: str, path: str, body: object) -> object:
    session, csrf = await daemon.signed_in(username)
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    async with session.post(path, headers=headers, json=body) as r:
        assert r.status in (200, 201), await r.text()
        return await r.json()


async def test_a_campaign_calls_two_customers_one_after_the_other(
    pbx: Pbx, ami: RawAmi, daemon: LiveDaemon
) -> None:
    pool = await daemon.app[DATABASE].pool()
    for name, number in CUSTOMERS:
        customer_id = await pool.fetchval(
            "INSERT INTO customers (full_name, balance) VALUES ($1, 100) RETURNING id", name
        )
        await pool.execute(
            "INSERT INTO customer_phones (customer_id, e164, raw) VALUES ($1, $2, $2)",
            customer_id,
            number,
        )
    new = {"name": "Tier", "caller_id": "+902125550000", "agents": ["PJSIP/1001"], **ALL_DAY}
    campaign = await _post(daemon, "root", "/api/campaigns", new)
    assert isinstance(campaign, dict)
    path = f"/api/campaigns/{campaign['id']}"
    await _post(daemon, "boss", f"{path}/list", {"filter": {"balance_over": 0}})
    await _post(daemon, "boss", f"{path}/paused", {"paused": False})
    state = daemon.app[STATE]
    for _, number in CUSTOMERS:
        # The customer's phone answers (SIPp, 1.5 s), hears the notice, is recorded.
        linkedid = None
        while linkedid is None:
            linkedid = next(
                (
                    e["Linkedid"]
                    for e in ami.named("MixMonitorStart")
                    if e.get("CallerIDNum") == number.removeprefix("+")
                ),
                None,
            )
            await asyncio.sleep(0.1)
        await _post(daemon, "agent1", f"/api/calls/{linkedid}/hangup", {})
        row = await daemon.row(linkedid, ended=True)
        assert (row["direction"], row["agent"], row["campaign_id"], row["attempt"]) == (
            "outbound",
            "PJSIP/1001",
            campaign["id"],
            1,
        )
        assert (row["caller_number"], row["outcome"], row["consent"]) == (
            number.removeprefix("+"),
            "answered",
            "granted",
        )
        # Held in wrap-up (Asterisk paused the member), then ready for the next one.
        while (
            agent := views.agent(state, "PJSIP/1001")
        ) is None or agent.state is not AgentState.WRAP_UP:
            await asyncio.sleep(0.1)
        await _post(daemon, "agent1", "/api/agent/state", {"paused": False})
    done: list[tuple[object, ...]] = []
    while len(done) < 2:  # each attempt is counted once the agent has left its wrap-up
        rows = await pool.fetch(
            "SELECT attempts_total, last_outcome, status FROM campaign_entries"
            " WHERE campaign_id = $1 AND attempts_total > 0",
            campaign["id"],
        )
        done = sorted(tuple(r) for r in rows)
        await asyncio.sleep(0.1)
    assert done == [(1, "answered", "done")] * 2
    await _post(daemon, "boss", f"{path}/paused", {"paused": True})
