"""Every operation of the served OpenAPI document, checked the same way: no key, a malformed,
an unknown and a revoked key (401), every scope but the one it needs (403), another partner's
ids (404, the same problem as for an unknown id), a wrong-typed body and an unknown query
parameter (422), a key past its rate limit (429), a test key on live orders, eSIMs and top-ups
(404, as for an unknown id; decision 0019), and, last, success on the partner's own ids.
Each refusal is a problem+json document with its code, carrying `RateLimit-*` headers exactly
when the document declares them; a refused write changes nothing partner A holds (see
`api_matrix_support.TRACKED`), while a successful one does (the checks' positive control).

Parametrized at collection from the document built in-process; the first test checks that the
served document has exactly those operations, so a new route cannot skip a check. Fixtures
(partners A and B, one resource of each kind under A, the keys) are made once per module."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from unittest.mock import MagicMock

import aiohttp
import pytest
from api_matrix_support import (
    EXAMPLE_BODIES,
    PACKAGE,
    PROBLEM_JSON,
    QUERY_IDS,
    RATE_LIMIT_HEADERS,
    RESOURCES,
    SHARED,
    Operation,
    built_document,
    operations_of,
    snapshot,
    wrong_body,
)
from e2e_support import (
    PLATFORM_ACTOR,
    Platform,
    add_api_key,
    create_partner,
    platform_bus,
    poll_request,
)
from pymongo import AsyncMongoClient

from accounts import apikeys
from contracts.accounts import Scope
from contracts.ledger import CreditBalance, CreditKind
from contracts.money import Money
from gateway.routes import endpoints
from servicekit.clock import utcnow
from servicekit.ids import new_id
from support.processes import ServiceProcess, free_port
from support.waiting import eventually

Db = AsyncMongoClient[dict[str, Any]]

BUILT = built_document()
OPERATIONS = operations_of(BUILT)
KEYED = [op for op in OPERATIONS if op.needs_key]
SCOPED = [op for op in KEYED if op.scope]
OWNED = [op for op in KEYED if op.resource and RESOURCES.get(op.resource) not in (None, *SHARED)]
WITH_BODY = [op for op in KEYED if op.has_body]
WITH_QUERY = [op for op in KEYED if op.query_parameters]
FILTERED_BY_ID = [op for op in KEYED if set(op.query_parameters) & set(QUERY_IDS)]
MODED_KINDS = {"ord", "esim", "top"}
"""The kinds of resource that are live or test, as the key that bought them (decision 0019)."""
MODED = [op for op in OWNED if RESOURCES[op.resource or ""] in MODED_KINDS]
DELETES_LAST = sorted(KEYED, key=lambda op: op.method == "DELETE")
"""The success cases run in this order: a deletion would make later cases on its id 404."""
BAD_KEYS = ["malformed", "unknown", "revoked"]
BALANCE_CENTS = 5_000


def ids(operations: list[Operation]) -> list[str]:
    """Test ids: the operationIds."""
    return [op.operation_id for op in operations]


def by_id(operations: list[Operation]) -> dict[str, Operation]:
    """Operations by operationId."""
    return {op.operation_id: op for op in operations}


@dataclass
class World:
    """Partner A with one resource of each kind, partner B, and the keys the matrix uses."""

    partner_a: str
    key_a: str
    key_b: str
    ids_a: dict[str, str]
    """Partner A's resource of each kind of `RESOURCES` (a shared one too), by kind."""
    keys_without: dict[str, str]
    """Keys of partner A holding every scope but one, by the scope they lack."""
    bad_keys: dict[str, str]
    scopes: list[str]
    """Every scope there is."""
    key_live_a: str
    """Partner A's live key with every scope (the others are test keys)."""
    live_ids_a: dict[str, str]
    """Partner A's live order, eSIM and top-up, bought with `key_live_a`, by kind."""


@pytest.fixture(scope="module")
async def served(platform: Platform) -> dict[str, Any]:
    """The served OpenAPI document."""
    async with (
        aiohttp.ClientSession(base_url=platform.gateway) as client,
        client.get("/openapi.json") as response,
    ):
        assert response.status == 200
        document: dict[str, Any] = await response.json()
    return document


def client(platform: Platform, key: str | None, base_url: str = "") -> aiohttp.ClientSession:
    """A client of the API (of the platform's gateway unless told) with this key (or none)."""
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return aiohttp.ClientSession(base_url=base_url or platform.gateway, headers=headers)


async def call(
    platform: Platform,
    key: str | None,
    op: Operation,
    path_ids: dict[str, str],
    body: Any = None,
    params: dict[str, str] | None = None,
    base_url: str = "",
) -> tuple[aiohttp.ClientResponse, dict[str, Any]]:
    """Send the operation (its example body unless another is given); response and JSON."""
    if body is None and op.has_body:
        body = EXAMPLE_BODIES[op.operation_id]
    headers = {"Idempotency-Key": str(uuid.uuid4())} if op.idempotent else {}
    async with (
        client(platform, key, base_url) as session,
        session.request(
            op.method, op.url(path_ids), json=body, headers=headers, params=params
        ) as response,
    ):
        raw = await response.read()
        is_json = response.content_type in ("application/json", PROBLEM_JSON)
        return response, json.loads(raw) if is_json else {}


def assert_problem(
    op: Operation,
    response: aiohttp.ClientResponse,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    """A problem+json document of this status and code with the request id; its `RateLimit-*`
    headers present exactly when the operation's document declares them for the status."""
    assert response.status == status, body
    assert response.content_type == PROBLEM_JSON, body
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["request_id"] == response.headers["X-Request-Id"]
    documented = op.spec["responses"][str(status)]
    declared = [name for name in RATE_LIMIT_HEADERS if name in documented.get("headers", {})]
    present = [name for name in RATE_LIMIT_HEADERS if name in response.headers]
    assert present == declared, (
        f"RateLimit-* headers of a {status}: {present}, documented {declared}"
    )


def path_ids_of(op: Operation, world: World) -> dict[str, str]:
    """Partner A's real ids (or a shared resource's) for the operation's path parameters."""
    if op.resource is None:
        return {}
    return {name: world.ids_a[RESOURCES[op.resource]] for name in op.path_parameters}


async def _credit(platform: Platform, partner_id: str) -> None:
    async with platform_bus(platform) as bus:
        credit = CreditBalance(
            actor=PLATFORM_ACTOR,
            partner_id=partner_id,
            kind=CreditKind.TOP_UP,
            reference=new_id("pay"),
            amount=Money(amount=BALANCE_CENTS, currency="EUR"),
        )
        await bus.publish(credit, to="accounts")


async def _posted(api: aiohttp.ClientSession, path: str, body: Any = None, **kw: Any) -> Any:
    async with api.post(path, json=body, **kw) as response:
        assert response.status in (201, 202), await response.text()
        return await response.json()


async def _finished(api: aiohttp.ClientSession, path: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        async with api.get(path) as response:
            body: dict[str, Any] = await response.json()
        return body if body["status"] != "pending" else None

    finished: dict[str, Any] = await eventually(
        done, timeout=30, interval=0.1, what=f"{path} finished"
    )
    return finished


async def _purchases_of(api: aiohttp.ClientSession) -> dict[str, str]:
    """An order, its eSIM and a top-up of it, bought with the client's key: ids by kind."""
    retry = {"headers": {"Idempotency-Key": str(uuid.uuid4())}}
    order = await _posted(api, "/v1/orders", {"package_id": PACKAGE}, **retry)
    order = await _finished(api, f"/v1/orders/{order['id']}")
    assert order["status"] == "completed", order
    iccid = order["iccids"][0]
    retry = {"headers": {"Idempotency-Key": str(uuid.uuid4())}}
    topup = await _posted(api, f"/v1/esims/{iccid}/topups", {"package_id": PACKAGE}, **retry)
    topup = await _finished(api, f"/v1/topups/{topup['id']}")
    return {"ord": order["id"], "esim": iccid, "top": topup["id"]}


async def _resources_of_a(api: aiohttp.ClientSession) -> dict[str, str]:
    """One resource of each kind, created through the API by partner A."""

    async def balance() -> bool:
        async with api.get("/v1/balance") as response:
            return response.status == 200 and (await response.json())["available"]["amount"] > 0

    await eventually(balance, timeout=15, what="partner A's credit booked")
    purchases = await _purchases_of(api)
    key = await _posted(api, "/v1/api-keys", {"name": "A's key", "scopes": ["orders:read"]})
    endpoint = await _posted(api, "/v1/webhook-endpoints", EXAMPLE_BODIES["createWebhookEndpoint"])
    endpoint_id = endpoint["endpoint"]["id"]
    delivery = await _posted(api, f"/v1/webhook-endpoints/{endpoint_id}/test")
    request = await _posted(api, "/v1/privacy/requests", EXAMPLE_BODIES["createPrivacyRequest"])
    return {
        **purchases,
        "key": key["key"]["id"],
        "whe": endpoint_id,
        "msg": delivery["id"],
        "dsr": request["id"],
        "pkg": PACKAGE,
    }


async def _revoked_key(platform: Platform, api: aiohttp.ClientSession) -> str:
    created = await _posted(api, "/v1/api-keys", {"name": "revoked", "scopes": ["orders:read"]})
    async with api.delete(f"/v1/api-keys/{created['key']['id']}") as response:
        assert response.status == 200, await response.text()

    async def refused() -> bool:
        async with client(platform, created["api_key"]) as other, other.get("/v1/ping") as r:
            return r.status == 401

    await eventually(refused, timeout=5, interval=0.05, what="the revoked key refused")
    return str(created["api_key"])


@pytest.fixture(scope="module")
async def world(platform: Platform) -> AsyncIterator[World]:
    """Partners A and B, A's resources and every key, made once for the module."""
    async with platform_bus(platform) as bus:
        partner_a = (await create_partner(bus, f"Matrix A {new_id('t')}")).id
        partner_b = (await create_partner(bus, f"Matrix B {new_id('t')}")).id
    await _credit(platform, partner_a)
    every = [scope.value for scope in Scope]
    db: Db = AsyncMongoClient(platform.mongo_url, tz_aware=True)
    try:
        key_a = await add_api_key(platform, db, partner_id=partner_a, scopes=every)
        key_b = await add_api_key(platform, db, partner_id=partner_b, scopes=every)
        key_live_a = await add_api_key(
            platform, db, partner_id=partner_a, scopes=every, mode="live"
        )
        keys_without = {
            scope: await add_api_key(
                platform, db, partner_id=partner_a, scopes=[s for s in every if s != scope]
            )
            for scope in every
        }
    finally:
        await db.close()
    async with client(platform, key_live_a) as api:
        live_ids_a = await _purchases_of(api)
    async with client(platform, key_a) as api:
        ids_a = await _resources_of_a(api)
        revoked = await _revoked_key(platform, api)
        # Its export link is one of the successes: the request must have completed.
        assert (await poll_request(api, ids_a["dsr"]))["status"] == "completed"
    unknown, _ = apikeys.generate("test")
    bad_keys = {"malformed": "esk_test_not-a-key", "unknown": unknown, "revoked": revoked}
    yield World(
        partner_a, key_a, key_b, ids_a, keys_without, bad_keys, every, key_live_a, live_ids_a
    )
    # Stop the retries of the test delivery to an address where nothing answers.
    async with (
        client(platform, key_a) as api,
        api.delete(f"/v1/webhook-endpoints/{ids_a['whe']}") as response,
    ):
        assert response.status in (200, 404), await response.text()  # 404: deleted by a test


@contextlib.asynccontextmanager
async def nothing_changed(
    platform: Platform, db: Db, world: World, op: Operation
) -> AsyncIterator[None]:
    """For an operation that writes: partner A's tracked collections and account are the same
    after the block as before it."""
    before = await snapshot(platform, db, world.partner_a) if op.writes else None
    yield
    if before is not None:
        assert await snapshot(platform, db, world.partner_a) == before, "something changed"


# The matrix covers the document


async def test_the_matrix_covers_every_served_operation(served: dict[str, Any]) -> None:
    """The served document has exactly the operations the matrix was parametrized with."""
    served_ops = {(op.operation_id, op.method, op.path) for op in operations_of(served)}
    assert served_ops == {(op.operation_id, op.method, op.path) for op in OPERATIONS}


def test_every_operation_with_a_body_has_a_valid_example() -> None:
    """Every operation with a body has an example body, and its model accepts it."""
    models = {e.operation_id: e.body for e in endpoints(MagicMock(), MagicMock(), MagicMock())}
    with_body = {op.operation_id for op in OPERATIONS if op.has_body}
    assert with_body == set(EXAMPLE_BODIES), "add an example body for each new operation"
    for operation_id, body in EXAMPLE_BODIES.items():
        model = models[operation_id]
        assert model is not None
        model.model_validate(body)


async def test_every_path_parameter_names_a_kind_the_matrix_holds(world: World) -> None:
    """Each keyed operation's path parameter names a kind of `RESOURCES`, and partner A holds
    one of every kind."""
    unknown = {op.resource for op in KEYED if op.path_parameters} - set(RESOURCES)
    assert not unknown, f"add the resource kinds {unknown} to RESOURCES and the fixture"
    assert set(world.ids_a) == set(RESOURCES.values())
    ids_in_queries = {name for op in KEYED for name in op.query_parameters if name.endswith("_id")}
    assert ids_in_queries <= set(QUERY_IDS), "add the query's id filter to QUERY_IDS"


def test_only_the_export_download_is_open() -> None:
    """Every operation but the signed export download declares the API key security."""
    assert [op.operation_id for op in OPERATIONS if not op.needs_key] == ["downloadPrivacyExport"]


# Authentication


@pytest.mark.parametrize("operation_id", ids(KEYED))
async def test_no_key_is_a_401(platform: Platform, world: World, db: Db, operation_id: str) -> None:
    """No Authorization header: 401 `unauthenticated` with a Bearer challenge; nothing changed."""
    op = by_id(KEYED)[operation_id]
    async with nothing_changed(platform, db, world, op):
        response, body = await call(platform, None, op, path_ids_of(op, world))
    assert_problem(op, response, body, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")


@pytest.mark.parametrize("kind", BAD_KEYS)
@pytest.mark.parametrize("operation_id", ids(KEYED))
async def test_a_bad_key_is_a_401(
    platform: Platform, world: World, db: Db, operation_id: str, kind: str
) -> None:
    """A malformed, unknown or revoked key: 401 `invalid_api_key`; nothing changed."""
    op = by_id(KEYED)[operation_id]
    async with nothing_changed(platform, db, world, op):
        response, body = await call(platform, world.bad_keys[kind], op, path_ids_of(op, world))
    assert_problem(op, response, body, 401, "invalid_api_key")


# Scope


@pytest.mark.parametrize("operation_id", ids(SCOPED))
async def test_every_scope_but_the_needed_one_is_a_403(
    platform: Platform, world: World, db: Db, operation_id: str
) -> None:
    """Partner A's key with every scope but the operation's, on A's own ids: 403
    `insufficient_scope` naming the scope; nothing changed."""
    op = by_id(SCOPED)[operation_id]
    assert op.scope is not None
    key = world.keys_without[op.scope]
    async with nothing_changed(platform, db, world, op):
        response, body = await call(platform, key, op, path_ids_of(op, world))
    assert_problem(op, response, body, 403, "insufficient_scope")
    assert op.scope in body["detail"]


# Tenancy


@pytest.mark.parametrize("operation_id", ids(OWNED))
async def test_another_partners_id_is_a_404_as_for_an_unknown_one(
    platform: Platform, world: World, db: Db, operation_id: str
) -> None:
    """Partner B's all-scope key on partner A's id: 404 `not_found`, the same problem as for
    an unknown id; nothing of A's changed."""
    op = by_id(OWNED)[operation_id]
    async with nothing_changed(platform, db, world, op):
        response, foreign = await call(platform, world.key_b, op, path_ids_of(op, world))
    assert_problem(op, response, foreign, 404, "not_found")
    response, unknown = await call(platform, world.key_b, op, op.fake_ids())
    assert_problem(op, response, unknown, 404, "not_found")
    assert {**foreign, "request_id": ""} == {**unknown, "request_id": ""}


@pytest.mark.parametrize("operation_id", ids(FILTERED_BY_ID))
async def test_filtering_by_another_partners_id_lists_nothing(
    platform: Platform, world: World, operation_id: str
) -> None:
    """A list filtered by partner A's id (`order_id`, `endpoint_id`) lists A's items for A's
    key and nothing for partner B's."""
    op = by_id(FILTERED_BY_ID)[operation_id]
    names = set(op.query_parameters) & set(QUERY_IDS)
    params = {name: world.ids_a[QUERY_IDS[name]] for name in names}
    listed = {}
    for owner, key in (("A", world.key_a), ("B", world.key_b)):
        response, body = await call(platform, key, op, {}, None, params)
        assert response.status == 200, body
        listed[owner] = body["data"]
    assert listed["A"], "partner A's own filter lists its items"
    assert listed["B"] == []


# Mode: a test key never reaches live data (decision 0019)


def live_ids_of(op: Operation, world: World) -> dict[str, str]:
    """Partner A's live order, eSIM or top-up for the operation's path parameters."""
    return {name: world.live_ids_a[RESOURCES[op.resource or ""]] for name in op.path_parameters}


@pytest.mark.parametrize("operation_id", ids(MODED))
async def test_a_test_key_on_live_data_is_a_404_as_for_an_unknown_id(
    platform: Platform, world: World, db: Db, operation_id: str
) -> None:
    """Partner A's all-scope test key on A's own live order, eSIM or top-up: 404 `not_found`,
    the same problem as for an unknown id; nothing changed. A's live key reaches it (the
    positive control)."""
    op = by_id(MODED)[operation_id]
    async with nothing_changed(platform, db, world, op):
        response, live = await call(platform, world.key_a, op, live_ids_of(op, world))
    assert_problem(op, response, live, 404, "not_found")
    response, unknown = await call(platform, world.key_a, op, op.fake_ids())
    assert_problem(op, response, unknown, 404, "not_found")
    assert {**live, "request_id": ""} == {**unknown, "request_id": ""}
    if not op.writes:
        response, body = await call(platform, world.key_live_a, op, live_ids_of(op, world))
        assert response.status == 200, body


LISTED_IDS = {"listOrders": ("ord", "id"), "listEsims": ("esim", "iccid")}
"""The lists of moded resources: the kind each lists, and the field holding an item's id."""


@pytest.mark.parametrize("operation_id", sorted(LISTED_IDS))
async def test_a_test_key_lists_no_live_data(
    platform: Platform, world: World, operation_id: str
) -> None:
    """Partner A's order and eSIM lists: its test key lists its test purchases and none of its
    live ones; its live key lists the live ones and none of the test ones."""
    op = by_id(KEYED)[operation_id]
    kind, field = LISTED_IDS[operation_id]
    listed = {}
    for mode, key in (("test", world.key_a), ("live", world.key_live_a)):
        response, body = await call(platform, key, op, {}, None, {"limit": "200"})
        assert response.status == 200, body
        listed[mode] = {item[field] for item in body["data"]}
    assert world.ids_a[kind] in listed["test"]
    assert world.live_ids_a[kind] not in listed["test"]
    assert world.live_ids_a[kind] in listed["live"]
    assert world.ids_a[kind] not in listed["live"]


# Bad input


@pytest.mark.parametrize("operation_id", ids(WITH_BODY))
async def test_a_wrong_typed_body_is_a_422(
    platform: Platform, world: World, db: Db, operation_id: str
) -> None:
    """Partner A's all-scope key on its own ids, one body field of the wrong type: 422
    `validation_failed` naming the field; nothing changed."""
    op = by_id(WITH_BODY)[operation_id]
    body, field = wrong_body(BUILT, op)
    async with nothing_changed(platform, db, world, op):
        response, problem = await call(platform, world.key_a, op, path_ids_of(op, world), body)
    assert_problem(op, response, problem, 422, "validation_failed")
    assert field in {error["field"].split(".")[0] for error in problem["errors"]}, problem


@pytest.mark.parametrize("operation_id", ids(WITH_QUERY))
async def test_an_unknown_query_parameter_is_a_422(
    platform: Platform, world: World, operation_id: str
) -> None:
    """Partner A's all-scope key, an unknown query parameter: 422 `validation_failed` naming
    it."""
    op = by_id(WITH_QUERY)[operation_id]
    params = {"unexpected_parameter": "1"}
    response, problem = await call(platform, world.key_a, op, path_ids_of(op, world), None, params)
    assert_problem(op, response, problem, 422, "validation_failed")
    assert "unexpected_parameter" in {error["field"] for error in problem["errors"]}, problem


# Rate limiting


@pytest.fixture(scope="module")
async def limited_gateway(
    platform: Platform, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Another gateway replica whose keys may make one request, then one per 100 s."""
    limits = {"RATE_LIMIT_BURST": "1", "RATE_LIMIT_PER_SECOND": "0.01"}
    process = ServiceProcess(
        ["-m", "gateway"],
        {**platform.env, **limits, "HTTP_PORT": str(free_port())},
        tmp_path_factory.mktemp("matrix-gateway") / "gateway.log",
    )
    process.start()
    try:
        await process.wait_ready()
        yield f"http://127.0.0.1:{process.port}"
    finally:
        process.stop()


@pytest.mark.parametrize("operation_id", ids(KEYED))
async def test_a_key_past_its_limit_is_a_429(
    platform: Platform, world: World, db: Db, limited_gateway: str, operation_id: str
) -> None:
    """A new all-scope key of partner A that spent its one request, on A's own ids: 429
    `rate_limited` with `Retry-After` and the documented `RateLimit-*` headers; nothing
    changed."""
    op = by_id(KEYED)[operation_id]
    key = await add_api_key(platform, db, partner_id=world.partner_a, scopes=world.scopes)
    async with client(platform, key, limited_gateway) as api, api.get("/v1/ping") as response:
        assert response.status == 200, await response.text()
    async with nothing_changed(platform, db, world, op):
        response, body = await call(
            platform, key, op, path_ids_of(op, world), base_url=limited_gateway
        )
    assert_problem(op, response, body, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) >= 1


# Success: the positive control of the checks above


def _success_params(operation_id: str) -> dict[str, str] | None:
    """The query of operations that need one to succeed."""
    if operation_id != "getStatement":
        return None
    now = utcnow()
    period = (now - timedelta(days=1), now + timedelta(days=1))
    start, end = (moment.strftime("%Y-%m-%dT%H:%M:%SZ") for moment in period)
    return {"from": start, "to": end}


@pytest.mark.parametrize("operation_id", ids(DELETES_LAST))
async def test_partner_a_succeeds_on_its_own_ids(
    platform: Platform, world: World, db: Db, operation_id: str
) -> None:
    """Partner A's all-scope key on its own ids with the example body: a documented success
    status and content type, the documented `RateLimit-*` headers, and a write changes what
    A holds (so the checks that nothing changed can fail)."""
    op = by_id(KEYED)[operation_id]
    before = await snapshot(platform, db, world.partner_a)
    params = _success_params(operation_id)
    response, body = await call(platform, world.key_a, op, path_ids_of(op, world), None, params)
    documented = op.spec["responses"].get(str(response.status))
    assert response.status < 300, (response.status, body)
    assert documented is not None, (response.status, body)
    assert response.content_type in documented["content"], response.content_type
    for name in RATE_LIMIT_HEADERS:
        assert name in documented["headers"]
        assert int(response.headers[name]) >= 0
    if op.writes:
        assert await snapshot(platform, db, world.partner_a) != before, "nothing changed"
