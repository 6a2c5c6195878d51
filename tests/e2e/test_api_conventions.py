"""Conventions of the partners' API, against the running platform: authentication and scopes,
tenant isolation, problem+json errors, validation, request ids, the OpenAPI document and
cursor pagination."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from e2e_support import Platform, add_api_key
from pymongo import AsyncMongoClient

from accounts import apikeys
from contracts.accounts import Scope
from gateway.app import create_app
from gateway.settings import GatewaySettings

PROBLEM_JSON = "application/problem+json"
REQUESTS = "/v1/privacy/requests"
OPS_PATHS = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"}
VALID_BODY = {"type": "access", "subject": {"email": "nobody-valid@example.com"}}
GENERATED_REQUEST_ID = re.compile(r"^req_[0-9a-z]{26}$")

Db = AsyncMongoClient[dict[str, Any]]


@pytest.fixture
async def anonymous(platform: Platform) -> AsyncIterator[aiohttp.ClientSession]:
    """A client of the partners' API that sends no credentials."""
    async with aiohttp.ClientSession(base_url=platform.gateway) as session:
        yield session


def keyed(platform: Platform, key: str) -> aiohttp.ClientSession:
    """A client of the partners' API authenticated with `key`."""
    return aiohttp.ClientSession(
        base_url=platform.gateway, headers={"Authorization": f"Bearer {key}"}
    )


async def problem_of(response: aiohttp.ClientResponse, status: int, code: str) -> dict[str, Any]:
    """Check that a response is a problem document with this status and code; return it."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == PROBLEM_JSON, text
    body: dict[str, Any] = await response.json(content_type=PROBLEM_JSON)
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"]
    assert body["title"]
    assert body["request_id"] == response.headers["X-Request-Id"]
    return body


async def request_count(platform: Platform, db: Db) -> int:
    """How many data-subject requests the privacy service holds, across all partners."""
    return await db[platform.database("privacy")]["requests"].count_documents({})


def without_request_id(problem: dict[str, Any]) -> dict[str, Any]:
    """A problem document minus the part that differs per request."""
    return {key: value for key, value in problem.items() if key != "request_id"}


# 1. Authentication


async def test_missing_authorization_is_a_401_problem_with_a_challenge(
    anonymous: aiohttp.ClientSession,
) -> None:
    """No Authorization header: 401 `unauthenticated` problem with request id and a challenge."""
    async with anonymous.get("/v1/ping") as response:
        problem = await problem_of(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert problem["request_id"]


@pytest.mark.parametrize(
    "authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "esk_test_nobearer"]
)
async def test_authorization_without_a_bearer_key_is_unauthenticated(
    anonymous: aiohttp.ClientSession, authorization: str
) -> None:
    """An Authorization header that is not `Bearer <key>` is treated as no credentials."""
    async with anonymous.get("/v1/ping", headers={"Authorization": authorization}) as response:
        await problem_of(response, 401, "unauthenticated")
        assert "WWW-Authenticate" in response.headers


def _bad_checksum_key() -> str:
    key, _ = apikeys.generate("test")
    last = key[-1]
    return key[:-1] + ("A" if last != "A" else "B")


async def test_every_invalid_key_gets_the_same_401_invalid_api_key(
    anonymous: aiohttp.ClientSession,
) -> None:
    """Malformed, bad-checksum and unknown keys get one identical 401 `invalid_api_key`."""
    unknown, _ = apikeys.generate("test")
    bad_checksum = _bad_checksum_key()
    assert apikeys.parse(bad_checksum) is None
    assert apikeys.parse(unknown) is not None
    bodies = []
    for key in ["not-a-key", bad_checksum, unknown]:
        async with anonymous.get(
            "/v1/ping", headers={"Authorization": f"Bearer {key}"}
        ) as response:
            problem = await problem_of(response, 401, "invalid_api_key")
            assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
            bodies.append(without_request_id(problem))
    assert bodies[0] == bodies[1] == bodies[2]
    assert all(key not in repr(bodies) for key in [bad_checksum, unknown])


# 2. Scopes


async def test_a_key_without_the_scope_is_refused_403_and_nothing_is_written(
    platform: Platform, db: Db
) -> None:
    """A key with only `orders:read` gets 403 `insufficient_scope`; nothing is stored."""
    key = await add_api_key(
        platform, db, partner_id="ptn_demo", scopes=[Scope.ORDERS_READ.value], name="read-only"
    )
    before = await request_count(platform, db)
    async with keyed(platform, key) as client:
        async with client.get("/v1/ping") as response:
            assert response.status == 200, await response.text()
        async with client.post(REQUESTS, json=VALID_BODY) as response:
            problem = await problem_of(response, 403, "insufficient_scope")
        async with client.get(REQUESTS) as response:
            await problem_of(response, 403, "insufficient_scope")
    assert "privacy:write" in problem["detail"]
    assert await request_count(platform, db) == before


async def test_scope_is_checked_before_the_body(platform: Platform, db: Db) -> None:
    """A key without the scope gets 403 even for an invalid body: authorisation comes first."""
    key = await add_api_key(platform, db, partner_id="ptn_demo", scopes=[Scope.ORDERS_READ.value])
    async with (
        keyed(platform, key) as client,
        client.post(REQUESTS, json={"nonsense": True}) as response,
    ):
        await problem_of(response, 403, "insufficient_scope")


# 3. Tenant isolation


async def test_another_partner_cannot_see_the_demo_partners_requests(
    platform: Platform, api: aiohttp.ClientSession, db: Db
) -> None:
    """Another partner's key gets 404 for ptn_demo's request and never lists it."""
    other_key = await add_api_key(
        platform, db, partner_id="ptn_other", scopes=[scope.value for scope in Scope]
    )
    body = {"type": "access", "subject": {"email": "nobody-isolation@example.com"}}
    async with api.post(REQUESTS, json=body) as response:
        assert response.status == 202, await response.text()
        demo_request = (await response.json())["id"]

    async with keyed(platform, other_key) as other:
        async with other.get("/v1/ping") as response:
            assert (await response.json())["partner_id"] == "ptn_other"
        async with other.get(f"{REQUESTS}/{demo_request}") as response:
            missing = await problem_of(response, 404, "not_found")
        async with other.get(f"{REQUESTS}/dsr_doesnotexist") as response:
            unknown = await problem_of(response, 404, "not_found")
        async with other.get(REQUESTS, params={"limit": "200"}) as response:
            assert response.status == 200, await response.text()
            listed = await response.json()
    assert without_request_id(missing) == without_request_id(unknown)
    assert demo_request not in {item["id"] for item in listed["data"]}
    stored = db[platform.database("privacy")]["requests"]
    assert {item["id"] for item in listed["data"]} == {
        doc["_id"] async for doc in stored.find({"partner_id": "ptn_other"}, {"_id": 1})
    }

    async with api.get(f"{REQUESTS}/{demo_request}") as response:
        assert response.status == 200, await response.text()


# 4. Routing errors


async def test_unknown_route_is_a_404_problem(anonymous: aiohttp.ClientSession) -> None:
    """A path the API does not serve is 404 problem+json `not_found`."""
    for path in ["/v1/nothing-here", "/v2/ping", "/"]:
        async with anonymous.get(path) as response:
            await problem_of(response, 404, "not_found")


async def test_wrong_method_on_a_known_path_is_a_405_problem_with_allow(
    api: aiohttp.ClientSession,
) -> None:
    """A wrong method on a known path is 405 `method_not_allowed` with an Allow header."""
    async with api.delete(REQUESTS) as response:
        await problem_of(response, 405, "method_not_allowed")
        allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    async with api.post("/v1/ping", json={}) as response:
        await problem_of(response, 405, "method_not_allowed")
        assert "GET" in response.headers["Allow"]


# 5. Body validation


INVALID_BODIES: list[tuple[str, dict[str, Any], int, str, str | None]] = [
    (
        "unknown field",
        {"json": {**VALID_BODY, "priority": "high"}},
        422,
        "validation_failed",
        "priority",
    ),
    (
        "unknown subject field",
        {"json": {"type": "access", "subject": {"email": "a@example.com", "nickname": "x"}}},
        422,
        "validation_failed",
        "subject.nickname",
    ),
    (
        "malformed JSON",
        {"data": b'{"type": "access", ', "headers": {"Content-Type": "application/json"}},
        400,
        "invalid_json",
        None,
    ),
    (
        "empty body",
        {"data": b"", "headers": {"Content-Type": "application/json"}},
        400,
        "invalid_json",
        None,
    ),
    (
        "wrong content type",
        {"data": b"type=access", "headers": {"Content-Type": "text/plain"}},
        415,
        "unsupported_media_type",
        None,
    ),
    (
        "JSON that is not an object",
        {"json": [VALID_BODY]},
        422,
        "validation_failed",
        None,
    ),
    (
        "bad email",
        {"json": {"type": "access", "subject": {"email": "not-an-email"}}},
        422,
        "validation_failed",
        "subject.email",
    ),
    (
        "subject without an identifier",
        {"json": {"type": "access", "subject": {}}},
        422,
        "validation_failed",
        "subject",
    ),
    (
        "unknown request type",
        {"json": {"type": "delete_everything", "subject": {"email": "a@example.com"}}},
        422,
        "validation_failed",
        "type",
    ),
    (
        "missing subject",
        {"json": {"type": "access"}},
        422,
        "validation_failed",
        "subject",
    ),
    (
        "a change to a field named with a dot",
        {
            "json": {
                "type": "rectification",
                "subject": {"email": "a@example.com"},
                "changes": {".name": "Ann"},
            }
        },
        422,
        "validation_failed",
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "request_options", "status", "code", "field"),
    INVALID_BODIES,
    ids=[case[0] for case in INVALID_BODIES],
)
async def test_an_invalid_body_is_refused_and_nothing_is_written(
    platform: Platform,
    api: aiohttp.ClientSession,
    db: Db,
    case: str,
    request_options: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    """Each invalid body gets its own problem status and code, and nothing is stored."""
    before = await request_count(platform, db)
    async with api.post(REQUESTS, **request_options) as response:
        problem = await problem_of(response, status, code)
    if status == 422:
        assert problem["errors"], case
        assert all(error["field"] and error["message"] for error in problem["errors"])
        if field is not None:
            assert field in [error["field"] for error in problem["errors"]], problem
    assert await request_count(platform, db) == before


async def test_validation_errors_do_not_echo_the_input(api: aiohttp.ClientSession) -> None:
    """A 422 names the field and the rule, never the value that was sent."""
    marker = "leaky-secret-value-7f3a"
    body = {"type": "access", "subject": {"email": f"{marker}@@", "phone": marker}}
    async with api.post(REQUESTS, json=body) as response:
        problem = await problem_of(response, 422, "validation_failed")
    assert {"subject.email", "subject.phone"} <= {error["field"] for error in problem["errors"]}
    assert marker not in repr(problem)


async def test_a_body_over_the_size_limit_is_a_413_problem(
    platform: Platform, api: aiohttp.ClientSession, db: Db
) -> None:
    """A body larger than the gateway accepts is 413 `payload_too_large`; nothing is written."""
    before = await request_count(platform, db)
    oversized = io.BytesIO(b'{"type": "access", "pad": "' + b"x" * 1_100_000 + b'"}')
    async with api.post(
        REQUESTS, data=oversized, headers={"Content-Type": "application/json"}
    ) as response:
        await problem_of(response, 413, "payload_too_large")
    assert await request_count(platform, db) == before


# 6. Request ids


async def test_a_valid_client_request_id_is_echoed(api: aiohttp.ClientSession) -> None:
    """`X-Request-Id: a-valid-id-123` comes back unchanged, on success and on error."""
    headers = {"X-Request-Id": "a-valid-id-123"}
    async with api.get("/v1/ping", headers=headers) as response:
        assert response.status == 200
        assert response.headers["X-Request-Id"] == "a-valid-id-123"
    async with api.get("/v1/nothing-here", headers=headers) as response:
        problem = await problem_of(response, 404, "not_found")
    assert problem["request_id"] == "a-valid-id-123"


@pytest.mark.parametrize(
    "presented",
    ["has spaces in it", "x" * 65, "short", "semi;colon-id", 'quote"d-request-id', "ü-nicode-id"],
)
async def test_an_invalid_client_request_id_is_replaced(
    api: aiohttp.ClientSession, presented: str
) -> None:
    """A request id with bad characters or length is replaced by a generated `req_…` id."""
    async with api.get(
        "/v1/nothing-here", headers={"X-Request-Id": presented.encode().decode("latin-1")}
    ) as response:
        problem = await problem_of(response, 404, "not_found")
    assert GENERATED_REQUEST_ID.match(response.headers["X-Request-Id"])
    assert problem["request_id"] == response.headers["X-Request-Id"]


async def test_every_response_carries_a_request_id(
    api: aiohttp.ClientSession, anonymous: aiohttp.ClientSession
) -> None:
    """Success, error, ops and OpenAPI responses all carry a distinct X-Request-Id."""
    seen = []
    calls = [
        (api, "GET", "/v1/ping", 200),
        (api, "GET", REQUESTS, 200),
        (anonymous, "GET", "/v1/ping", 401),
        (api, "GET", "/v1/nothing-here", 404),
        (api, "DELETE", "/v1/ping", 405),
        (api, "GET", f"{REQUESTS}?limit=0", 422),
        (anonymous, "GET", "/openapi.json", 200),
        (anonymous, "GET", "/healthz", 200),
    ]
    for client, method, path, status in calls:
        async with client.request(method, path) as response:
            assert response.status == status, (method, path, await response.text())
            request_id = response.headers.get("X-Request-Id", "")
            assert GENERATED_REQUEST_ID.match(request_id), (method, path, request_id)
            seen.append(request_id)
    assert len(set(seen)) == len(seen)


# 7. No internal detail


async def test_error_bodies_leak_no_internals(
    api: aiohttp.ClientSession, anonymous: aiohttp.ClientSession
) -> None:
    """Errors leak no trace, path, class or library name; Server names no version."""
    calls: list[tuple[aiohttp.ClientSession, str, str, dict[str, Any]]] = [
        (anonymous, "GET", "/v1/ping", {}),
        (anonymous, "GET", "/v1/ping", {"headers": {"Authorization": "Bearer not-a-key"}}),
        (api, "GET", "/v1/../../etc/passwd", {}),
        (api, "GET", f"{REQUESTS}/%00%ff", {}),
        (api, "PATCH", REQUESTS, {}),
        (
            api,
            "POST",
            REQUESTS,
            {"data": b"\xff\xfe{", "headers": {"Content-Type": "application/json"}},
        ),
        (api, "POST", REQUESTS, {"json": {"type": "access", "subject": {"ip": "999.1.1.1"}}}),
        (api, "POST", REQUESTS, {"json": "just a string"}),
        (api, "GET", REQUESTS, {"params": {"limit": "NaN", "cursor": "x" * 100}}),
    ]
    forbidden = re.compile(
        r"Traceback|File \"|\.py\b|/work/|/usr/|site-packages|Exception|Error\(|pydantic|aiohttp"
        r"|mongo|amqp|rabbit",
        re.IGNORECASE,
    )
    for client, method, path, options in calls:
        async with client.request(method, path, **options) as response:
            text = await response.text()
            assert response.status >= 400, (method, path, text)
            assert response.content_type == PROBLEM_JSON, (method, path, text)
            assert not forbidden.search(text), (method, path, text)
            server = response.headers.get("Server", "")
            assert not re.search(r"python|aiohttp|[0-9]", server, re.IGNORECASE), server


# 8. OpenAPI


def served_operations() -> set[tuple[str, str]]:
    """(method, path) of every API route the gateway app serves, built in-process."""
    app = create_app(
        GatewaySettings(
            amqp_url="amqp://guest:guest@127.0.0.1:1/",
            mongo_url="mongodb://127.0.0.1:1/",
            bus_namespace="openapi-check",
        )
    )
    operations = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method == "HEAD" or path in OPS_PATHS or path.startswith(("/dashboard", "/ops")):
            continue
        operations.add((route.method.lower(), path))
    return operations


def refs_in(node: Any) -> set[str]:
    """Every `$ref` anywhere inside a JSON document."""
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= refs_in(value)
        return found
    if isinstance(node, list):
        found = set()
        for value in node:
            found |= refs_in(value)
        return found
    return set()


@pytest.fixture
async def openapi(anonymous: aiohttp.ClientSession) -> dict[str, Any]:
    """The served OpenAPI document."""
    async with anonymous.get("/openapi.json") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        document: dict[str, Any] = await response.json()
    return document


async def test_openapi_documents_exactly_the_served_routes(openapi: dict[str, Any]) -> None:
    """/openapi.json is OpenAPI 3.1 and documents exactly the routes the gateway serves."""
    assert openapi["openapi"].startswith("3.1.")
    assert openapi["info"]["title"]
    assert openapi["info"]["version"]
    documented = {
        (method, path)
        for path, item in openapi["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    }
    served = served_operations()
    assert served, "the gateway serves no API route"
    assert documented == served


async def test_openapi_refs_resolve_and_operations_declare_security(
    openapi: dict[str, Any],
) -> None:
    """Every `$ref` resolves and every operation declares a known security scheme."""
    schemas = openapi["components"]["schemas"]
    schemes = openapi["components"]["securitySchemes"]
    prefix = "#/components/schemas/"
    refs = refs_in(openapi)
    assert refs
    for ref in refs:
        assert ref.startswith(prefix), ref
        assert ref[len(prefix) :] in schemas, f"{ref} does not resolve"
    operation_ids = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation["security"], where
            for requirement in operation["security"]:
                assert set(requirement) <= set(schemes), where
            assert refs_in(operation["responses"]), where
            operation_ids.append(operation["operationId"])
            if "requestBody" in operation:
                assert refs_in(operation["requestBody"]), where
    assert len(operation_ids) == len(set(operation_ids))


async def test_openapi_declares_every_path_parameter(openapi: dict[str, Any]) -> None:
    """Every `{parameter}` of a path is declared as a required path parameter."""
    for path, item in openapi["paths"].items():
        in_path = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            declared = {
                parameter["name"]
                for parameter in operation.get("parameters", [])
                if parameter["in"] == "path"
            }
            assert declared == in_path, f"{method.upper()} {path}"
            assert all(
                parameter["required"]
                for parameter in operation.get("parameters", [])
                if parameter["in"] == "path"
            )


async def test_openapi_documents_the_errors_each_operation_can_answer(
    openapi: dict[str, Any],
) -> None:
    """Every operation documents the problem statuses it can answer with (a keyless one,
    `security: [{}]`, answers neither 401 nor 404: the signed token in its path decides)."""
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            keyless = operation["security"] == [{}]
            expected = set() if keyless else {"401"}
            if "{" in path and not keyless:
                expected.add("404")
            if "requestBody" in operation:
                expected |= {"400", "413", "415", "422"}
            if any(parameter["in"] == "query" for parameter in operation["parameters"]):
                expected.add("422")
            if "x-required-scope" in operation:
                expected.add("403")
            assert expected <= set(responses), (where, sorted(responses))
            for status in expected:
                content = responses[status]["content"]
                assert set(content) == {PROBLEM_JSON}, (where, status)


# 9. Cursor pagination


async def test_privacy_requests_page_newest_first_by_cursor(
    platform: Platform, api: aiohttp.ClientSession, db: Db
) -> None:
    """Pages of 2 follow `next_cursor` newest first to a null cursor, no duplicates or gaps."""
    opened = []
    for n in range(3):
        body = {"type": "access", "subject": {"email": f"nobody-{n}@example.com"}}
        async with api.post(REQUESTS, json=body) as response:
            assert response.status == 202, await response.text()
            opened.append((await response.json())["id"])

    stored = db[platform.database("privacy")]["requests"]
    total = await stored.count_documents({"partner_id": "ptn_demo"})
    assert total >= 3
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    for _ in range(total):  # bounded: each page holds at least one request
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        async with api.get(REQUESTS, params=params) as response:
            assert response.status == 200, await response.text()
            page = await response.json()
        pages.append(page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["data"]) == 2
    assert cursor is None, "pagination did not end"

    assert len(pages[0]) == 2
    assert len(pages) == (total + 1) // 2
    assert 1 <= len(pages[-1]) <= 2
    ids = [item["id"] for page in pages for item in page]
    assert len(ids) == len(set(ids)), "a request was listed twice"
    assert set(ids) == {
        doc["_id"] async for doc in stored.find({"partner_id": "ptn_demo"}, {"_id": 1})
    }
    assert ids[:3] == list(reversed(opened))
    # As times, not strings: a time on a whole second is written without a fraction.
    created = [datetime.fromisoformat(item["created_at"]) for page in pages for item in page]
    assert created == sorted(created, reverse=True)
    assert ids == sorted(ids, reverse=True)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=500", "limit"),
        ("limit=two", "limit"),
        ("sort=asc", "sort"),
        ("cursor=" + "x" * 65, "cursor"),
    ],
)
async def test_invalid_page_queries_are_422(
    api: aiohttp.ClientSession, query: str, field: str
) -> None:
    """A bad limit, an overlong cursor or an unknown parameter is 422 naming it."""
    async with api.get(f"{REQUESTS}?{query}") as response:
        problem = await problem_of(response, 422, "validation_failed")
    assert field in [error["field"] for error in problem["errors"]], problem
