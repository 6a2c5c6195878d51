"""The privacy framework hands a command's partner scope to the handler and announces the
kinds of identifier a service finds data by."""

from __future__ import annotations

from typing import Any

from contracts.privacy import (
    CategoryOutcome,
    DataCategory,
    EraseSubject,
    ExportSubject,
    IdentifierKind,
    InventoryAnnounced,
    InventoryRequested,
    LegalBasis,
    LocateSubject,
    PrivacyAction,
    PrivacyTaskCompleted,
    RectifySubject,
    RestrictSubject,
    SubjectRef,
)
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.services import running
from support.waiting import eventually

INVENTORY = [
    DataCategory(
        name="cards",
        description="Cards of end users.",
        fields=["email", "iccid"],
        purpose="Testing.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Until erased.",
        actions=list(PrivacyAction),
    )
]
IDENTIFIERS: list[IdentifierKind] = ["email", "iccid"]
SUBJECT = SubjectRef(email="dora@example.com")


class RecordingPrivacy:
    """A data owner that records which action it was asked for, with which scope."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    async def locate(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        self.calls.append(("locate", scope))
        return []

    async def export(self, subject: SubjectRef, *, scope: str | None) -> dict[str, Any]:
        self.calls.append(("export", scope))
        return {}

    async def erase(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        self.calls.append(("erase", scope))
        return []

    async def restrict(
        self, subject: SubjectRef, *, scope: str | None, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        self.calls.append(("restrict", scope))
        return []

    async def rectify(
        self, subject: SubjectRef, changes: dict[str, str], *, scope: str | None
    ) -> list[CategoryOutcome]:
        self.calls.append(("rectify", scope))
        return []


def _services(settings: ServiceSettings) -> tuple[Service, Service, RecordingPrivacy, list[Any]]:
    owner = Service.create("alpha", settings)
    privacy = RecordingPrivacy()
    owner.join_privacy(INVENTORY, privacy, identifiers=IDENTIFIERS)
    collector = Service.create("privacy", settings)
    heard: list[Any] = []

    async def on_event(event: Any, _context: MessageContext) -> None:
        heard.append(event)

    collector.router.on(PrivacyTaskCompleted, on_event)
    collector.router.on(InventoryAnnounced, on_event)
    return owner, collector, privacy, heard


def _commands(scope: str | None, run: str) -> list[Any]:
    common: dict[str, Any] = {"subject": SUBJECT, "scope_partner_id": scope}

    def ids(action: str) -> dict[str, str]:
        return {"request_id": f"dsr_{run}_{action}", "task_id": f"dsr_{run}_{action}.alpha"}

    return [
        LocateSubject(**ids("locate"), **common),
        ExportSubject(**ids("export"), **common),
        EraseSubject(**ids("erase"), **common),
        RestrictSubject(**ids("restrict"), **common),
        RectifySubject(**ids("rectify"), **common, changes={"email": "dora@example.net"}),
    ]


async def test_each_command_hands_its_partner_scope_to_the_handler(
    settings: ServiceSettings,
) -> None:
    """Every one of the five commands reaches the handler with the command's
    `scope_partner_id` as `scope`: the partner's id when set, None when absent."""
    owner, collector, privacy, heard = _services(settings)
    async with running(collector, owner):
        for command in [*_commands("ptn_a", "scoped"), *_commands(None, "open")]:
            await collector.bus.publish(command, to="alpha")

        async def all_answered() -> bool:
            return sum(isinstance(item, PrivacyTaskCompleted) for item in heard) >= 10

        await eventually(all_answered, what="ten results")
    actions = ["locate", "export", "erase", "restrict", "rectify"]
    expected = {(action, "ptn_a") for action in actions} | {(action, None) for action in actions}
    assert set(privacy.calls) == expected
    assert privacy.calls.count(("locate", "ptn_a")) == 2  # an export locates too, in scope
    assert privacy.calls.count(("locate", None)) == 2


async def test_the_announced_inventory_carries_the_identifier_kinds(
    settings: ServiceSettings,
) -> None:
    """The inventory announced at start-up and on request names the identifier kinds the
    service declared when it joined the privacy fan-out."""
    owner, collector, _, heard = _services(settings)
    assert owner.identifiers == IDENTIFIERS
    async with running(collector, owner):

        async def announced(count: int) -> bool:
            return sum(isinstance(item, InventoryAnnounced) for item in heard) >= count

        await eventually(lambda: announced(1), what="inventory announced at start")
        await collector.bus.publish(InventoryRequested())
        await eventually(lambda: announced(2), what="inventory announced on request")
    inventories = [item for item in heard if isinstance(item, InventoryAnnounced)]
    assert [item.identifiers for item in inventories] == [IDENTIFIERS, IDENTIFIERS]
    assert all(item.service == "alpha" for item in inventories)
