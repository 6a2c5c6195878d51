"""API request records from the gateway land in the logs store through the real bus, in
batches: sealed with their subject's key, blind-indexed, each record once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bson import Int64
from ingest_support import API_REQUESTS, Ingest, consumed, raw_text

from contracts.gateway import ApiRequestRecord, ApiRequestsLogged
from logs.handlers import LogsHandlers, LogWriter
from servicekit.ids import new_id
from servicekit.messages import MessageContext
from support.waiting import eventually

IP = "203.0.113.77"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) partner-integration/4.2"
AT = datetime(2026, 11, 26, 23, 59, 30, tzinfo=UTC)


def request(**overrides: object) -> ApiRequestRecord:
    """An API request record as the gateway records it."""
    values: dict[str, object] = {
        "request_id": new_id("req"),
        "partner_id": "ptn_ingest1",
        "key_id": "key_1",
        "method": "POST",
        "route": "/v1/orders/{id}",
        "path": "/v1/orders/ord_secretref",
        "status": 201,
        "duration_ms": 12.5,
        "ip": IP,
        "user_agent": AGENT,
        "received_at": AT,
        "request_bytes": 321,
        "response_bytes": 4096,
    }
    values.update(overrides)
    return ApiRequestRecord.model_validate(values)


def batch(*records: ApiRequestRecord) -> ApiRequestsLogged:
    """The batch event the gateway ships (one record unless told)."""
    return ApiRequestsLogged(records=list(records) or [request()])


def subject_of_token(token: str) -> str:
    """The subject whose key sealed a token (in clear in the token, by design)."""
    assert token.startswith("enc1.")
    return token.split(".")[1]


async def test_a_request_lands_sealed_with_the_partners_key_and_opens_again(
    ingest: Ingest,
) -> None:
    """The stored request keeps its facts in clear, its IP and user agent only sealed with the
    partner's key (the IP blind-indexed), drops the raw path, and opens to the original."""
    event = request()
    await ingest.publisher.bus.publish(batch(event))
    [document] = await ingest.stored(API_REQUESTS, 1)
    assert IP not in raw_text([document])
    assert AGENT not in raw_text([document])
    assert "path" not in document
    assert "ord_secretref" not in raw_text([document])
    assert subject_of_token(document["ip"]) == "ptn_ingest1"
    assert subject_of_token(document["user_agent"]) == "ptn_ingest1"
    assert document["ip_bidx"] == ingest.vault.index("ip", IP)
    assert "user_agent_bidx" not in document
    opened = await ingest.vault.open(document["_id"], document, ["ip", "user_agent"])
    assert opened == {"ip": IP, "user_agent": AGENT}
    assert document["day"] == "2026-11-26"
    assert document["received_at"] == AT
    assert (document["partner_id"], document["key_id"], document["status"]) == (
        "ptn_ingest1",
        "key_1",
        201,
    )
    assert (document["request_bytes"], document["response_bytes"]) == (321, 4096)
    assert isinstance(document["request_bytes"], Int64 | int)
    assert document["request_id"] == event.request_id
    assert document["route"] == "/v1/orders/{id}"


async def test_an_unauthenticated_request_is_sealed_under_its_ip(ingest: Ingest) -> None:
    """Without a partner, the IP's own subject key seals it (`ip_` + the blind index prefix),
    and absent facts stay absent (never null)."""
    await ingest.publisher.bus.publish(
        batch(request(partner_id=None, key_id=None, status=401, request_bytes=None))
    )
    [document] = await ingest.stored(API_REQUESTS, 1)
    bidx = ingest.vault.index("ip", IP)
    assert subject_of_token(document["ip"]) == f"ip_{bidx[:32]}"
    assert "partner_id" not in document
    assert "key_id" not in document
    assert "request_bytes" not in document
    assert None not in document.values()


async def test_a_user_agent_without_any_subject_is_not_kept(ingest: Ingest) -> None:
    """A record with neither partner nor IP has no key to seal the user agent with: it is
    dropped rather than stored in clear."""
    await ingest.publisher.bus.publish(batch(request(partner_id=None, key_id=None, ip=None)))
    [document] = await ingest.stored(API_REQUESTS, 1)
    assert "user_agent" not in document
    assert AGENT not in raw_text([document])
    assert document["status"] == 201


async def test_a_batch_stores_each_record_under_its_position(ingest: Ingest) -> None:
    """A batch of three requests of two partners leaves three documents `<message id>:<nnn>`,
    each sealed with its own partner's key."""
    records = [request(), request(partner_id="ptn_ingest2"), request(status=404)]
    outgoing = ingest.publisher.bus.outgoing(batch(*records))
    await ingest.publisher.bus.publish_many([outgoing])
    documents = await ingest.stored(API_REQUESTS, 3)
    assert [d["_id"] for d in documents] == [f"{outgoing.message_id}:{n:03d}" for n in range(3)]
    assert [d["request_id"] for d in documents] == [r.request_id for r in records]
    assert [subject_of_token(d["ip"]) for d in documents] == [
        "ptn_ingest1",
        "ptn_ingest2",
        "ptn_ingest1",
    ]
    assert [d["status"] for d in documents] == [201, 201, 404]


async def test_a_redelivered_request_is_stored_once(ingest: Ingest) -> None:
    """The same message published twice is stored once (the inbox skips the copy)."""
    outgoing = ingest.publisher.bus.outgoing(batch())
    handled = consumed(ApiRequestsLogged.TYPE, ("handled",))
    skipped = consumed(ApiRequestsLogged.TYPE, ("duplicate",))
    await ingest.publisher.bus.publish_many([outgoing])

    async def first_acked() -> bool:
        return consumed(ApiRequestsLogged.TYPE, ("handled",)) > handled

    await eventually(first_acked, what="the first copy handled")
    await ingest.publisher.bus.publish_many([outgoing])

    async def copy_skipped() -> bool:
        return consumed(ApiRequestsLogged.TYPE, ("duplicate",)) > skipped

    await eventually(copy_skipped, what="the later copy skipped as a duplicate")
    assert [d["_id"] for d in await ingest.documents(API_REQUESTS)] == [
        f"{outgoing.message_id}:000"
    ]


async def test_the_handler_stores_one_message_once_even_past_the_inbox(ingest: Ingest) -> None:
    """Handled twice (a crash between the write and the inbox record), at the same time and
    again later, one message of two records still leaves two documents, sealed once."""
    writer = LogWriter(ingest.service.db, ingest.vault)
    handlers = LogsHandlers(writer)
    context = MessageContext(
        message_id=new_id("msg"),
        correlation_id="cor_1",
        type=ApiRequestsLogged.TYPE,
        producer="gateway",
        attempt=1,
        final_attempt=False,
    )
    event = batch(request(), request())
    await asyncio.gather(*(handlers.api_requests_logged(event, context) for _ in range(3)))
    await handlers.api_requests_logged(event, context)
    documents = await ingest.documents(API_REQUESTS)
    assert [d["_id"] for d in documents] == [f"{context.message_id}:{n:03d}" for n in range(2)]
