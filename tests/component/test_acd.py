"""The ACD end to end: the simulator's route points ask the daemon's FastAGI over TCP, the
daemon dials or holds, and moves held calls with AMI Redirects, as on a real Asterisk.

Scenarios whose right assignment is known in advance (skills, priorities, ring-no-answer),
and the safety net: with the daemon stopped mid-traffic, calls still reach agents through
the plain queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
from harness import Daemon, daemon_on, free_port, live_sim_config, running_daemon

from cti.ami import actions
from cti.keys import AMI, DATABASE, METRICS, STATE
from cti.simulator import QueueConfig, RoutePointConfig, SimConfig, Simulator
from cti.state.changes import AgentState

ROUTING = """
policy = "longest_idle"
ring_s = 1

[routes.collections-tr]
skills = "collections:2"
priority = 1

[routes.vip-tr]
skills = "collections:2"
priority = 5

[routes.turkish]
skills = "turkish:1"

[routes.english]
skills = "english:1"

[agents]
"SIP/1001" = "turkish:5, collections:3"
"SIP/1002" = "turkish:2"
"SIP/1003" = "turkish:4, collections:2"
"""


def acd_sim_config(agi_port: int, hold_s: float = 60.0) -> SimConfig:
    """The live test center plus a holding queue and one route point per route."""
    base = live_sim_config()
    hold = QueueConfig("collections", "4449", (), "ringall", consent="none")
    points = tuple(
        RoutePointConfig(name, did, "collections", "support", hold_s=hold_s, agi_timeout_s=1)
        for name, did in (("collections-tr", "4442"), ("vip-tr", "4443"),
                          ("turkish", "4444"), ("english", "4445"))
    )  # fmt: skip
    return replace(base, queues=(*base.queues, hold), route_points=points, agi_port=agi_port)


def routing_settings(data_dir: Path, agi_port: int) -> dict[str, Any]:
    routing = data_dir / "routing.toml"
    routing.write_text(ROUTING, encoding="utf-8")
    return {"routing_file": str(routing), "routing_agi_port": agi_port}


@asynccontextmanager
async def acd_daemon(database_url: str, data_dir: Path) -> AsyncIterator[Daemon]:
    port = free_port()
    async with running_daemon(database_url, data_dir, acd_sim_config(port),
                              **routing_settings(data_dir, port)) as daemon:  # fmt: skip
        yield daemon


async def until(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"still waiting for: {what}") from None


def ringing_at(daemon: Daemon, linkedid: str) -> set[str]:
    call = daemon.app[STATE].calls.get(linkedid)
    return set(call.ringing) if call is not None else set()


def holding(daemon: Daemon) -> list[str]:
    queue = daemon.app[STATE].queues.get("collections")
    return [c.linkedid for c in queue.callers.values()] if queue is not None else []


async def set_paused(daemon: Daemon, interface: str, paused: bool) -> None:
    await actions.queue_pause(daemon.app[AMI], interface, paused, reason="Lunch" if paused else "")
    wanted = AgentState.PAUSED if paused else AgentState.READY
    await until(lambda: daemon.app[STATE].agents[interface].derive_state(None)[0] == wanted,
                f"{interface} {wanted}")  # fmt: skip


async def answered_by(daemon: Daemon, linkedid: str, interface: str) -> None:
    await until(lambda: interface in ringing_at(daemon, linkedid), f"{linkedid} at {interface}")
    assert ringing_at(daemon, linkedid) == {interface}
    assert daemon.sim.answer(linkedid, interface)
    await until(lambda: daemon.app[STATE].calls[linkedid].agent == interface,
                f"{interface} on {linkedid}")  # fmt: skip


async def call(daemon: Daemon, route: str, number: str = "905321112233") -> str:
    return await daemon.sim.place_call(number, "Fatma Demir", route, answer_after=None,
                                       talk_s=600)  # fmt: skip


async def test_skills_and_priorities_decide_who_takes_which_call(
    database_url: str, tmp_path: Path
) -> None:
    async with acd_daemon(database_url, tmp_path) as daemon:
        state = daemon.app[STATE]
        await until(lambda: all(i in state.agents for i in ("SIP/1001", "SIP/1002", "SIP/1003")),
                    "agents known")  # fmt: skip
        await set_paused(daemon, "SIP/1003", True)

        # Only SIP/1001 has collections>=2 and is ready: the route point dials it.
        first = await call(daemon, "collections-tr")
        await answered_by(daemon, first, "SIP/1001")
        # Nobody with the skill is free: both wait on hold, the VIP one arriving last.
        waiting = await call(daemon, "collections-tr", "905551112233")
        vip = await call(daemon, "vip-tr", "905301110001")
        await until(lambda: set(holding(daemon)) == {waiting, vip}, "two calls on hold")
        # A Turkish call goes to the free SIP/1002; the held calls cannot use them.
        turkish = await call(daemon, "turkish", "905301110002")
        await answered_by(daemon, turkish, "SIP/1002")
        assert set(holding(daemon)) == {waiting, vip}

        # SIP/1003 comes back: the VIP call is served first although it came later.
        await set_paused(daemon, "SIP/1003", False)
        await answered_by(daemon, vip, "SIP/1003")
        assert holding(daemon) == [waiting]
        # SIP/1001 frees up: the call still waiting gets them.
        await daemon.sim.hangup(first)
        await answered_by(daemon, waiting, "SIP/1001")
        assert holding(daemon) == []

        pool = await daemon.app[DATABASE].pool()
        moved = await pool.fetchrow(
            "SELECT route, agent, reason FROM routing_decisions WHERE linkedid = $1"
            " AND agent IS NOT NULL", vip)  # fmt: skip
        assert (moved["route"], moved["agent"]) == ("vip-tr", "SIP/1003")
        for linkedid in (turkish, vip, waiting):
            await daemon.sim.hangup(linkedid)
        await until(lambda: not state.calls, "every call ended")
        rows = {r["linkedid"]: r for r in await wait_rows(pool, first, waiting, vip, turkish)}
        assert {k: (r["agent"], r["queue"], r["outcome"]) for k, r in rows.items()} == {
            first: ("SIP/1001", "collections", "answered"),
            waiting: ("SIP/1001", "collections", "answered"),
            vip: ("SIP/1003", "collections", "answered"),
            turkish: ("SIP/1002", "collections", "answered"),
        }
        registry = daemon.app[METRICS].registry
        assert registry.get_sample_value("cti_routing_decisions_total",
                                         {"route": "vip-tr", "outcome": "moved"}) == 1.0


async def wait_rows(pool: asyncpg.Pool, *linkedids: str) -> list[dict[str, object]]:
    async def fetch() -> list[dict[str, object]]:
        return [dict(r) for r in await pool.fetch(
            "SELECT linkedid, agent, queue, outcome, wait_s FROM calls WHERE linkedid = ANY($1)",
            list(linkedids))]

    while len(rows := await fetch()) < len(linkedids):
        await asyncio.sleep(0.05)
    return rows


async def test_ring_no_answer_pauses_the_agent_and_the_call_keeps_its_place(
    database_url: str, tmp_path: Path
) -> None:
    async with acd_daemon(database_url, tmp_path) as daemon:
        state = daemon.app[STATE]
        await until(lambda: "SIP/1003" in state.agents, "agents known")
        await set_paused(daemon, "SIP/1003", True)
        missed = await call(daemon, "collections-tr")
        await until(lambda: "SIP/1001" in ringing_at(daemon, missed), "the ring at SIP/1001")
        # Nobody answers within ring_s (1 s): SIP/1001 is paused, the call goes on hold.
        await until(lambda: holding(daemon) == [missed], "the call back on hold")
        members = daemon.sim.pbx.queues["support"].members
        await until(lambda: members["SIP/1001"].paused, "SIP/1001 paused")
        assert members["SIP/1001"].reason == "No answer"
        assert state.agents["SIP/1001"].derive_state(None) == (AgentState.PAUSED, "No answer")
        # A later call with the same need queues behind it; the first keeps its place.
        later = await call(daemon, "collections-tr", "905551112233")
        await until(lambda: holding(daemon) == [missed, later] or
                    set(holding(daemon)) == {missed, later}, "both on hold")  # fmt: skip
        await set_paused(daemon, "SIP/1003", False)
        await answered_by(daemon, missed, "SIP/1003")
        assert holding(daemon) == [later]
        pool = await daemon.app[DATABASE].pool()
        agents = [r["agent"] for r in await pool.fetch(
            "SELECT agent FROM routing_decisions WHERE linkedid = $1 ORDER BY id", missed)]
        assert agents == ["SIP/1001", "SIP/1003"]


async def test_calls_reach_agents_through_the_queue_while_the_daemon_is_stopped(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    sim = Simulator(acd_sim_config(port, hold_s=2), port=0)
    await sim.start()
    try:
        async with daemon_on(sim, database_url, tmp_path,
                             **routing_settings(tmp_path, port)) as daemon:  # fmt: skip
            await until(lambda: "SIP/1001" in daemon.app[STATE].agents, "agents known")
            talking = await call(daemon, "turkish")
            await until(lambda: bool(ringing_at(daemon, talking)), "the Turkish call ringing")
            (agent,) = ringing_at(daemon, talking)
            assert sim.answer(talking, agent)
            # Nobody speaks English: this call holds while the daemon is up.
            held = await call(daemon, "english", "905551112233")
            await until(lambda: holding(daemon) == [held], "the English call on hold")
        # The daemon is gone. The held call leaves the hold after hold_s for the queue, a new
        # call's AGI fails and goes to the queue at once, and the call in progress goes on.
        fresh = await sim.place_call("905301110001", "Zeynep Arslan", "collections-tr",
                                     answer_after=None)  # fmt: skip
        assert sim.is_answered(talking)
        await sim.hangup(talking)  # both support phones are free for the two calls now
        await until(lambda: all([sim.answer(c) or sim.is_answered(c) for c in (held, fresh)]),
                    "both calls answered by agents")  # fmt: skip
        fallbacks = [c for c in sim.pbx.calls.values() if c.queue == "support"]
        assert {c.caller.linkedid for c in fallbacks} == {held, fresh}
    finally:
        await sim.stop()
