"""A disposition made mandatory per queue (CTI_CENTER_DISPOSITION_REQUIRED), through the live
daemon's API: the agent who answered a call of such a queue is refused Ready, with the
reason, until a note with a disposition is saved for it; a note without one does not count;
without the setting nothing is owed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from harness import handled_call, running_daemon, signed_in

from cti.keys import STATE


async def test_ready_waits_for_the_disposition_the_queue_requires(
    database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(
        database_url, tmp_path, center_disposition_required=("support",)
    ) as daemon:
        linkedid = await handled_call(daemon, "SIP/1001")
        agent, csrf = await signed_in(daemon, "agent1")
        headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
        async with agent:

            async def ready() -> tuple[int, str]:
                async with agent.post(
                    "/api/agent/state", headers=headers, json={"paused": False}
                ) as r:
                    return r.status, await r.text()

            status, text = await ready()
            assert status == 409, text
            assert "choose a disposition for the call from Fatma Demir" in text
            assert "queue support needs one" in text
            async with agent.post(
                f"/api/calls/{linkedid}/notes", headers=headers, json={"text": "no code yet"}
            ) as r:
                assert r.status == 201
            assert (await ready())[0] == 409  # a note without a disposition does not count
            async with agent.post(
                f"/api/calls/{linkedid}/notes",
                headers=headers,
                json={"disposition": "Resolved", "text": ""},
            ) as r:
                assert r.status == 201
            assert (await ready())[0] == 200
            # Paused meanwhile? Pausing is never refused for a disposition.
            async with agent.post(
                "/api/agent/state", headers=headers, json={"paused": True, "reason": "Break"}
            ) as r:
                assert r.status == 200

    # Without the setting, the same call owes nothing.
    async with running_daemon(database_url, tmp_path / "plain") as daemon:
        await handled_call(daemon, "SIP/1001")
        agent, csrf = await signed_in(daemon, "agent1")
        async with (
            agent,
            agent.post(
                "/api/agent/state",
                headers={"X-CSRF-Token": csrf, "Origin": daemon.url},
                json={"paused": False},
            ) as r,
        ):
            assert r.status == 200, await r.text()


async def test_the_disposition_is_taken_while_the_call_log_row_is_on_its_way(
    database_url: str, tmp_path: Path
) -> None:
    """Wrap-up comes right after the call, before the writer's batch (or, through a database
    outage, much later): the agent who answered may still give its disposition then. Seen in
    CI under load, where the note was refused with 404 and the agent could not get ready."""
    async with running_daemon(
        database_url, tmp_path, center_disposition_required=("support",)
    ) as daemon:
        sim, state = daemon.sim, daemon.app[STATE]
        blocker = await asyncpg.connect(database_url)
        try:
            # The writer cannot add a call row while this lock is held; reads still can.
            locked = blocker.transaction()
            await locked.start()
            await blocker.execute("LOCK TABLE calls IN EXCLUSIVE MODE")
            linkedid = await sim.place_call(
                "905321112233", "Fatma Demir", "support", answer_after=None
            )
            while linkedid not in state.calls or "SIP/1001" not in state.calls[linkedid].ringing:
                await asyncio.sleep(0.02)
            assert sim.answer(linkedid, "SIP/1001")
            while state.calls[linkedid].agent != "SIP/1001":
                await asyncio.sleep(0.02)
            await sim.hangup(linkedid)
            while linkedid in state.calls:
                await asyncio.sleep(0.02)
            assert not await blocker.fetchval(
                "SELECT count(*) FROM calls WHERE linkedid = $1", linkedid
            )

            note = {"disposition": "Resolved", "text": "paid by card"}
            other, other_csrf = await signed_in(daemon, "agent2")
            async with (
                other,
                other.post(
                    f"/api/calls/{linkedid}/notes",
                    headers={"X-CSRF-Token": other_csrf, "Origin": daemon.url},
                    json=note,
                ) as r,
            ):
                assert r.status == 404  # only the agent who answered it
            agent, csrf = await signed_in(daemon, "agent1")
            headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
            async with agent:
                async with agent.post(
                    f"/api/calls/{linkedid}/notes", headers=headers, json=note
                ) as r:
                    assert r.status == 201, await r.text()
                async with agent.post(
                    "/api/agent/state", headers=headers, json={"paused": False}
                ) as r:
                    assert r.status == 200, await r.text()
            await locked.rollback()
        finally:
            await blocker.close()
