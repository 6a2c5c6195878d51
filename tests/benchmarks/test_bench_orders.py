"""`make bench` (deploy/bench_orders.py) runs end to end with tiny numbers, reports what it
measured, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aio_pika.exceptions import ChannelClosed
from pymongo import AsyncMongoClient

from servicekit.topology import Topology

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "bench_orders.py"
ORDERS = 20
RUN_TIMEOUT_S = 100


@pytest.fixture(scope="module")
def report(amqp_url: str, mongo_url: str) -> dict[str, Any]:
    """The JSON report of a tiny benchmark run against the session's broker and store."""
    source = os.pathsep.join([str(REPO / "services"), str(REPO / "deploy")])
    env = {**os.environ, "AMQP_URL": amqp_url, "MONGO_URL": mongo_url, "PYTHONPATH": source}
    arguments = ["--orders", str(ORDERS), "--concurrency", "4", "--warmup", "0"]
    arguments += ["--bus-messages", "50", "--log-level", "warning", "--json"]
    finished = subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:] + finished.stdout[-3000:]
    result: dict[str, Any] = json.loads(finished.stdout)
    return result


def test_every_order_is_counted_and_completed(report: dict[str, Any]) -> None:
    """All counted orders are reported, each answered 201 with a completed order."""
    orders = report["orders"]
    assert orders["orders"] == ORDERS
    assert orders["answers"] == {"201": ORDERS}
    assert orders["completed_201"] == ORDERS
    assert orders["not_completed"] == 0
    assert 0 < orders["latency_ms"]["p50"] <= orders["latency_ms"]["p99"]


def test_bus_traffic_and_ceiling_are_measured(report: dict[str, Any]) -> None:
    """The report counts an order's bus messages by type and measures the bus ceiling."""
    by_type = report["bus"]["by_type"]
    assert by_type["provisioning.create_order.v1"]["queries_per_order"] == 1.0
    assert by_type["accounts.debit_balance.v1"]["consumed_per_order"] == 1.0
    assert report["bus"]["delivered_per_order"] > 1
    assert report["bus_ceiling"]["raw_messages_per_second"] > 0
    assert report["bus_ceiling"]["servicekit_messages_per_second"] > 0


async def test_namespace_is_removed(report: dict[str, Any], amqp_url: str, mongo_url: str) -> None:
    """After the run, neither the platform's databases nor its exchanges exist."""
    namespace = report["namespace"]
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url)
    try:
        left = [name for name in await client.list_database_names() if name.startswith(namespace)]
    finally:
        await client.close()
    assert left == []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        with pytest.raises(ChannelClosed):
            await channel.get_exchange(Topology(namespace).events, ensure=True)
