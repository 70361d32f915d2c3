"""The call-log sink: changes in, rows batched into PostgreSQL, nothing ever lost.

``offer`` (called by the pipeline) only converts changes to rows and queues them in memory:
it never waits for the database, so a slow or absent database never delays a screen-pop. One
owned task (``run``) takes the queued rows in batches (once the oldest has waited
``BATCH_WAIT_S``, at once when ``BATCH_MAX_ROWS`` wait), appends each batch to the spool (one
fsync), then writes everything pending, ``WRITE_CHUNK_ROWS`` rows a transaction, and empties
the spool. When the database fails, the rows stay in the spool and the write is retried with
capped backoff; a restarted daemon finds them there.

A transaction copies its rows (binary COPY) into staging tables and moves them into the call
log with one statement per kind: calls, then events, then events learnt from a snapshot
(queries.py has them, with the rules of the row-by-row statements). Two rows of one call in a
chunk (rare) cannot be upserted by one statement: that chunk's calls go row by row, in order.

An outage is told apart from a refusal. A database that cannot be used (down, restarting,
out of connections, the network) keeps every row for the next try. A database that refuses
rows (a value it cannot store, a broken constraint) gets the batch again in halves until the
refused rows are found; every other row is written, and the refused ones go to the quarantine
(the ``call_log_quarantine`` table, or the ``.quarantine`` file beside the spool when even
that is refused) with PostgreSQL's reason, a log line and a count. Before this, one NUL in a
caller name made the writer retry the same batch forever and the call log froze for good.

The event loop also carries AMI and the websockets: the CPU-heavy steps (a batch's JSON for
the spool, its staging) run in a worker thread, while the rows spooled before are written, and
asyncpg encodes a COPY on the loop, which it gets back every ``COPY_ROWS`` rows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, TypeVar

import asyncpg

from cti.calllog import queries
from cti.calllog.rows import Row, rows_for
from cti.calllog.spool import Spool, encode, encode_checked
from cti.database import Database, DatabaseUnavailable
from cti.state.changes import Change

log = logging.getLogger(__name__)

BATCH_MAX_ROWS = 20_000
BATCH_WAIT_S = 0.2
WRITE_CHUNK_ROWS = 20_000  # rows per transaction
COPY_ROWS = 2_000  # rows asyncpg encodes on the event loop before it lets the loop run, ~2 ms
RETRY_MAX_S = 30.0
QUEUE_ROWS = 100_000  # more queued rows than this is counted as an overflow (none is dropped)
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


def _named(kind: str, values: Any) -> tuple[tuple[str, ...], frozenset[str], dict[str, Any]]:
    """The columns of a row of ``kind``, its time columns, and its values by column; raises
    ValueError for a row that has other columns than its kind's."""
    columns: tuple[str, ...]
    if kind == "call":
        columns, times = queries.CALL_COLUMNS, queries.CALL_TIME_COLUMNS
        missing = len(columns) - len(values) if isinstance(values, list) else 0
        if 0 < missing <= 3:  # positional, spooled before through_gap or the campaign columns
            values = [*values, *(False, None, None)[3 - missing :]]
        if isinstance(values, dict) and set(columns) - values.keys() == queries.CALL_COLUMNS_ADDED:
            values = {**values, **dict.fromkeys(queries.CALL_COLUMNS_ADDED)}
    elif kind in ("event", "event_once"):
        columns, times = queries.EVENT_COLUMNS, queries.EVENT_TIME_COLUMNS
    else:
        raise ValueError(f"unknown row kind {kind!r}")
    if isinstance(values, list):  # spooled by a version whose rows were positional
        values = dict(zip(columns, values, strict=True))
    if not isinstance(values, dict) or values.keys() != set(columns):
        raise ValueError(f"a {kind} row must have exactly the columns {', '.join(columns)}")
    return columns, times, values


def prepare(row: Row) -> Prepared:
    """The statement and arguments of one spooled row; raises ValueError (or TypeError,
    OverflowError, OSError from an impossible time) for a row that cannot be written."""
    kind, values = row
    columns, times, values = _named(kind, values)
    arguments = tuple(_timestamp(values[c]) if c in times else values[c] for c in columns)
    return _STATEMENTS[kind], arguments


async def write_rows(pool: asyncpg.Pool, rows: Sequence[Prepared]) -> None:
    """Write prepared rows idempotently, in one transaction, row by row."""
    by_statement: dict[str, list[tuple[Any, ...]]] = {}
    for statement, arguments in rows:
        by_statement.setdefault(statement, []).append(arguments)
    async with pool.acquire() as connection, connection.transaction():
        for statement, many in by_statement.items():
            await connection.executemany(statement, many)


# --- the set-based path: rows staged by COPY, moved by one statement per kind ------------

# What datetime.fromtimestamp converts at once; a time outside is tried by it (below).
_FIRST_TIME = datetime(1, 1, 2, tzinfo=UTC).timestamp()
_LAST_TIME = datetime(9999, 12, 30, tzinfo=UTC).timestamp()
_COLUMNS = {
    "call": queries.CALL_COLUMNS,
    "event": queries.EVENT_COLUMNS,
    "event_once": queries.EVENT_COLUMNS,
}
_TIME_COLUMNS = queries.CALL_TIME_COLUMNS | queries.EVENT_TIME_COLUMNS
_RECORD = {kind: itemgetter(*columns) for kind, columns in _COLUMNS.items()}
_WIDTH = {kind: len(columns) for kind, columns in _COLUMNS.items()}
_ENDED_AT = queries.CALL_COLUMNS.index("ended_at")
_TIMES = {  # where a record holds times
    kind: tuple(i for i, c in enumerate(columns) if c in _TIME_COLUMNS)
    for kind, columns in _COLUMNS.items()
}
_STAGES = {  # also the order in which the kinds are written
    "call": queries.STAGE_CALLS,
    "event": queries.STAGE_EVENTS,
    "event_once": queries.STAGE_EVENTS_ONCE,
}
_FROM_STAGE = {
    "call": queries.UPSERT_CALLS_STAGED,
    "event": queries.INSERT_EVENTS_STAGED,
    "event_once": queries.INSERT_EVENTS_ONCE_STAGED,
}
_NEW_FROM_STAGE = {
    "call": queries.INSERT_NEW_CALLS_STAGED,
    "event": queries.INSERT_NEW_EVENTS_STAGED,
}
_SUCH_EVENT = itemgetter(0, 2, 3, 4)  # linkedid, kind, queue, interface (INSERT_EVENT_ONCE)
Staged = tuple[str, tuple[Any, ...]]  # kind, the row's values in its staging table's order


def stage(row: Row) -> Staged:
    """The kind and staging record of one row, its values in the columns' order (times stay
    epoch seconds); raises as ``prepare`` does for a row that cannot be written."""
    kind, values = row
    record = _RECORD.get(kind)
    if record is None or type(values) is not dict or len(values) != _WIDTH[kind]:
        values = _named(kind, values)[2]  # positional (a spool's), or refused
        record = _RECORD[kind]
    try:
        staged = record(values)
    except KeyError:
        _named(kind, values)  # raises: other columns than its kind's
        raise
    for i in _TIMES[kind]:
        at = staged[i]
        if at is not None and not _FIRST_TIME <= at <= _LAST_TIME:  # also NaN
            datetime.fromtimestamp(at, UTC)  # raises where the row-by-row path would
    return kind, staged


_CANNOT_STAGE = (TypeError, ValueError, OverflowError, OSError)


def spooled(rows: list[Row]) -> tuple[list[Any], bytes]:
    """What the spool is to hold for ``rows``: in memory, each row staged (or as it is when
    it cannot be: it is refused with the reason when written); in its file, the rows as JSON.
    CPU-bound: run in a worker thread, beside the database's work on the rows before. (Staged
    when written instead, a tenth of the write's time went to staging, PostgreSQL idle.)"""
    items: list[Any] = []
    all_staged = True  # then every time is a finite float: encode_checked may write them
    for row in rows:
        try:
            items.append(stage(row))
        except _CANNOT_STAGE:
            items.append(row)
            all_staged = False
    return items, encode_checked(rows) if all_staged else encode(rows)


def _as_row(item: Staged) -> Row:
    """A staged row with its columns named (for the quarantine: a row of an older spool may
    have come positional)."""
    kind, record = item
    return [kind, dict(zip(_COLUMNS[kind], record, strict=True))]


def _stage_all(items: Sequence[Any]) -> tuple[list[Staged], list[Refused]]:
    """Each item (a row, or staged already: a tuple) staged, and the rows that cannot be,
    with why. CPU-bound: run in a worker thread."""
    staged: list[Staged] = []
    refused: list[Refused] = []
    for item in items:
        if type(item) is tuple:
            staged.append(item)
            continue
        try:
            staged.append(stage(item))
        except _CANNOT_STAGE as exc:
            refused.append((item, f"cannot convert: {type(exc).__name__}: {exc}"))
    return staged, refused


async def _in_turns(records: list[tuple[Any, ...]]) -> AsyncIterator[tuple[Any, ...]]:
    """The records, letting the event loop run every COPY_ROWS of them. asyncpg encodes a
    list given to a COPY without once letting the loop run; so the writer copied 2,000 rows
    per COPY, and PostgreSQL waited while asyncpg encoded each COPY, asyncpg while
    PostgreSQL stored it. In one COPY, PostgreSQL stores each 512 kB asyncpg has sent while
    it encodes the next: the COPYs of a 20,000-row write took a quarter less time
    (bench/calllog_writer.py), for 0.3 µs a row this generator costs."""
    for start in range(0, len(records), COPY_ROWS):
        if start:
            await asyncio.sleep(0)
        for record in records[start : start + COPY_ROWS]:
            yield record


async def _move(connection: Any, kind: str, records: list[tuple[Any, ...]]) -> None:
    """Write one kind's records within the current transaction."""
    if kind == "call" and len({r[0] for r in records}) < len(records):
        # Two rows of one call: ON CONFLICT DO UPDATE cannot apply both in one statement.
        columns = queries.CALL_COLUMNS
        named = (["call", dict(zip(columns, r, strict=True))] for r in records)
        await connection.executemany(queries.UPSERT_CALL, [prepare(row)[1] for row in named])
        return
    if kind == "event_once":  # row by row, the first of two such events would be kept
        first: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for record in records:
            first.setdefault(_SUCH_EVENT(record), record)
        records = list(first.values())
    await connection.copy_records_to_table(
        _STAGES[kind], records=_in_turns(records), schema_name="pg_temp"
    )
    if kind in _NEW_FROM_STAGE:
        try:
            async with connection.transaction():  # a savepoint
                await connection.execute(_NEW_FROM_STAGE[kind])
            return
        except asyncpg.UniqueViolationError:
            pass  # some rows are there already: the statement with the merge rules
    await connection.execute(_FROM_STAGE[kind])


async def write_staged(pool: asyncpg.Pool, items: Sequence[Staged]) -> None:
    """Write staged rows idempotently, in one transaction: calls, then events, then events
    learnt from a snapshot (so that one of these is dropped when the chunk also has the
    call's own event)."""
    by_kind: dict[str, list[tuple[Any, ...]]] = {kind: [] for kind in _STAGES}
    for kind, record in items:
        by_kind[kind].append(record)
    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            await connection.execute(queries.CREATE_STAGING)
            for kind, records in by_kind.items():
                if records:
                    await _move(connection, kind, records)
        except asyncpg.PostgresError:
            await transaction.rollback()
            raise
        except BaseException:
            # A value asyncpg cannot encode (or a cancellation) stops a COPY halfway, and
            # asyncpg then asks the server to cancel, which could hit this connection's next
            # statement. Closing it rolls back and leaves nothing to hit.
            connection.terminate()
            raise
        await transaction.commit()


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


async def write_isolating(pool: asyncpg.Pool, rows: Sequence[Any]) -> list[Refused]:
    """Write ``rows`` (rows, or staged rows); return those PostgreSQL refused, with the
    reason, having written all the others. An outage is raised: nothing is decided about
    rows the database never saw."""
    staged: list[Staged]
    refused: list[Refused]
    if all(type(item) is tuple for item in rows):
        # The writer's own batches come staged already (``spooled``). Sent to a worker
        # thread only to be checked, they kept PostgreSQL idle ~15 ms a write of 20,000 rows
        # in bench/calllog_writer.py, waiting for the thread to get the GIL and hand back.
        staged, refused = list(rows), []
    else:  # a spool read at start-up: rows as JSON gave them
        staged, refused = await asyncio.to_thread(_stage_all, rows)

    async def bisect(items: list[Staged]) -> None:
        if not items:
            return
        try:
            await write_staged(pool, items)
        except Exception as exc:  # anything but an outage or our own bug: these rows' fault
            if is_outage(exc) or isinstance(exc, _OUR_BUGS):
                raise
            if len(items) == 1:
                refused.append((_as_row(items[0]), f"{type(exc).__name__}: {exc}"))
                return
            half = len(items) // 2
            await bisect(items[:half])
            await bisect(items[half:])

    await bisect(staged)
    return refused


T = TypeVar("T")


class CallLogWriter:
    def __init__(
        self,
        database: Database,
        spool: Spool,
        region: str,
        queue_size: int = QUEUE_ROWS,
        on_write: Callable[[float], None] | None = None,
    ) -> None:
        self.on_write = on_write  # seconds per successful write, for the latency histogram
        self.database = database
        self.spool = spool
        self.region = region
        self.queue_size = queue_size
        self.stats = WriterStats()
        self._queue: list[Row] = []  # offered, not yet in the spool, oldest first
        self._queued_since = 0.0  # when the oldest row in the queue came
        self._woken = asyncio.Event()  # the queue is no longer empty, or holds a batch
        self._collecting: list[Row] = []  # the batch being appended to the spool
        self._unspooled: list[Row] = []  # a batch taken from the queue the spool refused
        self._spooling: asyncio.Future[Any] | None = None  # the last spool work, in a thread
        self._retry_delay = 0.0
        self._next_try = 0.0

    @property
    def healthy(self) -> bool:
        """False from a failed write until the next successful one."""
        return self._retry_delay == 0.0

    @property
    def spool_depth(self) -> int:
        return self.spool.depth + len(self._queue) + len(self._unspooled) + len(self._collecting)

    def ends_held(self, linkedids: Iterable[str]) -> set[str]:
        """Of these calls, those whose end (a call row with its ``ended_at``) this writer
        holds, not yet committed: the reconciler leaves them to it. A scan of every row
        held; a reconciliation asks once."""
        wanted = set(linkedids)
        held: set[str] = set()
        for item in (*self.spool.pending, *self._collecting, *self._unspooled, *self._queue):
            # A spool read at start-up may hold anything: only what has a call row's shape.
            if not (isinstance(item, list | tuple) and len(item) == 2 and item[0] == "call"):
                continue
            values = item[1]
            if isinstance(values, dict):
                linkedid, ended_at = values.get("linkedid"), values.get("ended_at")
            elif isinstance(values, list | tuple) and len(values) > _ENDED_AT:
                linkedid, ended_at = values[0], values[_ENDED_AT]  # staged, or positional
            else:
                continue
            if ended_at is not None and isinstance(linkedid, str) and linkedid in wanted:
                held.add(linkedid)
        return held

    def offer(self, changes: Sequence[Change]) -> None:
        self.offer_rows(rows_for(changes, self.region))

    def offer_rows(self, rows: list[Row]) -> None:
        """Queue rows made by ``cti.calllog.rows``. Never blocks, never drops."""
        if not rows:
            return
        queue = self._queue
        if not queue:
            self._queued_since = time.monotonic()
            self._woken.set()
        elif len(queue) < self.queue_size <= len(queue) + len(rows):
            # Rare: the writer is far behind (the spool's disk). The rows stay queued.
            self.stats.overflows += 1
        queue.extend(rows)
        if len(queue) >= BATCH_MAX_ROWS:
            self._woken.set()

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Spool work in a worker thread. Shielded: cancelled (shutdown), the work goes on
        and ``drain`` waits for it, so that no two touch the spool at once."""
        self._spooling = asyncio.ensure_future(asyncio.to_thread(function, *args))
        result: T = await asyncio.shield(self._spooling)
        return result

    async def run(self) -> None:
        while True:
            batch = await self._collect()
            due = bool(self.spool.pending) and time.monotonic() >= self._next_try
            if not batch:
                if due:
                    await self.flush()
                continue
            self._collecting = batch
            try:
                # The batch is made ready in a worker thread while the rows spooled before it
                # are written: this process and PostgreSQL work side by side. One after the
                # other, bench/calllog_writer.py sustained a fifth fewer calls per second
                # (5,700 against 7,050 calls/s, run in turn on the same loaded machine).
                spooling = asyncio.to_thread(spooled, batch)
                if due:
                    (items, line), _ = await asyncio.gather(spooling, self.flush())
                else:
                    items, line = await spooling
            except BaseException:
                self._unspooled, self._collecting = batch, []
                raise
            try:
                await self._in_thread(self.spool.append, items, line)
            except OSError:  # the spool's disk: this task dies, the batch stays for drain
                self._unspooled, self._collecting = batch, []
                raise
            self._collecting = []

    async def _collect(self) -> list[Row]:
        """The next batch: up to BATCH_MAX_ROWS queued rows, once the oldest has waited
        BATCH_WAIT_S (at once when that many wait); none when the spool's rows are due to be
        written before a batch is ready."""
        while True:
            now = time.monotonic()
            queue = self._queue
            if len(queue) >= BATCH_MAX_ROWS or (queue and now >= self._queued_since + BATCH_WAIT_S):
                batch = queue[:BATCH_MAX_ROWS]
                del queue[:BATCH_MAX_ROWS]  # what is left has waited already: taken next
                return batch
            wake = []
            if self.spool.pending:
                if now >= self._next_try:
                    return []
                wake.append(self._next_try)
            if queue:
                wake.append(self._queued_since + BATCH_WAIT_S)
            self._woken.clear()
            try:
                async with asyncio.timeout(min(wake) - now if wake else None):
                    await self._woken.wait()
            except TimeoutError:
                pass

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
                await self._in_thread(self.spool.clear, written)
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
        await self._in_thread(self.spool.clear, len(pending))
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

    async def drain(self) -> None:
        """Move what is queued into the spool and try one write (shutdown, replay). With a
        spool that cannot be written, the rows go to the database directly."""
        if self._spooling is not None:  # run() may have been stopped while a thread had it
            try:
                await self._spooling
            except OSError:
                self._unspooled += self._collecting  # an append that failed
            self._collecting = []  # or that succeeded: in the spool
        batch = self._unspooled + self._queue
        self._unspooled, self._queue = [], []
        if batch:
            try:
                await self._in_thread(lambda: self.spool.append(*spooled(batch)))
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
