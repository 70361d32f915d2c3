"""The real-PBX tier: a real Asterisk (CTI_TEST_ASTERISK, found or built by scripts/test)
with the project's own configuration, SIPp phones, and the daemon against it.

One Asterisk serves the whole session (start-up costs seconds); each test gets a fresh
database, its own daemon, a raw AMI reader, and the agents' phones answering, every queue
member unpaused and no call left over. ``CTI_REQUIRE_PBX_TIER=1`` (CI) turns a missing
Asterisk into a failure instead of a skip.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from ami_reader import RawAmi
from asterisk import AGENTS, CARRIER_IP, SUPPORT_DID, Asterisk, Ports
from facts import hung_up, linkedid_of, pause, reset_calls_and_pauses, seen
from harness import PASSWORD, free_port
from phones import AgentPhone, Caller, free_udp_port, place_call

from cti.app import create_app
from cti.auth.users import set_user
from cti.keys import DATABASE, STATE
from cti.settings import Settings

ROUTING = """policy = "longest_idle"
ring_s = 6
sticky_wait_s = 0
wrapup_s = 5
debt_priority_over = 10000

[routes.collections-tr]
skills = "turkish:3, collections:2"
priority = 1

[agents]
"PJSIP/1001" = "turkish:5, collections:3"
"PJSIP/1002" = "turkish:4, collections:2"
"""

USERS = (  # username, role, phones
    ("agent1", "agent", ("PJSIP/1001",)),
    ("agent2", "agent", ("PJSIP/1002",)),
    ("boss", "supervisor", ("PJSIP/1004",)),  # her phone, for listening in
    ("root", "admin", ()),  # creates campaigns
)


def _asterisk_home() -> Path:
    home = os.environ.get("CTI_TEST_ASTERISK", "")
    reason = ""
    if not home:
        reason = "no Asterisk: CTI_TEST_ASTERISK is not set (scripts/test sets it)"
    elif not (Path(home) / "sbin" / "asterisk").is_file():
        reason = f"no Asterisk at CTI_TEST_ASTERISK={home} (expected sbin/asterisk there)"
    if reason:
        if os.environ.get("CTI_REQUIRE_PBX_TIER") == "1":
            pytest.fail(f"real-PBX tier required but cannot run: {reason}", pytrace=False)
        pytest.skip(f"real-PBX tier skipped: {reason}")
    return Path(home)


@dataclass
class Pbx:
    asterisk: Asterisk
    phones: dict[str, AgentPhone]
    customer: AgentPhone  # behind the trunk: where outbound calls ring
    folder: Path

    @classmethod
    def prepared(cls, home: Path, run: Path, records_url: str) -> Pbx:
        """Asterisk in ``run`` with free ports and the agents' SIPp phones, not started; it
        writes its CDR, CEL and queue_log into ``records_url``, migrated here by `cti migrate`
        (Asterisk's pgsql modules read the tables' columns when they load)."""
        subprocess.run(
            [sys.executable, "-m", "cti", "migrate"],
            check=True,
            env=os.environ
            | {"CTI_DATABASE_URL": records_url, "CTI_DATA_DIR": str(run / "cti-migrate")},
            capture_output=True,
        )
        agents = {ext: free_udp_port("127.0.0.1") for ext in AGENTS}
        ports = Ports(
            sip=free_udp_port("127.0.0.1"),
            ami=free_port(),
            agi=free_port(),
            agents=agents,
            customer=free_udp_port(CARRIER_IP),
        )
        asterisk = Asterisk(
            home, run, ports, ami_secret=secrets.token_hex(12), records_url=records_url
        )
        asterisk.prepare()
        phones = {ext: AgentPhone(ext, port, run) for ext, port in agents.items()}
        customer = AgentPhone("customer", ports.customer, run, host=CARRIER_IP)
        return cls(asterisk, phones, customer, run)

    def start(self) -> None:
        for phone in (*self.phones.values(), self.customer):
            phone.start()
        self.asterisk.start()

    def stop(self) -> None:
        self.asterisk.stop()
        for phone in (*self.phones.values(), self.customer):
            phone.stop()

    def reader(self) -> RawAmi:
        return RawAmi("127.0.0.1", self.asterisk.ports.ami, "cti", self.asterisk.ami_secret)

    async def call(
        self,
        number: str,
        name: str,
        did: str,
        stay_s: float,
        dtmf: str | None = None,
        dtmf_after_s: float = 0.0,
    ) -> Caller:
        return await place_call(
            self.folder,
            self.asterisk.ports.sip,
            CARRIER_IP,
            number,
            name,
            did,
            stay_s,
            dtmf,
            dtmf_after_s,
        )

    async def call_through(
        self,
        ami: RawAmi,
        number: str,
        name: str,
        did: str,
        stay_s: float,
        dtmf: str | None = None,
        dtmf_after_s: float = 0.0,
    ) -> str:
        """A call played to its end (the caller's SIPp succeeded, every leg hung up); its
        Linkedid."""
        caller = await self.call(number, name, did, stay_s, dtmf, dtmf_after_s)
        linkedid = await linkedid_of(ami, number)
        assert await caller.finished() == 0
        await hung_up(ami, linkedid)
        return linkedid

    async def answered_support_call(
        self, ami: RawAmi, number: str, name: str, stay_s: float
    ) -> tuple[str, Caller]:
        """A support call with consent granted, answered by PJSIP/1001 (PJSIP/1002 paused);
        returns once Asterisk connected it: (Linkedid, the caller)."""
        await pause(ami, "support", "PJSIP/1002")
        caller = await self.call(number, name, SUPPORT_DID, stay_s, dtmf="1", dtmf_after_s=2.0)
        linkedid = await linkedid_of(ami, number)
        await seen(ami, "AgentConnect", "the agent answering", Uniqueid=linkedid)
        return linkedid, caller


@pytest.fixture(scope="session")
def pbx(tmp_path_factory: pytest.TempPathFactory, pg: Any) -> Iterator[Pbx]:
    pbx = Pbx.prepared(_asterisk_home(), tmp_path_factory.mktemp("asterisk"), pg.create_database())
    pbx.start()
    try:
        yield pbx
    finally:
        pbx.stop()


@pytest.fixture
async def ami(pbx: Pbx) -> AsyncIterator[RawAmi]:
    """A raw AMI reader, connected before the test's calls, and a PBX left as a test expects
    it: every phone answering, no call in progress, every member unpaused."""
    for phone in (*pbx.phones.values(), pbx.customer):
        if phone.answer_after_ms != 1500 or phone.process is None:
            phone.start()
    reader = pbx.reader()
    await reader.connect()
    await reset_calls_and_pauses(reader)
    errors_before = set(pbx.asterisk.errors())
    try:
        yield reader
    finally:
        await reader.close()
    new_errors = [line for line in pbx.asterisk.errors() if line not in errors_before]
    assert not new_errors, "Asterisk logged errors:\n" + "\n".join(new_errors)


@dataclass
class LiveDaemon:
    url: str
    app: web.Application
    runner: web.AppRunner
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    async def signed_in(self, username: str) -> tuple[aiohttp.ClientSession, str]:
        session = aiohttp.ClientSession(self.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.sessions.append(session)
        async with session.post(
            "/api/login", json={"username": username, "password": PASSWORD}
        ) as r:
            assert r.status == 200, await r.text()
        async with session.get("/api/me") as r:
            return session, (await r.json())["csrf"]

    async def row(self, linkedid: str, timeout: float = 30, ended: bool = False) -> dict[str, Any]:
        """The call's row in the call log, once written (``ended``: once it has an end)."""
        pool = await self.app[DATABASE].pool()

        async def loop() -> dict[str, Any]:
            while True:
                found = await pool.fetchrow("SELECT * FROM calls WHERE linkedid = $1", linkedid)
                if found is not None and (found["ended_at"] is not None or not ended):
                    return dict(found)
                await asyncio.sleep(0.1)

        return await asyncio.wait_for(loop(), timeout)

    async def stop(self) -> None:
        for session in self.sessions:
            await session.close()
        await self.runner.cleanup()


@asynccontextmanager
async def daemon_for(
    pbx: Pbx, database_url: str, data_dir: Path, ami_port: int | None = None, **settings: Any
) -> AsyncIterator[LiveDaemon]:
    """The daemon in this process, on AMI (or ``ami_port``, a relay) with the test users."""

    async def users_ctx(app: web.Application) -> AsyncIterator[None]:
        pool = await app[DATABASE].pool()
        for username, role, phones in USERS:
            await set_user(pool, username, username.title(), role, PASSWORD, phones)
        yield

    routing = data_dir / "routing.toml"
    routing.write_text(ROUTING, encoding="utf-8")
    port = free_port()
    config = Settings(
        ami_port=ami_port or pbx.asterisk.ports.ami,
        ami_username="cti",
        ami_secret=pbx.asterisk.ami_secret,
        http_port=port,
        database_url=database_url,
        data_dir=data_dir,
        recordings_dir=str(pbx.asterisk.run / "spool" / "monitor"),
        routing_file=str(routing),
        routing_agi_port=pbx.asterisk.ports.agi,
        # The overlay's CTI_AGI_SECRET (tests/pbx/overlay/extensions.conf): the route point
        # answers Asterisk only if its dialplan holds the same.
        routing_agi_secret=f"agi-{pbx.asterisk.ami_secret}",
        ami_ping_interval=1.0,
        **settings,
    )
    app = create_app(config, after=[users_ctx])
    runner = web.AppRunner(app)
    await runner.setup()
    live = LiveDaemon(f"http://127.0.0.1:{port}", app, runner)
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield live
    finally:
        await live.stop()


@pytest.fixture
async def daemon(
    pbx: Pbx, ami: RawAmi, database_url: str, tmp_path: Path
) -> AsyncIterator[LiveDaemon]:
    async with daemon_for(pbx, database_url, tmp_path) as live:
        state = live.app[STATE]
        while not state.agents:  # logged in and resynced
            await asyncio.sleep(0.05)
        yield live
