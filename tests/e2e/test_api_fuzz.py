"""Schemathesis against the real gateway of the platform (processes), loading the document
the gateway serves at `/openapi.json`: every operation, with valid and invalid input, in all
four phases (the document's examples, coverage of each constraint's edges, random fuzzing,
stateful sequences that follow inferred links), with every check (`--checks all`):

- `not_a_server_error`: no 5xx;
- `status_code_conformance`, `content_type_conformance`, `response_headers_conformance`,
  `response_schema_conformance`: every answer is documented, status, media type, headers and
  body;
- `negative_data_rejection`: invalid input is refused with a 4xx (a problem+json document, as
  `content_type_conformance` checks against the document's error responses);
- `positive_data_acceptance`: valid input is accepted, except for a 422 problem: a request the
  document allows may still break a rule no JSON Schema states (a period whose end is not
  after its start, a cursor the API never issued, a price above the caller's own maximum, a
  subject without any identifier, a webhook host that does not resolve). That one widening is
  in `schemathesis.toml`; no check is left out;
- `missing_required_header`, `unsupported_method`, `allow_header_conformance`, `ignored_auth`
  (a request without the key or with a wrong one must be a 401), and the stateful
  `use_after_free`, `ensure_resource_availability`, `object_level_authorization`.

The partner is a fresh one with EUR 500 and a key holding every scope, on a gateway replica
whose rate limit it cannot reach, so a 429 never hides an answer. The run is bounded
(`EXAMPLES_PER_OPERATION`); purchases spend that partner's money only, and every webhook URL
is pointed at a closed loopback port first (`fuzz/fuzz_hooks.py`), so nothing leaves the machine.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from e2e_support import (
    PLATFORM_ACTOR,
    Platform,
    add_api_key,
    create_partner,
    platform_bus,
)
from pymongo import AsyncMongoClient

from contracts.accounts import Scope
from contracts.ledger import CreditBalance, CreditKind
from contracts.money import Money
from servicekit.ids import new_id
from support.processes import ServiceProcess, free_port, run_module
from support.waiting import eventually

HOOKS = Path(__file__).resolve().parent / "fuzz"
"""The schemathesis settings and hooks of the fuzzing."""
EXAMPLES_PER_OPERATION = 5
"""Per operation and phase: about 1,900 test cases in all (the coverage phase adds its own)."""
RUN_TIMEOUT_SECONDS = 240


BALANCE_CENTS = 50_000
"""EUR 500: most generated purchases succeed; one beyond it fails `insufficient_funds`, which
is an answer to check too."""
UNLIMITED = {"RATE_LIMIT_BURST": "100000", "RATE_LIMIT_PER_SECOND": "100000"}


@pytest.fixture(scope="module")
async def fuzz_gateway(
    platform: Platform, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Another gateway replica of the platform whose keys the rate limiter never stops."""
    process = ServiceProcess(
        ["-m", "gateway"],
        {**platform.env, **UNLIMITED, "HTTP_PORT": str(free_port())},
        tmp_path_factory.mktemp("fuzz-gateway") / "gateway.log",
    )
    process.start()
    try:
        await process.wait_ready()
        yield f"http://127.0.0.1:{process.port}"
    finally:
        process.stop()


@pytest.fixture(scope="module")
async def fuzz_partner(platform: Platform) -> AsyncIterator[tuple[str, str]]:
    """A fresh partner with EUR 500 on its balance, and its key holding every scope. After the
    module, the webhook endpoints the fuzzing made are deleted (their retries stop)."""
    async with platform_bus(platform) as bus:
        partner_id = (await create_partner(bus, f"Fuzz {new_id('t')}")).id
        credit = CreditBalance(
            actor=PLATFORM_ACTOR,
            partner_id=partner_id,
            kind=CreditKind.TOP_UP,
            reference=new_id("pay"),
            amount=Money(amount=BALANCE_CENTS, currency="EUR"),
        )
        await bus.publish(credit, to="accounts")
    every = [scope.value for scope in Scope]
    db: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(platform.mongo_url, tz_aware=True)
    try:
        key = await add_api_key(platform, db, partner_id=partner_id, scopes=every)
        await _balance_booked(platform, key)
        yield partner_id, key
        # The fuzzing may have revoked its own key: clean up with a new one.
        cleaner = await add_api_key(platform, db, partner_id=partner_id, scopes=every)
        await _delete_webhook_endpoints(platform, cleaner)
    finally:
        await db.close()


async def _balance_booked(platform: Platform, key: str) -> None:
    async def booked() -> bool:
        async with (
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as api,
            api.get(f"{platform.gateway}/v1/balance") as response,
        ):
            return response.status == 200 and (await response.json())["available"]["amount"] > 0

    await eventually(booked, timeout=15, what="the fuzz partner's credit booked")


async def _delete_webhook_endpoints(platform: Platform, key: str) -> None:
    async with aiohttp.ClientSession(
        base_url=platform.gateway, headers={"Authorization": f"Bearer {key}"}
    ) as api:
        async with api.get("/v1/webhook-endpoints") as response:
            assert response.status == 200, await response.text()
            endpoints = (await response.json())["data"]
        for endpoint in endpoints:
            async with api.delete(f"/v1/webhook-endpoints/{endpoint['id']}") as response:
                assert response.status in (200, 404), await response.text()


@pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 120)  # the platform starts within the test's time
async def test_the_gateway_passes_every_schemathesis_check(
    fuzz_gateway: str, fuzz_partner: tuple[str, str], tmp_path: Path
) -> None:
    """Schemathesis, with all its checks, finds no failure in the served API."""
    _, key = fuzz_partner
    started = time.monotonic()
    run = await run_module(
        "schemathesis.cli",
        (
            "--config-file",
            str(HOOKS / "schemathesis.toml"),
            "--no-color",
            "run",
            f"{fuzz_gateway}/openapi.json",
            "--checks",
            "all",
            "--mode",
            "all",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--header",
            f"Authorization: Bearer {key}",
            "--generation-database",
            "none",
            "--report-dir",
            str(tmp_path),
            "--workers",
            "2",
        ),
        {
            "SCHEMATHESIS_HOOKS": "fuzz_hooks",
            "PYTHONPATH": str(HOOKS),
            "FUZZ_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/fuzz-webhooks",
        },
        timeout=RUN_TIMEOUT_SECONDS,
    )
    print(f"schemathesis ran {time.monotonic() - started:.1f} s:\n{run.out[-1500:]}")
    assert run.code == 0, run.out[-20000:] + run.err[-3000:]
    operations = re.search(r"Selected: \d+/(\d+)", run.out)
    tested = re.search(r"Tested: (\d+)", run.out)
    assert operations is not None, run.out[-3000:]
    assert tested is not None, run.out[-3000:]
    assert tested[1] == operations[1], "every operation of the document was tested"
