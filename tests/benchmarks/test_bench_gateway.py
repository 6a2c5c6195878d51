"""The gateway benchmark (deploy/bench_gateway.py) runs end to end in its shortest mode: both
sides answer every request with 200, it reports rates, latencies and their ratio, and it
leaves nothing behind."""

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
SCRIPT = REPO / "deploy" / "bench_gateway.py"
SECONDS = 1.0
CONCURRENCY = 4
RUN_TIMEOUT_S = 120
"""About 20 s on an idle two-core machine (four processes start, then two spawned ones)."""
STOP_TIMEOUT_S = 40
pytestmark = pytest.mark.timeout(RUN_TIMEOUT_S + STOP_TIMEOUT_S + 20)


@pytest.fixture(scope="module")
def report(amqp_url: str, mongo_url: str) -> dict[str, Any]:
    """The JSON report of the shortest run against the session's broker and store."""
    source = os.pathsep.join([str(REPO / "services"), str(REPO / "deploy")])
    env = {**os.environ, "AMQP_URL": amqp_url, "MONGO_URL": mongo_url, "PYTHONPATH": source}
    arguments = ["--seconds", str(SECONDS), "--concurrency", str(CONCURRENCY), "--warmup", "0"]
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


@pytest.mark.parametrize("side", ["gateway", "bare"])
def test_each_side_serves_requests_without_errors(report: dict[str, Any], side: str) -> None:
    """Each side answered every counted request with 200 and reports its rate and latency."""
    served = report[side]
    assert served["requests"] > 0
    assert served["answers"] == {"200": served["requests"]}
    assert (served["errors"], served["error_examples"]) == (0, [])
    assert served["requests_per_second"] > 0
    assert served["seconds"] >= SECONDS
    assert 0 < served["latency_ms"]["p50"] <= served["latency_ms"]["p99"]
    assert served["cpu_seconds"]["load generator"] >= 0


def test_run_and_machine_are_described(report: dict[str, Any]) -> None:
    """The report names what was asked, how hard, the body served and the machine's load."""
    assert report["path"] == "/v1/packages"
    assert (report["concurrency"], report["seconds"]) == (CONCURRENCY, SECONDS)
    assert report["body_bytes"] > 0
    assert report["content_type"].startswith("application/json")
    assert report["errors"] == 0
    assert report["cores"] >= 1
    assert all(isinstance(report[moment], str) for moment in ("load_before", "load_after"))
    assert report["services"] == ["accounts", "provisioning", "gateway"]


def test_ratio_and_goal_are_reported(report: dict[str, Any]) -> None:
    """The ratio is the gateway's rate over the bare one's, judged against the goal of 0.5."""
    expected = report["gateway"]["requests_per_second"] / report["bare"]["requests_per_second"]
    assert report["ratio"] == pytest.approx(expected, abs=0.001)
    assert report["goal"] == 0.5
    assert report["goal_met"] is (report["ratio"] >= 0.5)


async def test_nothing_is_left_behind(
    report: dict[str, Any], amqp_url: str, mongo_url: str
) -> None:
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
