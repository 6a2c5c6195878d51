"""The catalogue routes' endpoint functions: list and get data packages.

The catalogue is the same for every partner and holds nothing personal, so these need a
valid key and no particular scope: any integration that sells eSIMs must be able to show
what it sells, whatever else its key may do.
"""

from __future__ import annotations

import re
import time

from pydantic import Field

from contracts.catalogue import (
    MAX_DATA_MB,
    CountryCode,
    GetPackage,
    ListPackages,
    Package,
    PackageId,
    PackagePage,
    Region,
)
from gateway.api import Call, Encoded
from gateway.problems import ApiError
from gateway.schemas import ApiModel
from servicekit.bus import Bus

_PACKAGE_ID = re.compile(r"^pkg_[a-z0-9_]{1,60}$")


class PackagesQuery(ApiModel):
    """Filters of the catalogue (all optional, combined with AND) and cursor pagination."""

    country: CountryCode | None = Field(
        default=None, description="Only packages that work in this country (ISO 3166-1 alpha-2)."
    )
    region: Region | None = Field(
        default=None, description="Only packages listed under this region."
    )
    min_data_mb: int | None = Field(
        default=None,
        ge=0,
        le=MAX_DATA_MB,
        description="Only packages with at least this much data in MB; unlimited ones always.",
    )
    limit: int = Field(default=50, ge=1, le=200)
    cursor: PackageId | None = Field(
        default=None, description="`next_cursor` of the previous page."
    )


PageKey = tuple[str | None, str | None, int | None, int, str | None]
MAX_CACHED_PAGES = 1024


class CatalogueHandlers:
    """Endpoint functions of `/v1/packages`.

    Pages of the list are kept, encoded, for `cache_seconds` (0: not kept): the catalogue is
    the same for every partner and changes rarely, and asking provisioning for every page
    would cost each request a round trip over the bus and a store query.
    """

    def __init__(self, bus: Bus, timeout: float, cache_seconds: float = 0) -> None:
        self.bus = bus
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self._pages: dict[PageKey, tuple[float, Encoded]] = {}

    async def list_packages(self, call: Call) -> Encoded:
        """A page of the active packages that match the filters, in a stable order."""
        asked: PackagesQuery = call.query
        key = (asked.country, asked.region, asked.min_data_mb, asked.limit, asked.cursor)
        now = time.monotonic()
        kept = self._pages.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        query = ListPackages(
            country=asked.country,
            region=asked.region,
            min_data_mb=asked.min_data_mb,
            limit=asked.limit,
            cursor=asked.cursor,
        )
        page = await self.bus.request(
            query, to="provisioning", reply=PackagePage, timeout=self.timeout
        )
        encoded = Encoded(page.model_dump_json().encode())
        self._keep(key, encoded, now)
        return encoded

    def _keep(self, key: PageKey, page: Encoded, now: float) -> None:
        if self.cache_seconds <= 0:
            return
        if len(self._pages) >= MAX_CACHED_PAGES:
            self._pages = {k: v for k, v in self._pages.items() if v[0] > now}
        if len(self._pages) < MAX_CACHED_PAGES:
            self._pages[key] = (now + self.cache_seconds, page)

    async def get_package(self, call: Call) -> Package:
        """One package by id, including a retired one (`active: false`)."""
        package_id = call.path["id"]
        if not _PACKAGE_ID.match(package_id):
            raise ApiError(404, "not_found", "Not found", "no package has this id")
        query = GetPackage(package_id=package_id)
        return await self.bus.request(query, to="provisioning", reply=Package, timeout=self.timeout)
