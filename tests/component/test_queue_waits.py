"""The queues' waiting callers reach every page over the websocket: in the snapshot, then
once a second when they changed (an agent's page shows its own queues)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import next_message, running_daemon, signed_in

from cti.ami import actions
from cti.keys import AMI


def waits(message: dict[str, Any]) -> dict[str, tuple[int, bool]]:
    """Per queue: how many wait, and whether a longest wait is given."""
    return {
        q["queue"]: (q["waiting"], q["oldest_queued_at"] is not None)
        for q in message.get("queue_waits", message.get("queues"))
    }


async def test_a_waiting_caller_reaches_the_agents_pages(database_url: str, tmp_path: Path) -> None:
    async with running_daemon(database_url, tmp_path) as daemon:
        await actions.queue_pause(daemon.app[AMI], "SIP/1003", True, reason="Lunch")
        agent, _ = await signed_in(daemon, "agent1")
        async with agent, agent.ws_connect("/ws", headers={"Origin": daemon.url}) as ws:
            snapshot = await next_message(ws, "snapshot")
            assert waits(snapshot) == {"sales": (0, False), "support": (0, False)}
            linkedid = await daemon.sim.place_call(
                "905320000401", "Ece Tan", "sales", answer_after=None, talk_s=5
            )
            while waits(message := await next_message(ws, "queue_waits"))["sales"][0] == 0:
                pass
            assert waits(message) == {"sales": (1, True), "support": (0, False)}
            await daemon.sim.hangup(linkedid)
            while waits(await next_message(ws, "queue_waits"))["sales"] != (0, False):
                pass
