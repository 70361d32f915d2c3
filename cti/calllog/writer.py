"""The call-log sink: changes in, rows batched into PostgreSQL, nothing ever lost.

``offer`` (called by the pipeline) only converts changes to rows and puts them on a bounded
queue: it never waits for the database, so a slow or absent database never delays a
screen-pop. One owned task (``run``) takes rows in batches, appends each batch to the spool
(fsync), then writes everything pending in one transaction and empties the spool. When the
database fails, the rows stay in the spool and the write is retried with capped backoff; a
restarted daemon finds them there. If the queue is ever full, rows go straight to the spool.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from cti.calllog import queries
from cti.calllog.rows import Row, rows_for
from cti.calllog.spool import Spool
from cti.database import Database, DatabaseUnavailable
from cti.state.changes import Change

log = logging.getLogger(__name__)

BATCH_MAX_ROWS = 500
BATCH_WAIT_S = 0.2
RETRY_MAX_S = 30.0
WRITE_CHUNK_ROWS = 2000
_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError,
              DatabaseUnavailable)  # fmt: skip


@dataclass(slots=True)
class WriterStats:
    rows_written: int = 0
    write_errors: int = 0
    overflows: int = 0
    last_error: str = ""
    last_write_seconds: float = 0.0


def _timestamp(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _db_values(kind: str, values: list[Any]) -> tuple[Any, ...]:
    columns: tuple[str, ...]
    if kind == "call":
        columns, times = queries.CALL_COLUMNS, queries.CALL_TIME_COLUMNS
    else:
        columns, times = queries.EVENT_COLUMNS, queries.EVENT_TIME_COLUMNS
    return tuple(_timestamp(v) if c in times else v for c, v in zip(columns, values, strict=True))


async def write_rows(pool: asyncpg.Pool, rows: Sequence[Row]) -> None:
    """Write rows idempotently, in one transaction."""
    calls = [_db_values("call", values) for kind, values in rows if kind == "call"]
    events = [_db_values("event", values) for kind, values in rows if kind == "event"]
    async with pool.acquire() as connection, connection.transaction():
        if calls:
            await connection.executemany(queries.UPSERT_CALL, calls)
        if events:
            await connection.executemany(queries.INSERT_EVENT, events)


class CallLogWriter:
    def __init__(self, database: Database, spool: Spool, region: str,
                 queue_size: int = 10_000,
                 on_write: Callable[[float], None] | None = None) -> None:  # fmt: skip
        self.on_write = on_write  # seconds per successful write, for the latency histogram
        self.database = database
        self.spool = spool
        self.region = region
        self.stats = WriterStats()
        self._queue: asyncio.Queue[Row] = asyncio.Queue(queue_size)
        self._overflow: list[Row] = []  # rows that found the queue full, oldest first
        self._retry_delay = 0.0
        self._next_try = 0.0

    @property
    def healthy(self) -> bool:
        """False from a failed write until the next successful one."""
        return self._retry_delay == 0.0

    @property
    def spool_depth(self) -> int:
        return self.spool.depth + self._queue.qsize() + len(self._overflow)

    def offer(self, changes: Sequence[Change]) -> None:
        rows = rows_for(changes, self.region)
        for i, row in enumerate(rows):
            if self._overflow:  # keep order behind rows that already overflowed
                self._overflow.extend(rows[i:])
                return
            try:
                self._queue.put_nowait(row)
            except asyncio.QueueFull:
                # Rare: the writer is far behind. Never block the pipeline, never drop:
                # the writer moves these to the spool on its next turn.
                self.stats.overflows += 1
                self._overflow.extend(rows[i:])
                return

    async def run(self) -> None:
        while True:
            batch = await self._collect()
            if self._overflow and self._queue.empty():
                batch, self._overflow = batch + self._overflow, []
            if batch:
                await asyncio.to_thread(self.spool.append, batch)
            if self.spool.pending and time.monotonic() >= self._next_try:
                await self.flush()

    async def flush(self) -> bool:
        """Write everything pending; False (and rows kept) if the database failed."""
        pending = list(self.spool.pending)
        if not pending:
            return True
        started = time.monotonic()
        try:
            pool = await self.database.pool()
            for start in range(0, len(pending), WRITE_CHUNK_ROWS):
                await write_rows(pool, pending[start : start + WRITE_CHUNK_ROWS])
        except _DB_ERRORS as exc:
            self.stats.write_errors += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            self._retry_delay = min(RETRY_MAX_S, max(0.5, self._retry_delay * 2))
            self._next_try = time.monotonic() + self._retry_delay
            log.warning("call log: database write failed (%s); %d rows kept in %s, retry in "
                        "%.1f s", self.stats.last_error, len(pending), self.spool.path,
                        self._retry_delay)  # fmt: skip
            return False
        await asyncio.to_thread(self.spool.clear, len(pending))
        if self._retry_delay:
            log.info("call log: database is back; %d spooled rows written", len(pending))
        self._retry_delay = 0.0
        self.stats.rows_written += len(pending)
        self.stats.last_write_seconds = time.monotonic() - started
        if self.on_write is not None:
            self.on_write(self.stats.last_write_seconds)
        return True

    async def _collect(self) -> list[Row]:
        """Up to BATCH_MAX_ROWS rows, waiting at most BATCH_WAIT_S once the first arrived."""
        timeout = None if not self.spool.pending else max(0.05, self._next_try - time.monotonic())
        try:
            async with asyncio.timeout(timeout):
                first = await self._queue.get()
        except TimeoutError:
            return []
        batch = [first]
        deadline = time.monotonic() + BATCH_WAIT_S
        while len(batch) < BATCH_MAX_ROWS:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    batch.append(await self._queue.get())
            except TimeoutError:
                break
        return batch

    async def drain(self) -> None:
        """Move what is queued into the spool and try one write (shutdown, replay)."""
        batch = []
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        batch, self._overflow = batch + self._overflow, []
        if batch:
            await asyncio.to_thread(self.spool.append, batch)
        await self.flush()
