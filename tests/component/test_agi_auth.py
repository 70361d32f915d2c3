"""Only Asterisk may ask the route point: a connection from an address outside the allowed
ones is closed unread, and with a secret the route point first asks Asterisk for the
dialplan's CTI_AGI_SECRET (AGI GET VARIABLE) and answers only if it matches.

Asterisk's side is the simulator's (cti/simulator/agi.py, as res_agi speaks it), over real
TCP to the route point served as the daemon serves it, with a real ACD and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import asyncpg
import pytest
from harness import free_port, live_sim_config, running_daemon

from cti.clock import CenterClock
from cti.database import Database
from cti.keys import METRICS
from cti.routing.acd import Acd
from cti.routing.config import Route, RoutingConfig
from cti.routing.route_point import ENVIRONMENT_LIMIT, RoutePoint
from cti.simulator import QueueConfig, RoutePointConfig, agi
from cti.state.store import CtiState
from cti.tasks import Tasks

SECRET = "4f9c1d2e8a7b6c5d"
ROUTE = "collections-tr"


@dataclass
class Served:
    route_point: RoutePoint
    port: int
    observed: list[tuple[str, str]] = field(default_factory=list)


@asynccontextmanager
async def route_point(
    database_url: str, allowed: Sequence[str] = ("127.0.0.1", "::1"), secret: str = ""
) -> AsyncIterator[Served]:
    """The route point on a free port, as cti/app.py routing_ctx serves it."""
    config = RoutingConfig(routes={ROUTE: Route(ROUTE, (("collections", 2),), 1)})
    database = Database(database_url)
    observed: list[tuple[str, str]] = []

    async def move(channel: str, agent: str) -> None:
        raise AssertionError("no call is held in these tests")

    async def pause(interface: str, reason: str) -> None:
        raise AssertionError("no agent rings in these tests")

    def observe(route: str, outcome: str, seconds: float | None) -> None:
        observed.append((route, outcome))

    await database.pool()  # migrated before the first call, as the daemon has it
    acd = Acd(config, CtiState(), database, move, pause, CenterClock(), Tasks(), observe)
    point = RoutePoint(acd, database, "TR", allowed, secret)
    server = await asyncio.start_server(point.handle, "127.0.0.1", 0, limit=ENVIRONMENT_LIMIT)
    try:
        yield Served(point, server.sockets[0].getsockname()[1], observed)
    finally:
        server.close()
        await server.wait_closed()
        await acd.close()
        await database.close()


async def ask(port: int, uniqueid: str, dialplan_secret: str | None) -> tuple[str, dict[str, str]]:
    """One route point request as Asterisk makes it; its dialplan's globals hold
    ``dialplan_secret`` as CTI_AGI_SECRET (None: not set). (AGISTATUS, variables set)."""
    env = agi.environment(
        "127.0.0.1",
        port,
        "PJSIP/trunk-00000001",
        uniqueid,
        "905321112233",
        "Fatma Demir",
        "4442",
        "cti-route",
        "s",
        4,
        (ROUTE,),
    )
    variables: dict[str, str] = {}
    globals_ = {} if dialplan_secret is None else {"CTI_AGI_SECRET": dialplan_secret}
    status = await agi.converse("127.0.0.1", port, env, variables.__setitem__, 5, globals_.get)
    return status, variables


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]


async def decisions(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return [
            r["linkedid"]
            for r in await conn.fetch("SELECT linkedid FROM routing_decisions ORDER BY linkedid")
        ]
    finally:
        await conn.close()


async def test_the_right_secret_is_answered_a_wrong_or_missing_one_refused(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with route_point(database_url, secret=SECRET) as served:
        status, variables = await ask(served.port, "1.1", SECRET)
        assert status == agi.SUCCESS
        assert variables == {
            "CTI_ROUTE": "hold",
            "CTI_ROUTE_PRIORITY": "1",
            "CTI_ROUTE_RING_S": "20",
        }
        assert served.route_point.refused == 0

        # Refused: no command but the question, so Asterisk's dialplan finds no CTI_ROUTE and
        # takes the plain queue (the caller is not hung up), and no decision is made.
        with caplog.at_level(logging.WARNING, logger="cti.routing.route_point"):
            assert await ask(served.port, "1.2", SECRET[:-1] + "0") == (agi.SUCCESS, {})
        assert served.route_point.refused == 1
        [line] = refusals(caplog)
        assert line.startswith(
            "FastAGI connection from 127.0.0.1 refused: a wrong "
            "CTI_AGI_SECRET (it must equal CTI_ROUTING_AGI_SECRET)"
        )
        assert SECRET not in line
        assert await ask(served.port, "1.3", None) == (agi.SUCCESS, {})
        assert await ask(served.port, "1.4", "") == (agi.SUCCESS, {})
        assert await ask(served.port, "1.5", SECRET + "x") == (agi.SUCCESS, {})
        assert served.route_point.refused == 4
        assert served.observed == [(ROUTE, "hold"), *[("unknown", "refused")] * 4]
    assert await decisions(database_url) == ["1.1"]


@pytest.mark.parametrize(
    ("dialplan_secret", "why"),
    [
        (None, "no CTI_AGI_SECRET in its dialplan (set it as CTI_ROUTING_AGI_SECRET)"),
        ("change-me-cti-agi-secret", "its dialplan still has the placeholder CTI_AGI_SECRET"),
    ],
)
async def test_the_log_line_says_what_to_fix(
    database_url: str, caplog: pytest.LogCaptureFixture, dialplan_secret: str | None, why: str
) -> None:
    async with route_point(database_url, secret=SECRET) as served:
        with caplog.at_level(logging.WARNING, logger="cti.routing.route_point"):
            assert await ask(served.port, "2.1", dialplan_secret) == (agi.SUCCESS, {})
    [line] = refusals(caplog)
    assert line.startswith(f"FastAGI connection from 127.0.0.1 refused: {why} (1 refused")


async def test_a_peer_that_never_answers_the_question_is_dropped(database_url: str) -> None:
    async with route_point(database_url, secret=SECRET) as served:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(
            agi.encode_environment(
                agi.environment(
                    "127.0.0.1",
                    served.port,
                    "PJSIP/x-1",
                    "3.1",
                    "",
                    "",
                    "",
                    "cti-route",
                    "s",
                    4,
                    (ROUTE,),
                )
            )
        )
        assert await reader.readline() == b"GET VARIABLE CTI_AGI_SECRET\n"
        # It says nothing more: the route point gives up after its environment timeout.
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
        # A forged answer of any length is a wrong secret, never a crash.
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(
            agi.encode_environment(
                agi.environment(
                    "127.0.0.1",
                    served.port,
                    "PJSIP/x-2",
                    "3.2",
                    "",
                    "",
                    "",
                    "cti-route",
                    "s",
                    4,
                    (ROUTE,),
                )
            )
        )
        assert await reader.readline() == b"GET VARIABLE CTI_AGI_SECRET\n"
        writer.write(b"200 result=1 (" + b"A" * 100_000 + b")\n")
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
        assert await ask(served.port, "3.3", SECRET) == (
            agi.SUCCESS,
            {"CTI_ROUTE": "hold", "CTI_ROUTE_PRIORITY": "1", "CTI_ROUTE_RING_S": "20"},
        )
    assert await decisions(database_url) == ["3.3"]


async def test_an_address_not_allowed_is_closed_unread(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with route_point(database_url, allowed=("10.0.0.5", "192.168.0.0/16")) as served:
        with caplog.at_level(logging.WARNING, logger="cti.routing.route_point"):
            # Even with everything right, 127.0.0.1 is not one of Asterisk's addresses. The
            # connection is closed at once: Asterisk's write fails or it reads the end
            # (AGISTATUS FAILURE or SUCCESS), and either way no CTI_ROUTE: the plain queue.
            assert (await ask(served.port, "4.1", SECRET))[1] == {}
            reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
            assert await asyncio.wait_for(reader.read(), 10) == b""  # nothing sent, nothing read
            writer.close()
        assert served.route_point.refused == 2
        assert served.observed == [("unknown", "refused")] * 2
    lines = refusals(caplog)
    assert lines[0] == (
        "FastAGI connection from 127.0.0.1 refused: not an address of "
        "CTI_ROUTING_AGI_ALLOWED (1 refused since start; one line per 10 s at most)"
    )
    assert await decisions(database_url) == []


async def test_a_network_allows_its_addresses_and_no_secret_asks_none(database_url: str) -> None:
    async with route_point(database_url, allowed=("10.0.0.5", "127.0.0.0/8")) as served:
        # No secret configured: the route point asks nothing, whatever the dialplan holds.
        assert await ask(served.port, "5.1", None) == (
            agi.SUCCESS,
            {"CTI_ROUTE": "hold", "CTI_ROUTE_PRIORITY": "1", "CTI_ROUTE_RING_S": "20"},
        )
        assert served.route_point.refused == 0


def test_the_simulated_asterisk_answers_get_variable_as_res_agi_does() -> None:
    def refuse(name: str, value: str) -> None:
        raise AssertionError(name)

    values = {"CTI_AGI_SECRET": "se(c)ret"}.get
    assert agi.answer("GET VARIABLE CTI_AGI_SECRET", refuse, values) == b"200 result=1 (se(c)ret)\n"
    assert agi.answer("GET VARIABLE OTHER", refuse, values) == b"200 result=0\n"
    assert agi.answer("GET VARIABLE CTI_AGI_SECRET", refuse) == b"200 result=0\n"
    assert agi.answer("GET VARIABLE", refuse, values) == agi.USAGE


async def test_the_daemon_takes_its_settings_and_the_simulated_asterisk_passes_the_secret(
    database_url: str, tmp_path: Path
) -> None:
    """End to end: the daemon's route point takes CTI_ROUTING_AGI_SECRET, and the simulator
    (as the demo runs it) passes its dialplan's CTI_AGI_SECRET."""
    routing = tmp_path / "routing.toml"
    routing.write_text(
        f'[routes.{ROUTE}]\nskills = "collections:2"\npriority = 1\n', encoding="utf-8"
    )
    port = free_port()
    base = live_sim_config()
    hold = QueueConfig("collections", "4449", (), "ringall", consent="none")
    point = RoutePointConfig(ROUTE, "4442", "collections", "support", agi_timeout_s=5)
    sim_config = replace(
        base, queues=(*base.queues, hold), route_points=(point,), agi_port=port, agi_secret=SECRET
    )
    async with running_daemon(
        database_url,
        tmp_path,
        sim_config,
        routing_file=str(routing),
        routing_agi_port=port,
        routing_agi_secret=SECRET,
    ) as daemon:
        linkedid = await daemon.sim.place_call(
            "905321112233", "Fatma Demir", ROUTE, consent="granted", answer_after=None
        )
        while linkedid not in await decisions(database_url):  # routed by the daemon
            await asyncio.sleep(0.05)
        assert await ask(port, "9.1", "a-wrong-one") == (agi.SUCCESS, {})
        registry = daemon.app[METRICS].registry
        assert (
            registry.get_sample_value(
                "cti_routing_decisions_total", {"route": "unknown", "outcome": "refused"}
            )
            == 1.0
        )
    assert "9.1" not in await decisions(database_url)
