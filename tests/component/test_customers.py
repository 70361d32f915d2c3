"""Customer records and CSV import against a real PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from cti.auth.users import set_user
from cti.customers import records
from cti.customers.importer import ImportFileError, import_customers
from cti.customers.records import CustomerError
from cti.database.migrate import migrate

HEADER = "customer_id,full_name,national_id,phones,balance,currency,address_line1,city,country\n"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url)
    await migrate(pool)
    yield pool
    await pool.close()


async def agent_id(pool: asyncpg.Pool) -> int:
    await set_user(pool, "agent1", "Ayla Demir", "agent", "correct horse battery", ("SIP/1001",))
    return int(await pool.fetchval("SELECT id FROM users WHERE username = 'agent1'"))


async def test_import_then_find_by_any_number_format(pool: asyncpg.Pool, tmp_path: Path) -> None:
    csv = tmp_path / "customers.csv"
    csv.write_text(
        HEADER
        + 'c1,Ayşe Çağrı Yılmaz,12345678901,0532 123 45 67;+90 212 555 00 00,1250.5,TRY,"Bağdat Cd. 1",İstanbul,TR\n'
        "c2,,1,0532 000 00 00,0,TRY,,,\n"  # line 3: no name
        "c3,Bad Number,1,not-a-phone,0,TRY,,,\n"  # line 4
        "c4,Bad Balance,1,0532 999 99 99,lots,TRY,,,\n"  # line 5
        "c1,Again,1,0532 111 11 11,0,TRY,,,\n"  # line 6: duplicate
        '"c5","<img src=x onerror=alert(1)>",,+49 30 123456,-20,eur,,,\n',
        encoding="utf-8",
    )
    report = await import_customers(pool, csv, "TR")
    assert (report.inserted, report.updated) == (2, 0)
    assert [line for line, _ in report.errors] == [3, 4, 5, 6]
    assert "not a phone number" in report.errors[1][1]
    again = await import_customers(pool, csv, "TR")  # idempotent: updates, no duplicates
    assert (again.inserted, again.updated) == (0, 2)
    assert await pool.fetchval("SELECT count(*) FROM customer_phones") == 3
    assert await pool.fetchval("SELECT count(*) FROM customer_addresses") == 1

    national = await records.find_by_number(pool, "0532 123 45 67", "TR")
    international = await records.find_by_number(pool, "+90 532 123 45 67", "TR")
    as_asterisk_sends_it = await records.find_by_number(pool, "905321234567", "TR")
    assert national == international == as_asterisk_sends_it and len(national) == 1
    card = national[0]
    assert card["full_name"] == "Ayşe Çağrı Yılmaz"
    assert card["national_id_masked"] == "•••••••8901"
    assert card["balance"] == "1250.50" and card["addresses"][0]["city"] == "İstanbul"
    hostile = await records.find_by_number(pool, "+49 30 123456", "TR")
    assert hostile[0]["full_name"] == "<img src=x onerror=alert(1)>"  # stored verbatim
    assert hostile[0]["currency"] == "EUR" and hostile[0]["national_id_masked"] is None
    assert await records.find_by_number(pool, "<script>", "TR") == []


async def test_a_file_without_the_required_columns_is_refused(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    csv = tmp_path / "wrong.csv"
    csv.write_text("id,name\n1,x\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="customer_id, full_name"):
        await import_customers(pool, csv, "TR")


async def test_a_row_with_a_nul_byte_or_a_huge_field_is_skipped_and_the_rest_loads(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    huge = "x" * 200_000  # over the csv module's field size limit: csv.Error for that row
    csv = tmp_path / "customers.csv"
    csv.write_bytes(
        (
            HEADER
            + "c1,First Good,1,0532 000 00 01,0,TRY,,,\n"  # line 2
            + "c2,Nul\0Byte,1,0532 000 00 02,0,TRY,,,\n"  # line 3
            + f"c3,Huge,1,0532 000 00 03,0,TRY,{huge},,\n"  # line 4
            + f'c4,Huge Quoted,1,0532 000 00 04,0,TRY,"{huge}",,\n'  # line 5
            + f"c5,Long,1,0532 000 00 05,0,TRY,{'y' * 1001},,\n"  # line 6
            + "c6,Nul In Address,1,0532 000 00 06,0,TRY,\0,,\n"  # line 7
            + 'c7,"Two\nLines",1,0532 000 00 07,0,TRY,,,\n'  # lines 8-9
            + "c8,Last Good,1,0532 000 00 08,0,TRY,,,\n"  # line 10
        ).encode()
    )
    report = await import_customers(pool, csv, "TR")
    assert (report.inserted, report.updated) == (3, 0)
    assert [line for line, _ in report.errors] == [3, 4, 5, 6, 7]
    reasons = dict(report.errors)
    assert reasons[3] == "full_name contains a NUL byte"
    assert reasons[4].startswith("unreadable CSV (field larger than field limit")
    assert reasons[5].startswith("unreadable CSV (field larger than field limit")
    assert reasons[6] == "address_line1 has 1,001 characters, more than 1,000"
    assert reasons[7] == "address_line1 contains a NUL byte"
    names = await pool.fetch("SELECT full_name FROM customers ORDER BY external_ref")
    assert [row["full_name"] for row in names] == ["First Good", "Two\nLines", "Last Good"]


async def test_notes_promises_callbacks_and_the_home_page(pool: asyncpg.Pool) -> None:
    user = await agent_id(pool)
    card = await records.create_customer(
        pool,
        "TR",
        {"full_name": "Fatma Demir", "phone": "0532 111 22 33", "line1": "Cad. 5", "city": "Bursa"},
    )
    customer = card["id"]
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # the one clock of the code under test
    with pytest.raises(CustomerError, match="past"):
        await records.add_promise(pool, customer, user, "10", "2026-11-01", None, now)
    with pytest.raises(CustomerError, match="at most 2 decimals"):
        await records.add_promise(pool, customer, user, "10.001", "2026-11-30", None, now)
    with pytest.raises(CustomerError, match="unknown disposition"):
        await records.add_note(pool, "1.1", user, customer, "Bribed", "", ("Resolved",), now)
    promise = await records.add_promise(pool, customer, user, "150.00", "2026-11-23", "1.1", now)
    assert promise["amount"] == "150.00" and promise["currency"] == "TRY"
    await records.add_callback(
        pool,
        customer,
        user,
        "2026-11-23T11:00:00+00:00",
        "late one",
        None,
        now - timedelta(hours=2),
    )
    await records.add_callback(
        pool, customer, user, "2026-11-23T15:00:00Z", "later today", None, now
    )
    await pool.execute("UPDATE promises SET due_date = '2026-11-21'")  # now two days late
    await pool.execute(
        "INSERT INTO calls (linkedid, caller_number, caller_e164, caller_name, dialed, direction,"
        " queue, agent, outcome, started_at, answered_at, ended_at, talk_s, hold_s, wrapup_s)"
        " VALUES ('1.1', '905321112233', '+905321112233', 'Fatma', '4440', 'inbound', 'support',"
        " 'SIP/1001', 'answered', $1, $1, $1, 100, 10, 30)",
        now - timedelta(hours=1),
    )
    await records.add_note(
        pool, "1.1", user, customer, "Resolved", "Paid by card", ("Resolved",), now
    )
    start = datetime(2026, 11, 23, tzinfo=UTC)
    home = await records.agent_home(pool, user, ["SIP/1001"], start, now)
    assert home["day"] == {"calls": 1, "talk_s": 100, "aht_s": 140, "promises": 1}
    kinds = [(f["kind"], f["overdue_s"]) for f in home["followups"]]
    assert kinds == [("promise", 2 * 86400), ("callback", 3600), ("callback", 0)]
    assert home["followups"][0]["customer_name"] == "Fatma Demir"
    assert home["recent_calls"][0]["customer_name"] == "Fatma Demir"
    card = await records.card(pool, customer)
    assert card["last_calls"][0]["notes"][0]["text"] == "Paid by card"
    # One name for the agent everywhere: who took the call and who wrote, not SIP/1001.
    assert card["last_calls"][0]["agent"] == "Ayla Demir"
    assert card["last_calls"][0]["notes"][0]["agent"] == "Ayla Demir"
    assert card["open_promises"][0]["due_date"] == "2026-11-21"


async def test_revealing_an_id_number_is_audited(pool: asyncpg.Pool, tmp_path: Path) -> None:
    user = await agent_id(pool)
    csv = tmp_path / "one.csv"
    csv.write_text(HEADER + "c1,Ali Kaya,98765432109,0532 999 88 77,0,TRY,,,\n", encoding="utf-8")
    await import_customers(pool, csv, "TR")
    (card,) = await records.find_by_number(pool, "05329998877", "TR")
    assert await records.reveal_national_id(pool, card["id"], user, "9.9") == "98765432109"
    assert await pool.fetchval("SELECT count(*) FROM identity_checks WHERE linkedid = '9.9'") == 1


async def test_a_hundred_thousand_rows(pool: asyncpg.Pool, tmp_path: Path) -> None:
    csv = tmp_path / "big.csv"
    with csv.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(100_000):
            out.write(
                f"k{n},Customer {n},{n:011d},0532{n:07d},{n % 997}.50,TRY,Street {n},City,TR\n"
            )
    seen: list[tuple[int, int]] = []
    started = time.perf_counter()
    report = await import_customers(pool, csv, "TR", lambda done, total: seen.append((done, total)))
    elapsed = time.perf_counter() - started
    print(f"imported 100,000 customers in {elapsed:.1f} s")  # measured, not asserted
    assert (report.inserted, report.errors) == (100_000, [])
    assert len(seen) >= 20 and seen[-1] == (100_000, 100_000)
    assert await pool.fetchval("SELECT count(*) FROM customer_phones") == 100_000
