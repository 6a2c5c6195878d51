"""The log shipping processor: what a record becomes, and that it never blocks nor raises."""

from __future__ import annotations

import io
import math
from typing import Any

import structlog
from prometheus_client import REGISTRY

from contracts.logs import TechnicalRecord
from servicekit.bus import Bus
from servicekit.logging import REDACTED, configure_logging
from servicekit.logrecords import to_record
from servicekit.logshipping import LogShipper, ship_processor
from servicekit.topology import Topology


def dropped(service: str) -> float:
    """The drop counter of a service."""
    value = REGISTRY.get_sample_value("log_records_dropped_total", {"service": service})
    return value or 0


def shipper(service: str, capacity: int = 100, level: str = "info") -> LogShipper:
    """A shipper that is never started (nothing here touches the broker)."""
    bus = Bus(url="amqp://unused/", topology=Topology("unused"), service=service)
    return LogShipper(service=service, bus=bus, capacity=capacity, level=level)


def test_subject_ids_are_lifted_and_the_rest_bounded_into_fields() -> None:
    """Subject identifiers become record fields (to be sealed); everything else goes to
    `fields` as JSON scalars: at most 50 keys, strings cut at 1,000 characters, unsafe key
    characters replaced, non-finite floats and huge ints as text; the result is valid."""
    event: dict[str, Any] = {
        "event": "signed_in",
        "level": "info",
        "timestamp": "2026-11-26T10:00:00.500000Z",
        "service": "accounts",
        "email": "ada@example.com",
        "ip": "203.0.113.5",
        "user_agent": "Mozilla/5.0",
        "user_id": "usr_1",
        "partner_id": "ptn_1",
        "correlation_id": "cor_1",
        "long": "x" * 5000,
        "nested": {"a": [1, 2]},
        "ratio": math.inf,
        "huge": 2**70,
        "dotted.key": 1,
        "$where": "y",
        "nothing": None,
        "_record": object(),
        **{f"k{n:02d}": n for n in range(60)},
    }
    record = to_record(event, "info", "fallback")
    assert {k: record[k] for k in ("email", "ip", "user_agent", "user_id", "partner_id")} == {
        "email": "ada@example.com",
        "ip": "203.0.113.5",
        "user_agent": "Mozilla/5.0",
        "user_id": "usr_1",
        "partner_id": "ptn_1",
    }
    fields = record["fields"]
    assert len(fields) == 50
    assert fields["long"] == "x" * 1000
    assert fields["nested"] == '{"a": [1, 2]}'
    assert fields["ratio"] == "inf"
    assert fields["huge"] == str(2**70)
    assert fields["dotted_key"] == 1
    assert fields["_where"] == "y"
    assert "nothing" not in fields
    assert not set(fields) & {"email", "ip", "event", "timestamp", "_record", "service"}
    parsed = TechnicalRecord.model_validate(record)
    assert parsed.at.isoformat() == "2026-11-26T10:00:00.500000+00:00"
    assert (parsed.service, parsed.level, parsed.correlation_id) == ("accounts", "info", "cor_1")


def test_a_full_buffer_drops_and_counts_without_blocking() -> None:
    """Past its capacity the shipper keeps what it holds, drops the rest and counts each drop
    in `log_records_dropped_total{service}`."""
    target = shipper("unit_drops", capacity=3)
    before = dropped("unit_drops")
    for n in range(5):
        target.offer(to_record({"event": f"e{n}"}, "info", "unit_drops"))
    assert target.buffered == 3
    assert dropped("unit_drops") - before == 2


def test_the_processor_copies_redacted_records_at_or_above_the_ship_level() -> None:
    """Configured logging feeds the attached shipper after redaction; records below the ship
    level are not copied; a record that cannot be converted is skipped, never raised."""
    configure_logging("unit_level", "debug", "json", stream=io.StringIO())
    target = shipper("unit_level", level="warning")
    target.attach()
    try:
        log = structlog.get_logger("test")
        log.info("below_the_ship_level")
        log.warning("kept", api_key="esk_live_0123456789abcdefghijklmnopqrstuvwxyz")

        class Unprintable:
            def __str__(self) -> str:
                raise RuntimeError("no")

        event = {"event": "odd", "service": "unit_level", "value": Unprintable()}
        assert ship_processor(None, "warning", event) is event
    finally:
        target.detach()
    assert target.buffered == 1
    [record] = target.held()
    assert record["event"] == "kept"
    assert record["fields"]["api_key"] == REDACTED
