"""Helpers of the export-package tests: a data owner with a large export, the privacy service
wired with the export packages, and the calls a test makes."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
from pymongo.asynchronous.database import AsyncDatabase

from contracts import Query, Reply
from contracts.accounts import Actor, Role, Scope
from contracts.apikeys import CreateApiKey, NewApiKey
from contracts.identity import CreatePartner, PartnerView, PostalAddress
from contracts.privacy import (
    CategoryOutcome,
    DataCategory,
    Disposition,
    LegalBasis,
    PrivacyAction,
    PrivacyRequestView,
    RequestChannel,
    RequestStatus,
    RequestType,
    SubjectRef,
    SubmitPrivacyRequest,
)
from contracts.privacy_exports import PrivacyExportPart
from privacy import exports, store
from privacy.app import create_service as create_privacy
from privacy.export_links import generate_link_key
from privacy.settings import PrivacySettings
from servicekit.clock import utcnow
from servicekit.errors import RemoteCallError
from servicekit.export_parts import split_export
from servicekit.ids import new_id
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.waiting import eventually

OWNER = "alpha"
PARTNER = "ptn_exports"
PART_BYTES = 2048
Db = AsyncDatabase[dict[str, Any]]
R = TypeVar("R", bound=Reply)

INVENTORY = [
    DataCategory(
        name=name,
        description=f"{name} of a person.",
        fields=["email"],
        purpose="Testing export packages.",
        legal_basis=LegalBasis.CONTRACT,
        retention="Until erased.",
        actions=list(PrivacyAction),
    )
    for name in ("notes", "profile")
]


def notes_of(email: str, count: int = 120) -> list[dict[str, Any]]:
    """Many notes about a person (far more than one part), with nested values and accents."""
    return [
        {
            "id": f"note_{n:04d}",
            "email": email,
            "text": f"Réunion n°{n}: « export » test, line {n}",
            "tags": ["travel", f"t{n % 7}"],
            "meta": {"source": "api", "rank": n},
        }
        for n in range(count)
    ]


class LargeOwner:
    """A data owner whose export of any subject is large: notes and a profile."""

    def __init__(self) -> None:
        self.exported: dict[str, dict[str, Any]] = {}

    def export_of(self, subject: SubjectRef) -> dict[str, Any]:
        """What this owner exports about a subject."""
        email = str(subject.email)
        return {"notes": notes_of(email), "profile": {"email": email, "plan": "gold"}}

    async def locate(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        """Every category is found."""
        return [
            CategoryOutcome(category="notes", records=120, disposition=Disposition.FOUND),
            CategoryOutcome(category="profile", records=1, disposition=Disposition.FOUND),
        ]

    async def export(self, subject: SubjectRef, *, scope: str | None) -> dict[str, Any]:
        """The large export."""
        return self.export_of(subject)

    async def erase(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        """Not used by these tests."""
        return []

    async def restrict(
        self, subject: SubjectRef, *, scope: str | None, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        """Not used by these tests."""
        return []

    async def rectify(
        self, subject: SubjectRef, changes: dict[str, str], *, scope: str | None
    ) -> list[CategoryOutcome]:
        """Not used by these tests."""
        return []


def large_owner(base: ServiceSettings) -> tuple[Service, LargeOwner]:
    """The data owner `alpha`, cutting its exports into parts of PART_BYTES."""
    settings = ServiceSettings.model_validate(
        {**base.model_dump(), "export_part_bytes": PART_BYTES}
    )
    service = Service.create(OWNER, settings)
    handler = LargeOwner()
    service.join_privacy(INVENTORY, handler, identifiers=["email"])
    return service, handler


@dataclass
class Clock:
    """The privacy service's export clock: real time unless a test sets it."""

    at: datetime | None = None

    def __call__(self) -> datetime:
        """Now, as the export packages see it."""
        return self.at or utcnow()


def privacy_with_exports(base: ServiceSettings, clock: Clock, **overrides: Any) -> Service:
    """The real privacy service (export packages included) on the test's clock."""
    values = {**base.model_dump(), "export_link_key": generate_link_key(), **overrides}
    return create_privacy(PrivacySettings.model_validate(values), clock)


def zip_entries(data: bytes) -> dict[str, bytes]:
    """Every file of a ZIP, by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@dataclass
class World:
    """The privacy service, the data owner and a caller, running in one namespace."""

    privacy: Service
    owner: Service
    caller: Service
    clock: Clock
    opened: list[str] = field(default_factory=list)

    @property
    def db(self) -> Db:
        """The privacy service's database."""
        return self.privacy.db

    async def ask(self, query: Query, reply: type[R]) -> R:
        """A query to the privacy service."""
        return await self.caller.bus.request(query, to="privacy", reply=reply, timeout=10)

    async def refusal(self, query: Query, reply: type[Reply]) -> RemoteCallError:
        """The error the privacy service answers a query with."""
        try:
            await self.ask(query, reply)
        except RemoteCallError as error:
            return error
        raise AssertionError(f"{query.TYPE} was answered")

    async def access_request(self, email: str, kind: RequestType = RequestType.ACCESS) -> str:
        """Open an access (or portability) request and wait until every task answered."""
        view = await self.ask(
            SubmitPrivacyRequest(partner_id=PARTNER, type=kind, subject=SubjectRef(email=email)),
            PrivacyRequestView,
        )
        await eventually(lambda: self.closed(view.id), what=f"{view.id} closed")
        return view.id

    async def closed(self, request_id: str) -> bool:
        """Whether the request completed."""
        document = await self.request(request_id)
        return document["status"] == RequestStatus.COMPLETED.value

    async def request(self, request_id: str) -> dict[str, Any]:
        """The stored request."""
        document = await self.db[store.REQUESTS].find_one({"_id": request_id})
        assert document is not None
        return document

    async def build(self, request_id: str) -> dict[str, Any]:
        """Build the request's package as the lead's close does; the package document."""
        await exports.build_package(self.db, await self.request(request_id), self.clock())
        package = await self.db["export_packages"].find_one({"_id": request_id})
        assert package is not None
        return package

    async def package(self, request_id: str) -> dict[str, Any] | None:
        """The request's package document, if any."""
        return await self.db["export_packages"].find_one({"_id": request_id})

    async def settled(self, request_id: str) -> dict[str, Any]:
        """Build the package and wait until it is ready or refused (parts may still arrive)."""
        await self.build(request_id)

        async def finished() -> dict[str, Any] | None:
            package = await self.package(request_id)
            done = package is not None and package["status"] in ("ready", "failed")
            return package if done else None

        return await eventually(finished, what=f"the package of {request_id} settled")


OPS = Actor(kind="user", id="usr_ops", role=Role.OPS)


async def partner_key(world: World) -> tuple[str, str]:
    """A new partner and its test-mode API key that may open and read privacy requests."""
    partner = await world.caller.bus.request(
        CreatePartner(
            actor=OPS,
            business_name="Export Travel Ltd",
            registration_number="HRB 2",
            address=PostalAddress(
                line1="Main St 2", city="Berlin", postal_code="10115", country="DE"
            ),
            phone="+4930123457",
        ),
        to="accounts",
        reply=PartnerView,
        timeout=10,
    )
    created = await world.caller.bus.request(
        CreateApiKey(
            actor=OPS,
            partner_id=partner.id,
            name="export tests",
            scopes=[Scope.PRIVACY_READ, Scope.PRIVACY_WRITE],
            mode="test",
        ),
        to="accounts",
        reply=NewApiKey,
        timeout=10,
    )
    return partner.id, created.api_key.get_secret_value()


@dataclass
class Gateway:
    """The export world behind the gateway, with a partner's API session."""

    world: World
    api: aiohttp.ClientSession
    base_url: str
    partner_id: str


async def stage_request(
    world: World, email: str, partner_id: str = PARTNER
) -> tuple[str, list[PrivacyExportPart]]:
    """A closed access request whose only task (alpha's) has an accepted receipt over the
    export's SHA-256, stored as the privacy service keeps them, and the export's parts, not
    yet sent: each test delivers them as it needs. Nothing else builds its package."""
    request_id = new_id("dsr")
    task_id = f"{request_id}.{OWNER}"
    export = LargeOwner().export_of(SubjectRef(email=email))
    in_parts = split_export(
        request_id=request_id, task_id=task_id, service=OWNER, export=export, part_bytes=PART_BYTES
    )
    receipt_id = f"{task_id}/staged"
    signed = {"task_id": task_id, "export_sha256": in_parts.sha256}
    await world.db["receipts"].insert_one(
        {
            "_id": receipt_id,
            "request_id": request_id,
            "task_id": task_id,
            "service": OWNER,
            "verdict": "accepted",
            "signed": json.dumps(signed),
        }
    )
    now = utcnow()
    task = {"task_id": task_id, "action": "export", "status": "completed", "receipt": receipt_id}
    await world.db[store.REQUESTS].insert_one(
        {
            "_id": request_id,
            "partner_id": partner_id,
            "channel": RequestChannel.PARTNER.value,
            "type": RequestType.ACCESS.value,
            "status": RequestStatus.COMPLETED.value,
            "created_at": now,
            "completion": {"at": now},
            "tasks": {OWNER: task},
        }
    )
    return request_id, in_parts.parts
