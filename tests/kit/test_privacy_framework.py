"""The privacy-command framework: what a data-owning service gets by implementing one interface."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp

from contracts.privacy import (
    CategoryOutcome,
    DataCategory,
    Disposition,
    EraseSubject,
    ExportSubject,
    InventoryAnnounced,
    InventoryRequested,
    LegalBasis,
    PrivacyAction,
    PrivacyTaskCompleted,
    SubjectRef,
)
from servicekit.clock import utcnow
from servicekit.inbox import Inbox
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.services import running
from support.waiting import eventually

INVENTORY = [
    DataCategory(
        name="notes",
        description="Notes about a person.",
        fields=["email", "text"],
        purpose="Testing.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Until erased.",
        actions=list(PrivacyAction),
    )
]


class NotesPrivacy:
    """A minimal data owner: notes keyed by email; erase fails while `broken` is set."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.erase_calls = 0
        self.broken = False

    async def locate(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        count = await self.service.db["notes"].count_documents({"email": subject.email})
        return [CategoryOutcome(category="notes", records=count, disposition=Disposition.FOUND)]

    async def export(self, subject: SubjectRef, *, scope: str | None) -> dict[str, Any]:
        notes = self.service.db["notes"].find({"email": subject.email}, {"_id": 0})
        return {"notes": [doc async for doc in notes]}

    async def erase(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        self.erase_calls += 1
        if self.broken:
            raise RuntimeError("storage on fire")
        deleted = await self.service.db["notes"].delete_many({"email": subject.email})
        return [
            CategoryOutcome(
                category="notes", records=deleted.deleted_count, disposition=Disposition.DELETED
            )
        ]

    async def restrict(
        self, subject: SubjectRef, *, scope: str | None, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        return []

    async def rectify(
        self, subject: SubjectRef, changes: dict[str, str], *, scope: str | None
    ) -> list[CategoryOutcome]:
        return []


def _owner(settings: ServiceSettings) -> tuple[Service, NotesPrivacy]:
    service = Service.create("alpha", settings)
    privacy = NotesPrivacy(service)
    service.join_privacy(INVENTORY, privacy, identifiers=["email"])
    return service, privacy


def _collector(settings: ServiceSettings) -> tuple[Service, list[Any]]:
    """A stand-in privacy service that records what the data owner says."""
    service = Service.create("privacy", settings)
    heard: list[Any] = []

    async def on_result(event: PrivacyTaskCompleted, _context: MessageContext) -> None:
        heard.append(event)

    async def on_inventory(event: InventoryAnnounced, _context: MessageContext) -> None:
        heard.append(event)

    service.router.on(PrivacyTaskCompleted, on_result)
    service.router.on(InventoryAnnounced, on_inventory)
    return service, heard


def _results(heard: list[Any]) -> list[PrivacyTaskCompleted]:
    return [item for item in heard if isinstance(item, PrivacyTaskCompleted)]


async def test_a_task_runs_once_per_task_id_and_reports_its_outcome(
    settings: ServiceSettings,
) -> None:
    """An erase command is answered with a result; the same task sent again (a new message
    with the same task id, as the privacy service resends an unanswered task) does not erase
    again but answers again with the same signed result."""
    collector, heard = _collector(settings)
    owner, privacy = _owner(settings)
    async with running(collector, owner):
        await owner.db["notes"].insert_many(
            [{"email": "ann@example.com", "text": "a"}, {"email": "ann@example.com", "text": "b"}]
        )
        command = EraseSubject(
            request_id="dsr_1", task_id="dsr_1.alpha", subject=SubjectRef(email="ann@example.com")
        )
        await collector.bus.publish(command, to="alpha")
        await eventually(lambda: _some(_results(heard)), what="the erase result")
        await owner.db["notes"].insert_one({"email": "ann@example.com", "text": "c"})
        await collector.bus.publish(command, to="alpha")
        await eventually(lambda: _count(_results(heard), 2), what="the answer sent again")
        left = await _notes_left(owner)
    first, again = _results(heard)
    assert first.succeeded
    assert first.service == "alpha"
    assert first.outcomes[0].records == 2
    assert first.outcomes[0].disposition is Disposition.DELETED
    assert again == first
    assert privacy.erase_calls == 1
    assert left == 1


async def _count(items: list[Any], wanted: int) -> bool:
    return len(items) >= wanted


async def _notes_left(owner: Service) -> int:
    return int(await owner.db["notes"].count_documents({}))


async def test_a_task_that_keeps_failing_is_reported_failed_not_left_open(
    settings: ServiceSettings,
) -> None:
    """When erasing keeps failing, the framework retries, then answers `succeeded: false`
    with an error that carries no internal detail."""
    collector, heard = _collector(settings)
    owner, privacy = _owner(settings)
    privacy.broken = True
    async with running(collector, owner):
        await collector.bus.publish(
            EraseSubject(
                request_id="dsr_2", task_id="dsr_2.alpha", subject=SubjectRef(email="b@example.com")
            ),
            to="alpha",
        )
        await eventually(lambda: _some(_results(heard)), what="the failure reported")
    result = _results(heard)[0]
    assert not result.succeeded
    assert result.error is not None
    assert "storage on fire" not in result.error
    assert privacy.erase_calls == 1 + len(settings.retry_delays_ms)


async def test_exports_travel_with_the_result_and_inventories_are_announced(
    settings: ServiceSettings,
) -> None:
    """A data owner announces its inventory at start-up and again when asked, and an export
    command answers with the subject's data."""
    collector, heard = _collector(settings)
    owner, _ = _owner(settings)
    async with running(collector, owner):
        await eventually(lambda: _inventories(heard, 1), what="inventory announced at start")
        await collector.bus.publish(InventoryRequested())
        await eventually(lambda: _inventories(heard, 2), what="inventory announced on request")
        await owner.db["notes"].insert_one({"email": "cy@example.com", "text": "hello"})
        await collector.bus.publish(
            ExportSubject(
                request_id="dsr_3",
                task_id="dsr_3.alpha",
                subject=SubjectRef(email="cy@example.com"),
            ),
            to="alpha",
        )
        await eventually(lambda: _some(_results(heard)), what="the export")
    announced = next(item for item in heard if isinstance(item, InventoryAnnounced))
    assert announced.service == "alpha"
    assert announced.categories == INVENTORY
    export = _results(heard)[0].export
    assert export == {"notes": [{"email": "cy@example.com", "text": "hello"}]}


async def test_ops_endpoints_report_health_readiness_and_metrics(
    settings: ServiceSettings,
) -> None:
    """/healthz answers, /readyz checks bus and store, /metrics exposes the bus counters."""
    owner, _ = _owner(settings)
    async with running(owner) as servers, aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{servers[0].port}"
        async with session.get(f"{base}/healthz") as response:
            assert response.status == 200
        async with session.get(f"{base}/readyz") as response:
            assert response.status == 200
            assert await response.json() == {
                "status": "ready",
                "checks": {"bus": True, "store": True},
            }
        async with session.get(f"{base}/metrics") as response:
            text = await response.text()
        assert "bus_messages_published_total" in text
        assert 'type="privacy.inventory_announced.v1"' in text
        assert "X-Request-Id" in response.headers


async def _some(values: list[Any]) -> bool:
    return bool(values)


async def _inventories(heard: list[Any], count: int) -> bool:
    return sum(isinstance(item, InventoryAnnounced) for item in heard) >= count


async def test_the_inbox_forgets_message_ids_past_its_retention(settings: ServiceSettings) -> None:
    """Pruning removes handled message ids recorded before the cut-off and keeps newer ones."""
    owner, _ = _owner(settings)
    async with running(owner):
        inbox = Inbox(owner.db)
        now = utcnow()
        await owner.db["_inbox"].insert_many(
            [
                {"_id": "msg_old", "type": "t", "at": now - timedelta(days=8)},
                {"_id": "msg_new", "type": "t", "at": now - timedelta(hours=1)},
            ]
        )
        assert await inbox.prune(now - timedelta(days=7)) == 1
        assert await inbox.seen("msg_new")
        assert not await inbox.seen("msg_old")
