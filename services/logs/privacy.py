"""The logs service's answers to privacy commands."""

from __future__ import annotations

from typing import Any

from contracts.privacy import CategoryOutcome, Disposition, SubjectRef
from logs import store
from logs.store import Db
from servicekit.clock import utcnow

CATEGORY_OF = {store.API_REQUESTS: "api_request_logs", store.TECHNICAL: "technical_logs"}


class LogsPrivacy:
    """Log records that identify the subject: exported, deleted, or flagged."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def _ids(self, collection: str, subject: SubjectRef) -> list[Any]:
        identifiers = subject.identifiers()
        found: set[Any] = set()
        for key, field in store.SUBJECT_FIELDS[collection].items():
            if key in identifiers:
                async for doc in self.db[collection].find({field: identifiers[key]}, {"_id": 1}):
                    found.add(doc["_id"])
        return sorted(found)

    async def _each(self, subject: SubjectRef) -> dict[str, list[Any]]:
        return {collection: await self._ids(collection, subject) for collection in CATEGORY_OF}

    async def locate(self, subject: SubjectRef) -> list[CategoryOutcome]:
        """How many log records of each kind identify the subject."""
        return [
            CategoryOutcome(
                category=CATEGORY_OF[collection],
                records=len(ids),
                disposition=Disposition.FOUND if ids else Disposition.NONE_HELD,
            )
            for collection, ids in (await self._each(subject)).items()
        ]

    async def export(self, subject: SubjectRef) -> dict[str, Any]:
        """The subject's log records, JSON-ready."""
        export: dict[str, Any] = {}
        for collection, ids in (await self._each(subject)).items():
            cursor = self.db[collection].find({"_id": {"$in": ids}}, {"_id": 0})
            export[CATEGORY_OF[collection]] = [
                {
                    key: value.isoformat() if hasattr(value, "isoformat") else value
                    for key, value in doc.items()
                }
                async for doc in cursor
            ]
        return export

    async def erase(self, subject: SubjectRef) -> list[CategoryOutcome]:
        """Logs are deleted outright: no legal obligation keeps them."""
        outcomes = []
        for collection, ids in (await self._each(subject)).items():
            deleted = (await self.db[collection].delete_many({"_id": {"$in": ids}})).deleted_count
            outcomes.append(
                CategoryOutcome(
                    category=CATEGORY_OF[collection],
                    records=deleted,
                    disposition=Disposition.DELETED if deleted else Disposition.NONE_HELD,
                )
            )
        return outcomes

    async def restrict(
        self, subject: SubjectRef, *, restricted: bool, objection: bool
    ) -> list[CategoryOutcome]:
        """Flag the subject's log records so analytics leave them out."""
        outcomes = []
        disposition = Disposition.RESTRICTED if restricted else Disposition.UNRESTRICTED
        for collection, ids in (await self._each(subject)).items():
            restriction = {"restricted": restricted, "objection": objection, "at": utcnow()}
            await self.db[collection].update_many(
                {"_id": {"$in": ids}}, {"$set": {"restriction": restriction}}
            )
            outcomes.append(
                CategoryOutcome(
                    category=CATEGORY_OF[collection],
                    records=len(ids),
                    disposition=disposition if ids else Disposition.NONE_HELD,
                )
            )
        return outcomes

    async def rectify(self, subject: SubjectRef, changes: dict[str, str]) -> list[CategoryOutcome]:
        """Logs record what happened; they are not rectified, and the answer says so."""
        count = sum(len(ids) for ids in (await self._each(subject)).values())
        return [
            CategoryOutcome(
                category="technical_logs",
                records=count,
                disposition=Disposition.NONE_HELD if not count else Disposition.FOUND,
                note="Log records are a factual record of events and are not rectified.",
            )
        ]
