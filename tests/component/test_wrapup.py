"""Wrap-up held by the daemon: after a queue call the agent is paused with reason Wrap-up
(shown as the wrap-up state) until they press Ready, or until the configured limit, the
center's or the queue's."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from harness import handled_call, next_message, running_daemon, signed_in

from cti.keys import STATE
from cti.settings import seconds_by_queue


async def next_state(ws: Any) -> str:
    return str((await next_message(ws, "agent_state"))["state"])


async def test_wrap_up_lasts_until_the_agent_presses_ready(
    database_url: str, tmp_path: Path
) -> None:
    async with running_daemon(database_url, tmp_path, center_wrapup_s=300) as daemon:
        agent, csrf = await signed_in(daemon, "agent1")
        async with agent, agent.ws_connect("/ws", headers={"Origin": daemon.url}) as ws:
            await next_message(ws, "snapshot")
            await handled_call(daemon, "SIP/1001")
            while (state := await next_state(ws)) != "wrap_up":
                assert state in ("ringing", "on_call", "ready"), state
            members = daemon.sim.pbx.queues["support"].members
            assert members["SIP/1001"].paused and members["SIP/1001"].reason == "Wrap-up"
            # A new call rings the other phone only: Asterisk offers nothing in wrap-up.
            second = await daemon.sim.place_call(
                "905551112233", "Mehmet Öztürk", "support", answer_after=None
            )
            calls = daemon.app[STATE].calls
            while second not in calls or "SIP/1002" not in calls[second].ringing:
                await asyncio.sleep(0.02)
            assert "SIP/1001" not in calls[second].ringing
            async with agent.post(
                "/api/agent/state",
                json={"paused": False},
                headers={"X-CSRF-Token": csrf, "Origin": daemon.url},
            ) as r:
                assert r.status == 200, await r.text()
            assert await next_state(ws) in ("ready", "ringing")  # ringall: maybe at once


@pytest.mark.parametrize(
    "limits",
    [
        {"center_wrapup_s": 0.5},
        # The queue's own time wins over the center's.
        {"center_wrapup_s": 300, "center_wrapup_by_queue": ("sales:300", "support:0.5")},
    ],
)
async def test_wrap_up_ends_by_itself_after_the_limit(
    database_url: str, tmp_path: Path, limits: dict[str, Any]
) -> None:
    async with running_daemon(database_url, tmp_path, **limits) as daemon:
        agent, _ = await signed_in(daemon, "agent1")
        async with agent, agent.ws_connect("/ws", headers={"Origin": daemon.url}) as ws:
            await next_message(ws, "snapshot")
            await handled_call(daemon, "SIP/1001")
            while await next_state(ws) != "wrap_up":
                pass
            assert await next_state(ws) == "ready"
            assert not daemon.sim.pbx.queues["support"].members["SIP/1001"].paused


def test_per_queue_wrap_up_times_are_checked() -> None:
    assert seconds_by_queue(["support:30", " collections : 0 "]) == {
        "support": 30.0,
        "collections": 0.0,
    }
    for wrong in ("support", "support:soon", ":30", "support:-1", "support:99999"):
        with pytest.raises(ValueError, match="queue:seconds"):
            seconds_by_queue([wrong])
