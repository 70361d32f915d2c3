"""The call-log sink: changes in, rows batched into PostgreSQL, nothing ever lost.

``offer`` (called by the pipeline) only converts changes to rows and puts them on a bounded
queue: it never waits for the database, so a slow or absent database never delays a
screen-pop. One owned task (``run``) takes rows in batches, appends each batch to the spool
(fsync), then writes everything pending in one transaction and empties the spool. When the
database fails, the rows stay in the spool and the write is retried with capped backoff; a
restarted daemon finds them there. If the queue is ever full, rows go straight to the spool.

An outage is told apart from a refusal. A database that cannot be used (down, restarting,
out of connections, the network) keeps every row for the next try. A database that refuses
rows (a value it cannot store, a broken constraint) gets the batch again in halves until the
refused rows are found; every other row is written, and the refused ones go to the quarantine
(the ``call_log_quarantine`` table, or the ``.quarantine`` file beside the spool when even
that is refused) with PostgreSQL's reason, a log line and a count. Before this, one NUL in a
caller name made the writer retry the same batch forever and the call log froze for good.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
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
# The database could not be used, whatever the rows: keep them and try again later.
_OUTAGE_ERRORS = (
    OSError,
    TimeoutError,
    DatabaseUnavailable,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting, query cancelled
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
)


# SQL that cannot run whatever the rows (a syntax error, a missing column: class 42) is a
# bug or a schema the migrations did not make: never a reason to quarantine rows. The rows
# stay in the spool and the task dies, which stops the daemon (cti/tasks.py).
_OUR_BUGS = (asyncpg.exceptions.SyntaxOrAccessError,)  # also a missing privilege


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` says the database is unusable, False when it refused the rows.
    asyncpg's InterfaceError is a connection problem, except its DataError (also a
    ValueError): an argument it cannot encode, which is the row's fault."""
    if isinstance(exc, asyncpg.InterfaceError):
        return not isinstance(exc, ValueError)
    return isinstance(exc, _OUTAGE_ERRORS)


@dataclass(slots=True)
class WriterStats:
    rows_written: int = 0
    write_errors: int = 0
    overflows: int = 0
    last_error: str = ""
    last_write_seconds: float = 0.0
    quarantined: int = 0  # rows PostgreSQL refused, kept in the quarantine


def _timestamp(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


_STATEMENTS = {
    "call": queries.UPSERT_CALL,
    "event": queries.INSERT_EVENT,
    "event_once": queries.INSERT_EVENT_ONCE,
}
Prepared = tuple[str, tuple[Any, ...]]  # statement, its arguments


def prepare(row: Row) -> Prepared:
    """The statement and arguments of one spooled row; raises ValueError (or TypeError,
    OverflowError, OSError from an impossible time) for a row that cannot be written."""
    kind, values = row
    columns: tuple[str, ...]
    if kind == "call":
        columns, times = queries.CALL_COLUMNS, queries.CALL_TIME_COLUMNS
        if isinstance(values, list) and len(values) == len(columns) - 1:
            values = [*values, False]  # spooled by a version without through_gap
    elif kind in ("event", "event_once"):
        columns, times = queries.EVENT_COLUMNS, queries.EVENT_TIME_COLUMNS
    else:
        raise ValueError(f"unknown row kind {kind!r}")
    if isinstance(values, list):  # spooled by a version whose rows were positional
        values = dict(zip(columns, values, strict=True))
    if not isinstance(values, dict) or values.keys() != set(columns):
        raise ValueError(f"a {kind} row must have exactly the columns {', '.join(columns)}")
    arguments = tuple(_timestamp(values[c]) if c in times else values[c] for c in columns)
    return _STATEMENTS[kind], arguments


async def write_rows(pool: asyncpg.Pool, rows: Sequence[Prepared]) -> None:
    """Write prepared rows idempotently, in one transaction."""
    by_statement: dict[str, list[tuple[Any, ...]]] = {}
    for statement, arguments in rows:
        by_statement.setdefault(statement, []).append(arguments)
    async with pool.acquire() as connection, connection.transaction():
        for statement, many in by_statement.items():
            await connection.executemany(statement, many)


Refused = tuple[Row, str]  # a row and why it was refused


def _kind_and_linkedid(row: Any) -> tuple[str, str | None]:
    """What a refused row says of itself, whatever its shape (a spool may hold anything)."""
    if not (isinstance(row, list) and len(row) == 2):
        return "?", None
    kind, values = row
    if isinstance(values, list):  # positional, from an older version's spool
        values = {"linkedid": values[0]} if values else {}
    linkedid = values.get("linkedid") if isinstance(values, dict) else None
    return str(kind), linkedid if isinstance(linkedid, str) else None


async def write_isolating(pool: asyncpg.Pool, rows: Sequence[Row]) -> list[Refused]:
    """Write ``rows``; return those PostgreSQL refused, with the reason, having written all
    the others. An outage is raised: nothing is decided about rows the database never saw."""
    prepared: list[tuple[Row, Prepared]] = []
    refused: list[Refused] = []
    for row in rows:
        try:
            prepared.append((row, prepare(row)))
        except (TypeError, ValueError, OverflowError, OSError) as exc:
            refused.append((row, f"cannot convert: {type(exc).__name__}: {exc}"))

    async def bisect(items: list[tuple[Row, Prepared]]) -> None:
        if not items:
            return
        try:
            await write_rows(pool, [p for _, p in items])
        except Exception as exc:  # anything but an outage or our own bug: these rows' fault
            if is_outage(exc) or isinstance(exc, _OUR_BUGS):
                raise
            if len(items) == 1:
                refused.append((items[0][0], f"{type(exc).__name__}: {exc}"))
                return
            half = len(items) // 2
            await bisect(items[:half])
            await bisect(items[half:])

    await bisect(prepared)
    return refused


class CallLogWriter:
    def __init__(
        self,
        database: Database,
        spool: Spool,
        region: str,
        queue_size: int = 10_000,
        on_write: Callable[[float], None] | None = None,
    ) -> None:
        self.on_write = on_write  # seconds per successful write, for the latency histogram
        self.database = database
        self.spool = spool
        self.region = region
        self.stats = WriterStats()
        self._queue: asyncio.Queue[Row] = asyncio.Queue(queue_size)
        self._overflow: list[Row] = []  # rows that found the queue full, oldest first
        self._unspooled: list[Row] = []  # a batch taken from the queue the spool refused
        self._collecting: list[Row] = []  # the batch being gathered, not yet in the spool
        self._retry_delay = 0.0
        self._next_try = 0.0

    @property
    def healthy(self) -> bool:
        """False from a failed write until the next successful one."""
        return self._retry_delay == 0.0

    @property
    def spool_depth(self) -> int:
        return (
            self.spool.depth
            + self._queue.qsize()
            + len(self._overflow)
            + len(self._unspooled)
            + len(self._collecting)
        )

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
                try:
                    await asyncio.to_thread(self.spool.append, batch)
                except OSError:  # the spool's disk: this task dies, the batch stays for drain
                    self._unspooled = batch
                    raise
                finally:
                    self._collecting = []
            if self.spool.pending and time.monotonic() >= self._next_try:
                await self.flush()

    async def flush(self) -> bool:
        """Write everything pending; False (and rows kept) if the database is unusable."""
        pending = list(self.spool.pending)
        if not pending:
            return True
        started = time.monotonic()
        written = 0
        try:
            pool = await self.database.pool()
            for start in range(0, len(pending), WRITE_CHUNK_ROWS):
                chunk = pending[start : start + WRITE_CHUNK_ROWS]
                await self._write(pool, chunk)
                written += len(chunk)
        except Exception as exc:
            if not is_outage(exc):
                raise  # our bug, not the database's: the task supervisor reports it
            if written:  # committed chunks need not wait for the rest
                await asyncio.to_thread(self.spool.clear, written)
            self.stats.write_errors += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            self._retry_delay = min(RETRY_MAX_S, max(0.5, self._retry_delay * 2))
            self._next_try = time.monotonic() + self._retry_delay
            log.warning(
                "call log: database unusable (%s); %d rows kept in %s, retry in %.1f s",
                self.stats.last_error,
                len(pending) - written,
                self.spool.path,
                self._retry_delay,
            )
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

    async def _write(self, pool: asyncpg.Pool, rows: Sequence[Row]) -> int:
        """Write ``rows``, quarantining those PostgreSQL refuses; how many it refused."""
        refused = await write_isolating(pool, rows)
        if refused:
            await self._quarantine(pool, refused)
        return len(refused)

    @property
    def quarantine_file(self) -> str:
        return str(self.spool.path.with_suffix(".quarantine"))

    async def _quarantine(self, pool: asyncpg.Pool, refused: list[Refused]) -> None:
        """Keep refused rows with their reason: in the quarantine table, or in a file beside
        the spool when the table refuses them too. Never lost, never retried as they are."""
        self.stats.quarantined += len(refused)
        entries = []
        for row, reason in refused:
            kind, linkedid = _kind_and_linkedid(row)
            # ASCII JSON: a NUL becomes the six characters \u0000, which text can hold.
            text = json.dumps(row, ensure_ascii=True, default=repr)
            entries.append((kind, linkedid, text, reason[:2000]))
            log.error(
                "call log: PostgreSQL refused a %s row of call %r (%s); kept in the "
                "quarantine, every other row is written",
                kind,
                linkedid,
                reason[:300],
            )
        try:
            await pool.executemany(queries.INSERT_QUARANTINE, entries)
        except Exception as exc:  # the table refused too: the file takes them
            log.error(
                "call log: the quarantine table refused %d rows (%s: %s); they are in %s",
                len(entries),
                type(exc).__name__,
                exc,
                self.quarantine_file,
            )
            await asyncio.to_thread(self._append_quarantine_file, entries)

    def _append_quarantine_file(self, entries: list[tuple[str, str | None, str, str]]) -> None:
        lines = "".join(
            json.dumps({"kind": kind, "linkedid": linkedid, "row": text, "reason": reason}) + "\n"
            for kind, linkedid, text, reason in entries
        )
        with open(self.quarantine_file, "a", encoding="utf-8") as file:
            file.write(lines)
            file.flush()
            os.fsync(file.fileno())

    async def _collect(self) -> list[Row]:
        """Up to BATCH_MAX_ROWS rows, waiting at most BATCH_WAIT_S once the first arrived."""
        timeout = None if not self.spool.pending else max(0.05, self._next_try - time.monotonic())
        try:
            async with asyncio.timeout(timeout):
                first = await self._queue.get()
        except TimeoutError:
            return []
        batch = self._collecting = [first]
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
        """Move what is queued into the spool and try one write (shutdown, replay). With a
        spool that cannot be written, the rows go to the database directly."""
        batch = []
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        batch = self._unspooled + batch + self._overflow
        self._unspooled, self._overflow = [], []
        if batch:
            try:
                await asyncio.to_thread(self.spool.append, batch)
            except OSError as exc:
                log.error(
                    "call log: cannot append to %s (%s); writing %d rows to the database directly",
                    self.spool.path,
                    exc,
                    len(batch),
                )
                await self._write_directly(batch)
        await self.flush()

    async def _write_directly(self, rows: list[Row]) -> None:
        try:
            refused = await self._write(await self.database.pool(), rows)
        except Exception as exc:
            log.critical(
                "call log: %d rows could be neither spooled nor written (%s: %s); they are lost",
                len(rows),
                type(exc).__name__,
                exc,
            )
            return
        self.stats.rows_written += len(rows) - refused
