"""One service's export larger than the store's 16 MB document limit: its parts travel as
outbox documents of their own, and the package holds all of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import bson
import pytest
from exports_support import INVENTORY, OWNER, PARTNER, Clock, LargeOwner, World, zip_entries
from exports_support import privacy_with_exports as privacy_service
from test_export_packages import _download

from contracts.privacy import SubjectRef
from contracts.privacy_exports import ExportLink, GetExportLink
from servicekit.export_parts import EXPORT_PARTS, export_bytes
from servicekit.privacy import RECEIPTS
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.services import fresh_namespace, running
from support.waiting import eventually

MIB = 1024 * 1024
STORE_DOCUMENT_LIMIT = 16 * MIB


def huge_notes(email: str) -> list[dict[str, Any]]:
    """About 17 MB of notes about a person."""
    text = "Réunion « export » n°{n}: " + "voyage, forfait, itinérance; " * 140
    return [{"id": f"note_{n:05d}", "email": email, "text": text.format(n=n)} for n in range(4200)]


class HugeOwner(LargeOwner):
    """A data owner whose export of any subject is larger than one store document."""

    def export_of(self, subject: SubjectRef) -> dict[str, Any]:
        """What this owner exports about a subject: over 16 MB."""
        email = str(subject.email)
        return {"notes": huge_notes(email), "profile": {"email": email, "plan": "gold"}}


@pytest.fixture
async def huge(amqp_url: str, mongo_url: str) -> AsyncIterator[World]:
    """Privacy, and alpha cutting its (huge) exports into parts of 1 MiB, running."""
    async with fresh_namespace(amqp_url, mongo_url, ["privacy", OWNER, "caller"]) as base:
        clock = Clock()
        privacy = privacy_service(base, clock)
        settings = ServiceSettings.model_validate({**base.model_dump(), "export_part_bytes": MIB})
        owner = Service.create(OWNER, settings)
        owner.join_privacy(INVENTORY, HugeOwner(), identifiers=["email"])
        caller = Service.create("caller", base, stateless=True)
        async with running(privacy, owner, caller):

            async def known() -> bool:
                return await privacy.db["receipt_keys"].find_one({"service": OWNER}) is not None

            await eventually(known, what="alpha registered")
            yield World(privacy=privacy, owner=owner, caller=caller, clock=clock)


async def test_an_export_larger_than_a_store_document_reaches_the_package(huge: World) -> None:
    """An export over 16 MB is written as one outbox document per part (none near the
    limit), its receipt carries only the signed result, and the package holds every note."""
    email = "huge.hanna@example.com"
    expected = HugeOwner().export_of(SubjectRef(email=email))
    assert len(export_bytes(expected)) > STORE_DOCUMENT_LIMIT

    request_id = await huge.access_request(email)

    package = await huge.settled(request_id)
    assert package["status"] == "ready", package.get("error")
    owner_db = huge.owner.db
    parts = await owner_db[EXPORT_PARTS].find({"task_id": f"{request_id}.{OWNER}"}).to_list()
    assert len(parts) == -(-len(export_bytes(expected)) // MIB)
    assert max(len(bson.encode(part)) for part in parts) < 2 * MIB
    receipt = await owner_db[RECEIPTS].find_one({"request_id": request_id})
    assert receipt is not None
    assert len(bson.encode(receipt)) < 64 * 1024
    link = await huge.ask(GetExportLink(request_id=request_id, partner_id=PARTNER), ExportLink)
    entries = zip_entries(await _download(huge, link))
    notes = entries[f"{OWNER}/notes.json"]
    assert len(notes) > STORE_DOCUMENT_LIMIT
    assert notes.decode().count('"id"') == len(expected["notes"])
    assert entries[f"{OWNER}/profile.json"].decode().count(email) == 1
