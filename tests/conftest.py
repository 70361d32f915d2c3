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
from harness import Daemon, running_daemon
from pgserver import get_server, pg_ctl  # type: ignore[attr-defined]

REPO = Path(__file__).resolve().parent.parent
CAPTURES = REPO / "tests" / "captures"


@pytest.fixture(scope="session")
def captures() -> Path:
    if not CAPTURES.is_dir():
        pytest.fail(f"reference captures not found at {CAPTURES}")
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
    async with running_daemon(database_url, tmp_path) as live:
        yield live
