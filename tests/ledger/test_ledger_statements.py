"""Statements of a period (JSON and CSV) and pages of transactions."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from ledger_support import OTHER_PARTNER, PARTNER, Direct, eur

from accounts import statements
from contracts.ledger import CreditKind, StatementFormat
from servicekit.errors import ServiceError

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)
APR = datetime(2026, 4, 1, tzinfo=UTC)


def _at(start: datetime, days: int) -> datetime:
    return start + timedelta(days=days, hours=9, milliseconds=250)


async def _three_months(direct: Direct) -> None:
    """January: top-up 100.00, debit 15.00. February: debit 25.50, a refused debit, a refund of
    5.50. March 1st, midnight: debit 1.00."""
    ledger = direct.ledger
    await ledger.credit(PARTNER, CreditKind.TOP_UP, "pi_jan", eur(10_000), _at(JAN, 9))
    await ledger.debit(PARTNER, "ord_1", eur(1_500), _at(JAN, 19))
    await ledger.debit(PARTNER, "ord_2", eur(2_550), _at(FEB, 2))
    await ledger.debit(PARTNER, "ord_big", eur(99_999), _at(FEB, 9))
    await ledger.refund(PARTNER, "ord_2", eur(550), _at(FEB, 13))
    await ledger.debit(PARTNER, "ord_3", eur(100), MAR)


async def test_a_json_statement_runs_from_the_opening_to_the_closing_balance(
    direct: Direct,
) -> None:
    """February's statement opens with January's applied sum, lists February's applied
    entries with a running balance, and closes with the last of it."""
    await _three_months(direct)
    february = await statements.statement(direct.db, PARTNER, FEB, MAR, StatementFormat.JSON)
    assert (february.opening_balance, february.closing_balance) == (eur(8_500), eur(6_500))
    assert (february.opening_decimal, february.closing_decimal) == ("85.00", "65.00")
    rows = [
        (line.reference, line.amount.amount, line.amount_decimal, line.balance_decimal)
        for line in february.lines
    ]
    assert rows == [
        ("debit:ord_2", -2_550, "-25.50", "59.50"),
        ("refund:ord_2", 550, "5.50", "65.00"),
    ]
    assert february.csv is None


async def test_a_csv_statement_has_a_header_row_and_exact_decimal_amounts(direct: Direct) -> None:
    """The CSV has a header, one CRLF-ended row per applied entry, minor units and decimals."""
    await _three_months(direct)
    february = await statements.statement(direct.db, PARTNER, FEB, MAR, StatementFormat.CSV)
    assert february.lines == []
    assert february.csv is not None
    assert february.csv.endswith("\r\n")
    header, *rows = list(csv.reader(io.StringIO(february.csv)))
    assert header == list(statements.CSV_HEADER)
    assert [row[1:] for row in rows] == [
        [
            "2026-02-03T09:00:00.250Z",
            "debit",
            "debit:ord_2",
            "ord_2",
            "-2550",
            "-25.50",
            "EUR",
            "5950",
            "59.50",
        ],
        [
            "2026-02-14T09:00:00.250Z",
            "refund",
            "refund:ord_2",
            "ord_2",
            "550",
            "5.50",
            "EUR",
            "6500",
            "65.00",
        ],
    ]
    assert all(row[0].startswith("led_") for row in rows)


async def test_the_closing_balance_of_all_time_is_the_cached_balance(direct: Direct) -> None:
    """A statement over every entry closes at the balance the ledger keeps."""
    await _three_months(direct)
    everything = await statements.statement(direct.db, PARTNER, JAN, APR, StatementFormat.JSON)
    assert everything.opening_balance == eur(0)
    assert everything.closing_balance.amount == await direct.available() == 6_400
    assert len(everything.lines) == 5


async def test_transactions_come_in_pages_oldest_first_with_every_status(direct: Direct) -> None:
    """Pages of 2 walk all six entries of the quarter in order, refused ones included."""
    await _three_months(direct)
    seen, cursor, pages = [], None, 0
    while True:
        page = await statements.list_transactions(direct.db, PARTNER, JAN, APR, cursor, 2)
        seen += page.data
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert [entry.reference for entry in seen] == [
        "top_up:pi_jan",
        "debit:ord_1",
        "debit:ord_2",
        "debit:ord_big",
        "refund:ord_2",
        "debit:ord_3",
    ]
    assert [entry.status for entry in seen].count("refused") == 1
    february = await statements.list_transactions(direct.db, PARTNER, FEB, MAR, None, 50)
    assert [entry.reference for entry in february.data] == [
        "debit:ord_2",
        "debit:ord_big",
        "refund:ord_2",
    ]


@pytest.mark.parametrize(
    ("start", "end"), [(FEB, FEB), (MAR, FEB), (JAN, JAN + timedelta(days=367))]
)
async def test_a_statement_period_must_be_forward_and_at_most_a_year(
    direct: Direct, start: datetime, end: datetime
) -> None:
    """An empty, backward, or longer-than-366-days period is an invalid request."""
    await _three_months(direct)
    with pytest.raises(ServiceError) as refused:
        await statements.statement(direct.db, PARTNER, start, end, StatementFormat.JSON)
    assert refused.value.code == "invalid_request"


async def test_a_statement_of_a_partner_without_a_balance_is_not_found(direct: Direct) -> None:
    """No balance, no statement."""
    with pytest.raises(ServiceError) as missing:
        await statements.statement(direct.db, OTHER_PARTNER, JAN, APR, StatementFormat.CSV)
    assert missing.value.code == "not_found"
