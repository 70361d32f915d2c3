"""An agent's attended transfer through the live daemon's API, against the simulator: the
consulted agent gets the call's screen-pop, the agent's hang-up completes the transfer and
the call log names the consulted agent; a cancelled consultation leaves the call the first
agent's. The real-PBX tier checks the same on Asterisk (tests/pbx/test_agent_call_tools.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness import (
    Daemon,
    answered,
    live_sim_config,
    logged_row,
    next_message,
    running_daemon,
    signed_in,
    wait_until,
)

from cti.keys import STATE
from cti.simulator import FeaturesConfig

FIRST, CONSULTED = "SIP/1001", "SIP/1002"


@asynccontextmanager
async def agent_panel(daemon: Daemon, username: str) -> AsyncIterator[Any]:
    """``username``'s session: ``post(path)`` with its CSRF token, and ``ws``, its websocket
    (past the snapshot)."""
    session, csrf = await signed_in(daemon, username)
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}

    async def post(path: str, body: dict[str, Any]) -> tuple[int, Any]:
        async with session.post(path, headers=headers, json=body) as r:
            return r.status, await (r.json() if r.status == 200 else r.text())

    async with session, session.ws_connect("/ws", headers={"Origin": daemon.url}) as ws:
        await next_message(ws, "snapshot")
        yield post, ws


@asynccontextmanager
async def consultation(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Daemon, Any, str]]:
    """The daemon, agent1's session (``post``) and a support call SIP/1001 answered, then
    consulting SIP/1002, whose phone rings with the call's screen-pop on their panel and
    who answers; its Linkedid."""
    # The consultation is dialled 0.1 s after the digits (features.conf says 2 s).
    sim_config = replace(live_sim_config(), features=FeaturesConfig(transfer_digit_timeout_s=0.1))
    async with (
        running_daemon(database_url, tmp_path, sim_config) as daemon,
        agent_panel(daemon, "agent1") as (post, _),
    ):
        linkedid = await answered(daemon, "905320000606", FIRST)
        async with agent_panel(daemon, "agent2") as (_, ws):  # the support ring is over
            status, body = await post(
                f"/api/calls/{linkedid}/transfer", {"agent": CONSULTED, "attended": True}
            )
            assert (status, body) == (200, {"consulting": CONSULTED}), body
            pop = await next_message(ws, "pop")
            assert (pop["linkedid"], pop["caller_number"]) == (linkedid, "905320000606")
            agents = daemon.app[STATE].agents
            assert linkedid in agents[CONSULTED].ringing.values()
            await wait_until(lambda: daemon.sim.answer(linkedid, CONSULTED))
            await wait_until(lambda: agents[CONSULTED].talking == linkedid)
        yield daemon, post, linkedid


async def logged_after(
    daemon: Daemon, post: Any, linkedid: str, path: str, on_the_call: str, off_it: str
) -> Any:
    """agent1 posts ``path``; once the daemon has ``off_it`` off the call and ``on_the_call``
    on it, the caller hangs up: the call's row in the call log."""
    status, body = await post(f"/api/calls/{linkedid}/{path}", {})
    assert status == 200, body
    agents = daemon.app[STATE].agents
    await wait_until(lambda: agents[off_it].talking is None)
    assert agents[on_the_call].talking == linkedid
    await daemon.sim.hangup(linkedid)
    return await logged_row(daemon, linkedid)


async def test_the_agents_hang_up_completes_the_transfer_to_the_consulted_agent(
    database_url: str, tmp_path: Path
) -> None:
    async with consultation(database_url, tmp_path) as (daemon, post, linkedid):
        # The panel's Complete: the agent hangs up; the caller then talks to SIP/1002.
        row = await logged_after(daemon, post, linkedid, "hangup", CONSULTED, FIRST)
    assert (row["outcome"], row["agent"], row["queue"]) == ("transferred", CONSULTED, "support")


async def test_a_cancelled_consultation_leaves_the_call_to_the_first_agent(
    database_url: str, tmp_path: Path
) -> None:
    async with consultation(database_url, tmp_path) as (daemon, post, linkedid):
        row = await logged_after(daemon, post, linkedid, "transfer/cancel", FIRST, CONSULTED)
    assert (row["outcome"], row["agent"]) == ("answered", FIRST)
