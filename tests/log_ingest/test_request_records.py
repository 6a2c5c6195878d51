"""The gateway's request log: each `/v1/` request's record is buffered without blocking the
response, dropped and counted when the buffer is full, and shipped in batches that the logs
service stores record by record."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from ingest_support import API_REQUESTS, Ingest
from prometheus_client import REGISTRY

from contracts.gateway import ApiRequestRecord
from gateway.requestlog import RequestLog
from servicekit.bus import Bus
from servicekit.http import SERVICE_NAME, observe
from servicekit.settings import ServiceSettings
from servicekit.topology import Topology

SECRET = "sk_test_0123456789abcdefsecret"
Client = TestClient[web.Request, web.Application]


async def ok(_request: web.Request) -> web.Response:
    """A handler that answers 200 with a small body."""
    return web.json_response({"ok": True})


@contextlib.asynccontextmanager
async def client_of(request_log: RequestLog) -> AsyncIterator[Client]:
    """A client of a small app with the gateway's middlewares and two routes."""
    app = web.Application(middlewares=[observe, request_log.middleware])
    app[SERVICE_NAME] = "gateway"
    app.router.add_get("/v1/orders/{id}", ok)
    app.router.add_get("/healthz-like", ok)
    async with TestClient(TestServer(app)) as client:
        yield client


def unused_bus() -> Bus:
    """A bus that is never connected (nothing here ships)."""
    return Bus(url="amqp://unused/", topology=Topology("unused"), service="gateway")


def dropped() -> float:
    """The drop counter of API request records."""
    return REGISTRY.get_sample_value("api_request_records_dropped_total") or 0


async def test_each_api_request_is_buffered_with_its_template_and_no_secret(
    namespace: ServiceSettings,
) -> None:
    """A `/v1/` request leaves one record (route template, status, sizes, user agent) and no
    trace of its API key; a request outside `/v1/` leaves none."""
    request_log = RequestLog(unused_bus(), namespace)
    async with client_of(request_log) as client:
        headers = {"Authorization": f"Bearer {SECRET}", "User-Agent": "partner-sdk/1.0"}
        answer = await client.get("/v1/orders/ord_42", headers=headers)
        assert answer.status == 200
        assert (await client.get("/healthz-like")).status == 200
    [held] = request_log.shipper.held()
    record = ApiRequestRecord.model_validate(held)
    assert (record.route, record.path, record.status, record.method) == (
        "/v1/orders/{id}",
        "/v1/orders/ord_42",
        200,
        "GET",
    )
    assert record.user_agent == "partner-sdk/1.0"
    assert record.request_id == answer.headers["X-Request-Id"]
    assert SECRET not in record.model_dump_json()


async def test_a_full_buffer_drops_and_counts_and_the_response_is_unaffected(
    namespace: ServiceSettings,
) -> None:
    """With room for two records, a third request is answered as usual, its record dropped
    and counted in `api_request_records_dropped_total`."""
    settings = namespace.model_copy(update={"log_ship_buffer": 2})
    request_log = RequestLog(unused_bus(), settings)
    before = dropped()
    async with client_of(request_log) as client:
        statuses = [(await client.get(f"/v1/orders/ord_{n}")).status for n in range(3)]
    assert statuses == [200, 200, 200]
    assert request_log.shipper.buffered == 2
    assert dropped() == before + 1


async def test_buffered_requests_are_shipped_in_one_batch_and_stored_each(
    ingest: Ingest,
) -> None:
    """Three requests buffered, then shipped: one batch message, stored as three documents
    `<message id>:000..002` in the order of the requests."""
    request_log = RequestLog(ingest.publisher.bus, ingest.settings)
    async with client_of(request_log) as client:
        answers = [await client.get(f"/v1/orders/ord_{n}") for n in range(3)]
    await request_log.shipper.ship_all()
    assert request_log.shipper.shipped == 3
    documents = await ingest.stored(API_REQUESTS, 3)
    assert [d["request_id"] for d in documents] == [a.headers["X-Request-Id"] for a in answers]
    message_ids = {d["_id"].rsplit(":", 1)[0] for d in documents}
    assert len(message_ids) == 1
    assert [d["_id"].rsplit(":", 1)[1] for d in documents] == ["000", "001", "002"]


async def test_an_invalid_record_is_dropped_and_counted_and_the_rest_of_its_batch_shipped(
    ingest: Ingest,
) -> None:
    """A batch is checked at once; when one record in it is invalid, that one is dropped and
    counted and the others are shipped and stored in their order."""
    request_log = RequestLog(ingest.publisher.bus, ingest.settings)
    async with client_of(request_log) as client:
        first = await client.get("/v1/orders/ord_1")
        [held] = request_log.shipper.held()
        request_log.shipper.offer({**held, "status": 999})
        second = await client.get("/v1/orders/ord_2")
    assert request_log.shipper.buffered == 3
    before = dropped()
    await request_log.shipper.ship_all()
    assert request_log.shipper.shipped == 2
    assert dropped() == before + 1
    documents = await ingest.stored(API_REQUESTS, 2)
    assert [d["request_id"] for d in documents] == [
        first.headers["X-Request-Id"],
        second.headers["X-Request-Id"],
    ]
