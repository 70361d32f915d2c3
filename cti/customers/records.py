"""Customer records for the screen-pop, and what agents record about them.

Everything returns plain JSON-ready dicts (money as strings, dates ISO 8601), because their
one consumer is the panel. The pop path is latency-sensitive: ``find_by_number`` is one
query that builds whole cards (phones, addresses, open promises and callbacks, the last
calls with their notes) in PostgreSQL. Texts are stored as given: escaping is the page's job
(it only ever sets ``textContent``). SQL never contains user text; values are parameters.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg

from cti.phone import to_e164

MASK = "•"
SHOWN_ID_DIGITS = 4
LAST_CALLS = 5


class CustomerError(ValueError):
    """Input an agent can correct; the message says what is wrong."""


_CARDS = f"""
SELECT c.id, c.full_name, c.national_id, c.balance::text AS balance, c.currency,
  (SELECT coalesce(json_agg(json_build_object('e164', p.e164) ORDER BY p.e164), '[]')
     FROM customer_phones p WHERE p.customer_id = c.id) AS phones,
  (SELECT coalesce(json_agg(json_build_object('line1', a.line1, 'line2', a.line2,
            'postal_code', a.postal_code, 'city', a.city, 'country', a.country)
            ORDER BY a.id), '[]')
     FROM customer_addresses a WHERE a.customer_id = c.id) AS addresses,
  (SELECT coalesce(json_agg(json_build_object('id', pr.id, 'amount', pr.amount::text,
            'currency', pr.currency, 'due_date', pr.due_date::text) ORDER BY pr.due_date), '[]')
     FROM promises pr WHERE pr.customer_id = c.id AND pr.status = 'open') AS open_promises,
  (SELECT coalesce(json_agg(json_build_object('id', cb.id, 'due_at', cb.due_at,
            'reason', cb.reason) ORDER BY cb.due_at), '[]')
     FROM callbacks cb WHERE cb.customer_id = c.id AND cb.done_at IS NULL) AS open_callbacks,
  (SELECT coalesce(json_agg(recent ORDER BY recent.started_at DESC), '[]') FROM (
      SELECT k.linkedid, k.started_at, k.outcome, k.talk_s,
        -- The agent as everyone sees them: their display name, not a phone interface.
        coalesce((SELECT u.display_name FROM users u WHERE k.agent = ANY(u.interfaces)
                   ORDER BY u.id LIMIT 1), k.agent_name, k.agent) AS agent,
        (SELECT coalesce(json_agg(json_build_object('agent', u.display_name,
                  'disposition', n.disposition, 'text', n.text, 'created_at', n.created_at)
                  ORDER BY n.created_at), '[]')
           FROM call_notes n JOIN users u ON u.id = n.user_id
          WHERE n.linkedid = k.linkedid) AS notes
        FROM calls k
       WHERE k.caller_e164 IN (SELECT e164 FROM customer_phones WHERE customer_id = c.id)
       ORDER BY k.started_at DESC NULLS LAST LIMIT {LAST_CALLS}) recent) AS last_calls
FROM customers c
"""
_BY_NUMBER = _CARDS + (
    "WHERE c.id IN (SELECT customer_id FROM customer_phones WHERE e164 = $1) ORDER BY c.id"
)
_BY_ID = _CARDS + "WHERE c.id = $1"
_JSON_COLUMNS = ("phones", "addresses", "open_promises", "open_callbacks", "last_calls")


SEARCH_LIMIT = 20
# Who the agent looks for, by any of: a part of the name (at least three characters, the
# trigram index of migration 011), a phone number, the last digits of the national ID, the
# customer number. $1: the name part or NULL; $2: the number in E.164 or NULL; $3: the
# digits typed or NULL.
_SEARCH = """
SELECT c.id, c.full_name, c.national_id, c.balance::text AS balance, c.currency,
  (SELECT coalesce(array_agg(p.e164 ORDER BY p.e164), '{}')
     FROM customer_phones p WHERE p.customer_id = c.id) AS phones
FROM customers c
WHERE ($1::text IS NOT NULL AND cti_trigrams(c.full_name) @> cti_trigrams($1)
       AND strpos(cti_fold(c.full_name), cti_fold($1)) > 0)
   OR c.id IN (SELECT customer_id FROM customer_phones WHERE e164 = $2)
   OR ($3::text IS NOT NULL AND length($3) BETWEEN 4 AND 11 AND c.national_id LIKE '%' || $3)
   OR ($3::text IS NOT NULL AND length($3) <= 18 AND c.id = $3::bigint)
ORDER BY c.full_name, c.id
LIMIT $4
"""


async def search(pool: asyncpg.Pool, text: str, region: str) -> list[dict[str, Any]]:
    """Customers matching what an agent typed (see _SEARCH), the ID masked."""
    query = text.strip()
    digits = "".join(ch for ch in query if ch.isdigit())
    typed_a_number = bool(digits) and all(ch.isdigit() or ch in " +-()." for ch in query)
    if typed_a_number:
        name, e164 = None, to_e164(query, region)
    elif len(query) >= 3:
        name, e164, digits = query, None, ""
    else:
        raise CustomerError("type at least three letters of a name, or a number")
    rows = await pool.fetch(_SEARCH, name, e164, digits or None, SEARCH_LIMIT)
    return [
        {
            "id": row["id"],
            "full_name": row["full_name"],
            "national_id_masked": mask_national_id(row["national_id"]),
            "balance": row["balance"],
            "currency": row["currency"],
            "phones": list(row["phones"]),
        }
        for row in rows
    ]


def mask_national_id(national_id: str | None) -> str | None:
    if not national_id:
        return None
    hidden = max(0, len(national_id) - SHOWN_ID_DIGITS)
    return MASK * hidden + national_id[hidden:]


def _card(row: asyncpg.Record) -> dict[str, Any]:
    card: dict[str, Any] = {
        "id": row["id"],
        "full_name": row["full_name"],
        "national_id_masked": mask_national_id(row["national_id"]),
        "balance": row["balance"],
        "currency": row["currency"],
    }
    for column in _JSON_COLUMNS:
        card[column] = json.loads(row[column])
    return card


async def find_by_number(pool: asyncpg.Pool, number: str, region: str) -> list[dict[str, Any]]:
    e164 = to_e164(number, region)
    if e164 is None:
        return []
    return [_card(row) for row in await pool.fetch(_BY_NUMBER, e164)]


async def card(pool: asyncpg.Pool, customer_id: int) -> dict[str, Any]:
    row = await pool.fetchrow(_BY_ID, customer_id)
    if row is None:
        raise CustomerError("no such customer")
    return _card(row)


def _text(value: Any, name: str, limit: int, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CustomerError(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise CustomerError(f"{name} must be text")
    text: str = value.strip()
    if len(text) > limit:
        raise CustomerError(f"{name} is longer than {limit} characters")
    return text


def phone_e164(raw: Any, region: str) -> str:
    text = _text(raw, "phone", 40, required=True)
    assert text is not None
    e164 = to_e164(text, region)
    if e164 is None:
        raise CustomerError(f"{text!r} is not a phone number")
    return e164


async def create_customer(
    pool: asyncpg.Pool, region: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """A new customer from the pop of an unknown caller (number prefilled), with an address."""
    name = _text(fields.get("full_name"), "name", 200, required=True)
    raw_phone = _text(fields.get("phone"), "phone", 40, required=True)
    e164 = phone_e164(raw_phone, region)
    line1 = _text(fields.get("line1"), "address", 200)
    city = _text(fields.get("city"), "city", 100)
    async with pool.acquire() as conn, conn.transaction():
        customer_id = await conn.fetchval(
            "INSERT INTO customers (full_name) VALUES ($1) RETURNING id", name
        )
        await conn.execute(
            "INSERT INTO customer_phones (customer_id, e164, raw) VALUES ($1, $2, $3)",
            customer_id,
            e164,
            raw_phone,
        )
        if line1:
            await conn.execute(
                "INSERT INTO customer_addresses (customer_id, line1, city) VALUES ($1, $2, $3)",
                customer_id,
                line1,
                city,
            )
    return await card(pool, customer_id)


async def has_number(pool: asyncpg.Pool, customer_id: int, e164: str | None) -> bool:
    """Whether ``e164`` (a call's caller) is one of the customer's numbers."""
    if not e164:
        return False
    found = await pool.fetchval(
        "SELECT 1 FROM customer_phones WHERE customer_id = $1 AND e164 = $2", customer_id, e164
    )
    return found is not None


async def reveal_national_id(
    pool: asyncpg.Pool, customer_id: int, user_id: int, linkedid: str | None
) -> str:
    """The full ID number, once the agent has verified the caller; every reveal is audited."""
    async with pool.acquire() as conn, conn.transaction():
        national_id = await conn.fetchval(
            "SELECT national_id FROM customers WHERE id = $1", customer_id
        )
        if national_id is None:
            raise CustomerError("this customer has no ID number on file")
        await conn.execute(
            "INSERT INTO identity_checks (customer_id, user_id, linkedid) VALUES ($1, $2, $3)",
            customer_id,
            user_id,
            linkedid,
        )
    return str(national_id)


async def add_note(
    pool: asyncpg.Pool,
    linkedid: str,
    user_id: int,
    customer_id: int | None,
    disposition: Any,
    text: Any,
    dispositions: tuple[str, ...],
    now: datetime,
) -> None:
    chosen = _text(disposition, "disposition", 100)
    if chosen is not None and chosen not in dispositions:
        choices = ", ".join(dispositions)
        raise CustomerError(f"unknown disposition {chosen!r}; use one of: {choices}")
    note = _text(text, "note", 4000) or ""
    if chosen is None and not note:
        raise CustomerError("write a note or choose a disposition")
    await pool.execute(
        "INSERT INTO call_notes (linkedid, customer_id, user_id, disposition, text, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        linkedid,
        customer_id,
        user_id,
        chosen,
        note,
        now,
    )


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise CustomerError(f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise CustomerError("the amount must be positive, with at most 2 decimals")
    if amount >= Decimal("1e12"):
        raise CustomerError("the amount is too large")
    return amount


async def add_promise(
    pool: asyncpg.Pool,
    customer_id: int,
    user_id: int,
    amount: Any,
    due_date: Any,
    linkedid: str | None,
    now: datetime,
) -> dict[str, Any]:
    """``now`` is the caller's clock in the center's time zone: its date is "today", and it
    stamps the promise (not PostgreSQL's now()), so the day it counts in is the same day."""
    value = _amount(amount)
    today = now.date()
    try:
        due = date.fromisoformat(str(due_date))
    except ValueError:
        raise CustomerError(f"{due_date!r} is not a date (YYYY-MM-DD)") from None
    if due < today:
        raise CustomerError("a promise cannot be due in the past")
    row = await pool.fetchrow(
        "INSERT INTO promises (customer_id, user_id, linkedid, amount, currency, due_date, "
        "created_at) SELECT id, $2, $3, $4, currency, $5, $6 FROM customers WHERE id = $1 "
        "RETURNING id, amount::text AS amount, currency, due_date::text AS due_date",
        customer_id,
        user_id,
        linkedid,
        value,
        due,
        now,
    )
    if row is None:
        raise CustomerError("no such customer")
    return dict(row)


async def add_callback(
    pool: asyncpg.Pool,
    customer_id: int,
    user_id: int,
    due_at: Any,
    reason: Any,
    linkedid: str | None,
    now: datetime,
) -> dict[str, Any]:
    try:
        when = datetime.fromisoformat(str(due_at).replace("Z", "+00:00"))
    except ValueError:
        raise CustomerError(f"{due_at!r} is not a date and time") from None
    if when.tzinfo is None:
        raise CustomerError("the callback time needs a time zone")
    if when < now - timedelta(minutes=5):
        raise CustomerError("a callback cannot be due in the past")
    why = _text(reason, "reason", 200) or ""
    row = await pool.fetchrow(
        "INSERT INTO callbacks (customer_id, user_id, linkedid, due_at, reason, created_at) "
        "SELECT id, $2, $3, $4, $5, $6 FROM customers WHERE id = $1 "
        "RETURNING id, due_at, reason",
        customer_id,
        user_id,
        linkedid,
        when,
        why,
        now,
    )
    if row is None:
        raise CustomerError("no such customer")
    return {"id": row["id"], "due_at": row["due_at"].isoformat(), "reason": row["reason"]}


async def agent_home(
    pool: asyncpg.Pool, user_id: int, interfaces: list[str], day_start: datetime, now: datetime
) -> dict[str, Any]:
    """The agent's day so far, follow-ups due (overdue first), and recent calls;
    ``day_start`` is midnight in the center's time zone."""
    today, day_end = day_start.date(), day_start + timedelta(days=1)
    day = await pool.fetchrow(
        "SELECT count(*) AS calls, coalesce(sum(talk_s), 0) AS talk_s, "
        "coalesce(round(avg(coalesce(talk_s, 0) + hold_s + coalesce(wrapup_s, 0))), 0) AS aht_s "
        "FROM calls WHERE agent = ANY($1) AND answered_at >= $2 AND answered_at < $3",
        interfaces,
        day_start,
        day_end,
    )
    promises_made = await pool.fetchval(
        "SELECT count(*) FROM promises WHERE user_id = $1 AND created_at >= $2 AND created_at < $3",
        user_id,
        day_start,
        day_end,
    )
    followups: list[dict[str, Any]] = []
    for row in await pool.fetch(
        "SELECT p.id, p.amount::text AS amount, p.currency, p.due_date, c.id AS customer_id, "
        "c.full_name, (SELECT min(raw) FROM customer_phones WHERE customer_id = c.id) AS phone "
        "FROM promises p JOIN customers c ON c.id = p.customer_id "
        "WHERE p.user_id = $1 AND p.status = 'open' AND p.due_date <= $2",
        user_id,
        today,
    ):
        late_days = (today - row["due_date"]).days
        followups.append(
            {
                "kind": "promise",
                "id": row["id"],
                "amount": row["amount"],
                "currency": row["currency"],
                "due": row["due_date"].isoformat(),
                "reason": None,
                "customer_id": row["customer_id"],
                "customer_name": row["full_name"],
                "phone": row["phone"],
                "overdue_s": max(0, late_days) * 86400,
            }
        )
    for row in await pool.fetch(
        "SELECT cb.id, cb.due_at, cb.reason, c.id AS customer_id, c.full_name, "
        "(SELECT min(raw) FROM customer_phones WHERE customer_id = c.id) AS phone "
        "FROM callbacks cb JOIN customers c ON c.id = cb.customer_id "
        "WHERE cb.user_id = $1 AND cb.done_at IS NULL AND cb.due_at < $2",
        user_id,
        day_end,
    ):
        followups.append(
            {
                "kind": "callback",
                "id": row["id"],
                "amount": None,
                "currency": None,
                "due": row["due_at"].isoformat(),
                "reason": row["reason"],
                "customer_id": row["customer_id"],
                "customer_name": row["full_name"],
                "phone": row["phone"],
                "overdue_s": max(0, int((now - row["due_at"]).total_seconds())),
            }
        )
    followups.sort(key=lambda f: (-f["overdue_s"], f["due"]))
    recent = await pool.fetch(
        "SELECT k.linkedid, k.started_at, k.caller_number, k.caller_name, k.outcome, k.talk_s, "
        "(SELECT c.full_name FROM customer_phones p JOIN customers c ON c.id = p.customer_id "
        " WHERE p.e164 = k.caller_e164 ORDER BY c.id LIMIT 1) AS customer_name "
        "FROM calls k WHERE k.agent = ANY($1) ORDER BY k.started_at DESC NULLS LAST LIMIT 10",
        interfaces,
    )
    return {
        "day": {
            "calls": day["calls"],
            "talk_s": day["talk_s"],
            "aht_s": int(day["aht_s"]),
            "promises": promises_made,
        },
        "followups": followups,
        "recent_calls": [
            {**dict(r), "started_at": r["started_at"].isoformat() if r["started_at"] else None}
            for r in recent
        ],
    }


async def notes_and_promises(
    pool: asyncpg.Pool, user_id: int, since: datetime, until: datetime
) -> dict[str, Any]:
    """What an agent wrote in a period, for their supervisor."""
    notes = await pool.fetch(
        "SELECT n.created_at, n.linkedid, n.disposition, n.text, c.full_name AS customer_name "
        "FROM call_notes n LEFT JOIN customers c ON c.id = n.customer_id "
        "WHERE n.user_id = $1 AND n.created_at >= $2 AND n.created_at < $3 "
        "ORDER BY n.created_at DESC",
        user_id,
        since,
        until,
    )
    promises = await pool.fetch(
        "SELECT p.created_at, p.amount::text AS amount, p.currency, p.due_date, p.status, "
        "c.full_name AS customer_name FROM promises p JOIN customers c ON c.id = p.customer_id "
        "WHERE p.user_id = $1 AND p.created_at >= $2 AND p.created_at < $3 "
        "ORDER BY p.created_at DESC",
        user_id,
        since,
        until,
    )
    return {
        "notes": [{**dict(r), "created_at": r["created_at"].isoformat()} for r in notes],
        "promises": [
            {
                **dict(r),
                "created_at": r["created_at"].isoformat(),
                "due_date": r["due_date"].isoformat(),
            }
            for r in promises
        ],
    }
