"""A data owner's register of restrictions and objections, which it honours whenever it
processes data (webhooks, analytics, non-essential email), not only when asked.

Every data-owning service keeps each `privacy.subject_restriction_changed.v1` in its own
collection `_restricted_subjects`, one document per request, written once by insert:
`{_id: request_id, keys: [...], identifiers: [{kind, index, value?}], scope_partner_id?,
flags: {restricted?, objection?}, changed_at}`. `keys` holds each identifier's blind index
(hex) and, for platform-assigned kinds whose value the event carries, `"<kind>=<value>"`;
it is an indexed array, asked with `$in` (decision 0002).

A flag is held per identifier key. Its state under a partner is decided by the latest change
(by `changed_at`, then request id) that can reach it:
- an unscoped change (ops, or the person about themselves) reaches every partner's data;
- a partner's change reaches only that partner's data, and its lift only what that partner
  set; an unscoped lift also lifts what any partner set.
A flag is set when the unscoped timeline or the partner's timeline leaves it set. Because
documents are only ever inserted and the state is computed from all of them, a redelivered
event changes nothing and an older event arriving late never undoes a newer one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts.erasure_ledger import PLATFORM_KINDS, ErasedIdentifier
from contracts.restrictions import SubjectRestrictionChanged
from servicekit.crypto import BlindIndex
from servicekit.grouped import lookups_in
from servicekit.messages import MessageContext
from servicekit.router import Router

RESTRICTED_SUBJECTS = "_restricted_subjects"
FLAG_NAMES = ("restricted", "objection")


def value_key(kind: str, value: str) -> str:
    """The key of a platform-assigned identifier by its value (a blind index has no `=`)."""
    return f"{kind}={value}"


@dataclass(frozen=True)
class Flags:
    """A subject's restriction and objection as they hold for one partner's data."""

    restricted: bool = False
    objection: bool = False

    @property
    def any(self) -> bool:
        """Restricted or objecting: left out of anything that is not essential."""
        return self.restricted or self.objection


@dataclass(frozen=True)
class Change:
    """One remembered request: the flags it set or cleared for its identifiers."""

    request_id: str
    keys: frozenset[str]
    identifiers: tuple[ErasedIdentifier, ...]
    flags: Mapping[str, bool]
    changed_at: datetime
    scope_partner_id: str | None = None

    @classmethod
    def of_document(cls, document: Mapping[str, Any]) -> Change:
        """A change as the register stores it."""
        return cls(
            request_id=document["_id"],
            keys=frozenset(document["keys"]),
            identifiers=tuple(ErasedIdentifier.model_validate(i) for i in document["identifiers"]),
            flags=dict(document["flags"]),
            changed_at=document["changed_at"],
            scope_partner_id=document.get("scope_partner_id"),
        )

    def document(self) -> dict[str, Any]:
        """The stored form (booleans inside a subdocument, no null for an absent scope)."""
        stored: dict[str, Any] = {
            "_id": self.request_id,
            "keys": sorted(self.keys),
            "identifiers": [i.model_dump(mode="json", exclude_none=True) for i in self.identifiers],
            "flags": dict(self.flags),
            "changed_at": self.changed_at,
        }
        if self.scope_partner_id is not None:
            stored["scope_partner_id"] = self.scope_partner_id
        return stored


def keys_of_identifiers(identifiers: Iterable[ErasedIdentifier]) -> frozenset[str]:
    """The register keys of announced identifiers: indexes, and platform values."""
    keys = set()
    for identifier in identifiers:
        keys.add(identifier.index)
        if identifier.value is not None and identifier.kind in PLATFORM_KINDS:
            keys.add(value_key(identifier.kind, identifier.value))
    return frozenset(keys)


class FlagBook:
    """Remembered changes, answering for any keys under any partner without another read."""

    def __init__(self, changes: Iterable[Change]) -> None:
        ordered = sorted(changes, key=lambda change: (change.changed_at, change.request_id))
        self.changes = ordered
        self._by_key: dict[str, list[Change]] = {}
        for change in ordered:
            for key in change.keys:
                self._by_key.setdefault(key, []).append(change)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def flags(self, keys: Iterable[str], partner_id: str | None) -> Flags:
        """The flags holding for data of `partner_id` identified by any of `keys`."""
        state = dict.fromkeys(FLAG_NAMES, False)
        for key in set(keys):
            for name in FLAG_NAMES:
                state[name] = state[name] or self._holds(key, name, partner_id)
        return Flags(**state)

    def _holds(self, key: str, name: str, partner_id: str | None) -> bool:
        """Replay the key's changes of one flag, oldest first, on the unscoped timeline and
        on the partner's own."""
        unscoped = scoped = False
        for change in self._by_key.get(key, ()):
            value = change.flags.get(name)
            if value is None:
                continue
            if change.scope_partner_id is None:
                unscoped = value
                scoped = scoped and value  # an unscoped lift lifts every partner's too
            elif change.scope_partner_id == partner_id:
                scoped = value
        return unscoped or scoped


class RestrictionRegister:
    """The service's `_restricted_subjects`: remembered changes, and the flags they leave."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], blind: BlindIndex | None) -> None:
        self.collection = db[RESTRICTED_SUBJECTS]
        self.blind = blind
        self._indexed = False

    async def create_indexes(self) -> None:
        """Changes are found by any of their keys (idempotent)."""
        await self.collection.create_index("keys")
        self._indexed = True

    async def remember(self, event: SubjectRestrictionChanged) -> bool:
        """Keep the change (once: a second call for its request changes nothing); whether
        it was new."""
        if not self._indexed:
            await self.create_indexes()
        flags = {name: value for name in FLAG_NAMES if (value := getattr(event, name)) is not None}
        change = Change(
            request_id=event.request_id,
            keys=keys_of_identifiers(event.identifiers),
            identifiers=tuple(event.identifiers),
            flags=flags,
            changed_at=event.changed_at,
            scope_partner_id=event.scope_partner_id,
        )
        try:
            await self.collection.insert_one(change.document())
        except DuplicateKeyError:
            return False
        return True

    def keys_of(self, identifiers: Mapping[str, str]) -> list[str]:
        """The register keys of identifiers (kind → value): their blind indexes (with the
        platform's key) and, for platform-assigned kinds, their values."""
        keys = []
        for kind, value in identifiers.items():
            if kind in PLATFORM_KINDS:
                keys.append(value_key(kind, value))
            if self.blind is not None:
                try:
                    keys.append(self.blind.of(kind, value))
                except ValueError:  # nothing left to index once normalised
                    continue
        return keys

    async def changes_of(self, keys: Iterable[str]) -> FlagBook:
        """Every remembered change naming one of `keys`: one query, whatever their number."""
        wanted = sorted(set(keys))
        if not wanted:
            return FlagBook(())
        # With the lookups of other subjects handled at the same time: one `$in` for all.
        found = await lookups_in(self.collection, "keys").find_in(wanted)
        return FlagBook([Change.of_document(document) for document in found])

    async def book(self) -> FlagBook:
        """Every remembered change (for a pass over many records, such as analytics)."""
        return FlagBook([Change.of_document(d) async for d in self.collection.find({})])

    async def flags_of(
        self,
        identifiers: Mapping[str, str],
        partner_id: str | None,
        *,
        keys: Iterable[str] = (),
    ) -> Flags:
        """The flags holding for data of `partner_id` about a subject, found by identifiers
        (kind → value) and by register keys already known (blind indexes stored beside
        sealed fields, `value_key`s). Without a partner, only unscoped changes count."""
        keys = [*self.keys_of(identifiers), *keys]
        book = await self.changes_of(keys)
        return book.flags(keys, partner_id)


def join_restriction_register(router: Router, register: RestrictionRegister) -> None:
    """Remember every announced restriction change in the service's register."""

    async def remember(event: SubjectRestrictionChanged, _context: MessageContext) -> None:
        await register.remember(event)

    router.on(SubjectRestrictionChanged, remember, idempotent=True)
