"""Click-to-dial through the live daemon's API (POST /api/agent/dial) against the simulator:
what is refused with a reason, and the calls logged as the agent's outbound calls (the
real-PBX tier checks the same on Asterisk: tests/pbx/test_agent_call_tools.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from harness import Daemon, running_daemon, signed_in, wait_until

from cti.keys import DATABASE, STATE
from cti.simulator import OutboundBehaviour


async def _dial(daemon: Daemon, username: str, body: object) -> tuple[int, str]:
    session, csrf = await signed_in(daemon, username)
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    async with session, session.post("/api/agent/dial", headers=headers, json=body) as r:
        return r.status, await r.text()


async def test_what_click_to_dial_refuses_and_why(database_url: str, tmp_path: Path) -> None:
    async with running_daemon(database_url, tmp_path) as daemon:
        for body, status, reason in (
            ({"number": "not a number"}, 400, "number must be a phone number"),
            ({"number": 905321112233}, 400, "number must be a phone number"),
            ({"number": "+905321112233", "customer_id": "7"}, 400, "customer_id must be a number"),
            ({"number": "+905321112233", "customer_id": 987654}, 404, "no such customer"),
            ([], 400, "JSON object"),
        ):
            got, text = await _dial(daemon, "agent1", body)
            assert (got, reason in text) == (status, True), (body, got, text)
        got, text = await _dial(daemon, "root", {"number": "+905321112233"})  # no phone
        assert (got, "no phone to call from" in text) == (409, True), text
        # On a call, the agent finishes it first.
        sim, state = daemon.sim, daemon.app[STATE]
        linkedid = await sim.place_call("905320001111", "Ece Tan", "support", answer_after=None)
        await wait_until(lambda: sim.answer(linkedid, "SIP/1001"))
        await wait_until(lambda: state.agents["SIP/1001"].talking == linkedid)
        got, text = await _dial(daemon, "agent1", {"number": "+905321112233"})
        assert (got, "finish the call you are on" in text) == (409, True), text
        await sim.hangup(linkedid)


async def _row_of(daemon: Daemon, linkedid: str) -> dict[str, object]:
    pool = await daemon.app[DATABASE].pool()
    row = None
    while row is None or row["ended_at"] is None:
        row = await pool.fetchrow("SELECT * FROM calls WHERE linkedid = $1", linkedid)
        await asyncio.sleep(0.05)
    return dict(row)


async def test_click_to_dial_calls_are_logged_as_the_agents_outbound_calls(
    database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(database_url, tmp_path) as daemon:
        sim, state = daemon.sim, daemon.app[STATE]
        answers = OutboundBehaviour(outcome="answer", answer_after_s=0.2, talk_s=1.0)
        sim.set_customer("905321112244", answers)
        sim.set_customer("905321112255", OutboundBehaviour(outcome="busy", answer_after_s=0.2))
        facts = []
        for number in ("0532 111 22 44", "+90 532 111 22 55"):
            await wait_until(lambda: state.agents["SIP/1001"].talking is None)
            status, text = await _dial(daemon, "agent1", {"number": number})
            assert status == 202, text
            row = await _row_of(daemon, json.loads(text)["linkedid"])
            facts.append(
                (
                    row["direction"],
                    row["agent"],
                    row["caller_number"],
                    row["outcome"],
                    row["consent"],
                )
            )
        assert facts == [
            ("outbound", "SIP/1001", "905321112244", "answered", "granted"),
            ("outbound", "SIP/1001", "905321112255", "busy", None),
        ]
