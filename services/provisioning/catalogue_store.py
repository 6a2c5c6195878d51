"""The `packages` collection: how a package is stored, indexed and read.

A stored package keeps `status` (`active` or `retired`) rather than a boolean, so a later
update can change it on every store server, and `data_rank` (its MB, or more than any
allowance when unlimited), so one range filter finds "at least N MB, or unlimited".
"""

from __future__ import annotations

from typing import Any

from pymongo.errors import BulkWriteError

from contracts.catalogue import MAX_DATA_MB, ListPackages, Package
from provisioning.store import Db

PACKAGES = "packages"
ACTIVE = "active"
RETIRED = "retired"
UNLIMITED_RANK = MAX_DATA_MB + 1
"""`data_rank` of an unlimited package: above every `min_data_mb` a query can ask for."""
DUPLICATE_KEY = 11000

Document = dict[str, Any]


async def create_indexes(db: Db) -> None:
    """One index per filter of `ListPackages` (arrays are indexed per element)."""
    for field in ("countries", "regions", "data_rank", "status"):
        await db[PACKAGES].create_index(field)


def to_document(package: Package) -> Document:
    """The stored form of a package (no null fields: an unlimited one has no `data_mb`)."""
    document: Document = {
        "_id": package.id,
        "title": package.title,
        "coverage": package.coverage.value,
        "countries": list(package.countries),
        "regions": [region.value for region in package.regions],
        "data_rank": UNLIMITED_RANK if package.data_mb is None else package.data_mb,
        "validity_days": package.validity_days,
        "price": package.price.model_dump(),
        "status": ACTIVE if package.active else RETIRED,
    }
    if package.data_mb is not None:
        document["data_mb"] = package.data_mb
    return document


def from_document(document: Document) -> Package:
    """The view of a stored package."""
    return Package(
        id=document["_id"],
        title=document["title"],
        coverage=document["coverage"],
        countries=document["countries"],
        regions=document["regions"],
        unlimited="data_mb" not in document,
        data_mb=document.get("data_mb"),
        validity_days=document["validity_days"],
        price=document["price"],
        active=document["status"] == ACTIVE,
    )


def page_filter(query: ListPackages) -> Document:
    """The store filter of a page: active packages matching every given filter, after the
    cursor."""
    conditions: Document = {"status": ACTIVE}
    # Membership as `$in` of one value: with an index on the array, nx-27017 answers the
    # plain `{"countries": "DE"}` with nothing (measured with nx-27017 0.8.1), `$in` correctly.
    if query.country is not None:
        conditions["countries"] = {"$in": [query.country]}
    if query.region is not None:
        conditions["regions"] = {"$in": [query.region.value]}
    if query.min_data_mb is not None:
        conditions["data_rank"] = {"$gte": query.min_data_mb}
    if query.cursor is not None:
        conditions["_id"] = {"$gt": query.cursor}
    return conditions


async def find_page(db: Db, query: ListPackages) -> tuple[list[Package], bool]:
    """Up to `limit` matching packages in id order, and whether more follow."""
    cursor = db[PACKAGES].find(page_filter(query)).sort("_id", 1).limit(query.limit + 1)
    documents = await cursor.to_list()
    return [from_document(document) for document in documents[: query.limit]], len(
        documents
    ) > query.limit


async def find_package(db: Db, package_id: str) -> Package | None:
    """One package by id, or None."""
    document = await db[PACKAGES].find_one({"_id": package_id})
    return None if document is None else from_document(document)


async def is_empty(db: Db) -> bool:
    """Whether the catalogue has no package at all."""
    return await db[PACKAGES].find_one({}, {"_id": 1}) is None


async def insert_missing(db: Db, packages: list[Package]) -> int:
    """Insert the packages whose id is not stored yet; how many were inserted.

    Packages already stored are left as they are. A concurrent seeder's inserts of the same
    ids are duplicates, and are skipped.
    """
    wanted = [package.id for package in packages]
    stored = {
        document["_id"]
        async for document in db[PACKAGES].find({"_id": {"$in": wanted}}, {"_id": 1})
    }
    missing = [to_document(package) for package in packages if package.id not in stored]
    if not missing:
        return 0
    try:
        result = await db[PACKAGES].insert_many(missing, ordered=False)
    except BulkWriteError as error:
        if any(item["code"] != DUPLICATE_KEY for item in error.details["writeErrors"]):
            raise
        return int(error.details["nInserted"])
    return len(result.inserted_ids)
