"""Campaign lists against a real PostgreSQL (cti/campaigns/lists.py): lists built from the
customer records and imported from CSV, the dialer's choice in SQL checked against the pure
rules over generated lists at many moments, two dialers at once, the do-not-call list, and
attempts. Every moment is written out: nothing reads the machine's clock."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import asyncpg
import pytest

from cti.auth.users import set_user
from cti.campaigns import lists
from cti.campaigns.http import _FIGURES, NOT_THE_RIGHT_PARTY
from cti.campaigns.lists import (
    BalanceOver,
    NotReachedFor,
    PromiseBroken,
    PromiseDueToday,
    build_list,
    import_csv,
    next_entry,
    record_attempt,
)
from cti.campaigns.rules import (
    AttemptOutcome,
    CallingHours,
    Campaign,
    Entry,
    EntryStatus,
    RetryDelays,
    order_key,
    promise_pending,
    why_not,
)
from cti.customers.importer import ImportFileError
from cti.database.migrate import migrate

ISTANBUL = "Europe/Istanbul"
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # 00:00 UTC, 03:00 in Istanbul
WORKING_HOURS = CallingHours(time(9), time(20), frozenset({1, 2, 3, 4, 5}))


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, max_size=12)
    await migrate(pool)
    yield pool
    await pool.close()


async def user_id(pool: asyncpg.Pool) -> int:
    await set_user(pool, "sup1", "Selin Kaya", "supervisor", "correct horse battery", ())
    return int(await pool.fetchval("SELECT id FROM users WHERE username = 'sup1'"))


async def add_customers(
    pool: asyncpg.Pool, customers: Iterable[tuple[str, Decimal, list[str]]]
) -> dict[str, int]:
    """(external_ref, balance, phones in E.164) -> {external_ref: id}."""
    ids = {}
    for ref, balance, phones in customers:
        ids[ref] = await pool.fetchval(
            "INSERT INTO customers (external_ref, full_name, balance) VALUES ($1, $2, $3)"
            " RETURNING id",
            ref,
            f"Customer {ref}",
            balance,
        )
        for phone in phones:
            await pool.execute(
                "INSERT INTO customer_phones (customer_id, e164, raw) VALUES ($1, $2, $2)",
                ids[ref],
                phone,
            )
    return ids


async def new_campaign(pool: asyncpg.Pool, name: str = "Overdue", resumed: bool = True) -> Campaign:
    campaign = await lists.create_campaign(
        pool,
        name=name,
        caller_id="+902125550000",
        agent_interfaces=("PJSIP/1001", "PJSIP/1002"),
        hours=WORKING_HOURS,
        max_attempts_per_day=2,
        max_attempts_total=5,
        retry=RetryDelays(busy=timedelta(minutes=15), unanswered=timedelta(hours=1)),
    )
    assert campaign.paused  # a new campaign dials no one until resumed
    if resumed:
        assert await lists.set_paused(pool, campaign.id, False)
    fresh = await lists.get_campaign(pool, campaign.id)
    assert fresh is not None
    return fresh


async def listed(pool: asyncpg.Pool, campaign: Campaign) -> dict[int, Entry]:
    return {e.customer_id: e for e in await lists.entries(pool, campaign.id)}


# --- building lists ---------------------------------------------------------------------


async def test_a_list_by_balance_takes_each_customers_first_phone_once(
    pool: asyncpg.Pool,
) -> None:
    ids = await add_customers(
        pool,
        [
            ("owes", Decimal("1500.00"), ["+905321111111", "+902125550001"]),
            ("little", Decimal("100.00"), ["+905322222222"]),
            ("no-phone", Decimal("9000.00"), []),
            ("new-york", Decimal("2000.00"), ["+12125551234"]),
            ("zone-unknown", Decimal("2000.00"), ["+15551234567"]),
            ("long-first", Decimal("2000.00"), ["+1000000000000000000", "+905329999999"]),
        ],
    )
    campaign = await new_campaign(pool)
    with pytest.raises(ValueError, match="Mars/Olympus"):
        await build_list(pool, campaign.id, BalanceOver(Decimal(1000)), "Mars/Olympus", MONDAY)
    added = await build_list(pool, campaign.id, BalanceOver(Decimal(1000)), ISTANBUL, MONDAY)
    assert added == 4
    entries = await listed(pool, campaign)
    assert set(entries) == {ids["owes"], ids["new-york"], ids["zone-unknown"], ids["long-first"]}
    assert entries[ids["owes"]].number == "+902125550001"  # the smallest E.164
    assert entries[ids["long-first"]].number == "+905329999999"  # the first one we can dial
    assert entries[ids["owes"]].zones == (ISTANBUL,)
    assert entries[ids["new-york"]].zones == ("America/New_York",)
    assert entries[ids["zone-unknown"]].zones == (ISTANBUL,)  # the center's stands in
    assert all(e.status is EntryStatus.OPEN and e.attempts_total == 0 for e in entries.values())
    # Again: nothing new, nothing doubled.
    assert await build_list(pool, campaign.id, BalanceOver(Decimal(1000)), ISTANBUL, MONDAY) == 0
    with pytest.raises(LookupError):
        await build_list(pool, 999, BalanceOver(Decimal(0)), ISTANBUL, MONDAY)


async def test_lists_of_promises_due_today_on_the_centers_calendar_and_broken(
    pool: asyncpg.Pool,
) -> None:
    ids = await add_customers(
        pool, [(ref, Decimal(500), [f"+90532000000{i}"]) for i, ref in enumerate("abcde")]
    )
    agent = await user_id(pool)
    tuesday, monday = date(2026, 3, 3), date(2026, 3, 2)
    for ref, due, status in [
        ("a", tuesday, "open"),
        ("b", monday, "open"),
        ("c", tuesday, "kept"),
        ("d", monday, "broken"),
        ("e", date(2026, 2, 1), "broken"),
    ]:
        await pool.execute(
            "INSERT INTO promises (customer_id, user_id, amount, currency, due_date, status)"
            " VALUES ($1, $2, 100, 'TRY', $3, $4)",
            ids[ref],
            agent,
            due,
            status,
        )
    # Monday 22:30 UTC is already Tuesday 01:30 in Istanbul: a's promise is due today.
    late_monday = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)
    due_today = await new_campaign(pool, "Due today")
    assert await build_list(pool, due_today.id, PromiseDueToday(), ISTANBUL, late_monday) == 1
    assert set(await listed(pool, due_today)) == {ids["a"]}
    assert await build_list(pool, due_today.id, PromiseDueToday(), "UTC", late_monday) == 1
    assert set(await listed(pool, due_today)) == {ids["a"], ids["b"]}  # Monday in UTC

    broken = await new_campaign(pool, "Broken")
    assert await build_list(pool, broken.id, PromiseBroken(), ISTANBUL, late_monday) == 2
    assert set(await listed(pool, broken)) == {ids["d"], ids["e"]}


async def test_a_list_of_customers_not_reached_for_n_days(pool: asyncpg.Pool) -> None:
    ids = await add_customers(
        pool,
        [
            ("spoke-3-days-ago", Decimal(1), ["+905320000001", "+905320000011"]),
            ("spoke-10-days-ago", Decimal(1), ["+905320000002"]),
            ("never-called", Decimal(1), ["+905320000003"]),
            ("rang-yesterday", Decimal(1), ["+905320000004"]),
            ("transferred-yesterday", Decimal(1), ["+905320000005"]),
        ],
    )
    for n, (number, outcome, days_ago) in enumerate(
        [
            ("+905320000011", "answered", 3),  # their second phone
            ("+905320000002", "answered", 10),
            ("+905320000004", "unanswered", 1),
            ("+905320000005", "transferred", 1),
        ]
    ):
        await pool.execute(
            "INSERT INTO calls (linkedid, caller_number, caller_e164, caller_name, dialed,"
            " direction, outcome, started_at) VALUES ($1, $2, $2, '', '4440', 'inbound', $3, $4)",
            f"{n}.1",
            number,
            outcome,
            MONDAY - timedelta(days=days_ago),
        )
    campaign = await new_campaign(pool)
    assert await build_list(pool, campaign.id, NotReachedFor(7), ISTANBUL, MONDAY) == 3
    assert set(await listed(pool, campaign)) == {
        ids["spoke-10-days-ago"],
        ids["never-called"],
        ids["rang-yesterday"],
    }


async def test_a_csv_list_loads_its_good_rows_and_reports_the_bad_ones_by_line(
    pool: asyncpg.Pool,
) -> None:
    ids = await add_customers(
        pool,
        [
            ("c1", Decimal(1), ["+905321111111"]),
            ("c2", Decimal(1), ["+905322222222"]),
            ("c3", Decimal(1), ["+905323333333"]),
            ("c4", Decimal(1), ["+905323333333"]),  # shares c3's number
        ],
    )
    campaign = await new_campaign(pool)
    text = (
        "\ufeffnumber,customer_id,priority\n"
        "0532 111 11 11,c1,5\n"  # 2: by customer_id
        "not-a-number,c2,1\n"  # 3
        "0532 222 22 22,,\n"  # 4: by the one customer who has the number
        "0532 333 33 33,,\n"  # 5: two customers have it
        "0532 444 44 44,,\n"  # 6: no one has it
        "0532 555 55 55,nobody,\n"  # 7: no such customer_id
        "0532 111 11 11,c1,1\n"  # 8: c1 again
        "0532 666 66 66,c2,high\n"  # 9
        "+90 532 333 33 33,c3,2\n"  # 10: by customer_id, so the shared number is no matter
        "0532 777 77 77,c2,\n"  # 11: line 4's customer again, told by the database
        "\n"
        '"<script>alert(1)</script>",c1,\n'  # 13
    )
    report = await import_csv(pool, campaign.id, text, "TR", ISTANBUL)
    assert report.inserted == 3
    assert [line for line, _ in report.errors] == [3, 5, 6, 7, 8, 9, 11, 13]
    why = dict(report.errors)
    assert "not a phone number" in why[3]
    assert why[5] == "2 customers have the number +905323333333: give customer_id; skipped"
    assert why[6] == "no customer has the number +905324444444; skipped"
    assert why[7] == "no customer has customer_id 'nobody'; skipped"
    assert why[8] == "customer_id 'c1' already on line 2; skipped"
    assert "priority 'high' is not a whole number" in why[9]
    assert why[11] == "the same customer as line 4; skipped"
    entries = await listed(pool, campaign)
    assert {cid: (e.number, e.priority) for cid, e in entries.items()} == {
        ids["c1"]: ("+905321111111", 5),
        ids["c2"]: ("+905322222222", 0),
        ids["c3"]: ("+905323333333", 2),
    }
    again = await import_csv(pool, campaign.id, text, "TR", ISTANBUL)
    assert again.inserted == 0
    on_list = [line for line, why in again.errors if "already on the campaign's list" in why]
    assert on_list == [2, 4, 10, 11]
    with pytest.raises(ImportFileError, match="lacks number"):
        await import_csv(pool, campaign.id, "phone,customer_id\n1,c1\n", "TR", ISTANBUL)


# --- the dialer's choice ----------------------------------------------------------------

# Numbers of several kinds: (prefix, digits after it). Their zones come from the real code:
# Istanbul; New York; Los Angeles; a Russian mobile (sixteen zones, Bucharest to Kamchatka:
# all within 09-20 only about 07:00-08:00 UTC); 555, a US code with no zone (the center's);
# Tokyo.
FAMILIES = [("+90532", 7), ("+1212", 7), ("+1213", 7), ("+7916", 7), ("+1555", 7), ("+813", 8)]
# Each moment, in UTC, with who is within hours then: on Monday 2 March 2026 (before the
# US's daylight saving time), a Saturday, a Sunday night, and the next Monday (after it).
MOMENTS = [
    datetime(2026, 3, 2, 7, 30, tzinfo=UTC),  # Istanbul, Tokyo, the Russian mobiles
    datetime(2026, 3, 2, 12, 0, tzinfo=UTC),  # Istanbul only
    datetime(2026, 3, 2, 15, 30, tzinfo=UTC),  # Istanbul, New York
    datetime(2026, 3, 2, 22, 0, tzinfo=UTC),  # New York, Los Angeles
    datetime(2026, 3, 3, 1, 30, tzinfo=UTC),  # Los Angeles, Tokyo
    datetime(2026, 3, 7, 10, 0, tzinfo=UTC),  # Saturday: no one
    datetime(2026, 3, 8, 22, 0, tzinfo=UTC),  # before 09:00 on Monday in Asia: no one
    datetime(2026, 3, 9, 8, 0, tzinfo=UTC),  # Istanbul, Tokyo (20:00 in Kamchatka: not RU)
    datetime(2026, 3, 9, 16, 0, tzinfo=UTC),  # Istanbul, New York, LA (US summer time)
]
PICKS_PER_MOMENT = 14


async def generated_list(pool: asyncpg.Pool, rng: random.Random, size: int) -> Campaign:
    """A list of ``size`` customers in every state the rules tell apart."""
    customers = [
        (
            f"g{i}",
            Decimal(100 + i),
            [prefix + "".join(rng.choice("23456789") for _ in range(digits))],
        )
        for i, (prefix, digits) in enumerate(rng.choice(FAMILIES) for _ in range(size))
    ]
    ids = await add_customers(pool, customers)
    campaign = await new_campaign(pool)
    assert await build_list(pool, campaign.id, BalanceOver(Decimal(0)), ISTANBUL, MONDAY) == size
    agent = await user_id(pool)
    hours = timedelta(hours=1)
    for customer_id in ids.values():
        attempted = rng.random() < 0.6
        await pool.execute(
            "UPDATE campaign_entries SET priority = $3, attempts_total = $4,"
            " attempts_today = $5, attempts_day = $6, last_attempt_at = $7,"
            " next_attempt_at = $8, callback_at = $9, status = $10"
            " WHERE campaign_id = $1 AND customer_id = $2",
            campaign.id,
            customer_id,
            rng.choice([0, 0, 0, 1, 2]),
            rng.randint(1, 5) if attempted else 0,
            rng.randint(1, 2) if attempted else 0,
            rng.choice([date(2026, 3, 1), date(2026, 3, 2), None]) if attempted else None,
            MONDAY - rng.randint(1, 72) * hours if attempted else None,
            MONDAY + rng.randint(-12, 30) * hours if rng.random() < 0.3 else None,
            MONDAY + rng.randint(-6, 24) * hours if rng.random() < 0.1 else None,
            rng.choice(["open"] * 12 + ["done", "excluded"]),
        )
        if rng.random() < 0.05:
            number = await pool.fetchval(
                "SELECT number FROM campaign_entries WHERE customer_id = $1", customer_id
            )
            await lists.add_dnc(pool, number, "asked not to be called", agent, "TR")
        if rng.random() < 0.15:
            await pool.execute(
                "INSERT INTO promises (customer_id, user_id, amount, currency, due_date, status)"
                " VALUES ($1, $2, 50, 'TRY', $3, $4)",
                customer_id,
                agent,
                date(2026, 3, 2) + timedelta(days=rng.randint(-3, 8)),
                rng.choice(["open", "open", "kept", "broken"]),
            )
    return campaign


async def best_by_the_rules(pool: asyncpg.Pool, campaign_id: int, now: datetime) -> Entry | None:
    campaign = await lists.get_campaign(pool, campaign_id)
    assert campaign is not None
    on_dnc = {row["number"] for row in await pool.fetch("SELECT number FROM do_not_call")}
    due_dates: dict[int, list[date]] = defaultdict(list)
    for row in await pool.fetch("SELECT customer_id, due_date FROM promises WHERE status = 'open'"):
        due_dates[row["customer_id"]].append(row["due_date"])
    dialable = [
        e
        for e in await lists.entries(pool, campaign_id)
        if why_not(
            e, campaign, now, e.number in on_dnc, promise_pending(due_dates[e.customer_id], e, now)
        )
        is None
    ]
    return min(dialable, key=lambda e: order_key(e, now), default=None)


async def test_the_sql_choice_is_the_rules_best_at_every_moment(pool: asyncpg.Pool) -> None:
    rng = random.Random(18)
    campaign = await generated_list(pool, rng, 300)
    chosen = nobody = callbacks = 0
    for moment in MOMENTS:
        for pick in range(PICKS_PER_MOMENT):
            now = moment + pick * timedelta(minutes=3)
            expected = await best_by_the_rules(pool, campaign.id, now)
            got = await next_entry(pool, campaign, now)
            got_id = None if got is None else got.customer_id
            assert got_id == (None if expected is None else expected.customer_id), now
            if got is None:
                nobody += 1
                continue
            chosen += 1
            callbacks += got.callback_at is not None and got.callback_at <= now
            assert got.taken_until == now + lists.DEFAULT_LEASE
            if pick % 5 == 4:
                continue  # left taken: the next choices must pass over it
            outcome = rng.choice(list(AttemptOutcome))
            callback_at = (
                now + rng.randint(1, 90) * timedelta(minutes=1)
                if outcome in (AttemptOutcome.ANSWERED, AttemptOutcome.CALLBACK_LATER)
                and rng.random() < 0.5
                else None
            )
            after = await record_attempt(pool, campaign, got.customer_id, outcome, now, callback_at)
            assert after is not None and after.attempts_total == got.attempts_total + 1
    # The run saw both answers many times, and due callbacks came first.
    assert chosen >= 60 and nobody >= 2 * PICKS_PER_MOMENT and callbacks >= 1, (
        chosen,
        nobody,
        callbacks,
    )


async def test_two_dialers_at_once_never_get_the_same_customer(pool: asyncpg.Pool) -> None:
    await add_customers(pool, [(f"k{i}", Decimal(10), [f"+9053200{i:05d}"]) for i in range(30)])
    campaign = await new_campaign(pool)
    await build_list(pool, campaign.id, BalanceOver(Decimal(0)), ISTANBUL, MONDAY)
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 11:00 in Istanbul
    taken: list[int] = []
    for calls, served in ((12, 12), (28, 18)):  # then more dialers than the 18 customers left
        got = await asyncio.gather(*(next_entry(pool, campaign, now) for _ in range(calls)))
        taken += [e.customer_id for e in got if e is not None]
        assert sum(e is not None for e in got) == served
    assert len(taken) == len(set(taken)) == 30
    assert await next_entry(pool, campaign, now) is None
    assert all(e.taken_until is not None for e in await lists.entries(pool, campaign.id))


async def test_the_do_not_call_list_is_honoured_in_any_format(pool: asyncpg.Pool) -> None:
    ids = await add_customers(
        pool, [("first", Decimal(10), ["+905321111111"]), ("second", Decimal(5), ["+905322222222"])]
    )
    campaign = await new_campaign(pool)
    await import_csv(
        pool,
        campaign.id,
        "number,customer_id,priority\n05321111111,first,9\n05322222222,second,1\n",
        "TR",
        ISTANBUL,
    )
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    supervisor = await user_id(pool)
    assert await lists.add_dnc(pool, "0532 111 11 11", "lawyer's letter", supervisor, "TR") == (
        "+905321111111"
    )
    assert await lists.is_dnc(pool, "+90 532 111 11 11", "TR")
    assert await lists.add_dnc(pool, "905321111111", "again", None, "TR") == "+905321111111"
    assert await pool.fetchval("SELECT reason FROM do_not_call") == "lawyer's letter"
    got = await next_entry(pool, campaign, now)
    assert got is not None and got.customer_id == ids["second"]  # not the higher priority
    assert await lists.release_entry(pool, campaign.id, got.customer_id)

    assert await lists.remove_dnc(pool, "05321111111", "TR")
    assert not await lists.remove_dnc(pool, "05321111111", "TR")
    assert not await lists.is_dnc(pool, "+905321111111", "TR")
    got = await next_entry(pool, campaign, now)
    assert got is not None and got.customer_id == ids["first"]

    with pytest.raises(ValueError, match="not a phone number"):
        await lists.add_dnc(pool, "DROP TABLE do_not_call", "x", None, "TR")
    with pytest.raises(ValueError, match="reason is required"):
        await lists.add_dnc(pool, "05323333333", "   ", None, "TR")
    assert not await lists.is_dnc(pool, "<script>", "TR")


async def test_an_attempt_counts_waits_its_retry_and_an_answer_closes_the_entry(
    pool: asyncpg.Pool,
) -> None:
    ids = await add_customers(pool, [("only", Decimal(10), ["+905321111111"])])
    campaign = await new_campaign(pool)
    await build_list(pool, campaign.id, BalanceOver(Decimal(0)), ISTANBUL, MONDAY)
    customer = ids["only"]
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    got = await next_entry(pool, campaign, now)
    assert got is not None and got.customer_id == customer
    assert await next_entry(pool, campaign, now) is None  # taken

    busy = await record_attempt(pool, campaign, customer, AttemptOutcome.BUSY, now)
    assert busy is not None and (busy.attempts_total, busy.attempts_today) == (1, 1)
    assert busy.next_attempt_at == now + timedelta(minutes=15) and busy.taken_until is None
    assert (await listed(pool, campaign))[customer] == busy  # as stored
    assert await next_entry(pool, campaign, now + timedelta(minutes=14)) is None
    later = now + timedelta(minutes=15)
    assert await next_entry(pool, campaign, later) is not None

    reached = await record_attempt(pool, campaign, customer, AttemptOutcome.ANSWERED, later)
    assert reached is not None and reached.status is EntryStatus.DONE
    assert reached.attempts_today == 2 and reached.last_outcome is AttemptOutcome.ANSWERED
    assert await next_entry(pool, campaign, later + timedelta(days=1)) is None
    assert await record_attempt(pool, campaign, 999, AttemptOutcome.BUSY, later) is None


async def test_a_pause_applies_at_once_whatever_copy_the_dialer_holds(pool: asyncpg.Pool) -> None:
    await add_customers(pool, [("only", Decimal(10), ["+905321111111"])])
    campaign = await new_campaign(pool, resumed=False)
    await build_list(pool, campaign.id, BalanceOver(Decimal(0)), ISTANBUL, MONDAY)
    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert await next_entry(pool, campaign, now) is None  # new campaigns start paused
    assert await lists.set_paused(pool, campaign.id, False)
    resumed = await lists.get_campaign(pool, campaign.id)
    assert resumed is not None and not resumed.paused
    assert await lists.set_paused(pool, campaign.id, True)
    assert await next_entry(pool, resumed, now) is None  # the copy says resumed; it is not
    assert not await lists.set_paused(pool, 999, False)


async def test_a_campaigns_settings_are_checked_by_the_database_too(pool: asyncpg.Pool) -> None:
    await new_campaign(pool, "Same name")
    with pytest.raises(asyncpg.UniqueViolationError):
        await new_campaign(pool, "Same name")
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "INSERT INTO campaigns (name, caller_id, calls_from, calls_until, weekdays,"
            " max_attempts_per_day, max_attempts_total, retry_busy_s, retry_unanswered_s,"
            " retry_failed_s, retry_machine_s, retry_callback_later_s)"
            " VALUES ('x', E'+90212\\r\\nAction: Originate', '09:00', '20:00', '{1}',"
            " 1, 1, 0, 0, 0, 0, 0)"
        )


async def test_todays_campaign_figures_read_only_the_campaigns_calls_and_promises(
    pool: asyncpg.Pool,
) -> None:
    # At a million calls today, picking a campaign's calls out of all of today's took 1.7 s
    # a request (bench/campaign_figures.py); the Campaigns section asks every 10 s. Whatever
    # the planner prefers on this small table, the query must be able to use
    # calls_campaign and promises_linkedid (migration 019) instead.
    today = datetime(2026, 3, 2, tzinfo=UTC)
    async with pool.acquire() as conn:
        await conn.execute("SET enable_seqscan = off")
        plan = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) " + _FIGURES, today, today, list(NOT_THE_RIGHT_PARTY)
        )
    assert '"Index Name": "calls_campaign"' in plan
    assert '"Index Name": "promises_linkedid"' in plan
