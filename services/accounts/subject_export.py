"""The export of a subject's records: readable field names, decrypted values, JSON-ready.

Never exported: tokens, blind indexes, password hashes, session-token hashes, API-key HMACs
and outboxes. Restriction flags are part of each person's entry; the processing restrictions
list accounts' own entries and the restriction register's (`register_entries`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic_core import to_jsonable_python

from accounts import ledger_store, store
from accounts.billing import SEALED_FIELDS as BILLING_SEALED
from accounts.inventory import Category
from accounts.keys_store import view_of
from accounts.login_ips import opened_sign_in
from accounts.partners import PARTNER_PLAIN, PARTNER_SEALED
from accounts.people import CONTACT_SEALED, PERSON_INDEXES, restriction_flags
from accounts.store import Db
from accounts.subjects import SubjectRecords
from accounts.users import USER_SEALED
from contracts.privacy import SubjectRef
from servicekit.restrictions import RestrictionRegister
from servicekit.vault import Vault

Doc = dict[str, Any]


def _at(document: Mapping[str, Any], name: str) -> Any:
    """The `at` of a subdocument like `{"closure": {"at": ...}}`, if present."""
    value = document.get(name)
    return value.get("at") if isinstance(value, dict) else None


class SubjectExport:
    """Builds the export of `SubjectRecords`."""

    def __init__(self, db: Db, vault: Vault) -> None:
        self.db = db
        self.vault = vault

    async def export(self, records: SubjectRecords) -> dict[str, Any]:
        """Every category held, as lists of readable entries (categories with none left out)."""
        export: dict[str, list[Any]] = {
            Category.PARTNER_IDENTITY: [await self._partner(p) for p in records.partners],
            Category.CONTACT_PEOPLE: [await self._contact(c) for c in records.contacts],
            Category.DASHBOARD_USERS: [await self._user(u) for u in records.users],
            Category.DASHBOARD_SESSIONS: [_session(s) for s in records.sessions],
            Category.LOGIN_HISTORY: [await self._login(entry) for entry in records.logins],
            Category.SIGN_IN_THROTTLING: [_throttle(t, records.ip) for t in records.throttles],
            Category.PROCESSING_RESTRICTIONS: [_restriction(r) for r in records.restrictions],
            Category.BILLING_PROFILE: [await self._billing(b) for b in records.billing],
            Category.API_KEYS: [view_of(key).model_dump() for key in records.api_keys],
            Category.BALANCE_LEDGER: await self._ledger(records),
        }
        readable = {str(name): entries for name, entries in export.items() if entries}
        jsonable: dict[str, Any] = to_jsonable_python(readable)
        return jsonable

    async def _partner(self, partner: Doc) -> Doc:
        opened = await self.vault.open(partner["_id"], partner, PARTNER_SEALED)
        address = opened.get("address")
        return {
            "id": partner["_id"],
            **{name: partner.get(name) for name in PARTNER_PLAIN},
            **opened,
            "address": json.loads(address) if address else None,
            "currency": partner.get("currency"),
            "status": partner.get("status"),
            "created_at": partner.get("created_at"),
            "closed_at": _at(partner, "closure"),
            **restriction_flags(partner),
            "rectifications": await self._rectifications(partner["_id"]),
        }

    async def _contact(self, contact: Doc) -> Doc:
        return {
            "id": contact["_id"],
            "partner_id": contact.get("partner_id"),
            **await self.vault.open(contact["_id"], contact, CONTACT_SEALED),
            "role": contact.get("role"),
            "created_at": contact.get("created_at"),
            **restriction_flags(contact),
            "rectifications": await self._rectifications(contact["_id"]),
        }

    async def _user(self, user: Doc) -> Doc:
        return {
            "id": user["_id"],
            "partner_id": user.get("partner_id"),
            **await self.vault.open(user["_id"], user, USER_SEALED),
            "role": user.get("role"),
            "status": user.get("status"),
            "created_at": user.get("created_at"),
            "password_set_at": _at(user, "password"),
            **restriction_flags(user),
            "rectifications": await self._rectifications(user["_id"]),
        }

    async def _billing(self, profile: Doc) -> Doc:
        opened = await self.vault.open(profile["_id"], profile, BILLING_SEALED)
        return {
            "partner_id": profile["_id"],
            "processor": profile.get("processor"),
            **opened,
            "updated_at": _at(profile, "updated"),
        }

    async def _login(self, entry: Doc) -> Doc:
        """A sign-in attempt, its address and user agent opened from the vault."""
        fields = ("user_id", "at", "outcome", "reason")
        shown = {name: entry.get(name) for name in fields if name in entry}
        return {**shown, **await opened_sign_in(self.vault, entry)}

    async def _rectifications(self, record_id: str) -> list[Doc]:
        """Which fields of the record were rectified, when and by whom (never values)."""
        cursor = self.db[store.RECTIFICATIONS].find({"record_id": record_id}).sort("at", 1)
        return [
            {"fields": entry.get("fields", []), "at": entry.get("at"), "by": entry.get("by")}
            async for entry in cursor
        ]

    async def _ledger(self, records: SubjectRecords) -> list[Any]:
        if records.ledger_partner_id is None or not records.ledger.entries:
            return []
        cursor = self.db[store.LEDGER].find(
            {"partner_id": records.ledger_partner_id}, ledger_store.ENTRY_FIELDS
        )
        return [ledger_store.entry_view(entry).model_dump() async for entry in cursor.sort("_id")]


def _session(session: Doc) -> Doc:
    return {
        "id": session["_id"],
        "user_id": session.get("user_id"),
        "created_at": session.get("created_at"),
        "expires_at": session.get("expires_at"),
    }


def _throttle(entry: Doc, ip: str | None) -> Doc:
    """A throttle entry; counted by an address, it shows the address looked up (the key is
    only a blind index, which means nothing to anyone)."""
    kind = str(entry["_id"]).partition(":")[0]
    counted: Doc = {"counted_by": kind}
    if kind == "ip" and ip is not None:
        counted["ip"] = ip
    return {
        **counted,
        "failures": entry.get("failures", 0),
        "window_started_at": (entry.get("window") or {}).get("started_at"),
        "locked_until": (entry.get("lock") or {}).get("until"),
    }


def _restriction(entry: Doc) -> Doc:
    flags = entry.get("restriction") or {}
    return {
        "identified_by": str(entry["_id"]).partition(":")[0],
        "restricted": bool(flags.get("restricted")),
        "objection": bool(flags.get("objection")),
        "since": flags.get("at"),
    }


async def register_entries(
    register: RestrictionRegister,
    subject: SubjectRef,
    records: SubjectRecords,
    scope: str | None,
) -> list[Doc]:
    """The restriction register's entries about the subject or the people found, as the
    export shows them (a partner's request: only those it made)."""
    keys = register.keys_of(subject.identifiers())
    for person in records.people():
        keys += [person[name] for name in PERSON_INDEXES if isinstance(person.get(name), str)]
    book = await register.changes_of(keys)
    return [
        {
            "identified_by": ",".join(sorted({i.kind for i in change.identifiers})),
            **change.flags,
            "since": change.changed_at,
        }
        | ({"partner_id": change.scope_partner_id} if change.scope_partner_id else {})
        for change in book.changes
        if scope is None or change.scope_partner_id == scope
    ]
