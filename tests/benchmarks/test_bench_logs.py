"""The log-ingest benchmark (deploy/bench_logs.py) runs with tiny numbers, stores every record
it sends through the bus, reports both rates against each other, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "bench_logs.py"
API_RECORDS = 620
TECHNICAL_RECORDS = 130
RUN_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def report(amqp_url: str, mongo_url: str) -> dict[str, Any]:
    """The JSON report of a tiny run against the session's broker and store."""
    source = os.pathsep.join([str(REPO / "services"), str(REPO / "deploy")])
    env = {**os.environ, "AMQP_URL": amqp_url, "MONGO_URL": mongo_url, "PYTHONPATH": source}
    arguments = ["--api-records", str(API_RECORDS), "--technical-records", str(TECHNICAL_RECORDS)]
    finished = subprocess.run(
        [sys.executable, str(SCRIPT), *arguments, "--rounds", "2", "--json"],
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


def test_every_record_sent_is_stored_once(report: dict[str, Any]) -> None:
    """Each collection holds exactly the records sent in two rounds, warm-up included: none
    lost, none twice (620 API records make two batches, the second partial)."""
    warmup = report["warmup_records"]
    assert min(warmup.values()) > 0
    expected = {
        "api_requests": 2 * API_RECORDS + warmup["api_requests"],
        "technical_logs": 2 * TECHNICAL_RECORDS + warmup["technical_logs"],
    }
    assert report["stored_expected"] == expected
    assert report["stored"] == expected
    assert (report["records"], report["rounds"]) == (API_RECORDS + TECHNICAL_RECORDS, 2)


def test_both_rates_their_ratio_and_the_goal_are_reported(report: dict[str, Any]) -> None:
    """The report has the rate through the bus, the raw plain and sealed rates, the ratio to
    raw sealed (the median, here of two rounds, of each round's ratio), and whether the 0.6 goal
    is met (not whether it is: tiny runs are noise)."""
    for rate in ("through_bus", "raw_sealed", "raw_plain", "sealing"):
        assert report[f"{rate}_records_per_second"] > 0
    ratios = report["ratios_to_raw_sealed"]
    assert len(ratios) == 2
    assert report["ratio_to_raw_sealed"] == pytest.approx(sum(ratios) / 2, abs=0.002)
    assert report["goal"] == 0.6
    assert report["goal_met"] is (report["ratio_to_raw_sealed"] >= 0.6)


async def test_nothing_is_left_behind(report: dict[str, Any], mongo_url: str) -> None:
    """The run's databases (the logs service's, the producer's, both raw ones) are dropped."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        names = await client.list_database_names()
    finally:
        await client.close()
    assert [name for name in names if name.startswith(f"{report['namespace']}_")] == []
