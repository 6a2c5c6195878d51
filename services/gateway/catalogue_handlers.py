"""The catalogue routes' endpoint functions: list and get data packages.

The catalogue is the same for every partner and holds nothing personal, so these need a
valid key and no particular scope: any integration that sells eSIMs must be able to show
what it sells, whatever else its key may do.
"""

from __future__ import annotations

import re

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
from gateway.api import Call
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


class CatalogueHandlers:
    """Endpoint functions of `/v1/packages`."""

    def __init__(self, bus: Bus, timeout: float) -> None:
        self.bus = bus
        self.timeout = timeout

    async def list_packages(self, call: Call) -> PackagePage:
        """A page of the active packages that match the filters, in a stable order."""
        asked: PackagesQuery = call.query
        query = ListPackages(
            country=asked.country,
            region=asked.region,
            min_data_mb=asked.min_data_mb,
            limit=asked.limit,
            cursor=asked.cursor,
        )
        return await self.bus.request(
            query, to="provisioning", reply=PackagePage, timeout=self.timeout
        )

    async def get_package(self, call: Call) -> Package:
        """One package by id, including a retired one (`active: false`)."""
        package_id = call.path["id"]
        if not _PACKAGE_ID.match(package_id):
            raise ApiError(404, "not_found", "Not found", "no package has this id")
        query = GetPackage(package_id=package_id)
        return await self.bus.request(query, to="provisioning", reply=Package, timeout=self.timeout)
