"""The catalogue over the bus: seeded at start-up, filtered by country, region and minimum
data, paged by a stable cursor, and one package by id."""

from __future__ import annotations

import pytest
from catalogue_support import Asker, expected_ids, ids_of

from contracts.catalogue import Coverage, Region
from provisioning import catalogue_store
from provisioning.seed import RETIRED_COUNTRIES, demo_catalogue
from servicekit.errors import RemoteCallError


async def test_start_up_seeds_an_empty_catalogue(asker: Asker) -> None:
    """Provisioning stores the whole demo catalogue when it starts with none."""
    stored = await asker.db[catalogue_store.PACKAGES].count_documents({})
    assert stored == len(demo_catalogue())


async def test_paging_walks_every_active_package_once_in_id_order(asker: Asker) -> None:
    """Following `next_cursor` yields every active package once, sorted, and then stops."""
    pages = await asker.every_page(limit=37)
    ids = ids_of(pages)
    assert ids == expected_ids(lambda _package: True)
    assert all(len(page.data) == 37 for page in pages[:-1])
    assert pages[-1].next_cursor is None
    assert 1 <= len(pages[-1].data) <= 37


async def test_the_same_page_twice_is_the_same(asker: Asker) -> None:
    """A cursor names a place in a stable order: asking again gives the same page."""
    first = await asker.page(limit=10)
    again = await asker.page(limit=10, cursor=first.next_cursor)
    assert again == await asker.page(limit=10, cursor=first.next_cursor)
    assert again.data[0].id > first.data[-1].id


async def test_a_page_exactly_as_long_as_what_is_left_is_the_last(asker: Asker) -> None:
    """When the rest fits the limit exactly there is no empty page after it."""
    everything = expected_ids(lambda _package: True)
    page = await asker.page(limit=3, cursor=everything[-4])
    assert [package.id for package in page.data] == everything[-3:]
    assert page.next_cursor is None


async def test_a_cursor_after_the_last_package_gives_an_empty_last_page(asker: Asker) -> None:
    """A well-formed cursor past every id answers an empty page, not an error."""
    page = await asker.page(cursor="pkg_zzz")
    assert page.data == []
    assert page.next_cursor is None


async def test_country_filter_finds_local_regional_and_global_packages(asker: Asker) -> None:
    """`country=DE` lists every active package that works in Germany, of every coverage."""
    ids = ids_of(await asker.every_page(country="DE", limit=200))
    assert ids == expected_ids(lambda package: "DE" in package.countries)
    coverages = {
        package.coverage for page in await asker.every_page(country="DE") for package in page.data
    }
    assert coverages == set(Coverage)
    assert "pkg_de_500mb_7d" not in ids, "a retired package is not listed"


async def test_every_country_has_a_package(asker: Asker) -> None:
    """A partner finds at least one local package for a small country too."""
    page = await asker.page(country="TV")
    assert "pkg_tv_1gb_7d" in [package.id for package in page.data]


async def test_region_filter_lists_the_packages_sold_under_it(asker: Asker) -> None:
    """`region=MIDDLE_EAST` has its regional packages and the local ones of its countries."""
    pages = await asker.every_page(region=Region.MIDDLE_EAST, limit=50)
    ids = ids_of(pages)
    assert ids == expected_ids(lambda package: Region.MIDDLE_EAST in package.regions)
    assert {"pkg_tr_1gb_7d", "pkg_ae_1gb_7d", "pkg_middle_east_5gb_30d"} <= set(ids)
    assert "pkg_global_5gb_30d" not in ids


async def test_minimum_data_keeps_bigger_and_unlimited_packages(asker: Asker) -> None:
    """`min_data_mb` keeps packages with at least that much data, and unlimited ones."""
    pages = await asker.every_page(min_data_mb=10 * 1024, limit=100)
    packages = [package for page in pages for package in page.data]
    assert [p.id for p in packages] == expected_ids(
        lambda p: p.unlimited or (p.data_mb or 0) >= 10 * 1024
    )
    assert any(p.unlimited for p in packages)
    assert all(p.unlimited or (p.data_mb or 0) >= 10 * 1024 for p in packages)


async def test_filters_combine(asker: Asker) -> None:
    """Country, region and minimum data together narrow the list to what fits all three."""
    ids = ids_of(await asker.every_page(country="JP", region=Region.ASIA, min_data_mb=5 * 1024))
    assert ids == [
        "pkg_asia_10gb_30d",
        "pkg_asia_5gb_30d",
        "pkg_jp_10gb_30d",
        "pkg_jp_5gb_30d",
        "pkg_jp_unlimited_7d",
    ]


async def test_a_filter_nothing_matches_gives_one_empty_page(asker: Asker) -> None:
    """No match is an empty page with no cursor, not an error."""
    page = await asker.page(country="AQ", region=Region.EUROPE)
    assert page.data == []
    assert page.next_cursor is None


async def test_get_package_answers_the_package(asker: Asker) -> None:
    """A package by id carries its allowance, validity and price in minor units."""
    package = await asker.get("pkg_de_5gb_30d")
    assert package.countries == ["DE"]
    assert package.data_mb == 5 * 1024
    assert not package.unlimited
    assert package.validity_days == 30
    assert package.price.currency == "EUR"
    assert package.price.amount == 1599
    assert package.active


async def test_get_package_answers_a_retired_package_as_inactive(asker: Asker) -> None:
    """A retired package is not listed but can still be read, with `active` false."""
    package = await asker.get(f"pkg_{RETIRED_COUNTRIES[0].lower()}_500mb_7d")
    assert not package.active


async def test_an_unlimited_package_has_no_allowance(asker: Asker) -> None:
    """An unlimited package says so and carries no `data_mb`."""
    package = await asker.get("pkg_europe_unlimited_15d")
    assert package.unlimited
    assert package.data_mb is None


async def test_an_unknown_package_is_not_found(asker: Asker) -> None:
    """A well-formed id of no package is `not_found`."""
    with pytest.raises(RemoteCallError) as failure:
        await asker.get("pkg_xx_99gb_1d")
    assert failure.value.code == "not_found"
