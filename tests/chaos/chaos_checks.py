"""The final-state checker every chaos scenario ends with.

After a fault, within a bounded wait: every order placed is completed, or failed with its
money back (never stuck, never charged twice); every data-subject request is closed with its
tasks completed and one receipt per task; nothing is done twice (one debit per order, one eSIM
per completed order, one refund at most, one webhook delivery per event); every queue is
empty, every dead-letter queue too but for the poison a scenario injected on purpose, and
every outbox is drained.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from chaos_infra import OwnBroker
from chaos_support import Traffic
from e2e_support import Platform
from orders_support import PACKAGE_PRICE

from servicekit.messages import DEATH_REASON_HEADER
from servicekit.topology import Topology
from support.platform import DATA_OWNERS, SERVICES
from support.waiting import eventually

Db = Any
FINAL_ORDER_STATES = {"completed", "failed"}
FINAL_REQUEST_STATES = {"completed", "completed_with_exceptions", "failed"}
OPEN_ORDER_STATES = ["awaiting_funds", "allocating", "refunding"]
OPEN_REQUEST_STATES = [
    "received",
    "identity_unverified",
    "verified",
    "awaiting_approval",
    "in_progress",
]
STATEFUL = [*DATA_OWNERS, "privacy"]


@dataclass
class DeadLetter:
    """A message found in a dead-letter queue."""

    queue: str
    message_id: str
    reason: str


@dataclass
class Checker:
    """Checks one scenario's traffic against the platform's databases and queues."""

    platform: Platform
    db: Db
    broker: OwnBroker
    dead: list[DeadLetter] = field(default_factory=list)

    def database(self, service: str) -> Db:
        """A service's database."""
        return self.db[self.platform.database(service)]

    async def settled(self, traffic: Traffic, *, timeout: float = 45.0) -> float:
        """Wait until the traffic reached its final state and the bus is quiet, then check
        every invariant; the seconds it took. A wait that runs out says what is left open."""
        started = time.monotonic()
        waits: list[tuple[Callable[[], Awaitable[object]], str]] = [
            (lambda: self._orders_final(traffic), "every order final"),
            (lambda: self._requests_final(traffic), "every request closed"),
            (self._outboxes_drained, "every outbox drained"),
            (self._queues_empty, "every queue consumed"),
        ]
        for probe, what in waits:
            remaining = max(timeout - (time.monotonic() - started), 1.0)
            try:
                await eventually(probe, timeout=remaining, interval=0.2, what=what)
            except AssertionError as failure:
                raise AssertionError(f"{failure}; {await self.left_open(traffic)}") from None
        elapsed = time.monotonic() - started
        await self.check_effects_once(traffic)
        await self.check_requests(traffic)
        self.dead = await self.take_dead_letters()
        return elapsed

    async def left_open(self, traffic: Traffic) -> str:
        """What is not final yet: orders, requests with their tasks, outboxes, queues."""
        orders = (
            await self.database("provisioning")["orders"]
            .find(
                {"_id": {"$in": traffic.orders}, "state": {"$in": OPEN_ORDER_STATES}},
                {"state": 1},
            )
            .to_list()
        )
        requests = (
            await self.database("privacy")["requests"]
            .find({"_id": {"$in": traffic.requests}, "status": {"$in": OPEN_REQUEST_STATES}})
            .to_list()
        )
        tasks = {
            r["_id"]: {
                service: (t.get("status"), t.get("task_id"), t.get("attempts"))
                for service, t in r.get("tasks", {}).items()
            }
            for r in requests
        }
        busy = {name: depth for name, depth in (await self.queue_depths()).items() if depth}
        return (
            f"orders open: {[(o['_id'], o['state']) for o in orders]}; requests open: {tasks};"
            f" outboxes pending: {await self.pending_outboxes()}; queues: {busy}"
        )

    async def _orders_final(self, traffic: Traffic) -> list[str] | bool:
        orders = self.database("provisioning")["orders"]
        found = await orders.find({"_id": {"$in": traffic.orders}}, {"state": 1}).to_list()
        stuck = [o["_id"] for o in found if o["state"] not in FINAL_ORDER_STATES]
        return len(found) == len(set(traffic.orders)) and not stuck

    async def _requests_final(self, traffic: Traffic) -> bool:
        requests = self.database("privacy")["requests"]
        found = await requests.find({"_id": {"$in": traffic.requests}}, {"status": 1}).to_list()
        done = [r for r in found if r["status"] in FINAL_REQUEST_STATES]
        return len(done) == len(set(traffic.requests))

    async def _outboxes_drained(self) -> bool:
        return not await self.pending_outboxes()

    async def pending_outboxes(self) -> dict[str, int]:
        """Documents whose outbox still holds messages, by `<service>.<collection>`."""
        pending: dict[str, int] = {}
        for service in STATEFUL:
            database = self.database(service)
            for name in await database.list_collection_names():
                count = await database[name].count_documents({"_outbox_pending": 1})
                if count:
                    pending[f"{service}.{name}"] = count
        return pending

    def queue_names(self) -> list[str]:
        """Every durable queue of the namespace: services', queries', retries', dead letters'."""
        topology = Topology(self.platform.namespace)
        delays = json.loads(self.platform.env["RETRY_DELAYS_MS"])
        names = []
        for service in SERVICES:
            queue = topology.service_queue(service)
            names += [queue, topology.query_queue(service), topology.dead_letter_queue(queue)]
            names += [topology.retry_queue(queue, delay) for delay in delays]
            names.append(topology.dead_letter_queue(topology.broadcast_group(service)))
        return names

    async def queue_depths(self) -> dict[str, int]:
        """Messages ready in each queue of the namespace that exists."""
        depths = {}
        connection = await aio_pika.connect(self.broker.url)
        async with connection:
            channel = await connection.channel()
            for name in self.queue_names():
                try:
                    queue = await channel.declare_queue(name, passive=True)
                except aio_pika.exceptions.ChannelClosed:  # no such queue
                    channel = await connection.channel()
                    continue
                depths[name] = queue.declaration_result.message_count or 0
        return depths

    async def _queues_empty(self) -> bool:
        busy = {
            name: depth
            for name, depth in (await self.queue_depths()).items()
            if depth and not name.endswith(".dlq")
        }
        return not busy

    async def check_effects_once(self, traffic: Traffic) -> None:
        """One debit per order, a refund only for a failed order that was charged, one eSIM
        per completed order, and the balance moved by exactly the completed orders."""
        orders = {
            o["_id"]: o
            async for o in self.database("provisioning")["orders"].find(
                {"_id": {"$in": traffic.orders}}
            )
        }
        entries = (
            await self.database("accounts")["ledger"]
            .find({"order_id": {"$in": traffic.orders}})
            .to_list()
        )
        booked = Counter((e["order_id"], e["kind"], e["status"]) for e in entries)
        profiles = (
            await self.database("provisioning")["esims"]
            .find({"order_id": {"$in": traffic.orders}}, {"order_id": 1})
            .to_list()
        )
        esims = Counter(profile["order_id"] for profile in profiles)
        for order_id, order in orders.items():
            _check_order(order, booked, esims[order_id])
        completed = sum(1 for o in orders.values() if o["state"] == "completed")
        balance = await self.database("accounts")["balances"].find_one(
            {"_id": traffic.buyer.partner_id}
        )
        assert balance is not None
        expected = traffic.buyer.balance - completed * PACKAGE_PRICE
        assert balance["available"] == expected, (
            f"balance {balance['available']} after {completed} completed orders, not {expected}"
        )

    async def check_requests(self, traffic: Traffic) -> None:
        """Every request completed, each task completed with exactly one receipt."""
        requests = self.database("privacy")["requests"]
        async for request in requests.find({"_id": {"$in": traffic.requests}}):
            assert request["status"] == "completed", (request["_id"], request["status"])
            for service, task in request.get("tasks", {}).items():
                assert task["status"] == "completed", (request["_id"], service, task)
                receipts = await self.database(service)["_privacy_receipts"].count_documents(
                    {"request_id": request["_id"]}
                )
                assert receipts == 1, f"{request['_id']}: {receipts} receipts in {service}"

    async def take_dead_letters(self) -> list[DeadLetter]:
        """Every message in the namespace's dead-letter queues, removed from them."""
        taken: list[DeadLetter] = []
        full = [n for n, d in (await self.queue_depths()).items() if d and n.endswith(".dlq")]
        if not full:
            return taken
        connection = await aio_pika.connect(self.broker.url)
        async with connection:
            channel = await connection.channel()
            for name in full:
                queue = await channel.declare_queue(name, passive=True)
                while (message := await queue.get(fail=False, timeout=5)) is not None:
                    reason = str((message.headers or {}).get(DEATH_REASON_HEADER, ""))
                    taken.append(DeadLetter(name, message.message_id or "", reason))
                    await message.ack()
        return taken


def _check_order(order: dict[str, Any], booked: Counter[tuple[str, str, str]], esims: int) -> None:
    """One order's money and eSIMs: at most one debit; a completed order charged once with
    its eSIM; a failed one refunded exactly what it was charged, without eSIMs."""
    order_id = order["_id"]
    debits = sum(n for (o, kind, _), n in booked.items() if (o, kind) == (order_id, "debit"))
    refunds = booked[(order_id, "refund", "applied")]
    charged = booked[(order_id, "debit", "applied")]
    assert debits <= 1, f"{order_id} has {debits} debits"
    if order["state"] == "completed":
        found = (charged, refunds, esims)
        assert found == (1, 0, 1), f"completed {order_id}: (charged, refunds, eSIMs) = {found}"
        return
    assert refunds == charged, f"failed {order_id}: charged {charged}, refunded {refunds}"
    assert order["failure"]["funds_returned"] == (charged == 1), order["failure"]
    assert esims == 0, f"failed {order_id} has eSIMs"


def expect_no_dead_letters(dead: list[DeadLetter]) -> None:
    """Fail naming every dead letter found."""
    assert not dead, f"messages were dead-lettered: {dead}"


async def webhook_deliveries(platform: Platform, db: Db, partner_id: str) -> list[dict[str, Any]]:
    """The partner's webhook deliveries."""
    deliveries = db[platform.database("provisioning")]["webhook_deliveries"]
    return [d async for d in deliveries.find({"partner_id": partner_id})]


def one_each(values: list[str], what: str) -> None:
    """Fail if a value occurs more than once."""
    twice = [value for value, count in Counter(values).items() if count > 1]
    assert not twice, f"{what} happened more than once: {twice}"
