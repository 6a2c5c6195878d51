"""The OpenAPI 3.1 document, generated from the endpoints and their pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gateway.api import Endpoint
from gateway.schemas import Problem

REF = "#/components/schemas/{model}"
_PATH_PARAMETER = re.compile(r"{([^}]+)}")

ERRORS = {
    "400": "Malformed JSON body",
    "401": "Missing or invalid API key",
    "403": "The key lacks the scope this operation needs",
    "404": "No such resource (or not yours)",
    "409": "The resource's state does not allow this",
    "413": "The body is larger than the API accepts",
    "415": "The body is not application/json",
    "422": "The request is not valid",
    "429": "The API key made too many requests: retry after `Retry-After` seconds",
    "502": "A service behind the gateway failed",
    "503": "A service behind the gateway is unavailable",
    "504": "A service behind the gateway did not answer in time",
}


SUCCESSES = {
    201: "Created",
    202: "Accepted: not finished yet; follow it by its id or by webhook",
}
IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "Your unique key of this request (e.g. a UUID). The same key with the same"
    " body returns the original result; with a different body it is refused (409); while the"
    " first request is still running, a retry is told so (409 `idempotency_in_progress`).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def _integer_header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "integer", "minimum": 0}}


RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": _integer_header("Requests the key may make at once (its bucket's size)."),
    "RateLimit-Remaining": _integer_header("Requests the key may still make right now."),
    "RateLimit-Reset": _integer_header("Seconds until the key may make `RateLimit-Limit` again."),
}
RETRY_AFTER_HEADER = {"Retry-After": _integer_header("Seconds until the next request may go.")}


def _error_statuses(endpoint: Endpoint) -> list[str]:
    """The problem statuses this endpoint can answer with (beyond 404/405 for unknown routes)."""
    statuses = {"401", "429", "502", "503", "504"}
    if endpoint.scope is not None:
        statuses.add("403")
    if _PATH_PARAMETER.search(endpoint.path) or endpoint.missing:
        statuses.add("404")
    if endpoint.conflicts:
        statuses.add("409")
    if endpoint.body is not None:
        statuses |= {"400", "413", "415", "422"}
    if endpoint.idempotent:
        statuses |= {"400", "409"}
    if endpoint.query is not None:
        statuses.add("422")
    return sorted(statuses)


def _models(endpoints: list[Endpoint]) -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {"Problem": Problem}
    for endpoint in endpoints:
        # Query models too: their parameters may refer to shared schemas (an enum).
        for model in (endpoint.body, endpoint.response, endpoint.query):
            if model is not None:
                seen[model.__name__] = model
    return list(seen.values())


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": field}
        for name, field in schema["properties"].items()
    ]


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(endpoint.path)
    ]
    if endpoint.query is not None:
        parameters += _query_parameters(endpoint.query)
    if endpoint.idempotent:
        parameters.append(IDEMPOTENCY_PARAMETER)
    problem = {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}
    json = {"schema": {"$ref": REF.format(model=endpoint.response.__name__)}}
    success: dict[str, Any] = {
        **({"application/json": json} if endpoint.json else {}),
        **{media: {"schema": {"type": "string"}} for media in endpoint.downloads},
    }
    responses: dict[str, Any] = {
        str(status): {"description": description, "headers": RATE_LIMIT_HEADERS, "content": success}
        for status, description in [
            (endpoint.status, "Success"),
            *((status, SUCCESSES[status]) for status in endpoint.also),
        ]
    }
    responses.update(
        {
            status: {"description": ERRORS[status], "content": problem}
            for status in _error_statuses(endpoint)
        }
    )
    responses["429"]["headers"] = RATE_LIMIT_HEADERS | RETRY_AFTER_HEADER
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": endpoint.tags,
        "parameters": parameters,
        "responses": responses,
        "security": [{"apiKey": []}],
    }
    needs = f"Needs the `{endpoint.scope.value}` scope." if endpoint.scope is not None else ""
    if endpoint.scope is not None:
        operation["x-required-scope"] = endpoint.scope.value
    if needs or endpoint.description:
        operation["description"] = " ".join(filter(None, [endpoint.description, needs]))
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=endpoint.body.__name__)}}
            },
        }
    return operation


def build_openapi(endpoints: list[Endpoint], version: str) -> dict[str, Any]:
    """The whole document."""
    _, definitions = models_json_schema(
        [(model, "validation") for model in _models(endpoints)], ref_template=REF
    )
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "eSIM partner API",
            "version": version,
            "description": "Buy eSIM data packages, manage your balance, receive signed webhooks.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "esk_live_… key"}
            },
        },
    }
