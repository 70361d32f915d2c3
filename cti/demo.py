"""Seed data for ``cti demo``: users whose phones are the simulator's agents.

Passwords are new at every start and printed, so nothing secret is committed and a newcomer
always knows how to sign in.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import asyncpg

from cti.auth.users import set_user
from cti.campaigns import lists
from cti.campaigns.rules import CallingHours, RetryDelays
from cti.database import Database
from cti.phone import to_e164

DEMO_USERS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("agent1", "Ayla Demir", "agent", ("SIP/1001",)),
    ("agent2", "Burak Kaya", "agent", ("SIP/1002",)),
    ("agent3", "Cem Yıldız", "agent", ("SIP/1003",)),
    ("supervisor", "Selin Aydın", "supervisor", ()),
    ("admin", "Admin", "admin", ()),
)


# Customers for numbers the simulator calls from (cti/simulator/config.py DEMO_CALLERS):
# external ref, name, national ID, balance, currency, phone as an agent would type it, address.
DEMO_CUSTOMERS = (
    (
        "demo-1",
        "Ayşe Çağrı Yılmaz",
        "12345678901",
        "1250.00",
        "TRY",
        "0532 123 45 67",
        ("Bağdat Caddesi 112/4", "34728", "İstanbul", "TR"),
    ),
    (
        "demo-2",
        "Mehmet Öztürk",
        "23456789012",
        "0.00",
        "TRY",
        "+90 555 111 22 33",
        ("Atatürk Bulvarı 5", "06420", "Ankara", "TR"),
    ),
    (
        "demo-3",
        "Zeynep Arslan",
        "34567890123",
        "310.50",
        "TRY",
        "0530 111 00 01",
        ("Kordon Boyu 21", "35220", "İzmir", "TR"),
    ),
    ("demo-4", "Emre Şahin", "45678901234", "89.90", "TRY", "0530 111 00 02", None),
    (
        "demo-5",
        "José Müller",
        "DE-99887766",
        "420.00",
        "EUR",
        "+49 30 123456",
        ("Unter den Linden 7", "10117", "Berlin", "DE"),
    ),
)


# The ACD for the simulator's route point collections-tr (SimConfig.demo): the demo's
# agents and their skills, as deploy/routing.toml has them for the example PJSIP phones.
DEMO_ROUTING = """
policy = "longest_idle"
ring_s = 15
sticky_wait_s = 20
debt_priority_over = 10000

[routes.collections-tr]
skills = "turkish:3, collections:2"
priority = 1

[agents]
"SIP/1001" = "turkish:5, collections:3"
"SIP/1002" = "turkish:2"
"SIP/1003" = "turkish:4, collections:2, english:3"
"SIP/1004" = "english:5"
"""


async def seed_demo(database: Database) -> list[tuple[str, str, str, tuple[str, ...]]]:
    pool = await database.pool()
    credentials = []
    for username, name, role, interfaces in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        await set_user(pool, username, name, role, password, interfaces)
        credentials.append((username, role, password, interfaces))
    await seed_demo_customers(pool, "agent1")
    await seed_demo_campaign(pool)
    return credentials


DEMO_CAMPAIGN = "Gecikmiş ödemeler"  # overdue payments


async def seed_demo_campaign(pool: asyncpg.Pool) -> None:
    """A running campaign for Cem (SIP/1003): the customers who owe something, called one after
    the other whenever he is ready; his screen shows each debtor before they answer. It calls
    at any hour so that the demo shows it whenever it runs (a real one keeps to the day's
    hours), and tries again soon, so that the demo keeps calling. Ayşe has promised to pay
    later: the rules keep her off the list until then."""
    if await pool.fetchval("SELECT 1 FROM campaigns WHERE name = $1", DEMO_CAMPAIGN):
        return
    campaign = await lists.create_campaign(
        pool,
        name=DEMO_CAMPAIGN,
        caller_id="+902125550000",
        agent_interfaces=("SIP/1003",),
        hours=CallingHours(time(0, 0), time(23, 59, 59, 999999), frozenset(range(1, 8))),
        max_attempts_per_day=5,
        max_attempts_total=20,
        retry=RetryDelays(
            busy=timedelta(minutes=1),
            unanswered=timedelta(minutes=2),
            failed=timedelta(minutes=5),
            machine=timedelta(minutes=5),
            callback_later=timedelta(minutes=10),
        ),
    )
    now = datetime.now(UTC)
    await lists.build_list(pool, campaign.id, lists.BalanceOver(Decimal(0)), "Europe/Istanbul", now)
    await lists.set_paused(pool, campaign.id, False)


async def seed_demo_customers(pool: asyncpg.Pool, owner: str) -> None:
    """Idempotent: customers by their external ref; one open promise on Ayşe's record, a past
    note, and a callback due today for ``owner``, so the first pop and home page show them."""
    async with pool.acquire() as conn, conn.transaction():
        user_id = await conn.fetchval("SELECT id FROM users WHERE username = $1", owner)
        for ref, name, national_id, balance, currency, phone, address in DEMO_CUSTOMERS:
            customer_id = await conn.fetchval(
                "INSERT INTO customers (external_ref, full_name, national_id, balance, currency)"
                " VALUES ($1, $2, $3, $4::numeric, $5) ON CONFLICT (external_ref) DO UPDATE"
                " SET full_name = EXCLUDED.full_name RETURNING id",
                ref,
                name,
                national_id,
                balance,
                currency,
            )
            await conn.execute(
                "INSERT INTO customer_phones (customer_id, e164, raw) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                customer_id,
                to_e164(phone, "TR"),
                phone,
            )
            if address and not await conn.fetchval(
                "SELECT 1 FROM customer_addresses WHERE customer_id = $1", customer_id
            ):
                await conn.execute(
                    "INSERT INTO customer_addresses (customer_id, line1, postal_code, city,"
                    " country) VALUES ($1, $2, $3, $4, $5)",
                    customer_id,
                    *address,
                )
        first = await conn.fetchval("SELECT id FROM customers WHERE external_ref = 'demo-1'")
        if not await conn.fetchval("SELECT 1 FROM promises WHERE customer_id = $1", first):
            await conn.execute(
                "INSERT INTO promises (customer_id, user_id, amount, currency, due_date)"
                " VALUES ($1, $2, 500, 'TRY', current_date + 3)",
                first,
                user_id,
            )
            await conn.execute(  # yesterday's call, so the pop has history to show
                "INSERT INTO calls (linkedid, caller_number, caller_e164, caller_name, dialed,"
                " direction, queue, agent, agent_name, outcome, started_at, queued_at,"
                " answered_at, ended_at, wait_s, talk_s) VALUES ('demo-history',"
                " '905321234567', '+905321234567', 'Ayşe Çağrı Yılmaz', '4440', 'inbound',"
                " 'support', 'SIP/1001', 'Agent 1001', 'answered', now() - interval '1 day',"
                " now() - interval '1 day', now() - interval '1 day' + interval '4 s',"
                " now() - interval '1 day' + interval '99 s', 4, 95) ON CONFLICT DO NOTHING"
            )
            await conn.execute(
                "INSERT INTO call_notes (linkedid, customer_id, user_id, disposition, text)"
                " VALUES ('demo-history', $1, $2, 'Payment promised', 'Will pay 500 TRY on"
                " Friday; asked for a reminder call.')",
                first,
                user_id,
            )
            await conn.execute(
                "INSERT INTO callbacks (customer_id, user_id, due_at, reason)"
                " VALUES ($1, $2, now() + interval '2 hours', 'Remind of the promise')",
                first,
                user_id,
            )
