"""The load run (deploy/load.py): its pieces on their own, then a run of a few seconds end to
end: every check passes, every kind of call is reported, and nothing is left behind."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aio_pika.exceptions import ChannelClosed
from aiohttp.test_utils import TestClient, TestServer
from pymongo import AsyncMongoClient
from standardwebhooks import Webhook

from servicekit.topology import Topology

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "deploy"))

from load_hooks import HOOK_PATH, Receiver, ReceiverServer, Subjects  # noqa: E402
from load_mix import Mix, drive, parse_mix  # noqa: E402
from load_watch import SLACK_MIB, MemorySamples, memory_bounded  # noqa: E402

SCRIPT = REPO / "deploy" / "load.py"
MINUTES = 0.1
RUN_TIMEOUT_S = 150
"""About 60 s on a busy two-core machine: six processes start, 6 s of load, the drain."""
STOP_TIMEOUT_S = 40
SHORT_MIX = "order=40,read=30,access=15,erasure=15"
"""More requests than the default, so a few seconds hold some of each kind."""


def test_mix_is_parsed_and_refuses_nonsense() -> None:
    """A mix names known kinds with weights >= 0 (left-out kinds weigh 0); others are refused."""
    assert parse_mix("order=1,read=3") == {"order": 1, "read": 3, "access": 0, "erasure": 0}
    refused = {
        "orders=1": "unknown kind",
        "order=-1": "must be >= 0",
        "order=0,read=0": "not all 0",
        "order": "could not convert",
    }
    for wrong, why in refused.items():
        with pytest.raises(ValueError, match=why):
            parse_mix(wrong)


def test_mix_draws_kinds_by_weight_and_repeats() -> None:
    """Draws follow the weights (never a kind of weight 0) and the same seed repeats them."""
    weights = parse_mix("order=30,read=70")
    first, second = Mix(weights, seed=7), Mix(weights, seed=7)
    draws = [first.next_kind() for _ in range(2000)]
    assert draws == [second.next_kind() for _ in range(2000)]
    counted = Counter(draws)
    assert set(counted) == {"order", "read"}
    assert 0.25 < counted["order"] / 2000 < 0.35


def test_memory_rule_tells_a_plateau_from_a_leak() -> None:
    """A process that levels off is bounded; one that grows with the load to the end is not;
    small growth below the slack never fails."""
    plateau = [(t, 80 + min(t, 20) / 2) for t in range(0, 301, 5)]
    leak = [(t, 80 + t / 10) for t in range(0, 301, 5)]
    small = [(t, 40 + t / 300 * (SLACK_MIB - 0.5)) for t in range(0, 301, 5)]
    assert memory_bounded(plateau, 300, 10)["bounded"] is True
    judged = memory_bounded(leak, 300, 10)
    assert judged["bounded"] is False
    assert judged["slope_mib_per_min"] == pytest.approx(6.0, abs=0.01)
    assert (judged["start_mib"], judged["peak_mib"], judged["end_mib"]) == (80, 110, 110)
    assert memory_bounded(small, 300, 0)["bounded"] is True


def test_memory_is_read_from_proc() -> None:
    """A sample reads the RSS of a live process and skips one that is gone."""
    samples = MemorySamples({"me": os.getpid(), "gone": 2**22 + 1})
    samples.sample(0.0)
    assert list(samples.series) == ["me"]
    assert samples.series["me"][0][1] > 10


def test_subjects_split_between_erasures_and_the_rest() -> None:
    """Completed orders' end users alternate between erasure (each once) and access/reads."""
    subjects = Subjects("run1")
    assert subjects.for_request("erasure") is None
    assert subjects.kept_order() is None
    emails = [subjects.new_email() for _ in range(4)]
    for n, email in enumerate(emails):
        subjects.ordered(f"ord_{n}", email)
        subjects.completed(f"ord_{n}", [f"8949{n:014d}"])
    erased = [subjects.for_request("erasure") for _ in range(3)]
    assert erased == [emails[0], emails[2], None]
    kept = subjects.kept_order()
    assert kept is not None
    assert kept.email in (emails[1], emails[3])
    assert subjects.for_request("access") in (emails[1], emails[3])


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def test_receiver_takes_signed_deliveries_and_refuses_others() -> None:
    """A delivery signed with the endpoint's secret is noted once (a repeat is a duplicate);
    one signed otherwise is refused with 400 and counted."""
    receiver = Receiver(Subjects("run2"), secret=_secret())
    body = json.dumps(
        {
            "type": "order.completed",
            "timestamp": "2026-01-01T00:00:00.000Z",
            "data": {"order_id": "ord_1", "completed_at": "2026-01-01T00:00:00+00:00"},
        }
    )
    async with ReceiverServer(receiver) as server, TestClient(TestServer(server.runner.app)) as web:
        answers = [
            (await web.post(HOOK_PATH, data=body, headers=_signed(secret, body))).status
            for secret in (receiver.secret, receiver.secret, _secret())
        ]
    assert answers == [204, 204, 400]
    assert list(receiver.deliveries) == ["ord_1"]
    assert receiver.duplicates == 1
    assert len(receiver.rejected) == 1


def _signed(secret: str, body: str) -> dict[str, str]:
    """Standard Webhooks headers of `body` signed with `secret` now."""
    now = datetime.now(UTC)
    signature = Webhook(secret).sign("msg_1", now, body)
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


async def test_drive_keeps_the_rate_and_the_concurrency() -> None:
    """Calls start at the target rate for the given time, never more in flight than allowed."""
    flying, most, kinds = 0, 0, []

    async def slow(kind: str) -> None:
        nonlocal flying, most
        flying += 1
        most = max(most, flying)
        kinds.append(kind)
        await asyncio.sleep(0.05)
        flying -= 1

    started = time.perf_counter()
    seconds = await drive(slow, Mix(parse_mix("read=1")), 100, 0.5, 3)
    assert 0.5 <= seconds < 2
    assert time.perf_counter() - started < 2
    assert most == 3
    assert 10 <= len(kinds) <= 51
    assert set(kinds) == {"read"}


@pytest.fixture(scope="module")
def report(amqp_url: str, mongo_url: str) -> dict[str, Any]:
    """The JSON report of a run of a few seconds against the session's broker and store."""
    source = os.pathsep.join([str(REPO / "services"), str(REPO / "deploy")])
    env = {**os.environ, "AMQP_URL": amqp_url, "MONGO_URL": mongo_url, "PYTHONPATH": source}
    arguments = ["--minutes", str(MINUTES), "--rate", "10", "--mix", SHORT_MIX]
    arguments += ["--sample", "1", "--progress", "2", "--drain-timeout", "60"]
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
        process.terminate()  # SIGTERM: the run stops its processes and cleans up
        stdout, stderr = process.communicate(timeout=STOP_TIMEOUT_S)
        pytest.fail(f"no report within {RUN_TIMEOUT_S} s:\n{stderr[-3000:]}")
    assert process.returncode == 0, stderr[-3000:] + stdout[-3000:]
    result: dict[str, Any] = json.loads(stdout)
    return result


@pytest.mark.timeout(RUN_TIMEOUT_S + STOP_TIMEOUT_S + 20)
def test_a_short_run_passes_every_check(report: dict[str, Any]) -> None:
    """No errors, every order and request final, queues drained, memory bounded: pass."""
    assert {name: check["passed"] for name, check in report["checks"].items()} == {
        "no_errors": True,
        "orders_final": True,
        "requests_final": True,
        "queues_drained": True,
        "memory_bounded": True,
    }
    assert report["verdict"] == "pass"
    assert report["errors"] == 0
    assert report["orders"]["accepted"] == report["orders"]["completed"] > 0
    assert report["requests"]["opened"] == report["requests"]["completed"] > 0


@pytest.mark.timeout(RUN_TIMEOUT_S + STOP_TIMEOUT_S + 20)
def test_every_kind_and_process_is_reported(report: dict[str, Any]) -> None:
    """Each kind has calls with p50 <= p99; every order's webhook arrived; each process's RSS
    has a start, a peak and an end."""
    kinds = report["kinds"]
    assert {"order", "read packages", "read balance"} <= set(kinds)
    assert "access" in kinds or "erasure" in kinds
    for row in [*kinds.values(), *report["closings"].values(), report["webhooks"]]:
        assert row["calls"] > 0
        assert 0 < row["p50_ms"] <= row["p99_ms"]
    assert report["webhooks"]["calls"] == report["orders"]["accepted"]
    assert set(report["memory"]) == {*report["services"], "providersim"}
    for memory in report["memory"].values():
        assert 0 < memory["start_mib"] <= memory["peak_mib"]
        assert memory["end_mib"] > 0
    assert report["drain"]["seconds"] <= report["drain"]["bound_s"]


@pytest.mark.timeout(RUN_TIMEOUT_S + STOP_TIMEOUT_S + 20)
async def test_nothing_is_left_behind(
    report: dict[str, Any], amqp_url: str, mongo_url: str
) -> None:
    """After the run, neither the platform's databases, nor its exchanges, nor the load
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
