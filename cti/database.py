"""Where the database is: a configured server, or an embedded PostgreSQL in the data dir.

``pgserver`` ships PostgreSQL binaries on PyPI, so ``cti demo`` and the tests need no system
service. Its start is blocking (initdb, pg_ctl), so it runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import asyncpg

log = logging.getLogger(__name__)


def start_embedded(data_dir: Path) -> Any:
    """Start (or reuse) the embedded server whose files live in ``data_dir/postgres``."""
    from pgserver import get_server  # type: ignore[attr-defined]  # only without a URL

    path = (data_dir / "postgres").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return get_server(path, cleanup_mode="stop")


async def database_url(configured: str, data_dir: Path) -> tuple[str, Any]:
    """The URL to connect to, and the embedded server handle to keep alive (or None)."""
    if configured:
        return configured, None
    server = await asyncio.to_thread(start_embedded, data_dir)
    log.info("embedded PostgreSQL running in %s", data_dir / "postgres")
    return str(server.get_uri()), server


async def create_pool(url: str) -> asyncpg.Pool:
    try:
        return await asyncpg.create_pool(url, min_size=1, max_size=5, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise ConnectionError(
            f"cannot connect to PostgreSQL ({type(exc).__name__}: {exc}). Check "
            "CTI_DATABASE_URL, or unset it to use the embedded database."
        ) from None
