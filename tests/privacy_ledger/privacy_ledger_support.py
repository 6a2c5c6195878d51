"""Helpers of the erasure-ledger tests: the running world and opening requests as ops."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.privacy import (
    PrivacyRequestView,
    RequestChannel,
    RequestType,
    SubjectRef,
    SubmitPrivacyRequest,
)
from servicekit.service import Service
from support.privacy_owners import Db, FakeOwner, ask_privacy

OWNER = "beta"


@dataclass
class Ledgered:
    """The privacy service, the played data owner `beta` and the ledger's index."""

    privacy: Service
    owner: FakeOwner
    blind: Any

    @property
    def db(self) -> Db:
        """The privacy service's database."""
        return self.privacy.db

    @property
    def client(self) -> Service:
        """Beta's service, which also asks privacy as ops does."""
        return self.owner.service


async def submit(
    client: Service, request_type: RequestType, subject: SubjectRef
) -> PrivacyRequestView:
    """Open a request as ops."""
    query = SubmitPrivacyRequest(
        channel=RequestChannel.OPS, requested_by="test", type=request_type, subject=subject
    )
    view: PrivacyRequestView = await ask_privacy(client, query)
    return view
