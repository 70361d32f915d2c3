"""Reading the call log back: the call history and recordings (KPIs: cti/calllog/tallies.py).

Parameterised SQL only. The call history is read a page at a time (keyset pagination on
started_at, linkedid) or streamed whole (the CSV); see ``search_page`` and ``stream_calls``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class CallFilter:
    since: datetime
    until: datetime
    number: str | None = None  # E.164 or as received; matches either
    customer: str | None = None  # part of the customer's name (CUSTOMER_PART_MIN characters+)
    phones: tuple[str, ...] | None = None  # interfaces: one agent's phones (agent_interfaces)
    queue: str | None = None
    outcome: str | None = None
    consent: str | None = None  # granted | declined | none


# A page of the history: newest first, ties (the same started_at, to the microsecond) broken
# by linkedid, so that the order is total and a page starts exactly after the previous one's
# last call (keyset pagination: an index range, however deep the page, never an OFFSET).
PAGE_SIZE = 100
PAGE_SIZE_MAX = 1000
# The total of a page is counted exactly up to here; past it, "more than TOTAL_CAP" is all
# the page says (Page.total_capped): counting ten million rows to print a number costs
# seconds, counting 10,001 of them milliseconds. A count that still takes longer than
# TOTAL_BUDGET_MS (filters that no one index serves together, over months: the count reads
# a million rows to find 10,000) is abandoned: the page comes without its total.
TOTAL_CAP = 10_000
TOTAL_BUDGET_MS = 300
# The customer's name is searched through trigrams (migration 011): a shorter part has none.
CUSTOMER_PART_MIN = 3


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: its last call's started_at and linkedid."""

    started_at: datetime
    linkedid: str


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict[str, Any]]  # the calls of the page
    next: Cursor | None  # None: this was the last page
    total: int | None  # calls of the period and filters, at most TOTAL_CAP; None: not counted
    total_capped: bool  # there are more than total (TOTAL_CAP), or it was not counted


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(cursor: Cursor) -> str:
    """Opaque to clients: base64url of [started_at in epoch microseconds, linkedid]."""
    position = [(cursor.started_at - _EPOCH) // _MICROSECOND, cursor.linkedid]
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """The cursor ``encode_cursor`` made, or ValueError (anything else a client sends)."""
    if not 0 < len(text) <= 400:
        raise ValueError("cursor of the wrong length")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        micros, linkedid = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise ValueError("not a cursor") from exc
    if (
        type(micros) is not int
        or not isinstance(linkedid, str)
        or not 0 < len(linkedid) <= 150
        or not linkedid.isprintable()  # PostgreSQL's text has no NUL
    ):
        raise ValueError("not a cursor")
    try:
        return Cursor(_EPOCH + micros * _MICROSECOND, linkedid)
    except OverflowError:
        raise ValueError("cursor out of range") from None


HISTORY_COLUMNS = (
    "linkedid",
    "started_at",
    "caller_number",
    "caller_e164",
    "caller_name",
    "customer",
    "queue",
    "agent",
    "agent_name",
    "outcome",
    "wait_s",
    "talk_s",
    "hold_s",
    "consent",
    "has_recording",
    "routing",
    "disposition",
    "note",
)


def agent_name(interface: str, member: str | None = None) -> str:
    """SQL for the name of the agent whose phone is the column ``interface``: the user
    with that phone, as people know them; else ``member`` (Asterisk's member name, when no
    user has that phone any more), else the interface itself."""
    fallback = f"{member}, {interface}" if member else interface
    return (
        f"coalesce((SELECT u.display_name FROM users u WHERE {interface} = ANY(u.interfaces)"
        f" ORDER BY u.disabled, u.id LIMIT 1), {fallback})"
    )


_COLUMNS = f"""
SELECT k.linkedid, k.started_at, k.caller_number, k.caller_e164, k.caller_name,
       -- the phone's customer (the first, if several share it), from customer_phones_e164_name
       -- alone: each phone carries its customer's name (migration 017)
       (SELECT p.full_name FROM customer_phones p WHERE p.e164 = k.caller_e164
        ORDER BY p.customer_id LIMIT 1) AS customer,
       k.queue, k.agent, {agent_name("k.agent", "k.agent_name")} AS agent_name,
       k.outcome, k.wait_s, k.talk_s, k.hold_s, k.consent,
       k.recording IS NOT NULL AS has_recording,
       (SELECT r.reason FROM routing_decisions r WHERE r.linkedid = k.linkedid
        ORDER BY r.id DESC LIMIT 1) AS routing,  -- why the ACD sent it there, if it did
       -- what the agents saved for the call: the last disposition given, every note's text
       (SELECT n.disposition FROM call_notes n WHERE n.linkedid = k.linkedid
        AND n.disposition IS NOT NULL ORDER BY n.id DESC LIMIT 1) AS disposition,
       (SELECT string_agg(n.text, E'\\n' ORDER BY n.id) FROM call_notes n
        WHERE n.linkedid = k.linkedid AND n.text <> '') AS note
"""
_NEWEST_FIRST = "ORDER BY k.started_at DESC, k.linkedid DESC"
# A page is found first by its keys alone, which an index holds (an index-only scan: no
# table row is read for a call that is not on the page), then its calls are read.
_PAGE = (
    _COLUMNS + "FROM (SELECT k.linkedid FROM calls k {where}\n"
    f"{_NEWEST_FIRST} LIMIT {{limit}}) AS page\n"
    f"JOIN calls k USING (linkedid)\n{_NEWEST_FIRST}"
)

# The customer's name holds the part, case-insensitively (in Turkish too: cti_fold) and
# literally (no wildcards): the GIN index on cti_trigrams(full_name) finds the names holding
# every trigram of the part, strpos keeps those that hold the part itself (migration 011
# says why not pg_trgm). Each phone carries its customer's name (migration 017): the
# customers table is not read.
_NAME_HOLDS = (
    "cti_trigrams(p.full_name) @> cti_trigrams({0})"
    " AND strpos(cti_fold(p.full_name), cti_fold({0})) > 0"
)
# A customer filter is written one of three ways. Every call of the part (the CSV, the total):
_CUSTOMER_JOIN = f"k.caller_e164 IN (SELECT p.e164 FROM customer_phones p WHERE {_NAME_HOLDS})"
# A page, when the part names up to PHONES_LISTED phones: the phones, listed, so that the
# planner knows how many there are (it cannot tell from the trigrams) and reads each phone's
# newest calls from calls_history_e164 when they are few, or the newest calls from
# calls_history, which holds caller_e164, when they are more.
_CUSTOMER_PHONES = "k.caller_e164 = ANY({0}::text[])"
# A page, when the part names more (a common surname): the calls newest first, each asked
# whether its caller's phone is one of them, which finds a page's worth soon when they are
# many; customer_phones_e164_name answers it alone (an index-only scan).
_CUSTOMER_PROBE = (
    "(SELECT true FROM customer_phones p WHERE p.e164 = k.caller_e164"
    " AND strpos(cti_fold(p.full_name), cti_fold({0})) > 0 LIMIT 1)"
)
# Listing costs about 7 µs a phone, the probe about 10 µs a call read (on the loaded 2-core
# benchmark machine, bench/README.md); a page probes 100 / (the share of calls that are the
# part's), 14,000 calls at 10,000 phones of 1M, 4,700 at 30,000: listing is the cheaper up
# to about here.
PHONES_LISTED = 10_000
# How many phones' names hold the part's trigrams (a few more than hold the part): the
# index alone answers, without reading a phone.
_NAMED = (
    "SELECT count(*) FROM (SELECT FROM customer_phones p"
    " WHERE cti_trigrams(p.full_name) @> cti_trigrams($1) LIMIT $2) m"
)
# Not DISTINCT: a phone two customers share is listed twice, which = ANY does not mind, and
# sorting thousands of phones to drop the few such costs more than they do.
_PHONES_NAMED = f"SELECT p.e164 FROM customer_phones p WHERE {_NAME_HOLDS.format('$1')}"


async def customer_condition(connection: asyncpg.Connection, part: str) -> tuple[str, Any]:
    """How a page finds the calls of the customers whose name holds ``part`` (see above):
    a fragment of SQL and its value, for ``page_calls`` and ``count_calls``."""
    if await connection.fetchval(_NAMED, part, PHONES_LISTED + 1) > PHONES_LISTED:
        return _CUSTOMER_PROBE, part
    return _CUSTOMER_PHONES, [r["e164"] for r in await connection.fetch(_PHONES_NAMED, part)]


def _where(
    f: CallFilter, after: Cursor | None = None, customer: tuple[str, Any] | None = None
) -> tuple[str, list[Any]]:
    """The WHERE clause of ``f`` and its arguments; ``customer``: how the customer filter is
    written (default: _CUSTOMER_JOIN) and its value.

    Only the filters given are in the SQL (each a fixed fragment; every value a $n
    parameter), so that the planner sees the query it has to run and picks the index of the
    filter (migration 011) instead of one plan for "NULL or equal" that suits none."""
    args: list[Any] = [f.since, f.until]
    where = ["k.started_at >= $1", "k.started_at < $2"]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if f.number is not None:
        where.append("(k.caller_e164 = {0} OR k.caller_number = {0})".format(arg(f.number)))
    if f.customer is not None:
        fragment, value = customer or (_CUSTOMER_JOIN, f.customer)
        where.append(fragment.format(arg(value)))
    if f.phones is not None:
        # One phone (most agents): the plain comparison, which reads calls_history_agent
        # newest first; an agent's several phones cannot be read in that order from it.
        if len(f.phones) == 1:
            where.append(f"k.agent = {arg(f.phones[0])}")
        else:
            where.append(f"k.agent = ANY({arg(list(f.phones))}::text[])")
    for column in ("queue", "outcome"):
        value = getattr(f, column)
        if value is not None:
            where.append(f"k.{column} = {arg(value)}")
    if f.consent == "none":
        where.append("k.consent IS NULL")
    elif f.consent is not None:
        where.append(f"k.consent = {arg(f.consent)}")
    if after is not None:
        where.append(
            f"(k.started_at, k.linkedid) < ({arg(after.started_at)}, {arg(after.linkedid)})"
        )
    return "WHERE " + "\n  AND ".join(where), args


@asynccontextmanager
async def history_reader(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a read-only transaction where each query plans for its own values: a
    prepared statement that PostgreSQL switched to a generic plan would read a number's
    index for a number that is on half the calls (the withheld one)."""
    async with pool.acquire() as connection, connection.transaction(readonly=True):
        await connection.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield connection


async def page_calls(
    connection: asyncpg.Connection,
    f: CallFilter,
    limit: int,
    after: Cursor | None = None,
    customer: tuple[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], Cursor | None]:
    """Up to ``limit`` calls of ``f`` after ``after``, newest first, and the cursor of the
    next page (None: there is none). ``customer``: ``customer_condition`` of ``f``'s
    customer, if it was already asked."""
    if f.customer is not None and customer is None:
        customer = await customer_condition(connection, f.customer)
    where, args = _where(f, after, customer)
    sql = _PAGE.format(where=where, limit=f"${len(args) + 1}")
    rows = [dict(r) for r in await connection.fetch(sql, *args, limit + 1)]
    if len(rows) <= limit:
        return rows, None
    del rows[limit:]
    return rows, Cursor(rows[-1]["started_at"], rows[-1]["linkedid"])


async def count_calls(
    connection: asyncpg.Connection,
    f: CallFilter,
    customer: tuple[str, Any] | None = None,
    budget_ms: int = TOTAL_BUDGET_MS,
) -> tuple[int | None, bool]:
    """How many calls ``f`` matches, counted up to TOTAL_CAP, and whether there are more;
    (None, True) when counting took longer than ``budget_ms``. ``customer``: as for
    ``page_calls``; its phones are counted from, but the probe would read the calls one at a
    time, so its customers are joined instead."""
    if customer is not None and customer[0] != _CUSTOMER_PHONES:
        customer = None
    where, args = _where(f, None, customer)
    sql = f"SELECT count(*) FROM (SELECT FROM calls k {where} LIMIT ${len(args) + 1}) m"
    try:
        # A savepoint: a cancelled count leaves the transaction it runs in usable.
        async with connection.transaction():
            await connection.execute(f"SET LOCAL statement_timeout = {int(budget_ms)}")
            total = int(await connection.fetchval(sql, *args, TOTAL_CAP + 1))
    except asyncpg.QueryCanceledError:
        return None, True
    return min(total, TOTAL_CAP), total > TOTAL_CAP


async def search_page(
    pool: asyncpg.Pool, f: CallFilter, limit: int = PAGE_SIZE, after: Cursor | None = None
) -> Page:
    """One page of ``f``'s calls, newest first, starting after ``after``; with the total of
    the period and filters (not of the remaining pages), counted up to TOTAL_CAP within
    TOTAL_BUDGET_MS."""
    async with history_reader(pool) as connection:
        customer = None
        if f.customer is not None:
            customer = await customer_condition(connection, f.customer)
        rows, following = await page_calls(connection, f, limit, after, customer)
        total, capped = await count_calls(connection, f, customer)
    return Page(rows, following, total, capped)


async def stream_calls(
    pool: asyncpg.Pool, f: CallFilter, batch: int = 1000
) -> AsyncIterator[list[dict[str, Any]]]:
    """The calls of ``f`` in batches, newest first, read through a server-side cursor:
    however many the period holds, only one batch is in memory at a time."""
    where, args = _where(f)
    async with history_reader(pool) as connection:
        sql = f"{_COLUMNS}FROM calls k {where}\n{_NEWEST_FIRST}"
        cursor = await connection.cursor(sql, *args)
        while rows := await cursor.fetch(batch):
            yield [dict(r) for r in rows]


async def agent_interfaces(pool: asyncpg.Pool, who: str) -> tuple[str, ...] | None:
    """The phones of the agent ``who`` names: a user's name as the panel shows it or their
    username (either case), or a phone's interface itself (``PJSIP/1001``); None when it
    names no one. The history finds an agent's calls by the phones that answered them."""
    who = who.strip()
    if "/" in who:
        return (who,)
    rows = await pool.fetch(
        "SELECT interfaces FROM users"
        " WHERE lower(username) = lower($1) OR cti_fold(display_name) = cti_fold($1)",
        who,
    )
    if not rows:
        return None
    return tuple(sorted({interface for r in rows for interface in r["interfaces"]}))


async def agent_names(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """Everyone with a phone, by name: the names the history's agent filter takes."""
    rows = await pool.fetch(
        "SELECT username, display_name AS name, interfaces FROM users"
        " WHERE cardinality(interfaces) > 0 ORDER BY display_name, username"
    )
    return [dict(r) | {"interfaces": list(r["interfaces"])} for r in rows]


async def recording_name(pool: asyncpg.Pool, linkedid: str) -> str | None:
    value = await pool.fetchval("SELECT recording FROM calls WHERE linkedid = $1", linkedid)
    return None if value is None else str(value)
