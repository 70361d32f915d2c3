"""An agent's blind transfer and hang-up through the live daemon's API, against the
simulator: the call log gets what a real Asterisk gives it for the same calls
(tests/pbx/test_agent_call_tools.py): outcome transferred, the row naming where the call
ended, and each queue passage in call_events."""

from __future__ import annotations

import asyncio
from pathlib import Path

from harness import answered, logged_row, running_daemon, signed_in, wait_until

from cti.keys import DATABASE, STATE


async def test_a_transfer_to_a_queue_is_logged_as_asterisk_logs_it(
    database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(database_url, tmp_path) as daemon:
        linkedid = await answered(daemon, "905320000303", "SIP/1001")
        agent, csrf = await signed_in(daemon, "agent1")
        headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
        async with agent:
            async with agent.post(
                f"/api/calls/{linkedid}/transfer", headers=headers, json={"queue": "sales"}
            ) as r:
                assert r.status == 200, await r.text()
            # 1001's leg has gone: a second transfer or a hang-up from it is refused.
            state = daemon.app[STATE]
            await wait_until(lambda: state.agents["SIP/1001"].talking is None)
            async with agent.post(f"/api/calls/{linkedid}/hangup", headers=headers, json={}) as r:
                assert r.status == 404, await r.text()
        await wait_until(lambda: daemon.sim.answer(linkedid, "SIP/1003"))
        await asyncio.sleep(0.2)
        await daemon.sim.hangup(linkedid)
        await wait_until(lambda: linkedid not in daemon.app[STATE].calls)
        row = await logged_row(daemon, linkedid)
        assert (row["outcome"], row["queue"], row["agent"]) == ("transferred", "sales", "SIP/1003")
        pool = await daemon.app[DATABASE].pool()
        passages = await pool.fetch(
            "SELECT queue, interface FROM call_events WHERE linkedid = $1"
            " AND kind = 'agent_connect' ORDER BY at",
            linkedid,
        )
        assert [tuple(p) for p in passages] == [("support", "SIP/1001"), ("sales", "SIP/1003")]


async def test_the_agent_hangs_up_their_call(database_url: str, tmp_path: Path) -> None:
    async with running_daemon(database_url, tmp_path) as daemon:
        linkedid = await answered(daemon, "905320000301", "SIP/1001")
        agent, csrf = await signed_in(daemon, "agent1")
        async with (
            agent,
            agent.post(
                f"/api/calls/{linkedid}/hangup",
                headers={"X-CSRF-Token": csrf, "Origin": daemon.url},
                json={},
            ) as r,
        ):
            assert r.status == 200, await r.text()
        row = await logged_row(daemon, linkedid)
        assert (row["outcome"], row["agent"]) == ("answered", "SIP/1001")
