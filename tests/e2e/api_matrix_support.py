"""The API matrix's view of the OpenAPI document: its operations, a valid example body per
operation with a body, a plausible id per path parameter, a wrong-typed body, and a snapshot
of what a partner holds (to prove a refused request changed nothing)."""

from __future__ import annotations

import asyncio
import json
import secrets
import string
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from e2e_support import Platform

from gateway.app import create_app
from gateway.settings import GatewaySettings
from servicekit.ids import new_id

PROBLEM_JSON = "application/problem+json"
RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
PACKAGE = "pkg_de_1gb_7d"
PUBLIC_URL = "https://93.184.215.14/matrix-webhooks"
"""A public address by IP literal (the sandbox has no DNS); nothing answers there."""

EXAMPLE_BODIES: dict[str, dict[str, Any]] = {
    "createPrivacyRequest": {"type": "access", "subject": {"email": "matrix@example.com"}},
    "createApiKey": {"name": "matrix key", "scopes": ["orders:read"]},
    "updateAccount": {"business_name": "Matrix Renamed GmbH"},
    "createWebhookEndpoint": {"url": PUBLIC_URL, "event_types": ["esim.validity_ending"]},
    "updateWebhookEndpoint": {"event_types": ["esim.usage_threshold"]},
    "createOrder": {"package_id": PACKAGE, "quantity": 1},
    "createTopup": {"package_id": PACKAGE},
    "acknowledgePrivacyPolicy": {"version": 1},
}
"""A valid body of every operation that takes one, by operationId."""


def _base62(length: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


RESOURCES = {
    "privacy/requests": "dsr",
    "api-keys": "key",
    "esims": "esim",
    "webhook-endpoints": "whe",
    "webhook-deliveries": "msg",
    "orders": "ord",
    "topups": "top",
    "packages": "pkg",
}
"""The kind of resource a path parameter names, by the path before it: the matrix has one
of each kind under partner A."""
QUERY_IDS = {"order_id": "ord", "endpoint_id": "whe"}
"""The kind of resource a query parameter filters by, by its name."""
SHARED = {"pkg"}
"""Kinds every partner may read (the catalogue): not a tenant's, so no tenancy check."""


def fake_id(kind: str, parameter: str) -> str:
    """A well-formed id of this kind that names nothing."""
    if parameter == "iccid" or kind == "esim":
        return "8999" + "".join(secrets.choice(string.digits) for _ in range(15))
    if kind == "key":
        return _base62(16)
    if kind == "pkg":
        return "pkg_xx_" + _base62(8).lower()
    return new_id(kind)


def resource_of(path: str) -> str:
    """The resource segment of a path with a parameter: `/v1/esims/{iccid}/qr` -> `esims`."""
    return path.split("/{", 1)[0].removeprefix("/v1/")


@dataclass(frozen=True)
class Operation:
    """One operation of the document, with what the matrix needs of it."""

    operation_id: str
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def needs_key(self) -> bool:
        """Whether the document says the operation needs an API key."""
        security = self.spec.get("security", [])
        return bool(security) and {} not in security

    @property
    def scope(self) -> str | None:
        """The scope the operation needs, if any."""
        scope: str | None = self.spec.get("x-required-scope")
        return scope

    @property
    def has_body(self) -> bool:
        """Whether the operation takes a JSON body."""
        return "requestBody" in self.spec

    @property
    def path_parameters(self) -> list[str]:
        """Names of the path parameters."""
        return [p["name"] for p in self.spec["parameters"] if p["in"] == "path"]

    @property
    def query_parameters(self) -> list[str]:
        """Names of the query parameters."""
        return [p["name"] for p in self.spec["parameters"] if p["in"] == "query"]

    @property
    def idempotent(self) -> bool:
        """Whether the operation requires an `Idempotency-Key` header."""
        return any(p["name"] == "Idempotency-Key" for p in self.spec["parameters"])

    @property
    def writes(self) -> bool:
        """Whether the operation may change something (the ones to check nothing changed)."""
        return self.method != "GET"

    @property
    def resource(self) -> str | None:
        """The resource its path parameter names, or None without one."""
        return resource_of(self.path) if self.path_parameters else None

    def url(self, ids: dict[str, str]) -> str:
        """The path with each parameter replaced by `ids[name]`."""
        path = self.path
        for name in self.path_parameters:
            path = path.replace(f"{{{name}}}", ids[name])
        return path

    def fake_ids(self) -> dict[str, str]:
        """Plausible ids that name nothing, one per path parameter."""
        kind = RESOURCES[self.resource or ""]
        return {name: fake_id(kind, name) for name in self.path_parameters}


def operations_of(document: dict[str, Any]) -> list[Operation]:
    """Every operation of an OpenAPI document."""
    return [
        Operation(spec["operationId"], method.upper(), path, spec)
        for path, item in document["paths"].items()
        for method, spec in item.items()
    ]


def built_document() -> dict[str, Any]:
    """The gateway's OpenAPI document, built in-process (to parametrize tests at collection;
    a test checks that the served one has the same operations)."""
    app = create_app(
        GatewaySettings(
            amqp_url="amqp://guest:guest@127.0.0.1:1/",
            mongo_url="mongodb://127.0.0.1:1/",
            bus_namespace="api-matrix",
        )
    )
    route = next(
        r for r in app.router.routes() if r.resource and r.resource.canonical == "/openapi.json"
    )
    loop = asyncio.new_event_loop()
    try:
        response = loop.run_until_complete(
            route.handler(make_mocked_request("GET", "/openapi.json"))
        )
    finally:
        loop.close()
    assert isinstance(response, web.Response)
    assert isinstance(response.body, bytes)
    document: dict[str, Any] = json.loads(response.body)
    return document


def _types(schema: dict[str, Any]) -> set[str]:
    if "$ref" in schema:
        return {"object"}
    found = {schema["type"]} if isinstance(schema.get("type"), str) else set()
    for branch in schema.get("anyOf", []) + schema.get("allOf", []):
        found |= _types(branch)
    return found


def wrong_body(document: dict[str, Any], operation: Operation) -> tuple[dict[str, Any], str]:
    """The example body with one field (a required one if the schema has any) of the wrong
    type; the body and the field's name."""
    reference = operation.spec["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][reference.rsplit("/", 1)[1]]
    example = EXAMPLE_BODIES[operation.operation_id]
    field = (schema.get("required") or list(example))[0]
    types = _types(schema["properties"][field])
    wrong: Any = "not-an-array" if "array" in types else ["not", "a", "scalar"]
    return {**example, field: wrong}, field


TRACKED = {
    "orders and top-ups": ("provisioning", "orders"),
    "API keys": ("accounts", "api_keys"),
    "webhook endpoints": ("provisioning", "webhook_endpoints"),
    "webhook deliveries": ("provisioning", "webhook_deliveries"),
    "privacy requests": ("privacy", "requests"),
    "policy acknowledgements": ("privacy", "policy_acknowledgements"),
    "ledger entries": ("accounts", "ledger"),
}
"""What a refused request must not change, each a collection holding a `partner_id`."""

KEPT_FIELDS = {
    "API keys": ("revocation", "expiry", "scopes", "name"),
    "webhook endpoints": ("url", "event_types", "disabled", "secret", "previous"),
}
"""The fields whose change is an effect (revoked, rotated, edited), where a count is not
enough; other fields (last use, delivery failures) change in the background."""

PARTNER_FIELDS = ("business_name", "registration_number", "tax_id", "address", "phone", "status")


async def snapshot(platform: Platform, db: Any, partner_id: str) -> dict[str, Any]:
    """What the partner holds: per tracked collection its documents' ids (and kept fields),
    and its account's business details."""
    state: dict[str, Any] = {}
    for name, (service, collection) in TRACKED.items():
        documents = db[platform.database(service)][collection].find({"partner_id": partner_id})
        fields = KEPT_FIELDS.get(name, ())
        state[name] = sorted(
            [repr((d["_id"], [d.get(f) for f in fields])) async for d in documents]
        )
    partner = await db[platform.database("accounts")]["partners"].find_one({"_id": partner_id})
    assert partner is not None
    state["account"] = repr([partner.get(f) for f in PARTNER_FIELDS])
    return state
