"""The privacy benchmark's data subjects: people whose data is held by accounts, provisioning
and logs, written through each service's own path so that erasing them is real work there.

Every subject is an email address. For each: a contact person of the bench partner in
accounts (`accounts.add_contact.v1`), an order of one eSIM for that end user in provisioning
(`provisioning.create_order.v1`, paid from the partner's balance, completed by the provider
simulator), and `LOG_RECORDS_PER_SUBJECT` technical log records naming the email (shipped to
logs as `logs.technical_records.v1`, as every service's log shipper does; logs seals them
with the subject's key and keeps a blind index). Seeding waits until every order completed
and every record is stored.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bench_orders_load import say
from platform_procs import LocalPlatform, PlatformError
from pymongo import AsyncMongoClient

from contracts.accounts import Actor
from contracts.identity import (
    AddContact,
    ContactRole,
    ContactView,
    CreatePartner,
    PartnerView,
    PostalAddress,
)
from contracts.ledger import BalanceView, CreditBalance, CreditKind, GetBalance
from contracts.logs import MAX_RECORDS_PER_BATCH, TechnicalRecord, TechnicalRecordsShipped
from contracts.money import Money
from contracts.orders import CreateOrder, EndUser, OrderView
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.ids import new_id

BENCH = Actor(kind="platform", id="bench")
CURRENCY = "EUR"
PACKAGE = "pkg_de_1gb_7d"
"""A package of the demo catalogue (provisioning's `seed-demo`)."""
CREDIT_PER_ORDER = 1_000_000
"""Euro cents credited per order: more than any one-eSIM package costs."""
LOG_RECORDS_PER_SUBJECT = 3
SEED_SERVICE = "benchseed"
"""The `service` of the seeded log records, so they can be counted."""
CONCURRENCY = 16
BUS_TIMEOUT_S = 30.0
SETTLE_TIMEOUT_S = 300.0
SETTLE_S_PER_ORDER = 2.0
"""Orders complete at a few a second on a loaded two-core machine."""
POLL_S = 0.25
PROGRESS_EVERY = 250


@dataclass(frozen=True)
class Seeded:
    """What was seeded: the partner, one email per subject, and how much of each kind."""

    partner_id: str
    emails: list[str]
    contacts: int
    orders: int
    log_records: int
    seconds: float


def subject_email(run: str, number: int) -> str:
    """The email of the n-th subject of a run (unique across runs on one store)."""
    return f"person{number:05d}.{run}@bench.example"


async def bounded(jobs: list[Callable[[], Awaitable[Any]]], label: str) -> list[Any]:
    """Run the jobs, `CONCURRENCY` at a time; their results in order."""
    results: list[Any] = [None] * len(jobs)
    remaining = iter(enumerate(jobs))
    done = 0

    async def worker() -> None:
        nonlocal done
        for position, job in remaining:
            results[position] = await job()
            done += 1
            if done % PROGRESS_EVERY == 0:
                say(f"  {label}: {done}/{len(jobs)}")

    await asyncio.gather(*(worker() for _ in range(min(CONCURRENCY, len(jobs)))))
    return results


async def create_partner(bus: Bus, orders: int) -> str:
    """A new partner credited for `orders` orders; waits until the credit shows."""
    partner = await bus.request(
        CreatePartner(
            actor=BENCH,
            business_name=f"Privacy Bench {new_id('b')}",
            registration_number="HRB 654321",
            tax_id="DE000000002",
            address=PostalAddress(line1="Bench Street 2", city="Berlin", country="DE"),
            phone="+4930555000222",
            currency=CURRENCY,
        ),
        to="accounts",
        reply=PartnerView,
        timeout=BUS_TIMEOUT_S,
    )
    credit = orders * CREDIT_PER_ORDER
    await bus.publish(
        CreditBalance(
            actor=BENCH,
            partner_id=partner.id,
            kind=CreditKind.TOP_UP,
            reference=new_id("pay"),
            amount=Money(amount=credit, currency=CURRENCY),
        ),
        to="accounts",
    )

    async def credited() -> bool:
        balance = await bus.request(
            GetBalance(actor=BENCH, partner_id=partner.id),
            to="accounts",
            reply=BalanceView,
            timeout=BUS_TIMEOUT_S,
        )
        return balance.available.amount == credit

    await settle(credited, "the partner's credit")
    return partner.id


async def settle(
    done: Callable[[], Awaitable[bool]], what: str, timeout: float = SETTLE_TIMEOUT_S
) -> None:
    """Wait (bounded) until `done()` holds."""
    deadline = time.monotonic() + timeout
    while not await done():
        if time.monotonic() > deadline:
            raise PlatformError(f"{what}: not done within {timeout:.0f} s")
        await asyncio.sleep(POLL_S)


def add_contact(bus: Bus, partner_id: str, email: str, n: int) -> Callable[[], Awaitable[Any]]:
    """A job: the subject becomes a technical contact of the partner."""
    query = AddContact(
        actor=BENCH,
        partner_id=partner_id,
        name=f"Bench Person {n}",
        email=email,
        role=ContactRole.TECHNICAL,
    )
    return lambda: bus.request(query, to="accounts", reply=ContactView, timeout=BUS_TIMEOUT_S)


def place_order(bus: Bus, partner_id: str, email: str) -> Callable[[], Awaitable[Any]]:
    """A job: the partner buys one eSIM for the subject as its end user."""
    query = CreateOrder(
        actor=BENCH,
        partner_id=partner_id,
        idempotency_key=str(uuid.uuid4()),
        package_id=PACKAGE,
        quantity=1,
        end_user=EndUser(email=email),
    )
    return lambda: bus.request(query, to="provisioning", reply=OrderView, timeout=BUS_TIMEOUT_S)


def log_records(emails: list[str], partner_id: str) -> list[TechnicalRecord]:
    """`LOG_RECORDS_PER_SUBJECT` sign-in records per subject, each naming its email and IP."""
    now = utcnow()
    records = []
    for n, email in enumerate(emails):
        for k in range(LOG_RECORDS_PER_SUBJECT):
            records.append(
                TechnicalRecord(
                    at=now - timedelta(minutes=k),
                    service=SEED_SERVICE,
                    level="info",
                    event="dashboard_sign_in",
                    partner_id=partner_id if k else None,
                    email=email,
                    ip=f"198.51.{100 + n % 100}.{n % 250 + 1}",
                    user_agent="Mozilla/5.0 (X11; Linux x86_64) bench/1.0",
                )
            )
    return records


async def ship_log_records(bus: Bus, records: list[TechnicalRecord]) -> None:
    """Publish the records in batches, as a service's log shipper does."""
    batches = [
        TechnicalRecordsShipped(records=records[n : n + MAX_RECORDS_PER_BATCH])
        for n in range(0, len(records), MAX_RECORDS_PER_BATCH)
    ]
    await bus.publish_many([bus.outgoing(batch, correlation_id="seed") for batch in batches])


async def wait_until_stored(platform: LocalPlatform, orders: int, records: int) -> None:
    """Every order completed (or failed) and every log record stored."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(platform.mongo_url)
    provisioning = client[f"{platform.namespace}_provisioning"]["orders"]
    logs = client[f"{platform.namespace}_logs"]["technical_logs"]
    progress = [0]
    try:

        async def orders_settled() -> bool:
            settled = {"state": {"$in": ["completed", "failed"]}, "kind": "order"}
            count = await provisioning.count_documents(settled)
            if count // PROGRESS_EVERY > progress[0]:
                progress[0] = count // PROGRESS_EVERY
                say(f"  orders completed: {count}/{orders}")
            return bool(count >= orders)

        async def records_stored() -> bool:
            return bool(await logs.count_documents({"service": SEED_SERVICE}) >= records)

        timeout = SETTLE_TIMEOUT_S + orders * SETTLE_S_PER_ORDER
        await settle(orders_settled, f"{orders} orders completed", timeout)
        await settle(records_stored, f"{records} log records stored")
        failed = await provisioning.count_documents({"state": "failed"})
        if failed:
            raise PlatformError(f"{failed} of the seeded orders failed")
    finally:
        await client.close()


async def seed_subjects(platform: LocalPlatform, bus: Bus, count: int, run: str) -> Seeded:
    """`count` subjects with data in accounts, provisioning and logs."""
    started = time.perf_counter()
    say(f"seeding {count} subjects: a contact, an order and log records each")
    partner_id = await create_partner(bus, count)
    emails = [subject_email(run, n) for n in range(count)]
    jobs = [add_contact(bus, partner_id, email, n) for n, email in enumerate(emails)]
    await bounded(jobs, "contacts")
    await bounded([place_order(bus, partner_id, email) for email in emails], "orders")
    records = log_records(emails, partner_id)
    await ship_log_records(bus, records)
    await wait_until_stored(platform, len(emails), len(records))
    return Seeded(
        partner_id=partner_id,
        emails=emails,
        contacts=len(emails),
        orders=len(emails),
        log_records=len(records),
        seconds=round(time.perf_counter() - started, 1),
    )
