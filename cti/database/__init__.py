"""Where the database is, and a pool that survives the database going away.

With ``CTI_DATABASE_URL`` unset, an embedded PostgreSQL (the ``pgserver`` package ships its
binaries on PyPI) runs in the data dir, so ``cti demo`` and the tests need no system
service. ``Database.pool()`` connects lazily and applies migrations on first contact: a
database that is down at startup does not stop the daemon; callers get
``DatabaseUnavailable`` with a message saying what to check.

The schema of every feature is here too: ``migrations/NNN_name.sql``, applied by
``migrate.py``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import asyncpg

from cti.database.migrate import migrate

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0


class DatabaseUnavailable(ConnectionError):
    pass


def start_embedded(data_dir: Path) -> Any:
    """Start (or reuse) the embedded server whose files live in ``data_dir/postgres``."""
    from pgserver import get_server  # type: ignore[attr-defined]  # only without a URL

    path = (data_dir / "postgres").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return get_server(path, cleanup_mode="stop")


class Database:
    def __init__(self, url: str, embedded: Any = None) -> None:
        self.url = url
        self.embedded = embedded  # keeps the embedded server alive while we exist
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, configured_url: str, data_dir: Path) -> Database:
        if configured_url:
            return cls(configured_url)
        embedded = await asyncio.to_thread(start_embedded, data_dir)
        log.info("embedded PostgreSQL running in %s", data_dir / "postgres")
        return cls(str(embedded.get_uri()), embedded)

    async def pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._lock:
            if self._pool is None:
                try:
                    pool = await asyncpg.create_pool(
                        self.url,
                        min_size=1,
                        max_size=5,
                        timeout=CONNECT_TIMEOUT_S,
                        command_timeout=30,
                    )
                    await migrate(pool)
                except (
                    OSError,
                    asyncpg.PostgresError,
                    asyncpg.InterfaceError,
                    TimeoutError,
                ) as exc:
                    raise DatabaseUnavailable(
                        f"cannot use PostgreSQL ({type(exc).__name__}: {exc}). Check that it "
                        "runs and CTI_DATABASE_URL, or unset it for the embedded database."
                    ) from None
                self._pool = pool
        return self._pool

    async def reachable(self) -> bool:
        try:
            pool = await self.pool()
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await pool.fetchval("SELECT 1")
        except (
            DatabaseUnavailable,
            OSError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            TimeoutError,
        ):
            return False
        return True

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
