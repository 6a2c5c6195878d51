"""Partners: business identity, sealed personal fields, status and closure, with events.

The tax id, address and phone are sealed under the partner's own key (subject: the partner
id); the phone also gets a blind index. Creation, rectification and closure each write their
event into the partner document's outbox in the same write (`accounts.partner_*.v1`).
A new partner's balance is opened in its currency through `open_balance` (the ledger's).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from accounts import store
from accounts.people import changed_fields, not_found, record_rectification
from accounts.store import Db
from contracts import Contract
from contracts.identity import (
    CreatePartner,
    PartnerClosed,
    PartnerCreated,
    PartnerStatus,
    PartnerUpdated,
    PartnerView,
    PostalAddress,
    UpdatePartner,
)
from servicekit.inbox import update_once
from servicekit.messages import Outgoing
from servicekit.outbox import add_outbox, with_outbox
from servicekit.vault import Vault

PARTNER_SEALED = ("tax_id", "address", "phone")
PARTNER_PLAIN = ("business_name", "registration_number")
OPEN_STATUSES = [PartnerStatus.ACTIVE.value, PartnerStatus.SUSPENDED.value]
BalanceOpener = Callable[[str, str, datetime], Awaitable[object]]
"""Opens a partner's balance at zero in a currency, idempotently: `(partner_id, currency, now)`."""


def partner_fields(
    request: CreatePartner | UpdatePartner,
) -> dict[str, str | None]:
    """The rectifiable fields of a request as strings (the address as JSON); None if not given."""
    address = request.address.model_dump_json() if request.address is not None else None
    return {
        "business_name": request.business_name,
        "registration_number": request.registration_number,
        "tax_id": request.tax_id,
        "address": address,
        "phone": request.phone,
    }


@dataclass
class Partners:
    """Creates, reads, rectifies and closes partners."""

    db: Db
    vault: Vault
    outgoing: Callable[[Contract], Outgoing]
    """Builds an outgoing message (the bus's `outgoing`) to keep in an outbox."""
    open_balance: BalanceOpener | None = None
    """The ledger's `open_balance`: a new partner's balance exists from its creation on."""

    async def create(
        self, request: CreatePartner, *, partner_id: str, now: datetime
    ) -> PartnerView:
        """Create an active partner; the same request again answers with the same partner."""
        fields = partner_fields(request)
        personal = {name: fields[name] for name in PARTNER_SEALED}
        sealed = await self.vault.seal(partner_id, partner_id, personal, indexed={"phone": "phone"})
        document = {
            "_id": partner_id,
            "business_name": request.business_name,
            "registration_number": request.registration_number,
            "currency": request.currency,
            "status": PartnerStatus.ACTIVE.value,
            **sealed,
            "created_at": now,
            "created_by": request.actor.id,
        }
        event = PartnerCreated(partner_id=partner_id, currency=request.currency, created_at=now)
        with contextlib.suppress(DuplicateKeyError):  # a repeat of the same request
            await self.db[store.PARTNERS].insert_one(with_outbox(document, self.outgoing(event)))
        view = await self.get(partner_id)
        if self.open_balance is not None:  # also on a repeat: finishes a creation cut short
            await self.open_balance(partner_id, view.currency, now)
        return view

    async def document(self, partner_id: str) -> dict[str, Any]:
        """The stored partner; not_found otherwise."""
        document = await self.db[store.PARTNERS].find_one({"_id": partner_id})
        if document is None:
            raise not_found("partner")
        return document

    async def get(self, partner_id: str) -> PartnerView:
        """The partner, decrypted."""
        return await self.view(await self.document(partner_id))

    async def current(self, document: Mapping[str, Any]) -> dict[str, str | None]:
        """The rectifiable fields of a stored partner, decrypted, as strings."""
        opened = await self.vault.open(document["_id"], document, PARTNER_SEALED)
        return {**{name: document.get(name) for name in PARTNER_PLAIN}, **opened}

    async def view(self, document: Mapping[str, Any]) -> PartnerView:
        """A stored partner as its view."""
        fields = await self.current(document)
        address = fields["address"]
        closure = document.get("closure")
        return PartnerView(
            id=document["_id"],
            business_name=fields["business_name"] or "",
            registration_number=fields["registration_number"] or "",
            tax_id=fields["tax_id"],
            address=PostalAddress.model_validate_json(address) if address else None,
            phone=fields["phone"],
            currency=document["currency"],
            status=document["status"],
            created_at=document["created_at"],
            closed_on=closure["at"].date() if closure else None,
        )

    async def update(
        self, request: UpdatePartner, *, message_id: str, now: datetime
    ) -> PartnerView:
        """Rectify the given fields; record which changed and announce their names."""
        document = await self.document(request.partner_id)
        changed = changed_fields(await self.current(document), partner_fields(request))
        if not changed:
            return await self.view(document)
        await record_rectification(
            self.db,
            record="partner",
            record_id=request.partner_id,
            partner_id=request.partner_id,
            fields=changed,
            by=request.actor.id,
            now=now,
            message_id=message_id,
        )
        personal = {name: value for name, value in changed.items() if name in PARTNER_SEALED}
        sealed = await self.vault.seal(
            request.partner_id, request.partner_id, personal, indexed={"phone": "phone"}
        )
        plain = {name: value for name, value in changed.items() if name in PARTNER_PLAIN}
        event = PartnerUpdated(
            partner_id=request.partner_id,
            fields=sorted(changed),
            updated_at=now,
            by=request.actor.id,
        )
        update = add_outbox({"$set": {**plain, **sealed}}, self.outgoing(event))
        await update_once(self.db[store.PARTNERS], {"_id": request.partner_id}, update, message_id)
        return await self.get(request.partner_id)

    async def close(
        self, partner_id: str, *, by: str, message_id: str, now: datetime
    ) -> PartnerView:
        """Close the partner (status closed, with the date); closing it again changes nothing."""
        document = await self.document(partner_id)
        if document["status"] == PartnerStatus.CLOSED.value:
            return await self.view(document)
        event = PartnerClosed(partner_id=partner_id, closed_on=now.date(), closed_at=now)
        update = add_outbox(
            {"$set": {"status": PartnerStatus.CLOSED.value, "closure": {"at": now, "by": by}}},
            self.outgoing(event),
        )
        criteria = {"_id": partner_id, "status": {"$in": OPEN_STATUSES}}
        await update_once(self.db[store.PARTNERS], criteria, update, message_id)
        return await self.get(partner_id)
