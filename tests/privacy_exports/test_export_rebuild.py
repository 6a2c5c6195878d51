"""A late answer that completes a request closed with exceptions rebuilds its export package."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from exports_support import INVENTORY, OWNER, PARTNER, Clock, World, large_owner, zip_entries
from exports_support import privacy_with_exports as privacy_service
from test_export_packages import _download

from contracts.privacy import (
    CategoryOutcome,
    Disposition,
    PrivacyRequestView,
    RequestStatus,
    RequestType,
    SubjectRef,
    SubmitPrivacyRequest,
)
from contracts.privacy_exports import ExportLink, GetExportLink
from privacy import export_store, store
from servicekit.service import Service
from support.services import fresh_namespace, running
from support.waiting import eventually

LATE = "beta"


class LateOwner:
    """A data owner whose export waits until the test lets it answer."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def locate(self, subject: SubjectRef, *, scope: str | None) -> list[CategoryOutcome]:
        """One profile found."""
        return [CategoryOutcome(category="profile", records=1, disposition=Disposition.FOUND)]

    async def export(self, subject: SubjectRef, *, scope: str | None) -> dict[str, Any]:
        """The profile, once released."""
        await self.release.wait()
        return {"profile": {"email": str(subject.email), "tier": "late"}}

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


@pytest.fixture
async def late(amqp_url: str, mongo_url: str) -> AsyncIterator[tuple[World, LateOwner]]:
    """Privacy (giving a task up after 0.5 s), alpha and the late owner beta, running."""
    async with fresh_namespace(amqp_url, mongo_url, ["privacy", OWNER, LATE, "caller"]) as base:
        clock = Clock()
        privacy = privacy_service(
            base, clock, privacy_task_retry_seconds=[0.5], privacy_task_sweep_seconds=0.2
        )
        owner, _ = large_owner(base)
        beta = Service.create(LATE, base)
        late_owner = LateOwner()
        beta.join_privacy(INVENTORY, late_owner, identifiers=["email"])
        caller = Service.create("caller", base, stateless=True)
        async with running(privacy, owner, beta, caller):

            async def known() -> bool:
                keys = {d["service"] async for d in privacy.db["receipt_keys"].find({})}
                return keys >= {OWNER, LATE}

            await eventually(known, what="alpha and beta registered")
            try:
                yield World(privacy=privacy, owner=owner, caller=caller, clock=clock), late_owner
            finally:
                late_owner.release.set()  # never leave beta's handler blocked


def _not_included(entries: dict[str, bytes]) -> list[str]:
    return [entry["service"] for entry in json.loads(entries["manifest.json"])["not_included"]]


async def _status_of(world: World, request_id: str, wanted: RequestStatus) -> bool:
    return (await world.request(request_id))["status"] == wanted.value


async def _package_ready(world: World, request_id: str, generation: int) -> dict[str, Any] | None:
    package = await world.package(request_id)
    ready = package is not None and package["status"] == "ready"
    return package if ready and package and package.get("generation") == generation else None


async def test_a_late_answer_rebuilds_the_package_with_its_data(
    late: tuple[World, LateOwner],
) -> None:
    """Closed with exceptions (beta gave no answer), the package holds alpha's export and
    names beta as not included; beta's late answer completes the request and the package is
    built anew with beta's data, the earlier file's chunks replaced, the same link working."""
    world, late_owner = late
    email = "late.lena@example.com"
    view = await world.ask(
        SubmitPrivacyRequest(
            partner_id=PARTNER, type=RequestType.ACCESS, subject=SubjectRef(email=email)
        ),
        PrivacyRequestView,
    )
    exceptions = RequestStatus.COMPLETED_WITH_EXCEPTIONS
    await eventually(lambda: _status_of(world, view.id, exceptions), what="closed with exceptions")
    first = await eventually(lambda: _package_ready(world, view.id, 0), what="first package")
    link = await world.ask(GetExportLink(request_id=view.id, partner_id=PARTNER), ExportLink)
    before = zip_entries(await _download(world, link))
    assert f"{LATE}/profile.json" not in before
    assert _not_included(before) == [LATE]

    late_owner.release.set()

    await eventually(lambda: _status_of(world, view.id, RequestStatus.COMPLETED), what="completed")
    second = await eventually(lambda: _package_ready(world, view.id, 1), what="rebuilt package")
    assert second["file"]["sha256"] != first["file"]["sha256"]
    after = zip_entries(await _download(world, link))  # the link given before still works
    assert json.loads(after[f"{LATE}/profile.json"]) == {"email": email, "tier": "late"}
    assert f"{OWNER}/notes.json" in after
    assert _not_included(after) == []
    files = world.db[export_store.FILES]
    assert await files.count_documents({"request_id": view.id, "generation": {"$nin": [1]}}) == 0
    assert await world.db[export_store.PARTS].count_documents({"request_id": view.id}) == 0
    assert await world.db[store.EXPORTS].count_documents({"request_id": view.id}) == 0
