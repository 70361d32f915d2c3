"""Shared fixtures: the reference captures, and real PostgreSQL servers (embedded pgserver):
one per session with a fresh database per test, or a server of the test's own when it must
be stopped and started."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from harness import PASSWORD, TEST_USERS, Daemon, free_port, live_sim_config
from pgserver import get_server, pg_ctl  # type: ignore[attr-defined]

from cti.app import create_app
from cti.auth.users import set_user
from cti.keys import DATABASE
from cti.settings import Settings
from cti.simulator import Simulator

REPO = Path(__file__).resolve().parent.parent
CAPTURES = REPO.parent / "shared" / "ami-captures"


@pytest.fixture(scope="session")
def captures() -> Path:
    if not CAPTURES.is_dir():
        pytest.fail(f"reference captures not found at {CAPTURES}: shared/ must sit beside the repo")
    return CAPTURES


_names = itertools.count(1)


class PgServer:
    """An embedded PostgreSQL we can stop and start again, as an outage would."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.server: Any = get_server(pgdata, cleanup_mode="stop")

    def url(self, database: str = "postgres") -> str:
        return str(self.server.get_uri(database))

    def create_database(self) -> str:
        name = f"t{os.getpid()}_{next(_names)}"
        self.server.psql(f"CREATE DATABASE {name};")
        return self.url(name)

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.pgdata, user=self.server.system_user)

    def start(self) -> None:
        with self.server._lock:
            self.server.ensure_postgres_running()


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    server = PgServer(tmp_path_factory.mktemp("pg") / "data")
    yield server
    server.server.cleanup()


@pytest.fixture
def database_url(pg: PgServer) -> str:
    return pg.create_database()


@pytest.fixture
def own_pg(tmp_path: Path) -> Iterator[PgServer]:
    """A server of the test's own, for tests that stop and start it."""
    server = PgServer(tmp_path / "own-pg")
    yield server
    server.server.cleanup()


@pytest.fixture
async def daemon(database_url: str, tmp_path: Path) -> AsyncIterator[Daemon]:
    sim = Simulator(live_sim_config(), port=0)
    await sim.start()
    port = free_port()
    settings = Settings(ami_port=sim.port, ami_username="cti", ami_secret="sim-secret",
                        http_port=port, database_url=database_url, data_dir=tmp_path)

    async def users_ctx(app: web.Application) -> AsyncIterator[None]:
        pool = await app[DATABASE].pool()
        for username, name, role, phones in TEST_USERS:
            await set_user(pool, username, name, role, PASSWORD, phones)
        yield

    app = create_app(settings, after=[users_ctx])
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Daemon(f"http://127.0.0.1:{port}", sim, app,
                     {u: phones for u, _, _, phones in TEST_USERS})
    finally:
        await runner.cleanup()
        await sim.stop()
