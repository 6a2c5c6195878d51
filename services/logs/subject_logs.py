"""A data subject's log records: how they are found, counted, read back and whose key seals them.

A subject is looked up by each identifier the logs hold, always through an index: the
partner id and user id as they are, an IP address or email by its blind index
(`vault.index("ip" | "email", value)`), never by scanning sealed values. A request's subject
and an erasure-ledger entry (blind indexes, and the values of platform-assigned ids) take the
same path (`Subject.indexed`): every kind the logs hold is found from a ledger entry too.

Personal fields are sealed with the key of the record's subject (`logs.handlers.subject_of`,
the shared rule): the `user_id` if the record has one, else the `partner_id`, else
`"ip_" + ip_bidx[:32]`, else `"email_" + email_bidx[:32]`. A subject's own keys are those
its identifiers name; erasing it shreds them.

With a scope (a partner asked), every lookup also requires `partner_id` = the scope, and a
`partner_id` identifier naming another partner is not looked up: records of other partners,
and records with no partner at all (anonymous technical logs), are out of its scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.privacy import SubjectRef
from logs import store
from logs.handlers import SUBJECT_PREFIX_CHARS, subject_of
from logs.inventory import Category
from logs.order_facts import ORDER_FACTS
from logs.store import Db
from servicekit.erasures import IndexedSubject
from servicekit.grouped import deletes_from
from servicekit.vault import Vault

Doc = dict[str, Any]

LOOKUPS: dict[str, dict[str, str]] = {
    **store.SUBJECT_FIELDS,
    ORDER_FACTS: {"partner_id": "partner_id"},
}
"""Per collection, the indexed field each kind of subject identifier is looked up by."""
CATEGORY_OF = {
    store.API_REQUESTS: Category.API_REQUEST_LOGS,
    store.TECHNICAL: Category.TECHNICAL_LOGS,
    ORDER_FACTS: Category.ORDER_FACTS,
}
SEALED = {store.API_REQUESTS: ("ip", "user_agent"), store.TECHNICAL: ("email", "ip", "user_agent")}
"""The sealed personal fields of each collection."""
BLIND_KINDS = ("ip", "email")
"""Identifiers stored only as a blind index (of that kind)."""
DELETE_PAGE = 1000
"""Records an erasure deletes per `delete_many` (by `_id`)."""


def key_of_address(kind: str, blind_index: str) -> str:
    """The key that seals the records of an IP address or email with no partner or user."""
    return f"{kind}_{blind_index[:SUBJECT_PREFIX_CHARS]}"


@dataclass(frozen=True)
class Subject:
    """A subject as the logs see it: each identifier by the value stored (blind for ip/email)."""

    identifiers: dict[str, str]
    scope: str | None = None
    """The partner whose records alone are reached; None: every partner's and none's."""

    @classmethod
    def of(cls, subject: SubjectRef, vault: Vault, scope: str | None = None) -> Subject:
        """The stored values of the subject's identifiers that the logs hold (in scope)."""
        return cls.indexed(IndexedSubject.of_subject(subject, vault.blind_index), scope)

    @classmethod
    def indexed(cls, found: IndexedSubject, scope: str | None = None) -> Subject:
        """The same from identifiers given as blind indexes (an erasure-ledger entry's): the
        logs keep partner and user ids as they are, IP addresses and emails as blind indexes,
        so every kind they hold is found either way."""
        stored: dict[str, str] = {
            kind: found.values[kind] for kind in ("partner_id", "user_id") if kind in found.values
        }
        if scope is not None and stored.get("partner_id") not in (None, scope):
            del stored["partner_id"]
        for kind in BLIND_KINDS:
            if kind in found.indexes:
                stored[kind] = found.indexes[kind]
        return cls(identifiers=stored, scope=scope)

    @property
    def keys(self) -> list[str]:
        """The subject's own keys: the ones erasure shreds."""
        return [
            key_of_address(kind, value) if kind in BLIND_KINDS else value
            for kind, value in self.identifiers.items()
        ]

    def criteria(self, collection: str) -> list[Doc]:
        """One equality filter per identifier the collection is looked up by (each limited
        to the scope's records when there is a scope)."""
        fields = LOOKUPS[collection]
        scoped = {} if self.scope is None else {"partner_id": self.scope}
        return [
            {fields[kind]: value} | scoped
            for kind, value in self.identifiers.items()
            if kind in fields
        ]

    def owns(self, record: Mapping[str, Any]) -> bool:
        """Whether the record's sealed fields are the subject's to read: sealed with one of
        its keys, or recorded from its own IP address or email."""
        if subject_of(dict(record)) in self.keys:
            return True
        return any(
            kind in self.identifiers and record.get(f"{kind}_bidx") == self.identifiers[kind]
            for kind in BLIND_KINDS
        )


class SubjectLogs:
    """Reads of one collection's records of a subject, through its indexes."""

    def __init__(self, db: Db, collection: str) -> None:
        self.db = db
        self.collection = collection

    async def count(self, subject: Subject) -> int:
        """How many records match any of the subject's identifiers, each counted once (the
        union of their ids: no `$or`, and no `count_documents`, whose `$group` reads the
        whole collection on nx-27017)."""
        found: set[str] = set()
        for criterion in subject.criteria(self.collection):
            found |= await self._ids(criterion)
        return len(found)

    async def _ids(self, criterion: Doc, limit: int = 0) -> set[str]:
        """The ids of the records that match one equality filter (at most `limit`; 0: all)."""
        matching = self.db[self.collection].find(criterion, {"_id": 1}).limit(limit)
        return {record["_id"] async for record in matching}

    async def records(self, subject: Subject) -> list[Doc]:
        """The records that match any of the subject's identifiers, each once, by `_id`."""
        found: dict[str, Doc] = {}
        for criterion in subject.criteria(self.collection):
            async for record in self.db[self.collection].find(criterion):
                found.setdefault(str(record["_id"]), record)
        return [found[record_id] for record_id in sorted(found)]

    async def address_keys(self, subject: Subject) -> set[str]:
        """The keys of the subject's records that name neither partner nor user: sealed with
        the key of their IP address or email, which erasing any subject they name shreds."""
        keys: set[str] = set()
        anonymous = {"partner_id": {"$exists": False}, "user_id": {"$exists": False}}
        projection = {f"{kind}_bidx": 1 for kind in BLIND_KINDS}
        for criterion in subject.criteria(self.collection):
            if anonymous.keys() & criterion.keys():
                continue  # found by partner or user id: not anonymous
            async for record in self.db[self.collection].find(criterion | anonymous, projection):
                key = subject_of(record)
                if key is not None:
                    keys.add(key)
        return keys

    async def delete(self, subject: Subject) -> int:
        """Delete every record that matches one of the subject's identifiers; how many.

        The records are found through the identifier's index and deleted by `_id`, a page at
        a time: nx-27017 serves a delete's filter on any other field by reading the whole
        collection (0002), so `delete_many(criterion)` grew with the logs, not the subject."""
        deleted = 0
        for criterion in subject.criteria(self.collection):
            deleted += await self._delete_matching(criterion)
        return deleted

    async def _delete_matching(self, criterion: Doc) -> int:
        """Delete a page of the records found at a time, together with other erasures'
        deletes; how many were found (each is gone when this returns)."""
        deletes = deletes_from(self.db[self.collection])
        deleted: set[str] = set()
        while page := await self._ids(criterion, DELETE_PAGE):
            if page & deleted:
                raise RuntimeError(f"records deleted from {self.collection} are still found")
            await deletes.delete_in(page)
            deleted |= page
            if len(page) < DELETE_PAGE:
                break
        return len(deleted)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def readable(record: Doc, subject: Subject, vault: Vault, sealed: Iterable[str]) -> Doc:
    """The record as its export shows it: blind indexes left out; sealed fields opened when
    the subject owns them, else named under `withheld` (another subject's, or shredded)."""
    sealed = [field for field in sealed if field in record]
    hidden = set(sealed) | {f"{kind}_bidx" for kind in BLIND_KINDS}
    shown = {"record_id": str(record["_id"])} | {
        name: _plain(value)
        for name, value in record.items()
        if name != "_id" and name not in hidden
    }
    opened = await vault.open(str(record["_id"]), record, sealed) if subject.owns(record) else {}
    shown |= {name: value for name, value in opened.items() if value is not None}
    withheld = [field for field in sealed if opened.get(field) is None]
    return shown | ({"withheld": withheld} if withheld else {})
