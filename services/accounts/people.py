"""Contact people of partners, with personal fields sealed at rest, and what people share.

Sealed by `servicekit.vault.Vault`, each under its own subject's key: a contact's name, email
and phone (subject: the contact id). Users are in `accounts.users`, partners' own fields in
`accounts.partners`. Emails and phones also get a blind index
(`email_bidx`, `phone_bidx`) for exact lookups. Rectifications record which fields changed,
when and by whom, never the values. A person under a restriction of processing is never
added to new processing, and a person who restricted processing or objected to it gets no
non-essential email. Both ask the service's register (`servicekit.restrictions`, kept from the
privacy service's broadcast: a partner's request counts for that partner's people, an
unscoped one for everyone's) by the person's blind indexes, and accounts' own `restrictions`
(keyed by blind index too), where an unscoped request also puts the email and phone of the
people it found by user or partner id, which the broadcast does not name.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from accounts import store
from accounts.store import Db
from contracts.dashboard import UserView
from contracts.identity import (
    AddContact,
    ContactView,
    EmailPurpose,
    PartnerStatus,
    UpdateContact,
)
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.inbox import update_once
from servicekit.restrictions import RestrictionRegister, value_key
from servicekit.vault import Vault, blind_field

CONTACT_SEALED = ("name", "email", "phone")
INDEXED = {"email": "email", "phone": "phone"}
"""Sealed fields that also get a blind index, and the kind of each."""
LIST_LIMIT = 500
_MESSAGE_ID = re.compile(r"msg_([0-9a-z]{26})")


def id_from_message(prefix: str, message_id: str) -> str:
    """The id of the record a request creates, derived from the request's message id.

    A redelivered request then finds the record it already made instead of making another.
    Anything that is not a platform message id gets a fresh id.
    """
    match = _MESSAGE_ID.fullmatch(message_id)
    return f"{prefix}_{match.group(1)}" if match else new_id(prefix)


def not_found(what: str) -> ServiceError:
    """The error for a record that does not exist (or belongs to another partner)."""
    return ServiceError("not_found", f"no such {what}")


PERSON_INDEXES = (blind_field("email"), blind_field("phone"))
"""The fields of a contact or user that keep the blind indexes of email and phone."""


def can_email(person: ContactView | UserView, purpose: EmailPurpose) -> bool:
    """Whether we may email this person for `purpose`.

    Essential email (security, service, legal notices) always; marketing and updates never
    to a person who restricted processing or objected to it.
    """
    if purpose is EmailPurpose.ESSENTIAL:
        return True
    return not (person.restricted or person.objection)


def restriction_flags(document: Mapping[str, Any]) -> dict[str, bool]:
    """The `restricted` and `objection` flags of a stored person (false when never set)."""
    restriction = document.get("restriction") or {}
    return {
        "restricted": bool(restriction.get("restricted")),
        "objection": bool(restriction.get("objection")),
    }


def changed_fields(current: Mapping[str, str | None], wanted: Mapping[str, Any]) -> dict[str, str]:
    """The wanted values (those given) that differ from the current ones."""
    return {
        name: str(value)
        for name, value in wanted.items()
        if value is not None and current.get(name) != str(value)
    }


async def record_rectification(
    db: Db,
    *,
    record: str,
    record_id: str,
    partner_id: str | None,
    fields: Iterable[str],
    by: str,
    now: datetime,
    message_id: str,
) -> None:
    """Record which fields of which record changed, when and by whom (never the values).

    Keyed by the message id, so a request handled twice is recorded once.
    """
    entry = {
        "_id": id_from_message("rec", message_id),
        "record": record,
        "record_id": record_id,
        "fields": sorted(fields),
        "at": now,
        "by": by,
    }
    if partner_id is not None:
        entry["partner_id"] = partner_id
    with contextlib.suppress(DuplicateKeyError):
        await db[store.RECTIFICATIONS].insert_one(entry)


@dataclass
class People:
    """Contact people of partners, and the restrictions of processing people asked for."""

    db: Db
    vault: Vault

    async def open_partner(self, partner_id: str) -> dict[str, Any]:
        """The partner's document; not_found if absent, conflict if it is closed."""
        document = await self.db[store.PARTNERS].find_one({"_id": partner_id})
        if document is None:
            raise not_found("partner")
        if document.get("status") == PartnerStatus.CLOSED.value:
            raise ServiceError("conflict", "the partner is closed")
        return document

    def person_keys(self, *, email: str | None = None, phone: str | None = None) -> list[str]:
        """The `restrictions` keys of a person: one per blind index of their email and phone."""
        given = {"email": email, "phone": phone}
        return [f"{kind}:{self.vault.index(kind, value)}" for kind, value in given.items() if value]

    @property
    def register(self) -> RestrictionRegister:
        """The service's register of restrictions and objections."""
        return RestrictionRegister(self.db, self.vault.blind_index)

    async def refuse_restricted(
        self, *, partner_id: str | None, email: str | None, phone: str | None = None
    ) -> None:
        """Refuse to add a person under a restriction of processing to anything new of
        `partner_id` (None: the platform's own)."""
        keys = self.person_keys(email=email, phone=phone)
        registered = keys and await self.db[store.RESTRICTIONS].find_one(
            {"_id": {"$in": keys}, "restriction.restricted": True}
        )
        given = {kind: value for kind, value in (("email", email), ("phone", phone)) if value}
        if registered or (await self.register.flags_of(given, partner_id)).restricted:
            raise ServiceError(
                "restricted", "this person has restricted the processing of their data"
            )

    async def person_flags(self, document: Mapping[str, Any], *, user: bool) -> dict[str, bool]:
        """A stored person's `restricted` and `objection`: as a request flagged their record,
        or as the register holds them for their email, phone (or user id) under their
        partner, which also covers people added after the request."""
        stored = restriction_flags(document)
        keys = [document[name] for name in PERSON_INDEXES if isinstance(document.get(name), str)]
        if user:
            keys.append(value_key("user_id", document["_id"]))
        held = await self.register.flags_of({}, document.get("partner_id"), keys=keys)
        return {
            "restricted": stored["restricted"] or held.restricted,
            "objection": stored["objection"] or held.objection,
        }

    async def record_restriction(
        self,
        *,
        email: str | None,
        phone: str | None,
        restricted: bool,
        objection: bool,
        now: datetime,
    ) -> None:
        """Remember (or forget) a person's restriction or objection, by their blind indexes."""
        keys = self.person_keys(email=email, phone=phone)
        if not (restricted or objection):
            await self.db[store.RESTRICTIONS].delete_many({"_id": {"$in": keys}})
            return
        flags = {"restricted": restricted, "objection": objection, "at": now}
        for key in keys:
            await self.db[store.RESTRICTIONS].find_one_and_update(
                {"_id": key}, {"$set": {"restriction": flags}}, upsert=True
            )

    async def add_contact(
        self, request: AddContact, *, contact_id: str, now: datetime
    ) -> ContactView:
        """Add a contact person to an open partner, unless the person restricted processing."""
        await self.open_partner(request.partner_id)
        await self.refuse_restricted(
            partner_id=request.partner_id, email=request.email, phone=request.phone
        )
        plain = {"name": request.name, "email": request.email, "phone": request.phone}
        sealed = await self.vault.seal(contact_id, contact_id, plain, indexed=INDEXED)
        document = {
            "_id": contact_id,
            "partner_id": request.partner_id,
            "role": request.role.value,
            **sealed,
            "created_at": now,
            "created_by": request.actor.id,
        }
        with contextlib.suppress(DuplicateKeyError):  # the same request again: same contact
            await self.db[store.CONTACTS].insert_one(document)
        return await self.contact_view(await self.contact_document(request.partner_id, contact_id))

    async def contact_document(self, partner_id: str, contact_id: str) -> dict[str, Any]:
        """The stored contact of this partner; not_found otherwise."""
        document = await self.db[store.CONTACTS].find_one(
            {"_id": contact_id, "partner_id": partner_id}
        )
        if document is None:
            raise not_found("contact")
        return document

    async def contact_view(self, document: Mapping[str, Any]) -> ContactView:
        """A stored contact, decrypted."""
        opened = await self.vault.open(document["_id"], document, CONTACT_SEALED)
        return ContactView(
            id=document["_id"],
            partner_id=document["partner_id"],
            role=document["role"],
            created_at=document["created_at"],
            **opened,
            **await self.person_flags(document, user=False),
        )

    async def list_contacts(self, partner_id: str) -> list[ContactView]:
        """A partner's contact people, oldest first."""
        cursor = self.db[store.CONTACTS].find({"partner_id": partner_id}).sort("_id", 1)
        return [await self.contact_view(document) async for document in cursor.limit(LIST_LIMIT)]

    async def update_contact(
        self, request: UpdateContact, *, message_id: str, now: datetime
    ) -> ContactView:
        """Rectify a contact: seal the changed fields, record which changed."""
        document = await self.contact_document(request.partner_id, request.contact_id)
        current = {
            **await self.vault.open(document["_id"], document, CONTACT_SEALED),
            "role": document["role"],
        }
        wanted = {"name": request.name, "email": request.email, "phone": request.phone}
        changed = changed_fields(current, {**wanted, "role": request.role})
        if not changed:
            return await self.contact_view(document)
        await self.refuse_restricted(
            partner_id=request.partner_id, email=changed.get("email"), phone=changed.get("phone")
        )
        await record_rectification(
            self.db,
            record="contact",
            record_id=document["_id"],
            partner_id=request.partner_id,
            fields=changed,
            by=request.actor.id,
            now=now,
            message_id=message_id,
        )
        personal = {name: value for name, value in changed.items() if name in CONTACT_SEALED}
        sealed = await self.vault.seal(document["_id"], document["_id"], personal, indexed=INDEXED)
        if "role" in changed:
            sealed["role"] = changed["role"]
        await update_once(
            self.db[store.CONTACTS], {"_id": document["_id"]}, {"$set": sealed}, message_id
        )
        return await self.contact_view(
            await self.contact_document(request.partner_id, document["_id"])
        )

    async def remove_contact(self, partner_id: str, contact_id: str) -> None:
        """Shred the contact's key, then delete the record (a retry finishes either step)."""
        await self.contact_document(partner_id, contact_id)
        await self.vault.shred(contact_id)
        await self.db[store.CONTACTS].delete_one({"_id": contact_id, "partner_id": partner_id})
