"""The privacy benchmark (deploy/bench_privacy.py) runs end to end with tiny numbers: every
erasure it submits completes across the services, it reports each phase's figures beside the
bus ceiling, and it leaves nothing behind."""

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
SCRIPT = REPO / "deploy" / "bench_privacy.py"
SINGLE = 3
BURST = 5
LOG_RECORDS = (200, 2000)
FLAT_ERASURES = 2
RUN_TIMEOUT_S = 200
"""About 60 s on an idle two-core machine; starting five processes and the bus ceiling's four
take much longer while other work loads it."""
STOP_TIMEOUT_S = 40
pytestmark = pytest.mark.timeout(RUN_TIMEOUT_S + STOP_TIMEOUT_S + 20)


@pytest.fixture(scope="module")
def report(amqp_url: str, mongo_url: str) -> dict[str, Any]:
    """The JSON report of a tiny run against the session's broker and store."""
    source = os.pathsep.join([str(REPO / "services"), str(REPO / "deploy")])
    env = {**os.environ, "AMQP_URL": amqp_url, "MONGO_URL": mongo_url, "PYTHONPATH": source}
    arguments = ["--single", str(SINGLE), "--warmup", "1", "--burst", str(BURST)]
    arguments += ["--log-records", ",".join(map(str, LOG_RECORDS))]
    arguments += ["--flat-erasures", str(FLAT_ERASURES), "--bus-messages", "50"]
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), *arguments, "--log-level", "warning", "--json"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.terminate()  # SIGTERM: the benchmark stops its processes and cleans up
        stdout, stderr = process.communicate(timeout=STOP_TIMEOUT_S)
        pytest.fail(f"no report within {RUN_TIMEOUT_S} s:\n{stderr[-3000:]}")
    assert process.returncode == 0, stderr[-3000:] + stdout[-3000:]
    result: dict[str, Any] = json.loads(stdout)
    return result


def test_every_erasure_completes(report: dict[str, Any]) -> None:
    """Each counted erasure (one at a time, at once, beside the filled logs) closed completed."""
    single, burst = report["single"], report["bursts"][0]
    assert (single["requests"], single["completed"], single["errors"]) == (SINGLE, SINGLE, 0)
    assert (burst["size"], burst["completed"], burst["errors"]) == (BURST, BURST, 0)
    for level in report["flatness"]["levels"]:
        assert (level["completed"], level["errors"]) == (FLAT_ERASURES, 0)
    assert report["errors"] == 0
    assert report["seeded"]["subjects"] == 1 + SINGLE + BURST + FLAT_ERASURES * len(LOG_RECORDS)


def test_an_erasure_does_real_work_in_every_data_owner(report: dict[str, Any]) -> None:
    """The subject's contact, end-user order data and log records are each erased."""
    work = report["single"]["work_per_erasure"]
    assert "contact_people: 1 deleted" in work["accounts"]
    assert "end_user_data: 1 deleted" in work["provisioning"]
    assert "technical_logs: 3 deleted" in work["logs"]


def test_latencies_stages_and_goals_are_reported(report: dict[str, Any]) -> None:
    """p50 <= p99 for the single erasures and the burst, each stage's median, the goals."""
    single, burst = report["single"], report["bursts"][0]
    for latency in (single["latency_s"], burst["latency_s"]):
        assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    assert burst["wall_s"] >= burst["latency_s"]["max"] * 0.99
    stages = single["stages_ms"]
    for stage in ("submit_round_trip", "created_to_closed", "created_to_logs_done"):
        assert stages[stage] > 0
    assert single["goal_p50_s"] == 0.1
    assert single["goal_met"] is (single["latency_s"]["p50"] <= 0.1)
    assert burst["goal_wall_s"] is None  # only a burst of 100 has a wall-time goal


def test_flatness_and_bus_ceiling_are_measured(report: dict[str, Any]) -> None:
    """Each log-store size is reached, with a median and a ratio; the bus ceiling is measured."""
    flat = report["flatness"]
    held = [level["log_records_held"] for level in flat["levels"]]
    assert [level["log_records_target"] for level in flat["levels"]] == list(LOG_RECORDS)
    assert all(h >= target for h, target in zip(held, LOG_RECORDS, strict=True))
    assert all(level["median_s"] > 0 for level in flat["levels"])
    assert flat["ratio"] == pytest.approx(
        flat["levels"][1]["median_s"] / flat["levels"][0]["median_s"], abs=0.01
    )
    assert report["bus_ceiling"]["raw_messages_per_second"] > 0
    assert report["bus_ceiling"]["servicekit_messages_per_second"] > 0


async def test_nothing_is_left_behind(
    report: dict[str, Any], amqp_url: str, mongo_url: str
) -> None:
    """After the run, neither the platform's databases, nor its exchanges, nor the bench
    client's queue exist."""
    namespace = report["namespace"]
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url)
    try:
        left = [name for name in await client.list_database_names() if name.startswith(namespace)]
    finally:
        await client.close()
    assert left == []
    topology = Topology(namespace)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        with pytest.raises(ChannelClosed):
            await channel.get_exchange(topology.events, ensure=True)
        channel = await connection.channel()
        with pytest.raises(ChannelClosed):
            await channel.get_queue(topology.service_queue("bench"), ensure=True)
