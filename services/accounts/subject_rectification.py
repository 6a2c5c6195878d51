"""Rectification on request: corrected values replace the old ones, sealed anew, recorded.

Every value is validated first, by the same types the dashboard requests use; one invalid
value and nothing changes. Each field applies to every record found that has it: contacts
take name, email and phone; users name and email; a partner its identity fields (the
address as the JSON of a postal address). Each changed record gets a rectification record
(fields, time, `by: privacy`; never values), like changes made in the dashboard. A user's
email is how they sign in: it is not changed to another user's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from accounts import store
from accounts.inventory import Category
from accounts.partners import PARTNER_PLAIN, PARTNER_SEALED
from accounts.people import CONTACT_SEALED, INDEXED, changed_fields, record_rectification
from accounts.store import Db
from accounts.subjects import SubjectRecords
from accounts.users import USER_SEALED
from contracts.identity import Email, Phone, PostalAddress, ShortText, Text
from servicekit.vault import Vault, blind_field

BY = "privacy"
"""Who rectifications on request are recorded as made by."""

FIELDS_OF: dict[Category, tuple[str, ...]] = {
    Category.CONTACT_PEOPLE: CONTACT_SEALED,
    Category.DASHBOARD_USERS: USER_SEALED,
    Category.PARTNER_IDENTITY: (*PARTNER_PLAIN, *PARTNER_SEALED),
}
"""The fields each category can rectify."""

_VALUE_TYPES: dict[str, TypeAdapter[Any]] = {
    "name": TypeAdapter(Text),
    "email": TypeAdapter(Email),
    "phone": TypeAdapter(Phone),
    "business_name": TypeAdapter(Text),
    "registration_number": TypeAdapter(ShortText),
    "tax_id": TypeAdapter(ShortText),
}


class InvalidChanges(ValueError):
    """Some changes name no rectifiable field or carry an invalid value (never echoed)."""


def validated(changes: Mapping[str, str]) -> dict[str, str]:
    """The changes as they would be stored; InvalidChanges names what is wrong, not values."""
    unknown = sorted(name for name in changes if name not in _VALUE_TYPES and name != "address")
    if unknown:
        raise InvalidChanges(f"no rectifiable field is named {', '.join(unknown)}")
    clean: dict[str, str] = {}
    for name, value in changes.items():
        try:
            if name == "address":
                clean[name] = PostalAddress.model_validate_json(value).model_dump_json()
            else:
                clean[name] = str(_VALUE_TYPES[name].validate_python(value))
        except ValidationError:
            raise InvalidChanges(f"`{name}` is not a valid value") from None
    return clean


@dataclass
class Rectified:
    """What rectification did in one category."""

    changed: int = 0
    unchanged: int = 0
    conflicts: int = 0
    fields: set[str] = field(default_factory=set)


@dataclass
class Rectifier:
    """Applies validated changes to the records of a subject."""

    db: Db
    vault: Vault

    async def rectify(
        self, records: SubjectRecords, changes: Mapping[str, str], now: datetime
    ) -> dict[Category, Rectified]:
        """Apply `changes` to each record found that has the fields; per category, what
        happened (categories none of the changes apply to are left out)."""
        done: dict[Category, Rectified] = {}
        groups = (
            (Category.CONTACT_PEOPLE, records.contacts),
            (Category.DASHBOARD_USERS, records.users),
            (Category.PARTNER_IDENTITY, records.partners),
        )
        for category, documents in groups:
            wanted = {n: v for n, v in changes.items() if n in FIELDS_OF[category]}
            if not wanted or not documents:
                continue
            result = done[category] = Rectified()
            for document in documents:
                await self._one(category, document, wanted, result, now)
        return done

    async def _one(
        self,
        category: Category,
        document: dict[str, Any],
        wanted: dict[str, str],
        result: Rectified,
        now: datetime,
    ) -> None:
        record_id = document["_id"]
        current = await self._current(category, document)
        changed = changed_fields(current, wanted)
        if not changed:
            result.unchanged += 1
            return
        if category is Category.DASHBOARD_USERS and not await self._email_free(document, changed):
            result.conflicts += 1
            return
        plain = _plain(category)
        personal = {name: value for name, value in changed.items() if name not in plain}
        update = await self.vault.seal(record_id, record_id, personal, indexed=INDEXED)
        update.update({name: value for name, value in changed.items() if name in plain})
        partner_id = record_id if category is Category.PARTNER_IDENTITY else None
        await record_rectification(
            self.db,
            record=_RECORD_KIND[category],
            record_id=record_id,
            partner_id=document.get("partner_id", partner_id),
            fields=changed,
            by=BY,
            now=now,
            message_id="",
        )
        await self.db[_COLLECTION[category]].update_one({"_id": record_id}, {"$set": update})
        result.changed += 1
        result.fields.update(changed)

    async def _current(self, category: Category, document: dict[str, Any]) -> dict[str, str | None]:
        plain = _plain(category)
        sealed = [name for name in FIELDS_OF[category] if name not in plain]
        opened = await self.vault.open(document["_id"], document, sealed)
        return {**{name: document.get(name) for name in plain}, **opened}

    async def _email_free(self, user: dict[str, Any], changed: dict[str, str]) -> bool:
        """Whether the user may take the new email: no other user signs in with it."""
        if "email" not in changed:
            return True
        taken = await self.db[store.USERS].find_one(
            {blind_field("email"): self.vault.index("email", changed["email"])}, {"_id": 1}
        )
        return taken is None or taken["_id"] == user["_id"]


_RECORD_KIND = {
    Category.CONTACT_PEOPLE: "contact",
    Category.DASHBOARD_USERS: "user",
    Category.PARTNER_IDENTITY: "partner",
}
_COLLECTION = {
    Category.CONTACT_PEOPLE: store.CONTACTS,
    Category.DASHBOARD_USERS: store.USERS,
    Category.PARTNER_IDENTITY: store.PARTNERS,
}


def _plain(category: Category) -> tuple[str, ...]:
    """The fields of a category stored in plaintext (only a partner's business name and
    registration number are)."""
    return PARTNER_PLAIN if category is Category.PARTNER_IDENTITY else ()
