"""The chaos suite's platform and traffic: every service as a process on the suite's own broker
and store (provisioning reaches the broker through a TCP proxy that can be cut), partners
that buy and send data-subject requests through the gateway, retrying as a client would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from devstack.run import dev_secrets, process_env, provider_env
from e2e_support import PLATFORM_ACTOR, Platform, add_api_key, create_partner, platform_bus
from orders_support import BUYER_SCOPES, PACKAGE

from contracts.ledger import CreditBalance, CreditKind
from contracts.money import Money
from servicekit.ids import new_id
from support.platform import SERVICES, owners_registered
from support.processes import ServiceProcess, free_port
from support.waiting import eventually

SIMULATOR = "providersim"
PROXIED = "provisioning"
"""The service that reaches the broker through the cuttable proxy."""
SUBMIT_TIMEOUT_S = 60.0
"""How long a client keeps retrying one submission through outages."""
RETRIED_STATUSES = {429, 500, 502, 503, 504}
PURCHASE_ID = re.compile(r"\b(ord_[A-Za-z0-9]+)\b")
CHAOS_ENV = {
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "warning",
    "RETRY_DELAYS_MS": json.dumps([200, 1000, 5000, 15000]),
    "OUTBOX_POLL_SECONDS": "0.2",
    "QUERY_TIMEOUT_SECONDS": "3",
    "WEBHOOKS_ALLOW_PRIVATE_URLS": "true",
    "WEBHOOK_RETRY_DELAYS_MS": json.dumps([200, 500, 1000, 2000, 3000, 5000]),
    "WEBHOOK_TIMEOUT_SECONDS": "1",
    "WEBHOOK_LEASE_SECONDS": "3",
    "WEBHOOK_POLL_SECONDS": "0.2",
    "PROVIDER_TIMEOUT_SECONDS": "2",
    # Far beyond any scenario: a task whose command or answer the bus lost is not rescued by
    # privacy sending it again, so the scenario fails on it.
    "PRIVACY_TASK_RETRY_SECONDS": "[600]",
    "ORDER_SYNC_WAIT_SECONDS": "1",
    "RATE_LIMIT_PER_SECOND": "1000",
    "RATE_LIMIT_BURST": "1000",
}
"""Short retry, outbox and lease intervals: a fault recovers in seconds, not minutes."""


def platform_env(amqp_url: str, mongo_url: str, namespace: str) -> dict[str, str]:
    """The environment every process shares."""
    return {
        **dev_secrets(),
        "AMQP_URL": amqp_url,
        "MONGO_URL": mongo_url,
        "BUS_NAMESPACE": namespace,
        **CHAOS_ENV,
    }


def build_platform(env: dict[str, str], proxied_amqp_url: str, logs_dir: Path) -> Platform:
    """The processes (not started yet) of every service, the simulator and the mail sink."""
    ports = {name: free_port() for name in [*SERVICES, SIMULATOR, "smtp"]}
    env = {**env, **provider_env(ports[SIMULATOR], ports["provisioning"])}
    env["SMTP_PORT"] = str(free_port())
    processes = {}
    for name in [*SERVICES, SIMULATOR]:
        own = {**process_env(name, env), "HTTP_PORT": str(ports[name])}
        if name == PROXIED:
            own["AMQP_URL"] = proxied_amqp_url
        processes[name] = ServiceProcess(["-m", name], own, logs_dir / f"{name}.log")
    processes["smtp"] = ServiceProcess(
        ["-m", "devstack", "smtp"], {**env, "HTTP_PORT": str(ports["smtp"])}, logs_dir / "smtp.log"
    )
    return Platform(
        namespace=env["BUS_NAMESPACE"],
        env=env,
        processes=processes,
        demo_key=env["DEMO_API_KEY"],
        mongo_url=env["MONGO_URL"],
    )


async def start_platform(platform: Platform) -> None:
    """Start every process (on seeded databases), wait until all are ready and privacy knows
    every data owner."""
    for process in platform.processes.values():
        process.start()
    await all_ready(platform)
    await eventually(
        lambda: owners_registered(platform), timeout=30, what="all data owners registered"
    )


async def all_ready(platform: Platform) -> None:
    """Every process answers /readyz."""
    await asyncio.gather(*(p.wait_ready(timeout=60) for p in platform.processes.values()))


async def restart(platform: Platform, name: str) -> None:
    """Start a stopped (or killed) process again and wait until it is ready."""
    process = platform.processes[name]
    process.start()
    await process.wait_ready(timeout=60)


@contextlib.contextmanager
def paused(platform: Platform, name: str) -> Iterator[None]:
    """The process frozen (SIGSTOP) inside the block, so what it was sent waits; SIGCONT after."""
    process = platform.processes[name].process
    assert process is not None
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


@dataclass
class Buyer:
    """A partner that buys and sends data-subject requests through the API."""

    partner_id: str
    api: aiohttp.ClientSession
    balance: int


@contextlib.asynccontextmanager
async def new_buyer(platform: Platform, db: Any, balance_cents: int) -> AsyncIterator[Buyer]:
    """A fresh partner holding `balance_cents` euro cents, its key allowed to buy, manage
    webhooks and send privacy requests."""
    async with platform_bus(platform) as bus:
        partner = await create_partner(bus, f"Chaos buyer {new_id('t')}")
        credit = CreditBalance(
            actor=PLATFORM_ACTOR,
            partner_id=partner.id,
            kind=CreditKind.TOP_UP,
            reference=new_id("pay"),
            amount=Money(amount=balance_cents, currency="EUR"),
        )
        await bus.publish(credit, to="accounts")
    scopes = [*BUYER_SCOPES, "privacy:read", "privacy:write"]
    key = await add_api_key(platform, db, partner_id=partner.id, scopes=scopes)
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(base_url=platform.gateway, headers=headers) as api:
        buyer = Buyer(partner_id=partner.id, api=api, balance=balance_cents)
        await eventually(lambda: _credited(buyer), timeout=20, what="the credit booked")
        yield buyer


async def _credited(buyer: Buyer) -> bool:
    status, body = await _call(buyer.api, "GET", "/v1/balance", None, {})
    return status == 200 and body["available"]["amount"] == buyer.balance


async def _call(
    api: aiohttp.ClientSession, method: str, path: str, body: Any, headers: dict[str, str]
) -> tuple[int, Any]:
    try:
        async with api.request(method, path, json=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as failure:
        return 0, repr(failure)


async def _until_accepted(
    attempt: Callable[[], Awaitable[tuple[int, Any]]], accept: Callable[[int, Any], str | None]
) -> str:
    """Repeat a submission through outages until `accept` names what it created (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SUBMIT_TIMEOUT_S
    while True:
        status, body = await attempt()
        created = accept(status, body)
        if created is not None:
            return created
        if status not in {0, 409, *RETRIED_STATUSES} or loop.time() > deadline:
            raise AssertionError(f"submission refused or never accepted: {status} {body}")
        await asyncio.sleep(0.2)


async def place_order(buyer: Buyer, email: str) -> str:
    """POST /v1/orders for one eSIM, retried with the same Idempotency-Key; the order id."""
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"package_id": PACKAGE, "end_user": {"email": email, "reference": new_id("ref")}}

    def accept(status: int, answer: Any) -> str | None:
        if status in (201, 202):
            return str(answer["id"])
        if status == 409 and answer.get("code") == "idempotency_in_progress":
            found = PURCHASE_ID.search(answer.get("detail", ""))
            return found.group(1) if found else None
        return None

    return await _until_accepted(
        lambda: _call(buyer.api, "POST", "/v1/orders", body, headers), accept
    )


async def submit_request(buyer: Buyer, kind: str, email: str) -> str:
    """POST /v1/privacy/requests about an end user, retried through outages; its id."""
    body = {"type": kind, "subject": {"email": email}}

    def accept(status: int, answer: Any) -> str | None:
        return str(answer["id"]) if status == 202 else None

    return await _until_accepted(
        lambda: _call(buyer.api, "POST", "/v1/privacy/requests", body, {}), accept
    )


@dataclass
class Traffic:
    """What one scenario placed: order ids and data-subject request ids."""

    buyer: Buyer
    orders: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)


async def buy(traffic: Traffic, count: int, *, spacing: float = 0.05) -> None:
    """Place `count` orders, one end user each, started `spacing` seconds apart."""

    async def one(index: int) -> None:
        await asyncio.sleep(index * spacing)
        email = f"{new_id('eu').lower()}@example.com"
        traffic.emails.append(email)
        traffic.orders.append(await place_order(traffic.buyer, email))

    await asyncio.gather(*(one(index) for index in range(count)))


async def ask(
    traffic: Traffic, emails: list[str], *, spacing: float = 0.05, erasures: int = 2
) -> None:
    """One data-subject request per email: erasures for the first `erasures`, then access."""

    async def one(index: int, email: str) -> None:
        await asyncio.sleep(index * spacing)
        kind = "erasure" if index < erasures else "access"
        traffic.requests.append(await submit_request(traffic.buyer, kind, email))

    await asyncio.gather(*(one(index, email) for index, email in enumerate(emails)))


async def drive(
    traffic: Traffic, *, orders: int = 10, requests: int = 5, erasures: int = 2
) -> None:
    """The standard load: half the orders, then the rest with a request about each earlier
    end user (`erasures` of them erasures, the others access), all at once."""
    first = orders // 2
    await buy(traffic, first)
    asked = ask(traffic, traffic.emails[:requests], erasures=erasures)
    await asyncio.gather(buy(traffic, orders - first), asked)
