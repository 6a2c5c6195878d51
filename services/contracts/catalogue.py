"""The package catalogue: data packages partners can sell, and the queries that read them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from iso3166 import countries_by_alpha2
from pydantic import AfterValidator, Field, StrictInt

from contracts.base import Query, Reply
from contracts.money import PositiveMoney


def _known_country(code: str) -> str:
    if code not in countries_by_alpha2:
        raise ValueError("not an ISO 3166-1 alpha-2 country code")
    return code


CountryCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2 country code, upper case.",
        examples=["DE"],
    ),
    AfterValidator(_known_country),
]
"""A country by its ISO 3166-1 alpha-2 code (`DE`, `JP`, `US`, ...)."""

PackageId = Annotated[
    str,
    Field(
        pattern=r"^pkg_[a-z0-9_]{1,60}$",
        description="Id of a data package.",
        examples=["pkg_de_5gb_30d"],
    ),
]

MAX_DATA_MB = 1_000_000
"""The largest allowance a package can have, and the largest `min_data_mb` asked for (1 TB)."""


class Region(StrEnum):
    """A region packages are sold under; which countries each covers is provisioning's."""

    EUROPE = "EUROPE"
    ASIA = "ASIA"
    AMERICAS = "AMERICAS"
    AFRICA = "AFRICA"
    OCEANIA = "OCEANIA"
    MIDDLE_EAST = "MIDDLE_EAST"
    GLOBAL = "GLOBAL"


class Coverage(StrEnum):
    """How far a package reaches: one country, a region, or the world."""

    LOCAL = "local"
    REGIONAL = "regional"
    GLOBAL = "global"


class Package(Reply):
    """A data package of the catalogue: where it works, how much data, how long, what it costs."""

    TYPE: ClassVar[str] = "provisioning.package.v1"

    id: PackageId
    title: str = Field(min_length=1, max_length=120, examples=["Germany 5 GB, 30 days"])
    coverage: Coverage
    countries: list[CountryCode] = Field(
        min_length=1, description="Every country the package works in, sorted."
    )
    regions: list[Region] = Field(
        description="The regions the package is listed under (a local package: its country's).",
        examples=[["EUROPE"]],
    )
    unlimited: bool = Field(description="Whether the data allowance is unlimited.")
    data_mb: Annotated[StrictInt, Field(ge=1, le=MAX_DATA_MB)] | None = Field(
        default=None,
        description="The data allowance in MB (1 GB = 1024 MB); null when `unlimited`.",
        examples=[5120],
    )
    validity_days: int = Field(ge=1, le=366, examples=[30])
    price: PositiveMoney
    active: bool = Field(description="Whether the package can be bought now.")


class ListPackages(Query):
    """A page of the active packages that match every given filter, in id order; answered by
    `provisioning.package_page.v1`."""

    TYPE: ClassVar[str] = "provisioning.list_packages.v1"

    country: CountryCode | None = Field(
        default=None, description="Only packages that work in this country."
    )
    region: Region | None = Field(default=None, description="Only packages listed under it.")
    min_data_mb: Annotated[StrictInt, Field(ge=0, le=MAX_DATA_MB)] | None = Field(
        default=None, description="Only packages with at least this much data (or unlimited)."
    )
    limit: int = Field(default=50, ge=1, le=200)
    cursor: PackageId | None = Field(default=None, description="`next_cursor` of the last page.")


class PackagePage(Reply):
    """Packages, and the cursor of the next page (null on the last one)."""

    TYPE: ClassVar[str] = "provisioning.package_page.v1"

    data: list[Package]
    next_cursor: PackageId | None = None


class GetPackage(Query):
    """One package by id, active or not; answered by `provisioning.package.v1`."""

    TYPE: ClassVar[str] = "provisioning.get_package.v1"

    package_id: PackageId
