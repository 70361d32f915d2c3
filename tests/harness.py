"""The live daemon's parts shared by component and browser tests (fixture in conftest.py)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from cti.simulator import MemberConfig, QueueConfig, SimConfig, Simulator

# --- the whole daemon, live: simulator + database + panel --------------------------------

PASSWORD = "correct horse battery"
TEST_USERS = (  # username, display name, role, phones
    ("agent1", "Ayla Demir", "agent", ("SIP/1001",)),
    ("agent2", "Burak Kaya", "agent", ("SIP/1002",)),
    ("boss", "Selin Aydın", "supervisor", ()),
    ("root", "Admin", "admin", ()),
)


@dataclass
class Daemon:
    """A running daemon: its panel at ``url``, its PBX ``sim``, its users (PASSWORD)."""

    url: str
    sim: Simulator
    app: web.Application
    users: dict[str, tuple[str, ...]] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def live_sim_config() -> SimConfig:
    """Both support phones ring at once (ringall), so a pop can be taken by one agent and
    withdrawn from the other; calls wait for the test to answer them."""
    support = QueueConfig("support", "4440", (MemberConfig("SIP/1001", "Agent 1001"),
                                              MemberConfig("SIP/1002", "Agent 1002")),
                          "ringall", consent="explicit", ring_timeout_s=60)
    sales = QueueConfig("sales", "4441", (MemberConfig("SIP/1003", "Agent 1003"),),
                        "rrmemory", consent="implied", ring_timeout_s=60)
    return SimConfig(queues=(support, sales), username="cti", secret="sim-secret",
                     announcement_s=0.05, arrival_rate=0)


async def signed_in(daemon: Daemon, username: str) -> tuple[aiohttp.ClientSession, str]:
    # unsafe=True: keep cookies of an IP-address host (127.0.0.1), as a browser does.
    session = aiohttp.ClientSession(daemon.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post("/api/login", json={"username": username, "password": PASSWORD}) as r:
        assert r.status == 200, await r.text()
    async with session.get("/api/me") as r:
        csrf = (await r.json())["csrf"]
    return session, csrf
