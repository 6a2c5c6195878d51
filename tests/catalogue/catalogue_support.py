"""Helpers of the catalogue tests: asking provisioning over the bus, and the expected answers
computed from the demo catalogue itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts.catalogue import GetPackage, ListPackages, Package, PackagePage
from provisioning.seed import demo_catalogue
from servicekit.bus import Bus

TIMEOUT = 10.0


@dataclass
class Asker:
    """A caller of the catalogue's queries, and provisioning's database (to read as an
    auditor would)."""

    bus: Bus
    db: Any

    async def page(self, **filters: Any) -> PackagePage:
        """One page of `ListPackages` with these fields."""
        return await self.bus.request(
            ListPackages(**filters), to="provisioning", reply=PackagePage, timeout=TIMEOUT
        )

    async def every_page(self, **filters: Any) -> list[PackagePage]:
        """Every page, following `next_cursor` until the last (bounded by the catalogue)."""
        pages = [await self.page(**filters)]
        while pages[-1].next_cursor is not None:
            assert len(pages) <= len(demo_catalogue()), "paging does not end"
            pages.append(await self.page(**filters, cursor=pages[-1].next_cursor))
        return pages

    async def get(self, package_id: str) -> Package:
        """`GetPackage` of one id."""
        return await self.bus.request(
            GetPackage(package_id=package_id), to="provisioning", reply=Package, timeout=TIMEOUT
        )


def ids_of(pages: list[PackagePage]) -> list[str]:
    """Every package id of the pages, in the order they came."""
    return [package.id for page in pages for package in page.data]


def expected_ids(keep: Callable[[Package], bool]) -> list[str]:
    """The ids of the active demo packages `keep` accepts, sorted."""
    return sorted(p.id for p in demo_catalogue() if p.active and keep(p))
