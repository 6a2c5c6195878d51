"""Endpoints of the partners' API: one declaration drives routing, checks and OpenAPI."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ValidationError

from contracts.accounts import Principal, Scope
from gateway.principals import Verifier
from gateway.problems import ApiError, from_remote, from_validation
from gateway.ratelimit import RateLimiter, Verdict
from servicekit.errors import RemoteCallError
from servicekit.http import REQUEST_ID

Method = Literal["GET", "POST", "PATCH", "DELETE"]


@dataclass(frozen=True)
class Call:
    """What an endpoint function receives: the caller and the validated request."""

    principal: Principal
    request_id: str
    path: dict[str, str]
    body: Any = None
    query: Any = None
    idempotency_key: str | None = None
    """The `Idempotency-Key` header of an idempotent endpoint (checked, always present)."""


@dataclass(frozen=True)
class Download:
    """A response that is a file to save rather than JSON (a CSV statement)."""

    body: str | bytes
    content_type: str
    filename: str
    """Letters, digits, `._-` only: it goes into the Content-Disposition header as is."""


@dataclass(frozen=True)
class Answer:
    """A JSON response whose status is not the endpoint's usual one (one of its `also`)."""

    model: BaseModel
    status: int


@dataclass(frozen=True)
class Encoded:
    """A JSON answer encoded once and sent as it is (a cached one: encoding a large page costs
    more than the rest of the request)."""

    body: bytes


Result = BaseModel | Download | Answer | Encoded
EndpointFunction = Callable[[Call], Awaitable[Result]]


@dataclass(frozen=True)
class Endpoint:
    """One operation of the API."""

    method: Method
    path: str
    operation_id: str
    summary: str
    function: EndpointFunction
    response: type[BaseModel]
    scope: Scope | None = None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    tags: list[str] = field(default_factory=list)
    conflicts: bool = False
    """Whether the operation can be refused for the state of its resource (409)."""
    missing: bool = False
    """Whether the operation can find nothing to answer with (404) without a path parameter."""
    description: str = ""
    """More than the summary says, for the document."""
    downloads: tuple[str, ...] = ()
    """Media types the operation also answers with, as a `Download` (beside JSON)."""
    also: tuple[int, ...] = ()
    """Other success statuses the operation answers with, as an `Answer`."""
    idempotent: bool = False
    """Whether the operation requires an `Idempotency-Key` header."""
    json: bool = True
    """Whether the operation answers JSON (False: only its `downloads`)."""


PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)


async def authenticate(request: web.Request, verifier: Verifier) -> Principal:
    """The principal of the request's bearer key; the partner comes only from the key."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise ApiError(
            401,
            "unauthenticated",
            "Authentication required",
            "send `Authorization: Bearer <api key>`",
        )
    try:
        return await verifier.principal_of(credentials.strip())
    except RemoteCallError as error:
        raise from_remote(error) from None


async def read_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    """The JSON body validated strictly against its model; unknown fields are refused."""
    if request.content_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            "Unsupported media type",
            "send the body as application/json",
        )
    raw = await request.read()
    try:
        json.loads(raw)
    except ValueError:
        raise ApiError(
            400, "invalid_json", "Malformed JSON", "the body is not valid JSON"
        ) from None
    try:
        # Strict: JSON types as the document states them. Lax validation would take "2" or 2.0
        # for an integer, 0 for `false`, a number for an IP address or a Unix time.
        return model.model_validate_json(raw, strict=True)
    except ValidationError as error:
        raise from_validation(error, "body") from None


def read_query(request: web.Request, model: type[BaseModel]) -> BaseModel:
    """The query string validated against its model; unknown parameters are refused."""
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as error:
        raise from_validation(error, "query") from None


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def read_idempotency_key(request: web.Request) -> str:
    """The request's `Idempotency-Key`: 1 to 255 printable ASCII characters, no spaces."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise ApiError(
            400,
            "idempotency_key_required",
            "Idempotency key required",
            "send an `Idempotency-Key` header (e.g. a UUID) so a retry cannot buy twice",
        )
    if not IDEMPOTENCY_KEY.match(key):
        raise ApiError(
            400,
            "invalid_idempotency_key",
            "Invalid idempotency key",
            "an `Idempotency-Key` is 1 to 255 printable ASCII characters without spaces",
        )
    return key


def within_rate_limit(principal: Principal, limiter: RateLimiter) -> Verdict:
    """The key's rate-limit verdict; a 429 when it has spent its tokens."""
    verdict = limiter.take(principal.key_id)
    if not verdict.allowed:
        raise ApiError(
            429,
            "rate_limited",
            "Too many requests",
            f"this API key may make {limiter.per_second:g} requests per second on average;"
            f" retry after {verdict.retry_after} s",
            headers=verdict.headers(),
        )
    return verdict


def handler_for(
    endpoint: Endpoint, verifier: Verifier, limiter: RateLimiter
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler of an endpoint: authenticate, limit, authorise, validate, call,
    render."""

    async def handle(request: web.Request) -> web.Response:
        principal = await authenticate(request, verifier)
        request[PRINCIPAL] = principal
        verdict = within_rate_limit(principal, limiter)
        if endpoint.scope is not None and endpoint.scope not in principal.scopes:
            raise ApiError(
                403,
                "insufficient_scope",
                "Insufficient scope",
                f"this operation needs the `{endpoint.scope.value}` scope",
            )
        call = Call(
            principal=principal,
            request_id=request[REQUEST_ID],
            path=dict(request.match_info),
            body=await read_body(request, endpoint.body) if endpoint.body else None,
            query=read_query(request, endpoint.query) if endpoint.query else None,
            idempotency_key=read_idempotency_key(request) if endpoint.idempotent else None,
        )
        try:
            result = await endpoint.function(call)
        except RemoteCallError as error:
            raise from_remote(error) from None
        response = render(endpoint, result)
        # Answers are one partner's data, some of it credentials: no cache may keep them.
        response.headers["Cache-Control"] = "no-store"
        response.headers.update(verdict.headers())
        return response

    return handle


def render(endpoint: Endpoint, result: Result) -> web.Response:
    """The HTTP response of an endpoint function's result."""
    if isinstance(result, Download):
        return download_response(endpoint.status, result)
    if isinstance(result, Encoded):
        return web.Response(
            status=endpoint.status, body=result.body, content_type="application/json"
        )
    status = endpoint.status
    if isinstance(result, Answer):
        status, result = result.status, result.model
    return web.Response(
        status=status, body=result.model_dump_json(), content_type="application/json"
    )


def download_response(status: int, download: Download) -> web.Response:
    """A file response the client saves under the download's name."""
    if isinstance(download.body, bytes):
        return web.Response(
            status=status,
            body=download.body,
            content_type=download.content_type,
            headers={"Content-Disposition": f'inline; filename="{download.filename}"'},
        )
    return web.Response(
        status=status,
        text=download.body,
        content_type=download.content_type,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{download.filename}"'},
    )


def mount(
    app: web.Application, endpoints: list[Endpoint], verifier: Verifier, limiter: RateLimiter
) -> None:
    """Add every endpoint's route to the app."""
    for endpoint in endpoints:
        app.router.add_route(
            endpoint.method,
            endpoint.path,
            handler_for(endpoint, verifier, limiter),
            name=endpoint.operation_id,
        )
