"""A disposition made mandatory per queue (CTI_CENTER_DISPOSITION_REQUIRED), through the live
daemon's API: the agent who answered a call of such a queue is refused Ready, with the
reason, until a note with a disposition is saved for it; a note without one does not count;
without the setting nothing is owed."""

from __future__ import annotations

from pathlib import Path

from harness import handled_call, running_daemon, signed_in


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
