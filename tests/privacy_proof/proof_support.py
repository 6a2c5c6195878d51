"""Helpers of the proof tests: the running world of a test, and reading the privacy service's
stored requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.privacy import (
    PrivacyRequestView,
    RequestStatus,
    RequestType,
    SubjectRef,
    SubmitPrivacyRequest,
)
from privacy import store
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.privacy_owners import Db, FakeOwner, ask_privacy

FAKE = "alpha"
"""A data owner the tests play themselves, holding its signing key."""


async def submit_erasure(client: Service, email: str) -> PrivacyRequestView:
    """Open an erasure request through the privacy service, as the gateway does."""
    query = SubmitPrivacyRequest(
        partner_id="ptn_proof", type=RequestType.ERASURE, subject=SubjectRef(email=email)
    )
    view: PrivacyRequestView = await ask_privacy(client, query)
    return view


async def request_document(db: Db, request_id: str) -> dict[str, Any]:
    """The stored request."""
    document = await db[store.REQUESTS].find_one({"_id": request_id})
    assert document is not None
    return document


async def status_of(db: Db, request_id: str) -> str:
    """The stored request's status."""
    return str((await request_document(db, request_id))["status"])


async def closed(db: Db, request_id: str) -> bool:
    """Whether the request has left `in_progress`."""
    return await status_of(db, request_id) != RequestStatus.IN_PROGRESS.value


@dataclass
class Proof:
    """The running privacy service, the real data owners, and the client that asks privacy."""

    privacy: Service
    owners: list[Service]
    client: Service
    settings: ServiceSettings

    @property
    def db(self) -> Db:
        """The privacy service's database."""
        return self.privacy.db


@dataclass
class Alone(Proof):
    """Privacy with the forger `alpha` as its only data owner (the forger is the client)."""

    forger: FakeOwner
