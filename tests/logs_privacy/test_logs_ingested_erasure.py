"""Erasure of records that came in through the real bus and ingest (not written by the test):
what the gateway and a service shipped about an IP address and an email is found by blind
index and leaves nothing readable behind."""

from __future__ import annotations

from contracts.gateway import ApiRequestRecord, ApiRequestsLogged
from contracts.logs import TechnicalRecord, TechnicalRecordsShipped
from contracts.privacy import EraseSubject, SubjectRef
from logs.store import API_REQUESTS, TECHNICAL
from servicekit.clock import utcnow
from servicekit.ids import new_id
from support.logs_owner import LogsOwner, sample_agent, sample_ip
from support.privacy_standin import by_category
from support.waiting import eventually


async def test_erasure_reaches_what_ingest_stored(harness: LogsOwner) -> None:
    """An API request and a failed sign-in (email in mixed case, no user) from one address,
    ingested over the bus, are erased by IP and email: nothing of them is left."""
    ip, agent, email = sample_ip(), sample_agent(), "Mixed.Case@Example.com"
    request = ApiRequestRecord(
        request_id=new_id("req"),
        method="POST",
        route="/v1/orders",
        path="/v1/orders",
        status=401,
        duration_ms=3.2,
        ip=ip,
        user_agent=agent,
        received_at=utcnow(),
    )
    sign_in = TechnicalRecord(
        at=utcnow(),
        service="accounts",
        level="warning",
        event="sign_in_failed",
        email=email,
        ip=ip,
        user_agent=agent,
    )
    await harness.caller.bus.publish(ApiRequestsLogged(records=[request]))
    await harness.caller.bus.publish(TechnicalRecordsShipped(records=[sign_in]))

    async def stored() -> bool:
        counts = [await harness.db[c].count_documents({}) for c in (API_REQUESTS, TECHNICAL)]
        return counts == [1, 1]

    await eventually(stored, what="both records stored")
    copies = [await harness.db[c].find_one({}) for c in (API_REQUESTS, TECHNICAL)]

    subject = SubjectRef(ip=ip, email=email)
    outcomes = by_category(await harness.run(EraseSubject(**harness.task(), subject=subject)))

    assert (outcomes["api_request_logs"].records, outcomes["technical_logs"].records) == (1, 1)
    for copy in copies:
        assert copy is not None
        assert await harness.opens(copy, "ip") is None
        assert await harness.opens(copy, "user_agent") is None
    assert await harness.mentions(ip, agent, email) == []
