"""The demo catalogue and its seeding: every country covered, deterministic, a few hundred
packages, realistic prices, idempotent, and safe when two seeders race."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from contracts.catalogue import Coverage, ListPackages, Package, Region
from provisioning import catalogue_store
from provisioning.app import create_service
from provisioning.catalogue import seed_if_empty
from provisioning.regions import ALL_COUNTRIES, REGION_COUNTRIES, regions_of, uncovered_countries
from provisioning.seed import demo_catalogue, seed_catalogue
from provisioning.settings import ProvisioningSettings
from servicekit.receipts import generate_signing_key


def test_every_country_belongs_to_a_region() -> None:
    """The region mapping leaves no ISO 3166-1 country out, and names only real ones."""
    assert uncovered_countries() == frozenset()
    for region, members in REGION_COUNTRIES.items():
        assert members <= ALL_COUNTRIES, region
    assert REGION_COUNTRIES[Region.GLOBAL] == ALL_COUNTRIES
    assert len(ALL_COUNTRIES) >= 249


def test_every_country_has_a_local_package() -> None:
    """Each country of the ISO list has an active local package of its own."""
    local = {p.countries[0] for p in demo_catalogue() if p.coverage is Coverage.LOCAL and p.active}
    assert local == ALL_COUNTRIES


def test_the_catalogue_is_a_few_hundred_distinct_packages() -> None:
    """A realistic size, unique ids, some unlimited and some retired packages."""
    packages = demo_catalogue()
    assert 300 <= len(packages) <= 500
    assert len({p.id for p in packages}) == len(packages)
    assert sum(p.unlimited for p in packages) >= 5
    assert sum(not p.active for p in packages) >= 3
    assert {p.coverage for p in packages} == set(Coverage)


def test_the_catalogue_is_the_same_every_time() -> None:
    """Seeding is deterministic: same ids and values on every run."""
    assert demo_catalogue() == demo_catalogue()


def test_packages_are_consistent() -> None:
    """Every package's allowance, price (integer euro cents) and regions are consistent."""
    for package in demo_catalogue():
        assert (package.data_mb is None) == package.unlimited, package.id
        assert isinstance(package.price.amount, int)
        assert 99 <= package.price.amount <= 100_00, package.id
        assert package.price.currency == "EUR"
        if package.coverage is Coverage.REGIONAL:
            assert set(package.countries) == REGION_COUNTRIES[package.regions[0]]
        if package.coverage is Coverage.LOCAL:
            assert package.regions == regions_of(package.countries[0])


def test_the_stored_form_round_trips() -> None:
    """A package read back from its stored form is the same package, with no null field."""
    for package in demo_catalogue():
        document = catalogue_store.to_document(package)
        assert None not in document.values()
        assert catalogue_store.from_document(document) == package


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "ZZ"),
        ("country", "de"),
        ("country", "DEU"),
        ("region", "ATLANTIS"),
        ("min_data_mb", -1),
        ("min_data_mb", 1.5),
        ("limit", 0),
        ("limit", 201),
        ("cursor", "ord_123"),
        ("cursor", "pkg_DE"),
    ],
)
def test_list_query_refuses_bad_input(field: str, value: Any) -> None:
    """Unknown countries or regions, bad minimums, limits and cursors are refused."""
    with pytest.raises(ValidationError):
        ListPackages.model_validate({field: value})


def test_a_package_refuses_an_unknown_country() -> None:
    """A package cannot list a code that is not an ISO 3166-1 country."""
    good = demo_catalogue()[0].model_dump()
    with pytest.raises(ValidationError):
        Package.model_validate({**good, "countries": ["XX"]})


def test_provisioning_answers_the_catalogue_queries() -> None:
    """The composition root wires the catalogue's two queries."""
    settings = ProvisioningSettings(receipt_signing_key=SecretStr(generate_signing_key()))
    service = create_service(settings)
    assert {"provisioning.list_packages.v1", "provisioning.get_package.v1"} <= set(
        service.router.answers
    )


async def test_seeding_twice_adds_nothing(bare_db: Any) -> None:
    """The second seeding finds every package and inserts none."""
    assert await seed_catalogue(bare_db) == len(demo_catalogue())
    assert await seed_catalogue(bare_db) == 0
    assert await bare_db[catalogue_store.PACKAGES].count_documents({}) == len(demo_catalogue())


async def test_seeding_restores_a_missing_package_only(bare_db: Any) -> None:
    """A package missing from a seeded catalogue comes back; the others stay as they were."""
    await seed_catalogue(bare_db)
    packages = bare_db[catalogue_store.PACKAGES]
    await packages.delete_one({"_id": "pkg_fr_1gb_7d"})
    await packages.update_one({"_id": "pkg_de_1gb_7d"}, {"$set": {"title": "Edited"}})
    assert await seed_catalogue(bare_db) == 1
    assert (await packages.find_one({"_id": "pkg_de_1gb_7d"}))["title"] == "Edited"


async def test_start_up_seeds_only_an_empty_catalogue(bare_db: Any) -> None:
    """Start-up leaves a catalogue with packages alone (it may have been curated)."""
    await seed_if_empty(bare_db)
    packages = bare_db[catalogue_store.PACKAGES]
    await packages.delete_one({"_id": "pkg_fr_1gb_7d"})
    await seed_if_empty(bare_db)
    assert await packages.find_one({"_id": "pkg_fr_1gb_7d"}) is None


async def test_two_racing_seeders_store_each_package_once(bare_db: Any) -> None:
    """Concurrent seeders together insert every package exactly once, without an error."""
    added = await asyncio.gather(seed_catalogue(bare_db), seed_catalogue(bare_db))
    assert sum(added) == len(demo_catalogue())
    assert await bare_db[catalogue_store.PACKAGES].count_documents({}) == len(demo_catalogue())
