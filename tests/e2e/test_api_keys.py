"""API keys through the partners' API, against the running platform: shown once and never
stored, revoked keys refused by every gateway replica within a second, scopes, tenants,
rotation, validation, and the OpenAPI document."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from e2e_support import PLATFORM_ACTOR, Platform, add_api_key, create_partner, platform_bus
from pymongo import AsyncMongoClient

from accounts import apikeys
from contracts.identity import ClosePartner, PartnerView
from support.processes import ServiceProcess, free_port
from support.waiting import eventually

PROBLEM_JSON = "application/problem+json"
KEYS = "/v1/api-keys"
REVOCATION_DEADLINE_S = 1.0

Db = AsyncMongoClient[dict[str, Any]]


@pytest.fixture(scope="module")
async def second_gateway(
    platform: Platform, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Another gateway replica on the platform's namespace; its base URL."""
    process = ServiceProcess(
        ["-m", "gateway"],
        {**platform.env, "HTTP_PORT": str(free_port())},
        tmp_path_factory.mktemp("gateway-2") / "gateway.log",
    )
    process.start()
    try:
        await process.wait_ready()
        yield f"http://127.0.0.1:{process.port}"
    finally:
        process.stop()


def keyed(base_url: str, key: str) -> aiohttp.ClientSession:
    """A client of a gateway authenticated with `key`."""
    return aiohttp.ClientSession(base_url=base_url, headers={"Authorization": f"Bearer {key}"})


async def problem_code(response: aiohttp.ClientResponse, status: int) -> str:
    """The code of a problem response with this status."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == PROBLEM_JSON, text
    code: str = (await response.json(content_type=PROBLEM_JSON))["code"]
    return code


async def create_key(
    api: aiohttp.ClientSession, scopes: list[str], name: str = "e2e key"
) -> dict[str, Any]:
    """POST a new key; the response body."""
    async with api.post(KEYS, json={"name": name, "scopes": scopes}) as response:
        assert response.status == 201, await response.text()
        body: dict[str, Any] = await response.json()
    return body


def key_id_of(key: str) -> str:
    """The public id inside a well-formed key."""
    parsed = apikeys.parse(key)
    assert parsed is not None
    return parsed.key_id


async def key_count(platform: Platform, db: Db) -> int:
    """Every stored API key, of every partner."""
    return await db[platform.database("accounts")]["api_keys"].count_documents({})


async def test_a_key_is_shown_once_and_stored_nowhere_in_plaintext(
    platform: Platform, api: aiohttp.ClientSession, db: Db
) -> None:
    """POST /v1/api-keys answers 201 with the full key; it authenticates; listings show its
    prefix only; no database of the platform and no process output holds the key."""
    created = await create_key(api, ["orders:read", "keys:manage"])
    key = created["api_key"]
    parsed = apikeys.parse(key)
    assert parsed is not None
    assert created["key"]["id"] == parsed.key_id
    assert created["key"]["mode"] == "test"
    assert created["key"]["scopes"] == ["orders:read", "keys:manage"]
    assert "replaces" not in created or created["replaces"] is None

    async with keyed(platform.gateway, key) as client, client.get("/v1/ping") as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["key_id"] == parsed.key_id
    async with api.get(KEYS, params={"limit": "200"}) as response:
        assert response.status == 200
        listing = await response.text()
    assert parsed.key_id in listing
    assert parsed.secret not in listing

    await eventually(
        lambda: _request_logged(platform, db, parsed.key_id), what="the ping's request log"
    )
    for service in ("accounts", "logs", "privacy", "provisioning"):
        database = db[platform.database(service)]
        for name in await database.list_collection_names():
            async for document in database[name].find({}):
                assert parsed.secret not in repr(document), (service, name)
    assert parsed.secret not in platform.all_output()


async def _request_logged(platform: Platform, db: Db, key_id: str) -> bool:
    requests = db[platform.database("logs")]["api_requests"]
    return await requests.count_documents({"key_id": key_id}) > 0


async def _refused_after(base_url: str, key: str, started: float) -> float:
    """Poll /v1/ping with `key` until 401 (bounded); seconds since `started`."""

    async def refused() -> float | None:
        async with keyed(base_url, key) as client, client.get("/v1/ping") as response:
            if response.status == 401:
                return time.monotonic() - started
            assert response.status == 200, await response.text()
            return None

    return await eventually(refused, timeout=10, interval=0.01, what="the revoked key refused")


async def test_a_revoked_key_is_refused_by_every_gateway_replica_within_a_second(
    platform: Platform, api: aiohttp.ClientSession, second_gateway: str
) -> None:
    """With the key cached by two gateway replicas, DELETE through one: both answer 401 for
    it within one second (the other replica hears of it by broadcast)."""
    created = await create_key(api, ["orders:read"])
    key = created["api_key"]
    for base_url in (platform.gateway, second_gateway):
        async with keyed(base_url, key) as client:
            for _ in range(3):
                async with client.get("/v1/ping") as response:
                    assert response.status == 200, await response.text()

    async with api.delete(f"{KEYS}/{created['key']['id']}") as response:
        assert response.status == 200, await response.text()
        revoked = await response.json()
    started = time.monotonic()
    assert revoked["revoked_at"]
    other_replica = await _refused_after(second_gateway, key, started)
    same_replica = await _refused_after(platform.gateway, key, started)
    print(f"revoked key refused after {other_replica:.3f} s (other replica), {same_replica:.3f} s")
    assert other_replica < REVOCATION_DEADLINE_S
    assert same_replica < REVOCATION_DEADLINE_S


async def test_key_management_needs_the_keys_manage_scope(platform: Platform, db: Db) -> None:
    """A key without `keys:manage` gets 403 `insufficient_scope` for all four operations."""
    key = await add_api_key(platform, db, partner_id="ptn_demo", scopes=["orders:read"])
    before = await key_count(platform, db)
    calls = [
        ("GET", KEYS, {}),
        ("POST", KEYS, {"json": {"name": "x", "scopes": ["orders:read"]}}),
        ("DELETE", f"{KEYS}/{key_id_of(key)}", {}),
        ("POST", f"{KEYS}/{key_id_of(key)}/rotate", {}),
    ]
    async with keyed(platform.gateway, key) as client:
        for method, path, options in calls:
            async with client.request(method, path, **options) as response:
                assert await problem_code(response, 403) == "insufficient_scope", (method, path)
    assert await key_count(platform, db) == before


async def test_another_partners_key_cannot_be_revoked_or_rotated(
    platform: Platform, api: aiohttp.ClientSession, db: Db
) -> None:
    """Revoking or rotating another partner's key is 404, exactly as for an unknown id, and
    the key keeps working."""
    other = await add_api_key(platform, db, partner_id="ptn_other_keys", scopes=["orders:read"])
    other_id = key_id_of(other)
    before = await key_count(platform, db)
    bodies = []
    for key_id in (other_id, "NoSuchKey0000000"):
        async with api.delete(f"{KEYS}/{key_id}") as response:
            assert await problem_code(response, 404) == "not_found"
            bodies.append((await response.json(content_type=PROBLEM_JSON))["detail"])
        async with api.post(f"{KEYS}/{key_id}/rotate") as response:
            assert await problem_code(response, 404) == "not_found"
    assert bodies[0] == bodies[1]
    assert await key_count(platform, db) == before
    async with keyed(platform.gateway, other) as client, client.get("/v1/ping") as response:
        assert response.status == 200, await response.text()


async def test_a_key_cannot_create_a_key_with_a_scope_it_lacks(
    platform: Platform, api: aiohttp.ClientSession, db: Db
) -> None:
    """A key with `keys:manage` and `orders:read` asking for `billing:read` gets 403
    `forbidden` and nothing is stored; a narrower key it may create."""
    creator = await create_key(api, ["keys:manage", "orders:read"])
    before = await key_count(platform, db)
    async with keyed(platform.gateway, creator["api_key"]) as client:
        body = {"name": "wider", "scopes": ["orders:read", "billing:read"]}
        async with client.post(KEYS, json=body) as response:
            assert await problem_code(response, 403) == "forbidden"
        assert await key_count(platform, db) == before
        narrower = await create_key(client, ["orders:read"])
    assert narrower["key"]["scopes"] == ["orders:read"]


async def test_a_rotated_key_and_its_successor_both_work_during_the_overlap(
    platform: Platform, api: aiohttp.ClientSession
) -> None:
    """POST /rotate answers 201 with a new key and the old one's end (24 h on); both keys
    authenticate meanwhile, and rotating the old key again is 409 `conflict`."""
    old = await create_key(api, ["orders:read"], name="rotating")
    async with api.post(f"{KEYS}/{old['key']['id']}/rotate") as response:
        assert response.status == 201, await response.text()
        rotated = await response.json()
    assert rotated["key"]["name"] == "rotating"
    assert rotated["replaces"]["id"] == old["key"]["id"]
    ends = datetime.fromisoformat(rotated["replaces"]["expires_at"])
    created = datetime.fromisoformat(rotated["key"]["created_at"])
    assert ends - created == timedelta(hours=24)
    for key in (old["api_key"], rotated["api_key"]):
        async with keyed(platform.gateway, key) as client, client.get("/v1/ping") as response:
            assert response.status == 200, await response.text()
    async with api.post(f"{KEYS}/{old['key']['id']}/rotate") as response:
        assert await problem_code(response, 409) == "conflict"


BAD_BODIES: dict[str, dict[str, Any]] = {
    "empty name": {"name": "", "scopes": ["orders:read"]},
    "long name": {"name": "x" * 101, "scopes": ["orders:read"]},
    "no scopes": {"name": "x", "scopes": []},
    "unknown scope": {"name": "x", "scopes": ["orders:read", "root"]},
    "unknown mode": {"name": "x", "scopes": ["orders:read"], "mode": "prod"},
    "unknown field": {"name": "x", "scopes": ["orders:read"], "owner": "me"},
    "missing scopes": {"name": "x"},
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_a_bad_key_request_is_a_422_and_writes_nothing(
    platform: Platform, api: aiohttp.ClientSession, db: Db, case: str
) -> None:
    """Each invalid create body is 422 `validation_failed`; no key is stored."""
    before = await key_count(platform, db)
    async with api.post(KEYS, json=BAD_BODIES[case]) as response:
        assert await problem_code(response, 422) == "validation_failed"
    assert await key_count(platform, db) == before


async def test_a_cursor_that_was_never_issued_is_refused(api: aiohttp.ClientSession) -> None:
    """GET /v1/api-keys with a forged cursor is 422 `invalid_request`."""
    async with api.get(KEYS, params={"cursor": "not-a-cursor"}) as response:
        assert await problem_code(response, 422) == "invalid_request"


async def test_openapi_documents_the_key_operations_and_their_scope(platform: Platform) -> None:
    """The four key operations are documented with `keys:manage`, their success statuses,
    and the full key in the create response schema."""
    async with (
        aiohttp.ClientSession(base_url=platform.gateway) as client,
        client.get("/openapi.json") as response,
    ):
        document = await response.json()
    paths = document["paths"]
    operations = {
        ("get", KEYS): "200",
        ("post", KEYS): "201",
        ("delete", f"{KEYS}/{{id}}"): "200",
        ("post", f"{KEYS}/{{id}}/rotate"): "201",
    }
    for (method, path), status in operations.items():
        operation = paths[path][method]
        assert operation["x-required-scope"] == "keys:manage", (method, path)
        assert status in operation["responses"], (method, path)
    assert "409" in paths[f"{KEYS}/{{id}}/rotate"]["post"]["responses"]
    created = document["components"]["schemas"]["CreatedApiKey"]
    assert {"api_key", "key"} <= set(created["required"])


async def test_a_closed_partners_keys_stop_working_at_once(
    platform: Platform, db: AsyncMongoClient[dict[str, Any]]
) -> None:
    """Closing a partner makes its keys fail at every gateway within a second."""
    async with platform_bus(platform) as bus:
        partner = await create_partner(bus, "Closing Soon GmbH")
        key = await add_api_key(platform, db, partner_id=partner.id, scopes=["account:read"])
        async with aiohttp.ClientSession(base_url=platform.gateway) as session:
            headers = {"Authorization": f"Bearer {key}"}
            async with session.get("/v1/ping", headers=headers) as response:
                assert response.status == 200
            await bus.request(
                ClosePartner(actor=PLATFORM_ACTOR, partner_id=partner.id),
                to="accounts",
                reply=PartnerView,
                timeout=10,
            )
            started = time.monotonic()

            async def refused() -> bool:
                async with session.get("/v1/ping", headers=headers) as response:
                    return response.status == 401

            await eventually(
                refused, timeout=5, interval=0.02, what="the closed partner's key refused"
            )
            assert time.monotonic() - started < 1.0
