"""The ACD end to end: the simulator's route points ask the daemon's FastAGI over TCP, the
daemon dials or holds, and moves held calls with AMI Redirects, as on a real Asterisk.

Scenarios whose right assignment is known in advance (skills, priorities, ring-no-answer,
wrap-up after an ACD call, agents shared with the plain queues), and the safety net: with
the daemon stopped mid-traffic, calls still reach agents through the plain queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from harness import Daemon, daemon_on, free_port, live_sim_config, running_daemon

from cti.ami import actions
from cti.keys import AMI, DATABASE, METRICS, PIPELINE, STATE
from cti.routing.acd import Acd
from cti.simulator import QueueConfig, RoutePointConfig, SimConfig, Simulator
from cti.state.changes import AgentState, AgentStateChanged, Change

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
        for name, did in (
            ("collections-tr", "4442"),
            ("vip-tr", "4443"),
            ("turkish", "4444"),
            ("english", "4445"),
        )
    )
    return replace(base, queues=(*base.queues, hold), route_points=points, agi_port=agi_port)


def routing_settings(data_dir: Path, agi_port: int) -> dict[str, Any]:
    routing = data_dir / "routing.toml"
    routing.write_text(ROUTING, encoding="utf-8")
    return {"routing_file": str(routing), "routing_agi_port": agi_port}


def with_plain_queues(config: SimConfig, **options: Any) -> SimConfig:
    """The plain queues (support, sales) with app_queue's options changed (wrapup_s, ...)."""
    holds = {point.hold_queue for point in config.route_points}
    return replace(
        config, queues=tuple(q if q.name in holds else replace(q, **options) for q in config.queues)
    )


@asynccontextmanager
async def acd_daemon(
    database_url: str, data_dir: Path, plain_queues: dict[str, Any] | None = None, **settings: Any
) -> AsyncIterator[Daemon]:
    port = free_port()
    config = with_plain_queues(acd_sim_config(port), **(plain_queues or {}))
    async with running_daemon(
        database_url, data_dir, config, **routing_settings(data_dir, port), **settings
    ) as daemon:
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
    await until(
        lambda: daemon.app[STATE].agents[interface].derive_state(None)[0] == wanted,
        f"{interface} {wanted}",
    )


async def answered_by(daemon: Daemon, linkedid: str, interface: str) -> None:
    await until(lambda: interface in ringing_at(daemon, linkedid), f"{linkedid} at {interface}")
    assert ringing_at(daemon, linkedid) == {interface}
    assert daemon.sim.answer(linkedid, interface)
    await until(
        lambda: daemon.app[STATE].calls[linkedid].agent == interface, f"{interface} on {linkedid}"
    )


async def call(daemon: Daemon, route: str, number: str = "905321112233") -> str:
    return await daemon.sim.place_call(number, "Fatma Demir", route, answer_after=None, talk_s=600)


async def test_skills_and_priorities_decide_who_takes_which_call(
    database_url: str, tmp_path: Path
) -> None:
    async with acd_daemon(database_url, tmp_path) as daemon:
        state = daemon.app[STATE]
        await until(
            lambda: all(i in state.agents for i in ("SIP/1001", "SIP/1002", "SIP/1003")),
            "agents known",
        )
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
            " AND agent IS NOT NULL",
            vip,
        )
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
        assert (
            registry.get_sample_value(
                "cti_routing_decisions_total", {"route": "vip-tr", "outcome": "moved"}
            )
            == 1.0
        )


async def wait_rows(pool: asyncpg.Pool, *linkedids: str) -> list[dict[str, object]]:
    async def fetch() -> list[dict[str, object]]:
        return [
            dict(r)
            for r in await pool.fetch(
                "SELECT linkedid, agent, queue, outcome, wait_s FROM calls WHERE linkedid = ANY($1)",
                list(linkedids),
            )
        ]

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
        await until(
            lambda: holding(daemon) == [missed, later] or set(holding(daemon)) == {missed, later},
            "both on hold",
        )
        await set_paused(daemon, "SIP/1003", False)
        await answered_by(daemon, missed, "SIP/1003")
        assert holding(daemon) == [later]
        pool = await daemon.app[DATABASE].pool()
        agents = [
            r["agent"]
            for r in await pool.fetch(
                "SELECT agent FROM routing_decisions WHERE linkedid = $1 ORDER BY id", missed
            )
        ]
        assert agents == ["SIP/1001", "SIP/1003"]


async def test_calls_reach_agents_through_the_queue_while_the_daemon_is_stopped(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    sim = Simulator(acd_sim_config(port, hold_s=2), port=0)
    await sim.start()
    try:
        async with daemon_on(
            sim, database_url, tmp_path, **routing_settings(tmp_path, port)
        ) as daemon:
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
        fresh = await sim.place_call(
            "905301110001", "Zeynep Arslan", "collections-tr", answer_after=None
        )
        assert sim.is_answered(talking)
        await sim.hangup(talking)  # both support phones are free for the two calls now
        await until(
            lambda: all([sim.answer(c) or sim.is_answered(c) for c in (held, fresh)]),
            "both calls answered by agents",
        )
        fallbacks = [c for c in sim.pbx.calls.values() if c.queue == "support"]
        assert {c.caller.linkedid for c in fallbacks} == {held, fresh}
    finally:
        await sim.stop()


# --- wrap-up after ACD calls, and agents shared with the plain queues -------------------


class StatesOf:
    """A pipeline sink that keeps the states the daemon announces for one agent, in order."""

    def __init__(self, interface: str) -> None:
        self.interface = interface
        self.states: list[AgentState] = []

    def offer(self, changes: Sequence[Change]) -> None:
        self.states += [
            c.state
            for c in changes
            if isinstance(c, AgentStateChanged) and c.interface == self.interface
        ]


def acd_of(daemon: Daemon) -> Acd:
    return next(sink for sink in daemon.app[PIPELINE].sinks if isinstance(sink, Acd))


def no_answers(daemon: Daemon, linkedid: str) -> int:
    call = daemon.app[STATE].calls.get(linkedid)
    return call.no_answer_count if call is not None else -1


async def agents_known(daemon: Daemon) -> None:
    state = daemon.app[STATE]
    await until(
        lambda: all(i in state.agents for i in ("SIP/1001", "SIP/1002", "SIP/1003")), "agents known"
    )


@pytest.mark.parametrize("center_wrapup_s", [0, 300], ids=["wrapuptime", "center-wrap-up"])
async def test_an_acd_call_ends_in_wrap_up_before_the_agent_gets_a_held_call(
    database_url: str, tmp_path: Path, center_wrapup_s: float
) -> None:
    # The queues' wrapuptime is 3 s, as queues.conf's (5 s) keeps agents between queue calls.
    # A call the route point dialled gets it too, although app_queue never saw that call:
    # in the state core (the ACD) and through a Wrap-up pause (Asterisk's queues). With a
    # center wrap-up set, that one holds, until the agent presses Ready.
    async with acd_daemon(
        database_url, tmp_path, {"wrapup_s": 3.0}, center_wrapup_s=center_wrapup_s
    ) as daemon:
        state = daemon.app[STATE]
        await agents_known(daemon)
        await set_paused(daemon, "SIP/1003", True)  # SIP/1001 alone has collections skills
        first = await call(daemon, "collections-tr", "905300000001")
        await answered_by(daemon, first, "SIP/1001")
        held = await call(daemon, "collections-tr", "905300000002")
        await until(lambda: holding(daemon) == [held], "the second call on hold")
        seen = StatesOf("SIP/1001")
        daemon.app[PIPELINE].sinks.append(seen)

        await daemon.sim.hangup(first)
        member = daemon.sim.pbx.queues["support"].members["SIP/1001"]
        await until(
            lambda: member.paused and member.reason == "Wrap-up",
            "SIP/1001 paused for wrap-up in Asterisk's queues",
        )
        assert state.agents["SIP/1001"].derive_state(state.clock)[0] is AgentState.WRAP_UP
        assert holding(daemon) == [held] and not ringing_at(daemon, held)
        if center_wrapup_s:
            await actions.queue_pause(daemon.app[AMI], "SIP/1001", False)  # Ready
        await answered_by(daemon, held, "SIP/1001")
        # From the first call straight into wrap-up, ready only after it, then the held call.
        before_ring = seen.states[: seen.states.index(AgentState.RINGING)]
        assert [s for s in before_ring if s in (AgentState.READY, AgentState.WRAP_UP)] == [
            AgentState.WRAP_UP,
            AgentState.READY,
        ]


async def test_an_agent_freed_while_an_older_queue_caller_waits_is_left_to_the_queue(
    database_url: str, tmp_path: Path
) -> None:
    # A sales call rings SIP/1003 out (2 s); app_queue tries again only after its retry
    # (60 s here): SIP/1003 is free meanwhile, and the sales caller waits longer than the
    # ACD's call, so the ACD leaves SIP/1003 to the sales queue.
    async with acd_daemon(
        database_url, tmp_path, {"ring_timeout_s": 2.0, "retry_s": 60.0}
    ) as daemon:
        state = daemon.app[STATE]
        await agents_known(daemon)
        await set_paused(daemon, "SIP/1001", True)  # SIP/1003 alone has collections skills
        sales = await daemon.sim.place_call(
            "905300000011", "Elif Koç", "sales", answer_after=None, talk_s=600
        )
        await until(lambda: ringing_at(daemon, sales) == {"SIP/1003"}, "the sales call ringing")
        routed = await call(daemon, "collections-tr", "905300000012")
        await until(lambda: holding(daemon) == [routed], "the ACD call on hold")
        await until(
            lambda: (
                no_answers(daemon, sales) == 1
                and state.agents["SIP/1003"].derive_state(state.clock)[0] is AgentState.READY
            ),
            "SIP/1003 free after letting the sales call ring out",
        )
        acd = acd_of(daemon)
        acd.routing_round()
        assert holding(daemon) == [routed] and not ringing_at(daemon, routed)
        assert routed not in acd.offers
        # The sales caller gives up: nobody has waited longer now, and the ACD takes SIP/1003.
        await daemon.sim.hangup(sales)
        await answered_by(daemon, routed, "SIP/1003")


async def test_with_both_kinds_of_callers_waiting_both_sides_are_answered(
    database_url: str, tmp_path: Path
) -> None:
    # Two agents, each in a plain queue with a caller who came before the ACD's two calls.
    # Each agent lets their queue call ring out (2 s) and is free until app_queue rings them
    # again (its retry, 3 s): the ACD's calls, younger, must not take them meanwhile; once
    # the queue callers are served, the ACD's calls get the agents, the oldest first.
    async with acd_daemon(
        database_url, tmp_path, {"ring_timeout_s": 2.0, "retry_s": 3.0}
    ) as daemon:
        await agents_known(daemon)
        await set_paused(daemon, "SIP/1002", True)  # support rings SIP/1001 alone
        support = await daemon.sim.place_call(
            "905300000021", "Emre Şahin", "support", answer_after=None, talk_s=600
        )
        sales = await daemon.sim.place_call(
            "905300000022", "Elif Koç", "sales", answer_after=None, talk_s=600
        )
        await until(
            lambda: (
                ringing_at(daemon, support) == {"SIP/1001"}
                and ringing_at(daemon, sales) == {"SIP/1003"}
            ),
            "both queue calls ringing",
        )
        first = await call(daemon, "collections-tr", "905300000023")
        await until(lambda: holding(daemon) == [first], "the first ACD call on hold")
        second = await call(daemon, "collections-tr", "905300000024")
        await until(lambda: set(holding(daemon)) == {first, second}, "both ACD calls on hold")
        await until(
            lambda: no_answers(daemon, support) == no_answers(daemon, sales) == 1,
            "both queue calls rung out once",
        )
        await answered_by(daemon, support, "SIP/1001")
        await answered_by(daemon, sales, "SIP/1003")
        assert set(holding(daemon)) == {first, second}

        await daemon.sim.hangup(support)
        await answered_by(daemon, first, "SIP/1001")
        await daemon.sim.hangup(sales)
        await answered_by(daemon, second, "SIP/1003")
        for linkedid in (first, second):
            await daemon.sim.hangup(linkedid)
        pool = await daemon.app[DATABASE].pool()
        rows = await wait_rows(pool, support, sales, first, second)
        assert {r["linkedid"]: (r["agent"], r["queue"], r["outcome"]) for r in rows} == {
            support: ("SIP/1001", "support", "answered"),
            sales: ("SIP/1003", "sales", "answered"),
            first: ("SIP/1001", "collections", "answered"),
            second: ("SIP/1003", "collections", "answered"),
        }
