"""Campaigns in PostgreSQL: the campaigns, their lists, the do-not-call list, and the
dialer's choice of whom to call next.

Theory of operation
-------------------
A list is built from the customer records by one filter (``build_list``) or imported from
CSV (``import_csv``): one entry per customer, with the number to dial and its time zones
(cti/campaigns/rules.py ``number_zones``, computed here in Python once per entry because
phonenumbers has no SQL twin). Whatever is added, the rules decide at dialling time, so an
entry whose number goes on the do-not-call list later is simply never chosen.

``next_entry`` chooses in SQL with the rules of ``why_not`` and the order of ``order_key``,
so that a million entries are not brought into Python: an index holds the list in the
dialer's order and the scan stops at the first entry that passes every rule. Due callbacks
come first through an index of their own. Which of the list's time-zone sets are within
calling hours is learnt first, by skipping through a third index (a few probes, not a scan):
at night there are none and the choice ends there; by day, the scan passes over the entries
of the other zones by comparing a key, before the hours of each zone are checked again.
The entry chosen is checked again with ``why_not`` (with the do-not-call list and the promises
read by separate queries); if they disagree, that is logged as the bug it is and no one is
called.

Two agents never get the same customer. The entry is chosen with FOR UPDATE SKIP LOCKED (a
concurrent choice passes over it) and marked taken (``taken_until``) before the transaction
ends, a few milliseconds later. We do not leave the row locked in a transaction the dialer
holds for the whole call instead: that would keep a pooled connection and an open transaction
(holding back vacuum on the list) for minutes per call in progress, and a lock cannot be seen
by a supervisor's query. A mark can, and it outlives no one: ``record_attempt`` clears it, as
``release_entry`` does when no call was made, and if the daemon dies mid-call it expires by
itself after the lease, which is longer than any call.

The campaign passed to ``next_entry`` and ``record_attempt`` is read again by its id in the
same transaction: a pause or a changed setting applies at once, whatever copy the caller holds.
Numbers and names given to this module are attacker-controlled text: they reach SQL only as
parameters and are normalised to E.164 (cti/phone.py) before they are stored or compared.
"""

from __future__ import annotations

import asyncio
import logging
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from cti.campaigns.rules import (
    E164,
    AttemptOutcome,
    CallingHours,
    Campaign,
    Entry,
    EntryStatus,
    RetryDelays,
    after_attempt,
    number_zones,
    promise_pending,
    why_not,
)
from cti.customers.importer import ImportReport, checked_rows, field_getter
from cti.phone import to_e164

log = logging.getLogger(__name__)

# Longer than any call: an entry taken by a daemon that died mid-call comes back after it.
DEFAULT_LEASE = timedelta(hours=2)
MAX_PRIORITY = 1_000_000
MAX_REASON = 500
DEFAULT_RETRY_DELAYS = RetryDelays()

# --- campaigns --------------------------------------------------------------------------


async def create_campaign(
    pool: asyncpg.Pool,
    *,
    name: str,
    caller_id: str,
    agent_interfaces: Iterable[str],
    hours: CallingHours,
    max_attempts_per_day: int,
    max_attempts_total: int,
    retry: RetryDelays = DEFAULT_RETRY_DELAYS,
) -> Campaign:
    """A new campaign, paused (it dials no one until resumed). Raises ValueError for settings
    the rules refuse, asyncpg.UniqueViolationError for a name already taken."""
    draft = Campaign(  # validates; the id is the database's
        id=0,
        name=name,
        caller_id=caller_id,
        agent_interfaces=tuple(agent_interfaces),
        hours=hours,
        max_attempts_per_day=max_attempts_per_day,
        max_attempts_total=max_attempts_total,
        retry=retry,
        paused=True,
    )
    campaign_id = await pool.fetchval(
        "INSERT INTO campaigns (name, caller_id, agents, calls_from, calls_until, weekdays,"
        " max_attempts_per_day, max_attempts_total, retry_busy_s, retry_unanswered_s,"
        " retry_failed_s, retry_machine_s, retry_callback_later_s, paused)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, true) RETURNING id",
        draft.name,
        draft.caller_id,
        list(draft.agent_interfaces),
        hours.calls_from,
        hours.calls_until,
        sorted(hours.weekdays),
        draft.max_attempts_per_day,
        draft.max_attempts_total,
        *(int(delay.total_seconds()) for delay in retry.by_outcome().values()),
    )
    return replace(draft, id=campaign_id)


def _campaign(row: asyncpg.Record) -> Campaign:
    return Campaign(
        id=row["id"],
        name=row["name"],
        caller_id=row["caller_id"],
        agent_interfaces=tuple(row["agents"]),
        hours=CallingHours(row["calls_from"], row["calls_until"], frozenset(row["weekdays"])),
        max_attempts_per_day=row["max_attempts_per_day"],
        max_attempts_total=row["max_attempts_total"],
        retry=RetryDelays(
            busy=timedelta(seconds=row["retry_busy_s"]),
            unanswered=timedelta(seconds=row["retry_unanswered_s"]),
            failed=timedelta(seconds=row["retry_failed_s"]),
            machine=timedelta(seconds=row["retry_machine_s"]),
            callback_later=timedelta(seconds=row["retry_callback_later_s"]),
        ),
        paused=row["paused"],
    )


async def get_campaign(db: asyncpg.Pool | asyncpg.Connection, campaign_id: int) -> Campaign | None:
    row = await db.fetchrow("SELECT * FROM campaigns WHERE id = $1", campaign_id)
    return None if row is None else _campaign(row)


async def set_paused(pool: asyncpg.Pool, campaign_id: int, paused: bool) -> bool:
    """Pause or resume; False when there is no such campaign. Calls in progress finish."""
    done = await pool.execute("UPDATE campaigns SET paused = $2 WHERE id = $1", campaign_id, paused)
    return bool(done == "UPDATE 1")


async def _existing(conn: asyncpg.Connection, campaign_id: int) -> None:
    if not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = $1)", campaign_id
    ):
        raise LookupError(f"no campaign {campaign_id}")


# --- entries ----------------------------------------------------------------------------


def _entry(row: asyncpg.Record) -> Entry:
    # The table's columns are the dataclass's fields, by the same names.
    outcome = row["last_outcome"]
    return Entry(
        **dict(row)
        | {
            "zones": tuple(row["zones"]),
            "last_outcome": None if outcome is None else AttemptOutcome(outcome),
            "status": EntryStatus(row["status"]),
        }
    )


async def entries(pool: asyncpg.Pool, campaign_id: int) -> list[Entry]:
    """The whole list, by customer id (for a supervisor's export and the tests; the dialer
    uses ``next_entry``)."""
    rows = await pool.fetch(
        "SELECT * FROM campaign_entries WHERE campaign_id = $1 ORDER BY customer_id", campaign_id
    )
    return [_entry(row) for row in rows]


async def _known_zones(conn: asyncpg.Connection, center_zone: str) -> frozenset[str]:
    """Zones that PostgreSQL and Python both know by name: the entry's zones are read by both
    (next_entry's SQL, why_not), and a name one of them lacks would fail every choice. The
    center's zone stands in for the others, so it must be one of them."""
    in_database = {row["name"] for row in await conn.fetch("SELECT name FROM pg_timezone_names")}
    known = frozenset(in_database & zoneinfo.available_timezones())
    if center_zone not in known:
        raise ValueError(f"the center's time zone {center_zone!r} is unknown to the database")
    return known


def _dialable(raw: str, region: str) -> str | None:
    """The number in E.164 when it is one the dialer can store and dial (rules.E164)."""
    e164 = to_e164(raw, region)
    return e164 if e164 is not None and E164.fullmatch(e164) else None


def _zones_of(
    numbers: Iterable[str], center_zone: str, known: frozenset[str]
) -> list[tuple[str, list[str]]]:
    # ~90 µs a number (phonenumbers): run in a thread, so that a long list does not stall
    # the event loop (and the AMI link with it).
    return [(number, list(number_zones(number, center_zone, known))) for number in numbers]


# --- building a list from the customer records ------------------------------------------


@dataclass(frozen=True, slots=True)
class BalanceOver:
    """Customers who owe more than ``amount``."""

    amount: Decimal

    def __post_init__(self) -> None:
        if not self.amount.is_finite():
            raise ValueError("the balance to exceed must be a number")


@dataclass(frozen=True, slots=True)
class PromiseDueToday:
    """Customers with an open promise due today (the center's day)."""


@dataclass(frozen=True, slots=True)
class PromiseBroken:
    """Customers with a broken promise."""


@dataclass(frozen=True, slots=True)
class NotReachedFor:
    """Customers no one has talked to on any of their numbers for ``days`` days."""

    days: int

    def __post_init__(self) -> None:
        if not 1 <= self.days <= 3650:
            raise ValueError("days not reached must be 1 to 3650")


ListFilter = BalanceOver | PromiseDueToday | PromiseBroken | NotReachedFor


def _filter_sql(list_filter: ListFilter, center_zone: str, now: datetime) -> tuple[str, list[Any]]:
    """The filter's condition on customer c, and its parameters ($3 on)."""
    if isinstance(list_filter, BalanceOver):
        return "c.balance > $3", [list_filter.amount]
    if isinstance(list_filter, PromiseDueToday):
        today = now.astimezone(zoneinfo.ZoneInfo(center_zone)).date()
        return (
            "EXISTS (SELECT 1 FROM promises pr WHERE pr.customer_id = c.id"
            " AND pr.status = 'open' AND pr.due_date = $3)",
            [today],
        )
    if isinstance(list_filter, PromiseBroken):
        return (
            "EXISTS (SELECT 1 FROM promises pr WHERE pr.customer_id = c.id"
            " AND pr.status = 'broken')",
            [],
        )
    # Reached: a call on one of their numbers was answered (a transferred call was answered
    # first, then handed on). The call log keys numbers by calls.caller_e164.
    return (
        "NOT EXISTS (SELECT 1 FROM customer_phones q JOIN calls k ON k.caller_e164 = q.e164"
        " WHERE q.customer_id = c.id AND k.outcome IN ('answered', 'transferred')"
        " AND k.started_at >= $3)",
        [now - timedelta(days=list_filter.days)],
    )


async def build_list(
    pool: asyncpg.Pool,
    campaign_id: int,
    list_filter: ListFilter,
    center_zone: str,
    now: datetime,
) -> int:
    """Add the customers the filter selects to the campaign's list, each with their first
    phone (the smallest E.164: customer_phones records no order, and the pop lists phones
    so) that can be dialled (rules.E164); customers without one, or already on the list, are
    left as they are. Returns how many were added."""
    condition, arguments = _filter_sql(list_filter, center_zone, now)
    async with pool.acquire() as conn, conn.transaction():
        await _existing(conn, campaign_id)
        await conn.execute(
            "CREATE TEMP TABLE list_candidates (customer_id bigint, number text) ON COMMIT DROP;"
            " CREATE TEMP TABLE list_zones (number text, zones text[]) ON COMMIT DROP"
        )
        await conn.execute(
            "INSERT INTO list_candidates"
            " SELECT DISTINCT ON (c.id) c.id, p.e164"
            " FROM customers c JOIN customer_phones p ON p.customer_id = c.id"
            f" WHERE {condition} AND p.e164 ~ $2 AND NOT EXISTS (SELECT 1 FROM campaign_entries e"
            "   WHERE e.campaign_id = $1 AND e.customer_id = c.id)"
            " ORDER BY c.id, p.e164",
            campaign_id,
            f"^{E164.pattern}$",
            *arguments,
        )
        numbers = [
            r["number"] for r in await conn.fetch("SELECT DISTINCT number FROM list_candidates")
        ]
        known = await _known_zones(conn, center_zone)
        zones = await asyncio.to_thread(_zones_of, numbers, center_zone, known)
        await conn.copy_records_to_table("list_zones", records=zones)
        added: int = await conn.fetchval(
            "WITH added AS ("
            " INSERT INTO campaign_entries (campaign_id, customer_id, number, zones)"
            " SELECT $1, l.customer_id, l.number, z.zones"
            " FROM list_candidates l JOIN list_zones z ON z.number = l.number"
            " ON CONFLICT (campaign_id, customer_id) DO NOTHING RETURNING 1)"
            " SELECT count(*) FROM added",
            campaign_id,
        )
    return added


# --- importing a list from CSV ----------------------------------------------------------

LIST_COLUMNS = ("number", "customer_id", "priority")
LIST_REQUIRED = ("number",)


@dataclass(frozen=True, slots=True)
class _ListRow:
    customer_ref: str | None  # customers.external_ref
    number: str  # E.164
    priority: int


def _check_list_row(record: dict[str, str], region: str) -> _ListRow:
    get = field_getter(record)
    raw = get("number")
    if raw is None:
        raise ValueError("number is required")
    number = _dialable(raw, region)
    if number is None:
        raise ValueError(f"number {raw!r} is not a phone number")
    ref = get("customer_id")
    if ref is not None and len(ref) > 100:
        raise ValueError("customer_id is longer than 100 characters")
    given = get("priority")
    try:
        priority = int(given or "0")
    except ValueError:
        raise ValueError(f"priority {given!r} is not a whole number") from None
    if not -MAX_PRIORITY <= priority <= MAX_PRIORITY:
        raise ValueError(f"priority must be between -{MAX_PRIORITY:,} and {MAX_PRIORITY:,}")
    return _ListRow(ref, number, priority)


def _row_key(row: _ListRow) -> str:
    return f"customer_id {row.customer_ref!r}" if row.customer_ref else f"number {row.number}"


async def import_csv(
    pool: asyncpg.Pool, campaign_id: int, text: str, center_region: str, center_zone: str
) -> ImportReport:
    """Add a CSV file's customers to the campaign's list.

    Columns (header row, any order): ``number`` (required; any format, normalised to E.164
    with the center's region), ``customer_id`` (the customer's external reference, as in
    ``cti import-customers``; without it, the one customer who has that number) and
    ``priority`` (a whole number, default 0, higher first). A bad row is reported with its
    line number and skipped, the others still load: unreadable, a bad number or priority, a
    customer unknown or not told apart, a customer already on the list or earlier in the
    file. ``inserted`` counts the entries added."""
    report = ImportReport()
    rows = list(
        checked_rows(
            text.removeprefix("\ufeff").splitlines(keepends=True),
            "the list",
            LIST_COLUMNS,
            LIST_REQUIRED,
            lambda record: _check_list_row(record, center_region),
            _row_key,
            report,
        )
    )
    async with pool.acquire() as conn, conn.transaction():
        await _existing(conn, campaign_id)
        known = await _known_zones(conn, center_zone)
        numbers = {row.number for _, row in rows}
        zones = dict(await asyncio.to_thread(_zones_of, numbers, center_zone, known))
        await conn.execute(
            "CREATE TEMP TABLE list_import (line integer, ref text, number text, zones text[],"
            " priority integer, customer_id bigint) ON COMMIT DROP"
        )
        await conn.copy_records_to_table(
            "list_import",
            records=[
                (line, row.customer_ref, row.number, zones[row.number], row.priority)
                for line, row in rows
            ],
            columns=("line", "ref", "number", "zones", "priority"),
        )
        await conn.execute(
            "UPDATE list_import i SET customer_id = c.id FROM customers c"
            " WHERE i.ref IS NOT NULL AND c.external_ref = i.ref"
        )
        # By number only when exactly one customer has it: a guess could call the wrong one.
        await conn.execute(
            "UPDATE list_import i SET customer_id = p.customer_id FROM customer_phones p"
            " WHERE i.ref IS NULL AND p.e164 = i.number AND NOT EXISTS (SELECT 1"
            "  FROM customer_phones q WHERE q.e164 = p.e164 AND q.customer_id <> p.customer_id)"
        )
        skipped = await conn.fetch(
            "SELECT line, ref, number, customer_id, first_line, on_list,"
            " (SELECT count(*) FROM customer_phones q WHERE q.e164 = i.number) AS owners"
            " FROM (SELECT i.*, min(line) OVER (PARTITION BY customer_id) AS first_line,"
            "   EXISTS (SELECT 1 FROM campaign_entries e WHERE e.campaign_id = $1"
            "           AND e.customer_id = i.customer_id) AS on_list"
            "  FROM list_import i) i"
            " WHERE customer_id IS NULL OR on_list OR line > first_line",
            campaign_id,
        )
        report.inserted = await conn.fetchval(
            "WITH added AS ("
            " INSERT INTO campaign_entries (campaign_id, customer_id, number, zones, priority)"
            " SELECT DISTINCT ON (customer_id) $1::bigint, customer_id, number, zones, priority"
            " FROM list_import WHERE customer_id IS NOT NULL ORDER BY customer_id, line"
            " ON CONFLICT (campaign_id, customer_id) DO NOTHING RETURNING 1)"
            " SELECT count(*) FROM added",
            campaign_id,
        )
    report.errors.extend((row["line"], _why_skipped(row)) for row in skipped)
    report.errors.sort()
    return report


def _why_skipped(row: asyncpg.Record) -> str:
    if row["customer_id"] is not None:
        if row["on_list"]:
            return "the customer is already on the campaign's list; skipped"
        return f"the same customer as line {row['first_line']}; skipped"
    if row["ref"] is not None:
        return f"no customer has customer_id {row['ref']!r}; skipped"
    if row["owners"] == 0:
        return f"no customer has the number {row['number']}; skipped"
    return f"{row['owners']} customers have the number {row['number']}: give customer_id; skipped"


# --- choosing whom to call --------------------------------------------------------------

# Parameters of the choice: $1 campaign, $2 now, $3 calls_from, $4 calls_until,
# $5 weekdays, $6 attempts per day, $7 attempts in total, $8 the zone sets within hours.
_ALL_ZONES_IN_HOURS = """NOT EXISTS (SELECT 1 FROM unnest({zones}) AS z
    WHERE NOT (($2::timestamptz AT TIME ZONE z)::time >= $3::time
               AND ($2::timestamptz AT TIME ZONE z)::time < $4::time
               AND extract(isodow FROM $2::timestamptz AT TIME ZONE z)::int = ANY($5::int[])))"""
# rules.customer_day: the earliest date among the number's zones.
_CUSTOMER_DAY = "(SELECT min(($2::timestamptz AT TIME ZONE z)::date) FROM unnest(e.zones) AS z)"
# A zone set's key: IANA names have no spaces. Comparing keys first spares the hours check
# on every entry of a zone at night that the scan passes over.
_ZONE_SET_KEY = "array_to_string({zones}, ' ')"
_ELIGIBLE = f"""
    e.campaign_id = $1 AND e.status = 'open'
    AND {_ZONE_SET_KEY.format(zones="e.zones")} = ANY($8::text[])
    AND e.attempts_total < $7
    AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= $2)
    AND (e.taken_until IS NULL OR e.taken_until <= $2)
    AND (e.attempts_today < $6 OR e.attempts_day IS NULL OR e.attempts_day < {_CUSTOMER_DAY})
    AND NOT EXISTS (SELECT 1 FROM do_not_call d WHERE d.number = e.number)
    AND NOT EXISTS (SELECT 1 FROM promises p WHERE p.customer_id = e.customer_id
                    AND p.status = 'open' AND p.due_date > {_CUSTOMER_DAY})
    AND {_ALL_ZONES_IN_HOURS.format(zones="e.zones")}"""
_DUE_CALLBACK = f"""
SELECT e.* FROM campaign_entries e
WHERE {_ELIGIBLE} AND e.callback_at IS NOT NULL AND e.callback_at <= $2
ORDER BY e.callback_at, e.priority DESC, e.last_attempt_at ASC NULLS FIRST, e.customer_id
LIMIT 1 FOR UPDATE SKIP LOCKED"""
_NEXT_IN_ORDER = f"""
SELECT e.* FROM campaign_entries e
WHERE {_ELIGIBLE}
ORDER BY e.priority DESC, e.last_attempt_at ASC NULLS FIRST, e.customer_id
LIMIT 1 FOR UPDATE SKIP LOCKED"""
# The keys of the list's distinct zone sets that are within calling hours: one index probe
# per zone set (a loose index scan), not a scan of the list.
_ZONE_SETS_IN_HOURS = f"""
WITH RECURSIVE zone_sets AS (
    (SELECT zones FROM campaign_entries
     WHERE campaign_id = $1 AND status = 'open' ORDER BY zones LIMIT 1)
  UNION ALL
    SELECT (SELECT e.zones FROM campaign_entries e
            WHERE e.campaign_id = $1 AND e.status = 'open' AND e.zones > s.zones
            ORDER BY e.zones LIMIT 1)
    FROM zone_sets s WHERE s.zones IS NOT NULL
)
SELECT ARRAY(SELECT {_ZONE_SET_KEY.format(zones="s.zones")} FROM zone_sets s
             WHERE s.zones IS NOT NULL AND {_ALL_ZONES_IN_HOURS.format(zones="s.zones")})"""
# What why_not is told, read apart from the choice so that the check is not the choice again.
_FACTS = """
SELECT EXISTS (SELECT 1 FROM do_not_call WHERE number = $1) AS on_dnc,
       ARRAY(SELECT due_date FROM promises WHERE customer_id = $2 AND status = 'open')
           AS open_due_dates"""


async def next_entry(
    pool: asyncpg.Pool, campaign: Campaign, now: datetime, lease: timedelta = DEFAULT_LEASE
) -> Entry | None:
    """The next customer to call for this campaign, taken until ``now + lease`` (or until
    ``record_attempt`` or ``release_entry``); None when no one may be called now."""
    async with pool.acquire() as conn, conn.transaction():
        current = await get_campaign(conn, campaign.id)
        if current is None or current.paused:
            return None
        hours = current.hours
        in_hours = (current.id, now, hours.calls_from, hours.calls_until, sorted(hours.weekdays))
        zone_sets = await conn.fetchval(_ZONE_SETS_IN_HOURS, *in_hours)
        if not zone_sets:
            return None
        rest = (current.max_attempts_per_day, current.max_attempts_total, zone_sets)
        row = await conn.fetchrow(_DUE_CALLBACK, *in_hours, *rest)
        if row is None:
            row = await conn.fetchrow(_NEXT_IN_ORDER, *in_hours, *rest)
        if row is None:
            return None
        entry = _entry(row)
        facts = await conn.fetchrow(_FACTS, entry.number, entry.customer_id)
        pending = promise_pending(facts["open_due_dates"], entry, now)
        refusal = why_not(entry, current, now, facts["on_dnc"], pending)
        if refusal is not None:
            log.error(
                "campaign %d: SQL chose customer %d but the rules refuse (%s): no call",
                current.id,
                entry.customer_id,
                refusal,
            )
            return None
        taken = replace(entry, taken_until=now + lease)
        await conn.execute(
            "UPDATE campaign_entries SET taken_until = $3 WHERE campaign_id = $1"
            " AND customer_id = $2",
            taken.campaign_id,
            taken.customer_id,
            taken.taken_until,
        )
    return taken


async def release_entry(pool: asyncpg.Pool, campaign_id: int, customer_id: int) -> bool:
    """Give back an entry taken by ``next_entry`` when no call was made (the agent left before
    the Originate): it is eligible again at once, with no attempt counted."""
    done = await pool.execute(
        "UPDATE campaign_entries SET taken_until = NULL WHERE campaign_id = $1"
        " AND customer_id = $2 AND taken_until IS NOT NULL",
        campaign_id,
        customer_id,
    )
    return bool(done == "UPDATE 1")


async def record_attempt(
    pool: asyncpg.Pool,
    campaign: Campaign,
    customer_id: int,
    outcome: AttemptOutcome,
    now: datetime,
    callback_at: datetime | None = None,
) -> Entry | None:
    """Count an attempt that ended with ``outcome`` (rules.after_attempt) and give the entry
    back; None when the customer is not on the campaign's list."""
    async with pool.acquire() as conn, conn.transaction():
        current = await get_campaign(conn, campaign.id)
        row = await conn.fetchrow(
            "SELECT * FROM campaign_entries WHERE campaign_id = $1 AND customer_id = $2 FOR UPDATE",
            campaign.id,
            customer_id,
        )
        if current is None or row is None:
            return None
        after = after_attempt(_entry(row), current, outcome, now, callback_at)
        await conn.execute(
            "UPDATE campaign_entries SET attempts_total = $3, attempts_today = $4,"
            " attempts_day = $5, last_attempt_at = $6, last_outcome = $7,"
            " next_attempt_at = $8, callback_at = $9, taken_until = $10, status = $11"
            " WHERE campaign_id = $1 AND customer_id = $2",
            after.campaign_id,
            after.customer_id,
            after.attempts_total,
            after.attempts_today,
            after.attempts_day,
            after.last_attempt_at,
            after.last_outcome,
            after.next_attempt_at,
            after.callback_at,
            after.taken_until,
            after.status,
        )
    return after


# --- the do-not-call list ---------------------------------------------------------------


async def add_dnc(
    pool: asyncpg.Pool, number: str, reason: str, user_id: int | None, region: str
) -> str:
    """Put a number on the do-not-call list; returns it in E.164. A number already there
    keeps the reason and date it was first added with. Raises ValueError for something that
    is not a phone number or a missing reason."""
    e164 = _dialable(number, region)
    if e164 is None:
        raise ValueError(f"{number!r} is not a phone number")
    reason = reason.strip()
    if not 1 <= len(reason) <= MAX_REASON or "\0" in reason:
        raise ValueError(f"a reason is required, at most {MAX_REASON} characters")
    await pool.execute(
        "INSERT INTO do_not_call (number, reason, added_by) VALUES ($1, $2, $3)"
        " ON CONFLICT (number) DO NOTHING",
        e164,
        reason,
        user_id,
    )
    return e164


async def remove_dnc(pool: asyncpg.Pool, number: str, region: str) -> bool:
    """Take a number off the do-not-call list; False when it was not on it."""
    e164 = _dialable(number, region)
    if e164 is None:
        return False
    done = await pool.execute("DELETE FROM do_not_call WHERE number = $1", e164)
    return bool(done == "DELETE 1")


async def is_dnc(pool: asyncpg.Pool, number: str, region: str) -> bool:
    e164 = _dialable(number, region)
    if e164 is None:
        return False
    return bool(
        await pool.fetchval("SELECT EXISTS (SELECT 1 FROM do_not_call WHERE number = $1)", e164)
    )
