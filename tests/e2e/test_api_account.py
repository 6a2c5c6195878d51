"""The account routes of the partners' API, against the running platform: the account read
decrypted and rectified (recorded, never the values), scopes, the balance, transactions paged
by cursor, statements of a period as JSON and CSV, bad periods, tenant isolation; and the demo
seed's real ledger balance and re-registered key."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from e2e_support import PLATFORM_ACTOR, Platform, add_api_key, create_partner, platform_bus
from pymongo import AsyncMongoClient

from accounts import apikeys
from accounts.ledger import Ledger
from accounts.partners import Partners
from accounts.seed import DEMO_PARTNER_ID, LEGACY_TOP_UP_ID, seed_demo
from accounts.settings import AccountsSettings
from contracts.identity import CreatePartner, PostalAddress
from contracts.ledger import CreditBalance, CreditKind, DebitBalance
from contracts.money import Money
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology
from servicekit.vault import Vault
from support.names import unique_namespace
from support.waiting import eventually

PROBLEM_JSON = "application/problem+json"
EVERY_SCOPE = ["account:read", "account:write", "billing:read"]
DEMO_TOP_UP = "top_up:seed-demo-topup"

Db = AsyncMongoClient[dict[str, Any]]


def keyed(platform: Platform, key: str) -> aiohttp.ClientSession:
    """A client of the partners' API authenticated with `key`."""
    return aiohttp.ClientSession(
        base_url=platform.gateway, headers={"Authorization": f"Bearer {key}"}
    )


async def problem_code(response: aiohttp.ClientResponse, status: int) -> dict[str, Any]:
    """The problem document of a response that must have this status."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == PROBLEM_JSON, text
    problem: dict[str, Any] = await response.json(content_type=PROBLEM_JSON)
    return problem


async def ok_json(response: aiohttp.ClientResponse) -> Any:
    """The JSON body of a 200 response."""
    assert response.status == 200, await response.text()
    return await response.json()


def key_id_of(key: str) -> str:
    """The public id inside a well-formed key."""
    parsed = apikeys.parse(key)
    assert parsed is not None
    return parsed.key_id


def rfc3339(moment: datetime) -> str:
    """An instant as the API takes it, in UTC with `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def partner_with_key(platform: Platform, db: Db, name: str) -> tuple[str, str]:
    """A new partner (created by the platform) and a key of it with every account scope."""
    async with platform_bus(platform) as bus:
        partner = await create_partner(bus, name)
    key = await add_api_key(platform, db, partner_id=partner.id, scopes=EVERY_SCOPE)
    return partner.id, key


# The ledger of one partner, booked through accounts' own commands


@dataclass
class Booked:
    """A partner whose ledger holds five entries, oldest first, one of them refused."""

    partner_id: str
    key: str
    entries: list[dict[str, Any]]


async def _settled(client: aiohttp.ClientSession, count: int) -> list[dict[str, Any]] | None:
    async with client.get("/v1/transactions", params={"limit": "200"}) as response:
        entries: list[dict[str, Any]] = (await ok_json(response))["data"]
    done = len(entries) == count and all(entry["status"] != "pending" for entry in entries)
    return entries if done else None


async def _book(bus: Bus, client: aiohttp.ClientSession, command: Any, count: int) -> None:
    await bus.publish(command, to="accounts")
    await eventually(lambda: _settled(client, count), timeout=20, what=f"entry {count} settled")


@pytest.fixture(scope="module")
async def booked(platform: Platform) -> AsyncIterator[Booked]:
    """Top-ups of 50.00 and 20.00, a debit of 12.50, a refused debit, an adjustment of 1.00."""
    client: Db = AsyncMongoClient(platform.mongo_url, tz_aware=True)
    partner_id, key = await partner_with_key(platform, client, "Ledger Travel Ltd")
    run = uuid.uuid4().hex[:8]

    def eur(amount: int) -> Money:
        return Money(amount=amount, currency="EUR")

    commands = [
        CreditBalance(
            actor=PLATFORM_ACTOR,
            partner_id=partner_id,
            kind=CreditKind.TOP_UP,
            reference=f"pay-{run}-1",
            amount=eur(5000),
        ),
        CreditBalance(
            actor=PLATFORM_ACTOR,
            partner_id=partner_id,
            kind=CreditKind.TOP_UP,
            reference=f"pay-{run}-2",
            amount=eur(2000),
        ),
        DebitBalance(
            actor=PLATFORM_ACTOR, partner_id=partner_id, order_id=f"ord_{run}a", amount=eur(1250)
        ),
        DebitBalance(
            actor=PLATFORM_ACTOR, partner_id=partner_id, order_id=f"ord_{run}b", amount=eur(10**6)
        ),
        CreditBalance(
            actor=PLATFORM_ACTOR,
            partner_id=partner_id,
            kind=CreditKind.ADJUSTMENT,
            reference=f"fix-{run}",
            amount=eur(100),
        ),
    ]
    async with platform_bus(platform) as bus, keyed(platform, key) as api_client:
        for count, command in enumerate(commands, start=1):
            await _book(bus, api_client, command, count)
        entries = await _settled(api_client, len(commands))
    await client.close()
    assert entries is not None
    return Booked(partner_id=partner_id, key=key, entries=entries)


# 1. The account


async def test_the_account_is_the_keys_partner_decrypted(
    platform: Platform, api: aiohttp.ClientSession, db: Db
) -> None:
    """GET /v1/account answers the demo partner with its sealed fields decrypted; the store
    holds the phone only sealed."""
    async with api.get("/v1/account") as response:
        account = await ok_json(response)
    assert account["id"] == DEMO_PARTNER_ID
    assert account["business_name"] == "Demo Travel Ltd"
    assert account["phone"] == "+4930123456789"
    assert account["address"]["city"] == "Berlin"
    assert (account["currency"], account["status"]) == ("EUR", "active")
    stored = await db[platform.database("accounts")]["partners"].find_one({"_id": DEMO_PARTNER_ID})
    assert "+4930123456789" not in repr(stored)


async def test_a_partner_rectifies_its_account_and_the_change_is_recorded(
    platform: Platform, db: Db
) -> None:
    """PATCH /v1/account answers the updated view, which GET then shows; the change is recorded
    with its fields, time and key but not the values; the same PATCH again records nothing."""
    partner_id, key = await partner_with_key(platform, db, "Rectify Travel Ltd")
    rectifications = db[platform.database("accounts")]["rectifications"]
    changes = {
        "phone": "+4930555000999",
        "address": {"line1": "Neue Strasse 2", "city": "Hamburg", "country": "DE"},
    }
    async with keyed(platform, key) as client:
        async with client.patch("/v1/account", json=changes) as response:
            updated = await ok_json(response)
        async with client.get("/v1/account") as response:
            read = await ok_json(response)
        assert updated == read
        assert read["phone"] == "+4930555000999"
        assert read["address"]["city"] == "Hamburg"
        assert read["business_name"] == "Rectify Travel Ltd"
        records = [doc async for doc in rectifications.find({"record_id": partner_id})]
        assert len(records) == 1
        assert records[0]["fields"] == ["address", "phone"]
        assert records[0]["by"] == key_id_of(key)
        assert "+4930555000999" not in repr(records)
        assert "Hamburg" not in repr(records)
        stored = await db[platform.database("accounts")]["partners"].find_one({"_id": partner_id})
        assert "+4930555000999" not in repr(stored)
        assert "Hamburg" not in repr(stored)

        async with client.patch("/v1/account", json=changes) as response:
            assert await ok_json(response) == read
    assert await rectifications.count_documents({"record_id": partner_id}) == 1


SCOPE_CASES = [
    (["billing:read"], [("GET", "/v1/account"), ("PATCH", "/v1/account")]),
    (["account:read"], [("PATCH", "/v1/account"), ("GET", "/v1/balance")]),
    (
        ["account:read", "account:write"],
        [("GET", "/v1/balance"), ("GET", "/v1/transactions"), ("GET", "/v1/statements")],
    ),
]


@pytest.mark.parametrize(("scopes", "calls"), SCOPE_CASES, ids=["billing", "read", "account"])
async def test_each_account_route_needs_its_scope(
    platform: Platform, db: Db, scopes: list[str], calls: list[tuple[str, str]]
) -> None:
    """A key without the route's scope gets 403 `insufficient_scope` naming it, and nothing is
    rectified."""
    key = await add_api_key(platform, db, partner_id=DEMO_PARTNER_ID, scopes=scopes)
    rectifications = db[platform.database("accounts")]["rectifications"]
    before = await rectifications.count_documents({})
    async with keyed(platform, key) as client:
        for method, path in calls:
            body = {"json": {"business_name": "Hijacked Ltd"}} if method == "PATCH" else {}
            async with client.request(method, path, **body) as response:
                problem = await problem_code(response, 403)
            assert problem["code"] == "insufficient_scope", (method, path)
    assert await rectifications.count_documents({}) == before


BAD_CHANGES: dict[str, tuple[dict[str, Any], str]] = {
    "unknown field": ({"business_name": "X Ltd", "currency": "USD"}, "currency"),
    "status is not rectifiable": ({"status": "closed"}, "status"),
    "nothing to change": ({}, "body"),
    "a removal": ({"tax_id": None}, "tax_id"),
    "a phone that is not E.164": ({"phone": "030 1234"}, "phone"),
    "an unknown address field": (
        {"address": {"line1": "a", "city": "b", "country": "DE", "floor": "3"}},
        "address.floor",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CHANGES))
async def test_a_bad_account_change_is_a_422_and_changes_nothing(
    platform: Platform, api: aiohttp.ClientSession, db: Db, case: str
) -> None:
    """Each invalid PATCH body is 422 `validation_failed` naming the field; the partner and
    the rectification record stay as they were."""
    body, field = BAD_CHANGES[case]
    accounts = db[platform.database("accounts")]
    partner_before = await accounts["partners"].find_one({"_id": DEMO_PARTNER_ID})
    records_before = await accounts["rectifications"].count_documents({})
    async with api.patch("/v1/account", json=body) as response:
        problem = await problem_code(response, 422)
    assert problem["code"] == "validation_failed"
    assert field in [error["field"] for error in problem["errors"]], problem
    assert await accounts["partners"].find_one({"_id": DEMO_PARTNER_ID}) == partner_before
    assert await accounts["rectifications"].count_documents({}) == records_before


# 2. Balance and transactions


async def test_the_demo_balance_is_a_real_ledger_balance(api: aiohttp.ClientSession) -> None:
    """The seeded demo partner holds EUR 1,000.00, and its transactions list the top-up that
    makes it, applied."""
    async with api.get("/v1/balance") as response:
        balance = await ok_json(response)
    assert balance == {
        "partner_id": DEMO_PARTNER_ID,
        "available": {"amount": 100_000, "currency": "EUR"},
    }
    async with api.get("/v1/transactions") as response:
        page = await ok_json(response)
    top_ups = [entry for entry in page["data"] if entry["reference"] == DEMO_TOP_UP]
    assert len(top_ups) == 1
    assert top_ups[0]["kind"] == "top_up"
    assert top_ups[0]["status"] == "applied"
    assert top_ups[0]["amount"] == {"amount": 100_000, "currency": "EUR"}


async def test_transactions_page_oldest_first_by_cursor(platform: Platform, booked: Booked) -> None:
    """Pages of 2 follow `next_cursor` oldest first to a null cursor: every entry once, the
    refused debit included, and the balance is the sum of the applied ones."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    async with keyed(platform, booked.key) as client:
        for _ in range(len(booked.entries)):  # bounded: each page holds at least one entry
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            async with client.get("/v1/transactions", params=params) as response:
                page = await ok_json(response)
            pages.append(page["data"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        async with client.get("/v1/balance") as response:
            balance = await ok_json(response)
    assert cursor is None, "pagination did not end"
    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [entry for page in pages for entry in page]
    assert listed == booked.entries
    ids = [entry["entry_id"] for entry in listed]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert [entry["kind"] for entry in listed] == [
        "top_up",
        "top_up",
        "debit",
        "debit",
        "adjustment",
    ]
    assert [entry["status"] for entry in listed].count("refused") == 1
    applied = sum(e["amount"]["amount"] for e in listed if e["status"] == "applied")
    assert (
        balance["available"]
        == {"amount": applied, "currency": "EUR"}
        == {"amount": 5850, "currency": "EUR"}
    )


async def test_transactions_of_a_period_are_those_created_in_it(
    platform: Platform, booked: Booked
) -> None:
    """`from` is inclusive and `to` exclusive: the period from the second entry's time to the
    fourth's lists the second and the third."""
    entries = booked.entries
    params = {"from": entries[1]["created_at"], "to": entries[3]["created_at"]}
    async with (
        keyed(platform, booked.key) as client,
        client.get("/v1/transactions", params=params) as response,
    ):
        page = await ok_json(response)
    assert page["data"] == entries[1:3]
    assert page["next_cursor"] is None


# 3. Statements


async def _statement(platform: Platform, booked: Booked, form: str) -> aiohttp.ClientResponse:
    entries = booked.entries
    params = {"from": entries[1]["created_at"], "to": entries[4]["created_at"], "format": form}
    async with keyed(platform, booked.key) as client:
        response = await client.get("/v1/statements", params=params)
        await response.read()
    return response


async def test_a_statement_has_the_opening_and_closing_balance_of_its_period(
    platform: Platform, booked: Booked
) -> None:
    """From the second entry to (not including) the fifth: opening 50.00 (the first top-up),
    lines for the applied top-up and debit only (not the refused debit), each with its running
    balance, closing 57.50."""
    response = await _statement(platform, booked, "json")
    statement = await ok_json(response)
    assert statement["opening_balance"] == {"amount": 5000, "currency": "EUR"}
    assert statement["opening_decimal"] == "50.00"
    assert [line["entry_id"] for line in statement["lines"]] == [
        booked.entries[1]["entry_id"],
        booked.entries[2]["entry_id"],
    ]
    assert [line["balance_decimal"] for line in statement["lines"]] == ["70.00", "57.50"]
    assert [line["amount_decimal"] for line in statement["lines"]] == ["20.00", "-12.50"]
    assert statement["closing_balance"] == {"amount": 5750, "currency": "EUR"}
    assert statement["closing_decimal"] == "57.50"
    assert statement["partner_id"] == booked.partner_id


async def test_a_csv_statement_is_an_attachment_with_the_same_figures(
    platform: Platform, booked: Booked
) -> None:
    """`format=csv` answers text/csv as an attachment named after partner and period: a header
    row, the opening balance row, the same lines as JSON, the closing balance row."""
    response = await _statement(platform, booked, "csv")
    text = await response.text()
    assert response.status == 200, text
    assert response.content_type == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="statement-{booked.partner_id}-' in disposition
    assert disposition.endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["kind"] for row in rows] == [
        "opening_balance",
        "top_up",
        "debit",
        "closing_balance",
    ]
    assert [row["balance"] for row in rows] == ["50.00", "70.00", "57.50", "57.50"]
    assert [row["entry_id"] for row in rows[1:3]] == [
        booked.entries[1]["entry_id"],
        booked.entries[2]["entry_id"],
    ]
    assert rows[2]["amount_minor"] == "-1250"
    assert rows[0]["currency"] == rows[-1]["currency"] == "EUR"


BAD_PERIODS = [
    ("/v1/statements", {"from": "2026-03-01T00:00:00Z"}, "to"),
    ("/v1/statements", {"from": "2026-03-01T00:00:00", "to": "2026-04-01T00:00:00Z"}, "from"),
    ("/v1/statements", {"from": "2026-03-01", "to": "2026-04-01T00:00:00Z"}, "from"),
    ("/v1/statements", {"from": "1772323200", "to": "2026-04-01T00:00:00Z"}, "from"),
    ("/v1/statements", {"from": "2026-04-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
    ("/v1/statements", {"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
    (
        "/v1/statements",
        {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z", "format": "pdf"},
        "format",
    ),
    ("/v1/transactions", {"from": "2026-03-01T00:00:00 01:00"}, "from"),
    ("/v1/transactions", {"to": "yesterday"}, "to"),
    ("/v1/transactions", {"from": "2026-04-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
    ("/v1/transactions", {"cursor": "not-an-entry"}, "cursor"),
    ("/v1/transactions", {"partner_id": "ptn_other"}, "partner_id"),
]


@pytest.mark.parametrize(("path", "params", "field"), BAD_PERIODS)
async def test_a_bad_period_or_parameter_is_a_422_naming_it(
    api: aiohttp.ClientSession, path: str, params: dict[str, str], field: str
) -> None:
    """A time without a timezone, a bare date, a Unix time, an empty or reversed period, an
    unknown format, a forged cursor or an unknown parameter is 422 `validation_failed`."""
    async with api.get(path, params=params) as response:
        problem = await problem_code(response, 422)
    assert problem["code"] == "validation_failed"
    assert field in [error["field"] for error in problem["errors"]], problem


async def test_a_statement_period_longer_than_a_year_is_refused(
    api: aiohttp.ClientSession,
) -> None:
    """A statement of more than 366 days is 422 `invalid_request` (the ledger's own limit)."""
    params = {"from": "2024-01-01T00:00:00Z", "to": "2025-01-02T00:00:01Z"}
    async with api.get("/v1/statements", params=params) as response:
        problem = await problem_code(response, 422)
    assert problem["code"] == "invalid_request"
    assert "366" in problem["detail"]


# 4. Tenants


async def test_another_partners_data_is_never_visible(
    platform: Platform, db: Db, booked: Booked
) -> None:
    """A second partner's key reads its own account, balance, transactions and statement only;
    a key of a partner without an account does not work at all."""
    other_id, other_key = await partner_with_key(platform, db, "Other Travel Ltd")
    top_up = CreditBalance(
        actor=PLATFORM_ACTOR,
        partner_id=other_id,
        kind=CreditKind.TOP_UP,
        reference=f"pay-{uuid.uuid4().hex[:8]}",
        amount=Money(amount=700, currency="EUR"),
    )
    now = utcnow()
    today = {"from": rfc3339(now - timedelta(days=1)), "to": rfc3339(now + timedelta(days=1))}
    async with keyed(platform, other_key) as other:
        async with platform_bus(platform) as bus:
            await _book(bus, other, top_up, 1)
        async with other.get("/v1/account") as response:
            assert (await ok_json(response))["id"] == other_id
        async with other.get("/v1/balance") as response:
            assert (await ok_json(response))["available"]["amount"] == 700
        async with other.get("/v1/transactions", params={"limit": "200"}) as response:
            listed = (await ok_json(response))["data"]
        async with other.get("/v1/statements", params=today) as response:
            statement = await ok_json(response)
    assert [entry["partner_id"] for entry in listed] == [other_id]
    assert [line["amount"]["amount"] for line in statement["lines"]] == [700]
    assert statement["partner_id"] == other_id
    assert booked.partner_id not in repr([listed, statement])

    ghost_key = await add_api_key(
        platform, db, partner_id="ptn_ghost", scopes=EVERY_SCOPE, with_partner=False
    )
    async with keyed(platform, ghost_key) as ghost:
        for path in ("/v1/account", "/v1/balance", "/v1/transactions"):
            async with ghost.get(path) as response:
                assert (await problem_code(response, 401))["code"] == "invalid_api_key", path


async def test_openapi_documents_the_account_routes_with_their_scopes(platform: Platform) -> None:
    """The five account operations are documented with their scope; the statement also as
    text/csv; the account change refuses unknown fields."""
    async with (
        aiohttp.ClientSession(base_url=platform.gateway) as client,
        client.get("/openapi.json") as response,
    ):
        document = await ok_json(response)
    paths = document["paths"]
    scopes = {
        ("get", "/v1/account"): "account:read",
        ("patch", "/v1/account"): "account:write",
        ("get", "/v1/balance"): "billing:read",
        ("get", "/v1/transactions"): "billing:read",
        ("get", "/v1/statements"): "billing:read",
    }
    for (method, path), scope in scopes.items():
        assert paths[path][method]["x-required-scope"] == scope, (method, path)
    statement = paths["/v1/statements"]["get"]["responses"]["200"]["content"]
    assert set(statement) == {"application/json", "text/csv"}
    changes = document["components"]["schemas"]["AccountChanges"]
    assert changes["additionalProperties"] is False
    names = {parameter["name"] for parameter in paths["/v1/transactions"]["get"]["parameters"]}
    assert names == {"from", "to", "limit", "cursor"}


# 5. The demo seed and new partners' balances, on a database of their own


@pytest.fixture
async def seed_db(mongo_url: str) -> AsyncIterator[Any]:
    """A database of one test; dropped afterwards."""
    client: Db = AsyncMongoClient(mongo_url, tz_aware=True)
    name = f"seed_{uuid.uuid4().hex[:16]}"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


@pytest.fixture
def seed_settings(amqp_url: str, mongo_url: str) -> AccountsSettings:
    """Accounts settings with fresh keys; nothing is published by the seed."""
    base = ServiceSettings(amqp_url=amqp_url, mongo_url=mongo_url, bus_namespace=unique_namespace())
    return AccountsSettings.model_validate(
        {
            **base.model_dump(),
            "api_key_pepper": "test-pepper-for-the-seed-0123456789",
            "master_keys": LocalMasterKeys.generate(),
            "blind_index_key": BlindIndex.generate_key(),
        }
    )


async def _seed(db: Any, settings: AccountsSettings, key: str) -> None:
    await seed_demo(
        db, pepper=settings.api_key_pepper.get_secret_value(), api_key=key, settings=settings
    )


async def test_the_demo_seed_books_its_top_up_once_through_the_ledger(
    seed_db: Any, seed_settings: AccountsSettings
) -> None:
    """Seeding twice leaves one applied top-up of EUR 1,000.00 and a balance of that amount in
    the partner's currency, with the credit event waiting in the entry's outbox."""
    key, _ = apikeys.generate("test")
    for _ in range(2):
        await _seed(seed_db, seed_settings, key)
    entries = [doc async for doc in seed_db["ledger"].find({})]
    assert len(entries) == 1
    assert (entries[0]["reference"], entries[0]["status"]) == (DEMO_TOP_UP, "applied")
    assert entries[0]["_outbox"][0]["type"] == "accounts.balance_credited.v1"
    balance = await seed_db["balances"].find_one({"_id": DEMO_PARTNER_ID})
    assert (balance["available"], balance["currency"]) == (100_000, "EUR")


async def test_the_demo_seed_replaces_the_bare_top_up_of_earlier_seeds(
    seed_db: Any, seed_settings: AccountsSettings
) -> None:
    """A store seeded before the ledger existed (a bare entry, no balance) gets the real top-up
    once, and the bare entry is gone."""
    key, _ = apikeys.generate("test")
    await _seed(seed_db, seed_settings, key)
    await seed_db["_seeds"].delete_one({"_id": "demo_balance"})
    await seed_db["ledger"].delete_many({})
    await seed_db["balances"].delete_many({})
    legacy = {
        "reference": "seed:demo-topup",
        "partner_id": DEMO_PARTNER_ID,
        "kind": "top_up",
        "amount": 100_000,
        "currency": "EUR",
        "created_at": utcnow(),
    }
    await seed_db["ledger"].insert_one({"_id": LEGACY_TOP_UP_ID, **legacy})
    await _seed(seed_db, seed_settings, key)
    assert await seed_db["ledger"].find_one({"_id": LEGACY_TOP_UP_ID}) is None
    assert [doc["reference"] async for doc in seed_db["ledger"].find({})] == [DEMO_TOP_UP]
    balance = await seed_db["balances"].find_one({"_id": DEMO_PARTNER_ID})
    assert balance["available"] == 100_000


async def test_the_demo_key_is_registered_again_working_and_with_an_outbox(
    seed_db: Any, seed_settings: AccountsSettings
) -> None:
    """The demo key is stored with an empty outbox; a later run lifts a revocation and a
    rotation's expiry, and gives a key stored without an outbox (earlier seeds) one."""
    key, parsed = apikeys.generate("test")
    await _seed(seed_db, seed_settings, key)
    keys = seed_db["api_keys"]
    stored = await keys.find_one({"_id": parsed.key_id})
    assert (stored["_outbox"], stored["_outbox_pending"]) == ([], 0)
    await keys.update_one(
        {"_id": parsed.key_id},
        {
            "$set": {"revocation": {"at": utcnow(), "by": "usr_x"}, "expiry": {"at": utcnow()}},
            "$unset": {"_outbox": "", "_outbox_pending": ""},
        },
    )
    await _seed(seed_db, seed_settings, key)
    again = await keys.find_one({"_id": parsed.key_id})
    assert "revocation" not in again
    assert "expiry" not in again
    assert (again["_outbox"], again["_outbox_pending"]) == ([], 0)
    assert again["secret_hmac"] == stored["secret_hmac"]
    assert await keys.count_documents({}) == 1


async def test_a_new_partner_has_a_balance_in_its_currency_from_the_start(
    seed_db: Any, seed_settings: AccountsSettings
) -> None:
    """Partners given the ledger's `open_balance` open the balance at zero in the partner's
    currency on creation, once, however often the creation is repeated."""
    vault = Vault.from_settings(seed_db, seed_settings)
    bus = Bus(
        url=seed_settings.amqp_url,
        topology=Topology(seed_settings.bus_namespace),
        service="accounts",
    )
    ledger = Ledger(seed_db, bus, low_balance_thresholds=[1000])
    partners = Partners(seed_db, vault, bus.outgoing, open_balance=ledger.open_balance)
    request = CreatePartner(
        actor=PLATFORM_ACTOR,
        business_name="Yen Travel KK",
        registration_number="JP-1",
        address=PostalAddress(line1="1-1 Chiyoda", city="Tokyo", country="JP"),
        phone="+81312345678",
        currency="JPY",
    )
    now = datetime.now(UTC)
    for _ in range(2):
        await partners.create(request, partner_id="ptn_yen", now=now)
    balances = [doc async for doc in seed_db["balances"].find({})]
    assert [(doc["_id"], doc["currency"], doc["available"]) for doc in balances] == [
        ("ptn_yen", "JPY", 0)
    ]
    assert (await ledger.balance("ptn_yen")).available == Money(amount=0, currency="JPY")
