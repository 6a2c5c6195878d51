"""The logs service ships its own records like any service, but never the records written while
it stores shipped batches: those would be shipped again, stored again, for ever."""

from __future__ import annotations

import io

import structlog
from ingest_support import TECHNICAL, logs_settings

from contracts.logs import TechnicalRecord, TechnicalRecordsShipped
from logs.app import create_service
from servicekit.clock import utcnow
from servicekit.logging import configure_logging
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.services import running
from support.waiting import eventually


async def test_the_logs_service_does_not_ship_its_own_ingest(namespace: ServiceSettings) -> None:
    """Shipping everything down to debug, the logs service stores a shipped batch and its own
    later records, but no record written while it handled a shipped batch."""
    configure_logging("logs", "debug", "json", stream=io.StringIO())
    settings = logs_settings(
        namespace, log_ship_level="debug", log_ship_interval_seconds=0.2, log_level="debug"
    )
    logs = create_service(settings)
    publisher = Service.create("nobody", namespace, stateless=True)
    probe = TechnicalRecord(at=utcnow(), service="accounts", level="info", event="probe")
    async with running(logs, publisher):
        await publisher.bus.publish(TechnicalRecordsShipped(records=[probe]))
        await eventually(lambda: _stored(logs, "probe"), what="the shipped probe stored")
        structlog.get_logger("test").info("marker_after_ingest")
        await eventually(
            lambda: _stored(logs, "marker_after_ingest"), what="the service's own record stored"
        )
        own = [d async for d in logs.db[TECHNICAL].find({"service": "logs"})]
    assert own, "the logs service ships its own records"
    looped = [d for d in own if d.get("message_type") == TechnicalRecordsShipped.TYPE]
    assert looped == [], f"records of its own ingest were shipped: {looped[:3]}"


async def _stored(service: Service, event: str) -> bool:
    return await service.db[TECHNICAL].count_documents({"event": event}) > 0
