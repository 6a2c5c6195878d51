"""The package catalogue's answers: list packages by filters and cursor, get one by id."""

from __future__ import annotations

import structlog

from contracts.catalogue import GetPackage, ListPackages, Package, PackagePage
from provisioning import catalogue_store
from provisioning.seed import seed_catalogue
from provisioning.store import Db
from servicekit.errors import ServiceError
from servicekit.messages import MessageContext
from servicekit.service import Service

log = structlog.get_logger("provisioning.catalogue")


class Catalogue:
    """The catalogue's query handlers over the service's database."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def list_packages(self, query: ListPackages, _context: MessageContext) -> PackagePage:
        """A page of active packages matching every filter, in id order."""
        packages, more = await catalogue_store.find_page(self.db, query)
        next_cursor = packages[-1].id if more and packages else None
        return PackagePage(data=packages, next_cursor=next_cursor)

    async def get_package(self, query: GetPackage, _context: MessageContext) -> Package:
        """One package, active or retired; `not_found` when there is none by that id."""
        package = await catalogue_store.find_package(self.db, query.package_id)
        if package is None:
            raise ServiceError("not_found", f"no package {query.package_id}")
        return package


async def seed_if_empty(db: Db) -> None:
    """Store the demo catalogue when the catalogue has no package at all."""
    await catalogue_store.create_indexes(db)
    if await catalogue_store.is_empty(db):
        added = await seed_catalogue(db)
        log.info("catalogue_seeded", packages=added)


def register(service: Service) -> None:
    """Index (and, when empty, seed) the catalogue at start-up; answer its queries."""
    catalogue = Catalogue(service.db)
    service.startup.append(lambda: seed_if_empty(service.db))
    service.router.answer(ListPackages, catalogue.list_packages)
    service.router.answer(GetPackage, catalogue.get_package)
