"""Shipping log records to the logs service, without ever slowing the service down.

`RecordShipper` is the one machinery: a bounded buffer that `offer` fills without blocking
(a full buffer drops the record and counts it), and a background task that publishes the buffer
as batch events of up to 500 records, at least every `LOG_SHIP_INTERVAL_SECONDS`. A batch that
is not confirmed (broker down) is kept as it was, with its message id, and sent again until it
is: so a record is shipped once, and a batch the broker did receive before failing to confirm
is deduplicated by the consumer's inbox (and by the record ids `<message id>:<nnn>`).

`LogShipper` ships technical records (`logs.technical_records.v1`): `ship_processor` sits in the
structlog chain after redaction and copies each record (at or above `LOG_SHIP_LEVEL`) into the
shipper of this process, counting drops in `log_records_dropped_total{service}`. The gateway
ships its API request records with a `RecordShipper` of its own.

Records written while the logs service handles shipped batches are never shipped, whichever
service writes them: storing them would write more such records, a loop. What a record becomes
on the wire: `servicekit.logrecords`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Generic, TypeVar

import structlog
from prometheus_client import Counter
from pydantic import BaseModel, TypeAdapter, ValidationError

from contracts.base import Event
from contracts.gateway import ApiRequestsLogged
from contracts.logs import MAX_RECORDS_PER_BATCH, TechnicalRecord, TechnicalRecordsShipped
from servicekit.bus import Bus
from servicekit.ids import new_id
from servicekit.logrecords import LEVELS, level_of, to_record
from servicekit.messages import Outgoing
from servicekit.metrics import LOG_RECORDS_DROPPED
from servicekit.settings import ServiceSettings

log = structlog.get_logger("servicekit.logshipping")

PUBLISH_TIMEOUT_SECONDS = 5.0
FINAL_FLUSH_SECONDS = 2.0
INGEST_TYPES = frozenset({TechnicalRecordsShipped.TYPE, ApiRequestsLogged.TYPE})
"""Batches whose handling must not be shipped (the logs service storing them would loop)."""

RecordT = TypeVar("RecordT", bound=BaseModel)

_shippers: list[LogShipper] = []


def ship_processor(
    _logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: copy the record to this process's shipper; never blocks or raises."""
    if _shippers:
        with contextlib.suppress(Exception):  # logging goes on whatever shipping does
            _offer(method, event_dict)
    return event_dict


def _offer(method: str, event_dict: Mapping[str, Any]) -> None:
    if event_dict.get("message_type") in INGEST_TYPES:
        return
    level = level_of(method, event_dict)
    shipper = _shipper_for(event_dict.get("service"))
    if shipper is not None and LEVELS[level] >= shipper.min_level:
        shipper.offer(to_record(event_dict, level, shipper.service))


def _shipper_for(service: Any) -> LogShipper | None:
    """The shipper of the record's service; in one process per service (production), the one."""
    for shipper in _shippers:
        if shipper.service == service:
            return shipper
    return _shippers[0] if _shippers else None


class RecordShipper(Generic[RecordT]):
    """A bounded buffer of records and the task that publishes it in batch events."""

    def __init__(
        self,
        *,
        bus: Bus,
        record_model: type[RecordT],
        batch_of: Callable[[list[RecordT]], Event],
        dropped: Counter,
        capacity: int = 10_000,
        interval_seconds: float = 1.0,
        batch_size: int = MAX_RECORDS_PER_BATCH,
    ) -> None:
        self.bus = bus
        self.record_model = record_model
        self._records_adapter = TypeAdapter(list[record_model])  # type: ignore[valid-type]
        self.batch_of = batch_of
        self.dropped = dropped
        self.capacity = capacity
        self.interval_seconds = interval_seconds
        self.batch_size = min(batch_size, MAX_RECORDS_PER_BATCH)
        self.shipped = 0
        """Records confirmed by the broker."""
        self._buffer: deque[Mapping[str, Any] | RecordT] = deque()
        self._pending: tuple[Outgoing, int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._failing = False

    @property
    def buffered(self) -> int:
        """Records waiting to be shipped, besides a batch being retried."""
        return len(self._buffer)

    def held(self) -> list[Mapping[str, Any] | RecordT]:
        """A copy of the buffered records, oldest first."""
        return list(self._buffer)

    def offer(self, record: Mapping[str, Any] | RecordT) -> None:
        """Buffer a record (checked when its batch is built), or drop and count it when the
        buffer is full; never blocks (any thread)."""
        if len(self._buffer) >= self.capacity:
            self.dropped.inc()
            return
        self._buffer.append(record)
        if len(self._buffer) == self.batch_size:
            self._nudge()

    def _nudge(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Ship until cancelled; on cancellation, a last bounded attempt to ship the rest."""
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                await self._wait()
                await self.ship_all()
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ship_all(), FINAL_FLUSH_SECONDS)
            raise

    async def _wait(self) -> None:
        if self._failing:
            await asyncio.sleep(self.interval_seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.interval_seconds)
        self._wake.clear()

    async def ship_all(self) -> None:
        """Publish the batch being retried, then the buffer in batches; stop at a failure."""
        while self._pending is not None or self._buffer:
            if self._pending is None:
                self._pending = self._next_batch()
                if self._pending is None:
                    continue
            outgoing, count = self._pending
            try:
                await asyncio.wait_for(self.bus.publish_many([outgoing]), PUBLISH_TIMEOUT_SECONDS)
            except Exception as failure:
                self._note_failure(failure)
                return
            self._pending = None
            self.shipped += count
            if self._failing:
                self._failing = False
                log.info("log_shipping_resumed", batch=self.record_model.__name__)

    def _next_batch(self) -> tuple[Outgoing, int] | None:
        taken = [self._buffer.popleft() for _ in range(min(len(self._buffer), self.batch_size))]
        records = self._checked(taken)
        if not records:
            return None
        batch = self.batch_of(records)
        return self.bus.outgoing(batch, correlation_id=new_id("cor")), len(records)

    def _checked(self, taken: list[Mapping[str, Any] | RecordT]) -> list[RecordT]:
        """The records validated, all in one call; when one is invalid, each alone, and the
        invalid ones dropped and counted."""
        try:
            records: list[RecordT] = self._records_adapter.validate_python(taken)
            return records
        except ValidationError:
            pass
        records = []
        for record in taken:
            try:
                records.append(self.record_model.model_validate(record))
            except ValidationError:
                self.dropped.inc()
        return records

    def _note_failure(self, failure: Exception) -> None:
        if not self._failing:
            self._failing = True
            log.warning(
                "log_shipping_paused", batch=self.record_model.__name__, error=repr(failure)
            )


class LogShipper(RecordShipper[TechnicalRecord]):
    """One service process's technical log records, fed by `ship_processor`."""

    def __init__(
        self,
        *,
        service: str,
        bus: Bus,
        level: str = "info",
        capacity: int = 10_000,
        interval_seconds: float = 1.0,
        batch_size: int = MAX_RECORDS_PER_BATCH,
    ) -> None:
        super().__init__(
            bus=bus,
            record_model=TechnicalRecord,
            batch_of=lambda records: TechnicalRecordsShipped(records=records),
            dropped=LOG_RECORDS_DROPPED.labels(service),
            capacity=capacity,
            interval_seconds=interval_seconds,
            batch_size=batch_size,
        )
        self.service = service
        self.min_level = LEVELS[level]

    def attach(self) -> None:
        """Receive the records of this process from now on."""
        if self not in _shippers:
            _shippers.append(self)

    def detach(self) -> None:
        """Stop receiving records."""
        if self in _shippers:
            _shippers.remove(self)


def shipper_for(service: str, bus: Bus, settings: ServiceSettings) -> LogShipper:
    """The shipper of a service, configured by its `ServiceSettings`."""
    return LogShipper(
        service=service,
        bus=bus,
        level=settings.log_ship_level,
        capacity=settings.log_ship_buffer,
        interval_seconds=settings.log_ship_interval_seconds,
    )
