"""Click-to-dial through the live daemon's API (POST /api/agent/dial): who may call out and
what is refused with a reason."""

from __future__ import annotations

from pathlib import Path

from harness import Daemon, running_daemon, signed_in, wait_until

from cti.keys import STATE


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
