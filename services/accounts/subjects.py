"""Finding a data subject's records in the accounts database: indexed lookups only.

What each identifier reaches (every lookup is one query on an index):
- `email`: contacts and users by the email's blind index; `restrictions` and the
  sign-in throttle by `email:<blind index>`.
- `phone`: contacts by the phone's blind index; `restrictions`.
- `user_id`: that user.
- `ip`: the login history with that address, by its blind index (`ip_bidx`); the throttle
  entry `ip:<blind index>` (`accounts.login_ips`).
- `partner_id`: the partner's identity, billing profile, API keys and ledger; once the
  partner is closed (and for locate, export and erase only), also all its contact people
  and users and its login history.
- For every user found: their sessions and login history; for every person found: their
  entries in `restrictions` and the throttle (by the blind indexes they carry).

The same lookups serve a request's subject and an erasure-ledger entry (`find_indexed`):
emails, phones and IP addresses by the blind index either way, user and partner ids by
value (the ledger keeps those). So a ledger entry holding only an address's blind index
finds the sign-ins and the throttle entry of that address.

A partner's business phone is reached through the partner id, not by phone: otherwise one
person's request could erase or restrict a whole business account.

With a `scope` (a partner asked), only that partner's records are reached: every lookup
also requires `partner_id` = the scope; a `partner_id` identifier naming another partner
reaches nothing; sessions follow the users found. `restrictions` and the sign-in
throttle have no partner (one person's entries, shared by every partner) and are out of a
partner's scope.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from accounts import store
from accounts.billing import PROFILES
from accounts.inventory import Category
from accounts.login_ips import IP_BIDX, throttle_key
from accounts.people import INDEXED
from accounts.store import Db
from contracts.identity import PartnerStatus
from contracts.privacy import SubjectRef
from servicekit.erasures import IndexedSubject
from servicekit.grouped import GroupedFinds, grouped_lookup
from servicekit.vault import Vault, blind_field

Doc = dict[str, Any]

SEARCHED_BY: dict[str, tuple[Category, ...]] = {
    "email": (
        Category.CONTACT_PEOPLE,
        Category.DASHBOARD_USERS,
        Category.PROCESSING_RESTRICTIONS,
        Category.SIGN_IN_THROTTLING,
    ),
    "phone": (Category.CONTACT_PEOPLE, Category.PROCESSING_RESTRICTIONS),
    "user_id": (Category.DASHBOARD_USERS,),
    "ip": (Category.LOGIN_HISTORY, Category.SIGN_IN_THROTTLING),
    "partner_id": (
        Category.PARTNER_IDENTITY,
        Category.BILLING_PROFILE,
        Category.API_KEYS,
        Category.BALANCE_LEDGER,
    ),
}
"""The categories each identifier is looked up in (users found lead further)."""
ERASED = "erasure"
"""Set on a partner document whose identity was erased (the rest of it has no personal data)."""


def is_closed(partner: Doc) -> bool:
    """Whether the partner's account is closed (its contract has ended)."""
    return bool(partner.get("status") == PartnerStatus.CLOSED.value)


def person_keys(document: Doc) -> list[str]:
    """The register keys (`email:<blind index>`, `phone:<blind index>`) of a stored person.

    The same keys `accounts.people` writes and checks, built from the stored blind indexes.
    """
    return [
        f"{kind}:{document[blind_field(kind)]}"
        for kind in INDEXED
        if isinstance(document.get(blind_field(kind)), str)
    ]


@dataclass
class LedgerHeld:
    """How many ledger entries a partner has, and when the latest was made."""

    entries: int = 0
    latest: datetime | None = None


@dataclass
class SubjectRecords:
    """Everything accounts holds about one subject, by category."""

    searched: list[Category]
    partners: list[Doc] = field(default_factory=list)
    """Partners named by id whose identity is still held (not yet erased)."""
    closed_partner_ids: list[str] = field(default_factory=list)
    """Named partners that are closed, erased or not: their people are in scope."""
    contacts: list[Doc] = field(default_factory=list)
    users: list[Doc] = field(default_factory=list)
    sessions: list[Doc] = field(default_factory=list)
    logins: list[Doc] = field(default_factory=list)
    throttles: list[Doc] = field(default_factory=list)
    restrictions: list[Doc] = field(default_factory=list)
    billing: list[Doc] = field(default_factory=list)
    api_keys: list[Doc] = field(default_factory=list)
    ledger: LedgerHeld = field(default_factory=LedgerHeld)
    ledger_partner_id: str | None = None
    ip_index: str | None = None
    """The blind index of the address looked up, when every partner's records are reached."""
    ip: str | None = None
    """The address looked up, when known (a request's subject; not a ledger entry)."""

    def held(self) -> dict[Category, int]:
        """How many records of each category are held (categories with none left out)."""
        counts = {
            Category.PARTNER_IDENTITY: len(self.partners),
            Category.CONTACT_PEOPLE: len(self.contacts),
            Category.DASHBOARD_USERS: len(self.users),
            Category.DASHBOARD_SESSIONS: len(self.sessions),
            Category.LOGIN_HISTORY: len(self.logins),
            Category.SIGN_IN_THROTTLING: len(self.throttles),
            Category.PROCESSING_RESTRICTIONS: len(self.restrictions),
            Category.BILLING_PROFILE: len(self.billing),
            Category.API_KEYS: len(self.api_keys),
            Category.BALANCE_LEDGER: self.ledger.entries,
        }
        return {category: count for category, count in counts.items() if count}

    def open_partners(self) -> list[Doc]:
        """Named partners whose account is open (active or suspended)."""
        return [partner for partner in self.partners if not is_closed(partner)]

    def people(self) -> list[Doc]:
        """Contacts and users found."""
        return [*self.contacts, *self.users]


class SubjectFinder:
    """Looks a subject up in every collection of accounts that holds personal data."""

    def __init__(self, db: Db, vault: Vault) -> None:
        self.db = db
        self.vault = vault
        self._by_id = {
            name: GroupedFinds(db[name]) for name in (store.RESTRICTIONS, store.LOGIN_THROTTLE)
        }

    async def find(
        self, subject: SubjectRef, *, whole_closed_partners: bool, scope: str | None = None
    ) -> SubjectRecords:
        """The subject's records; with `whole_closed_partners`, a named closed partner brings
        all its people (locate, export, erase), otherwise only the partner itself. With a
        `scope`, only the records of that partner."""
        found = IndexedSubject.of_subject(subject, self.vault.blind_index)
        return await self.find_indexed(
            found, whole_closed_partners=whole_closed_partners, scope=scope
        )

    async def find_indexed(
        self, found: IndexedSubject, *, whole_closed_partners: bool, scope: str | None = None
    ) -> SubjectRecords:
        """The same from identifiers as blind indexes and, where known, values (a request's
        subject has every value; an erasure-ledger entry only the platform-assigned ones)."""
        given = found.values
        blind = {kind: found.indexes[kind] for kind in INDEXED if kind in found.indexes}
        records = SubjectRecords(searched=_searched([*given, *blind]))
        partner_id = given.get("partner_id")
        if partner_id is not None and scope in (None, partner_id):
            await self._partner(records, partner_id)
        closed = records.closed_partner_ids if whole_closed_partners else []
        records.contacts = await self._union(
            store.CONTACTS,
            [{blind_field(kind): value} for kind, value in blind.items()]
            + _any_of("partner_id", closed),
            scope,
        )
        user_criteria = _any_of("partner_id", closed)
        if "email" in blind:
            user_criteria.append({blind_field("email"): blind["email"]})
        if "user_id" in given:
            user_criteria.append({"_id": given["user_id"]})
        records.users = await self._union(store.USERS, user_criteria, scope)
        user_ids = [user["_id"] for user in records.users]
        records.sessions = await self._union(store.SESSIONS, _any_of("user_id", user_ids))
        login_criteria = _any_of("user_id", user_ids) + _any_of("partner_id", closed)
        ip_index = found.indexes.get("ip")
        if ip_index is not None:
            login_criteria.append({IP_BIDX: ip_index})
        records.logins = await self._union(store.LOGIN_HISTORY, login_criteria, scope)
        records.ip = given.get("ip")
        if scope is None:
            records.ip_index = ip_index
            await self._registers(records, blind)
        return records

    async def _partner(self, records: SubjectRecords, partner_id: str) -> None:
        partner = await self.db[store.PARTNERS].find_one({"_id": partner_id})
        if partner is not None:
            if ERASED not in partner:
                records.partners.append(partner)
            if is_closed(partner):
                records.closed_partner_ids.append(partner_id)
        records.billing = await self._union(PROFILES, [{"_id": partner_id}])
        records.api_keys = await self._union(store.API_KEYS, [{"partner_id": partner_id}])
        records.ledger = await self._ledger(partner_id)
        records.ledger_partner_id = partner_id

    async def _ledger(self, partner_id: str) -> LedgerHeld:
        ledger = self.db[store.LEDGER]
        entries = await ledger.count_documents({"partner_id": partner_id})
        if not entries:
            return LedgerHeld()
        cursor = ledger.find({"partner_id": partner_id}, {"created_at": 1})
        latest = await cursor.sort("created_at", -1).limit(1).to_list()
        return LedgerHeld(entries=entries, latest=latest[0]["created_at"] if latest else None)

    async def _registers(self, records: SubjectRecords, blind: dict[str, str]) -> None:
        """Accounts' own `restrictions` and the throttle entries of every person in scope."""
        keys = {f"{kind}:{value}" for kind, value in blind.items()}
        for person in records.people():
            keys.update(person_keys(person))
        throttle_keys = sorted(key for key in keys if key.startswith("email:"))
        if records.ip_index is not None:
            throttle_keys.append(throttle_key(records.ip_index))
        # By `_id` alone: read together with the lookups of subjects handled meanwhile.
        restrictions, throttles = await asyncio.gather(
            self._by_id[store.RESTRICTIONS].find_all(sorted(keys)),
            self._by_id[store.LOGIN_THROTTLE].find_all(throttle_keys),
        )
        records.restrictions = sorted(restrictions, key=lambda document: str(document["_id"]))
        records.throttles = sorted(throttles, key=lambda document: str(document["_id"]))

    async def _union(
        self, collection: str, criteria: Iterable[Doc], scope: str | None = None
    ) -> list[Doc]:
        """The documents matching any of `criteria` (one query each), each once, by id; with
        a `scope`, only those whose `partner_id` is the scope."""
        found: dict[Any, Doc] = {}
        # Each criterion (one field's values) is read together with the same lookups of the
        # subjects handled at the same time; the scope is applied to what was found.
        lookups = [grouped_lookup(self.db[collection], criterion) for criterion in criteria]
        for documents in await asyncio.gather(*lookups):
            for document in documents:
                if scope is None or document.get("partner_id") == scope:
                    found[document["_id"]] = document
        return [found[key] for key in sorted(found, key=str)]


def _any_of(name: str, values: list[str]) -> list[Doc]:
    """A criterion matching `name` against any of `values`; none for no values."""
    return [{name: {"$in": values}}] if values else []


def _searched(given: Iterable[str]) -> list[Category]:
    searched: list[Category] = []
    for identifier, categories in SEARCHED_BY.items():
        if identifier in given:
            searched += [category for category in categories if category not in searched]
    return searched
