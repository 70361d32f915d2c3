"""``cti import-customers FILE.csv``: load customers in bulk, idempotently.

CSV, UTF-8, comma-separated, with a header row naming these columns (any order; only the
first two are required):

  customer_id    your key for the customer; importing the file again updates, never duplicates
  full_name      the name shown on the pop
  national_id    shown masked (last 4 characters) until the agent verifies the caller
  phones         one or more numbers separated by ';' (any format: normalised to E.164)
  balance        the amount owed, e.g. 1250.00 (negative: credit)
  currency       ISO 4217 code, default TRY
  address_line1, address_line2, postal_code, city, country

Rows are checked in Python first; a bad row is reported with its line number and skipped,
the others still load. That includes rows the csv module cannot read (a field over its size
limit) and fields PostgreSQL would refuse (a NUL byte) or that no customer has (over
MAX_FIELD characters): one such row never stops the file. Good rows go to PostgreSQL with
COPY into a temporary table and set-based upserts (one round trip per step, not per row):
100,000 rows take seconds.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

import asyncpg

from cti.phone import to_e164

REQUIRED = ("customer_id", "full_name")
COLUMNS = (
    *REQUIRED,
    "national_id",
    "phones",
    "balance",
    "currency",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
)
PROGRESS_EVERY = 5000
MAX_FIELD = 1000  # characters in one of our columns; an address line is far shorter

Progress = Callable[[int, int], None]
Checked = TypeVar("Checked")


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not CSV, missing columns)."""


Row = tuple[
    str,
    str,
    str | None,
    Decimal,
    str,
    list[str],
    list[str],
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
]


def field_getter(record: dict[str, str]) -> Callable[[str], str | None]:
    """A record's fields by column name, stripped; None for an empty or missing one."""

    def get(name: str) -> str | None:
        value = (record.get(name) or "").strip()
        return value or None

    return get


def _check(record: dict[str, str], region: str) -> Row:
    get = field_getter(record)
    ref, name = get("customer_id"), get("full_name")
    if ref is None or name is None:
        raise ValueError("customer_id and full_name are required")
    if len(ref) > 100 or len(name) > 200:
        raise ValueError("customer_id (100) or full_name (200 characters) too long")
    try:
        balance = Decimal(get("balance") or "0")
    except InvalidOperation:
        raise ValueError(f"balance {get('balance')!r} is not a number") from None
    if not balance.is_finite() or abs(balance) >= Decimal("1e12"):
        raise ValueError(f"balance {get('balance')!r} is out of range")
    currency = (get("currency") or "TRY").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValueError(f"currency {currency!r} is not an ISO 4217 code")
    raws = [p.strip() for p in (get("phones") or "").split(";") if p.strip()]
    numbers = []
    for raw in raws:
        e164 = to_e164(raw, region)
        if e164 is None:
            raise ValueError(f"phone {raw!r} is not a phone number")
        numbers.append(e164)
    return (
        ref,
        name,
        get("national_id"),
        balance.quantize(Decimal("0.01")),
        currency,
        numbers,
        raws,
        get("address_line1"),
        get("address_line2"),
        get("postal_code"),
        get("city"),
        get("country"),
    )


def _records(lines: list[str], report: ImportReport) -> Iterator[tuple[int, list[str]]]:
    """(first line number, fields) of each CSV record after the header. A record the csv
    module refuses (a field over its size limit; a NUL byte before Python 3.11) is reported
    and skipped: the reader starts afresh on the next line, so the rest of the file loads."""
    consumed = 0

    def counted() -> Iterator[str]:
        nonlocal consumed
        for line in lines:
            consumed += 1
            yield line

    reader = csv.reader(counted())
    while True:
        first = consumed + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.errors.append((first, f"unreadable CSV ({exc}); skipped"))
            continue
        if fields:  # a blank line is no record
            yield first, fields


def checked_rows(
    lines: list[str],
    source: str,
    columns: Sequence[str],
    required: Sequence[str],
    check: Callable[[dict[str, str]], Checked],
    named: Callable[[Checked], str],
    report: ImportReport,
) -> Iterator[tuple[int, Checked]]:
    """(line number, checked row) of each good record of a CSV file after its header row.

    ``check`` turns a record (column name to field) into a row or raises ValueError with
    what is wrong; ``named`` says which key a row has ("customer_id 'c1'"): a second row
    with the same key is an error too. A field with a NUL byte (PostgreSQL refuses it in
    text: a whole COPY would fail) or over MAX_FIELD characters is refused before ``check``
    sees it. Errors go to ``report`` with their line numbers; a file whose header row lacks
    a required column raises ImportFileError (from the first ``next``)."""
    records = _records(lines, report)
    header = next(records, (0, []))[1]
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportFileError(
            f"{source}: the header row lacks {', '.join(missing)} (columns: {', '.join(columns)})"
        )
    first_line: dict[str, int] = {}
    for line, fields in records:
        record = dict(zip(header, fields, strict=False))
        try:
            for column in columns:
                value = record.get(column) or ""
                if "\0" in value:
                    raise ValueError(f"{column} contains a NUL byte")
                if len(value) > MAX_FIELD:
                    raise ValueError(
                        f"{column} has {len(value):,} characters, more than {MAX_FIELD:,}"
                    )
            row = check(record)
        except ValueError as exc:
            report.errors.append((line, str(exc)))
            continue
        key = named(row)
        if key in first_line:
            report.errors.append((line, f"{key} already on line {first_line[key]}; skipped"))
            continue
        first_line[key] = line
        yield line, row


def read_rows(
    path: Path, region: str, report: ImportReport, progress: Progress | None = None
) -> list[Row]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = handle.readlines()
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    total = max(0, len(lines) - 1)
    rows: list[Row] = []
    for line, row in checked_rows(
        lines,
        str(path),
        COLUMNS,
        REQUIRED,
        lambda record: _check(record, region),
        lambda row: f"customer_id {row[0]!r}",
        report,
    ):
        rows.append(row)
        if progress is not None and len(rows) % PROGRESS_EVERY == 0:
            progress(line - 1, total)
    return rows


_STAGE = (
    "ref",
    "full_name",
    "national_id",
    "balance",
    "currency",
    "phones",
    "raws",
    "line1",
    "line2",
    "postal_code",
    "city",
    "country",
)


async def import_customers(
    pool: asyncpg.Pool, path: Path, region: str, progress: Progress | None = None
) -> ImportReport:
    report = ImportReport()
    rows = read_rows(path, region, report, progress)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "CREATE TEMP TABLE customer_import (ref text, full_name text, national_id text, "
            "balance numeric(14,2), currency text, phones text[], raws text[], line1 text, "
            "line2 text, postal_code text, city text, country text) ON COMMIT DROP"
        )
        await conn.copy_records_to_table("customer_import", records=rows, columns=_STAGE)
        # xmax = 0 only for rows this statement inserted: tells inserts from updates.
        counts = await conn.fetchrow(
            "WITH upserted AS ("
            " INSERT INTO customers (external_ref, full_name, national_id, balance, currency)"
            " SELECT ref, full_name, national_id, balance, currency FROM customer_import"
            " ON CONFLICT (external_ref) DO UPDATE SET full_name = EXCLUDED.full_name,"
            "  national_id = EXCLUDED.national_id, balance = EXCLUDED.balance,"
            "  currency = EXCLUDED.currency, updated_at = now()"
            " RETURNING (xmax = 0) AS inserted)"
            " SELECT count(*) FILTER (WHERE inserted) AS inserted,"
            "        count(*) FILTER (WHERE NOT inserted) AS updated FROM upserted"
        )
        await conn.execute(
            "INSERT INTO customer_phones (customer_id, e164, raw)"
            " SELECT c.id, p.e164, p.raw FROM customer_import i"
            " JOIN customers c ON c.external_ref = i.ref,"
            " unnest(i.phones, i.raws) AS p(e164, raw)"
            " ON CONFLICT (customer_id, e164) DO UPDATE SET raw = EXCLUDED.raw"
        )
        # The file's address replaces the one it gave last time.
        await conn.execute(
            "DELETE FROM customer_addresses a USING customer_import i, customers c"
            " WHERE c.external_ref = i.ref AND a.customer_id = c.id AND i.line1 IS NOT NULL"
        )
        await conn.execute(
            "INSERT INTO customer_addresses (customer_id, line1, line2, postal_code, city,"
            " country) SELECT c.id, i.line1, i.line2, i.postal_code, i.city, i.country"
            " FROM customer_import i JOIN customers c ON c.external_ref = i.ref"
            " WHERE i.line1 IS NOT NULL"
        )
    report.inserted, report.updated = counts["inserted"], counts["updated"]
    if progress is not None:
        progress(len(rows) + len(report.errors), len(rows) + len(report.errors))
    return report
