"""The package catalogue through the partners' API: the seeded catalogue paged whole with a
stable order and one response shape, the filters, one package by id, any valid key may read
it, bad input is a 422 problem, and the OpenAPI document describes both operations."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from e2e_support import Platform, add_api_key
from pymongo import AsyncMongoClient

from provisioning.seed import demo_catalogue

PROBLEM_JSON = "application/problem+json"
PACKAGES = "/v1/packages"
PAGE_FIELDS = {"data", "next_cursor"}
PACKAGE_FIELDS = {
    "id",
    "title",
    "coverage",
    "countries",
    "regions",
    "unlimited",
    "data_mb",
    "validity_days",
    "price",
    "active",
}

Db = AsyncMongoClient[dict[str, Any]]


def active_ids(keep: Any = lambda _package: True) -> list[str]:
    """The sorted ids of the seeded active packages `keep` accepts."""
    return sorted(p.id for p in demo_catalogue() if p.active and keep(p))


async def ok_json(response: aiohttp.ClientResponse) -> Any:
    """The JSON body of a response that must be a 200."""
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    return await response.json()


async def every_page(api: aiohttp.ClientSession, **params: str) -> list[dict[str, Any]]:
    """Every page of `/v1/packages` with these parameters, following `next_cursor`."""
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while not pages or cursor is not None:
        assert len(pages) <= len(demo_catalogue()), "paging does not end"
        query = {**params, **({"cursor": cursor} if cursor else {})}
        async with api.get(PACKAGES, params=query) as response:
            pages.append(await ok_json(response))
        cursor = pages[-1]["next_cursor"]
    return pages


def ids_in(pages: list[dict[str, Any]]) -> list[str]:
    """Every package id of the pages, in the order they came."""
    return [package["id"] for page in pages for package in page["data"]]


async def test_paging_walks_the_whole_catalogue_once_in_a_stable_order(
    api: aiohttp.ClientSession,
) -> None:
    """Pages of 100 hold every active package once, sorted by id, and end with a null cursor."""
    pages = await every_page(api, limit="100")
    ids = ids_in(pages)
    assert len(ids) == len(set(ids))
    assert ids == active_ids()
    assert len(pages) == -(-len(ids) // 100)
    assert pages[-1]["next_cursor"] is None
    assert await every_page(api, limit="100") == pages, "the same walk gives the same pages"


async def test_every_page_and_package_has_one_shape(api: aiohttp.ClientSession) -> None:
    """Every page and every package has the same fields; money is integer minor units."""
    for page in await every_page(api, limit="200"):
        assert set(page) == PAGE_FIELDS
        for package in page["data"]:
            assert set(package) == PACKAGE_FIELDS
            assert (package["data_mb"] is None) == package["unlimited"]
            assert isinstance(package["price"]["amount"], int)
            assert package["price"]["currency"] == "EUR"
            assert package["active"] is True


async def test_country_filter(api: aiohttp.ClientSession) -> None:
    """`country=FR` lists every active package that works in France."""
    pages = await every_page(api, country="FR")
    assert ids_in(pages) == active_ids(lambda p: "FR" in p.countries)
    assert {"pkg_fr_1gb_7d", "pkg_europe_1gb_7d", "pkg_global_1gb_7d"} <= set(ids_in(pages))


async def test_region_filter(api: aiohttp.ClientSession) -> None:
    """`region=OCEANIA` lists the packages sold under Oceania, not the global ones."""
    ids = ids_in(await every_page(api, region="OCEANIA", limit="25"))
    assert ids == active_ids(lambda p: "OCEANIA" in p.regions)
    assert "pkg_au_5gb_30d" in ids
    assert not [package_id for package_id in ids if package_id.startswith("pkg_global_")]


async def test_minimum_data_filter_keeps_unlimited_packages(api: aiohttp.ClientSession) -> None:
    """`min_data_mb` keeps packages with at least that much data, and unlimited ones."""
    ids = ids_in(await every_page(api, min_data_mb="6000"))
    assert ids == active_ids(lambda p: p.unlimited or (p.data_mb or 0) >= 6000)
    assert "pkg_global_unlimited_7d" in ids


async def test_filters_combine(api: aiohttp.ClientSession) -> None:
    """Country, region and minimum data together."""
    ids = ids_in(await every_page(api, country="US", region="AMERICAS", min_data_mb="10240"))
    assert ids == ["pkg_americas_10gb_30d", "pkg_us_10gb_30d", "pkg_us_unlimited_7d"]


async def test_get_a_package(api: aiohttp.ClientSession) -> None:
    """A package by id, in the same shape as in the list."""
    async with api.get(f"{PACKAGES}/pkg_jp_5gb_30d") as response:
        package = await ok_json(response)
    assert set(package) == PACKAGE_FIELDS
    assert package["countries"] == ["JP"]
    assert package["data_mb"] == 5120
    assert package["validity_days"] == 30
    assert package["price"] == {"amount": 1599, "currency": "EUR"}


async def test_a_retired_package_is_readable_but_not_listed(api: aiohttp.ClientSession) -> None:
    """A retired package answers by id with `active: false` and is absent from the list."""
    async with api.get(f"{PACKAGES}/pkg_de_500mb_7d") as response:
        assert (await ok_json(response))["active"] is False
    assert "pkg_de_500mb_7d" not in ids_in(await every_page(api, country="DE"))


@pytest.mark.parametrize("package_id", ["pkg_xx_1gb_1d", "PKG-nope", "ord_123"])
async def test_an_unknown_package_is_a_404_problem(
    api: aiohttp.ClientSession, package_id: str
) -> None:
    """An id of no package, well formed or not, is a 404 `not_found` problem."""
    async with api.get(f"{PACKAGES}/{package_id}") as response:
        assert response.status == 404, await response.text()
        assert response.content_type == PROBLEM_JSON
        assert (await response.json(content_type=PROBLEM_JSON))["code"] == "not_found"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"country": "ZZ"}, "country"),
        ({"country": "de"}, "country"),
        ({"country": "DEU"}, "country"),
        ({"region": "ATLANTIS"}, "region"),
        ({"min_data_mb": "-1"}, "min_data_mb"),
        ({"min_data_mb": "lots"}, "min_data_mb"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_bad_query_is_a_422_problem_naming_the_field(
    api: aiohttp.ClientSession, params: dict[str, str], field: str
) -> None:
    """A bad filter, cursor, limit or unknown parameter is a 422 naming the field."""
    async with api.get(PACKAGES, params=params) as response:
        assert response.status == 422, await response.text()
        problem = await response.json(content_type=PROBLEM_JSON)
    assert problem["code"] == "validation_failed"
    assert field in {error["field"] for error in problem["errors"]}
    assert next(iter(params.values())) not in str(problem["errors"]), "input is not echoed"


async def test_any_valid_key_reads_the_catalogue(platform: Platform, db: Db) -> None:
    """A key with none of the order scopes may still list and read packages."""
    key = await add_api_key(platform, db, partner_id="ptn_demo", scopes=["account:read"])
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(base_url=platform.gateway, headers=headers) as session:
        async with session.get(PACKAGES, params={"limit": "5"}) as response:
            assert len((await ok_json(response))["data"]) == 5
        async with session.get(f"{PACKAGES}/pkg_fr_1gb_7d") as response:
            assert (await ok_json(response))["id"] == "pkg_fr_1gb_7d"


async def test_the_catalogue_needs_a_key(platform: Platform) -> None:
    """Without a key the catalogue is a 401 problem."""
    async with aiohttp.ClientSession(base_url=platform.gateway) as session:
        for path in (PACKAGES, f"{PACKAGES}/pkg_fr_1gb_7d"):
            async with session.get(path) as response:
                assert response.status == 401


async def test_openapi_documents_the_catalogue(platform: Platform) -> None:
    """Both operations are in /openapi.json with their filters, 404 and 422."""
    async with (
        aiohttp.ClientSession(base_url=platform.gateway) as session,
        session.get("/openapi.json") as response,
    ):
        document = await ok_json(response)
    listing = document["paths"][PACKAGES]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "country",
        "region",
        "min_data_mb",
        "limit",
        "cursor",
    }
    assert "422" in listing["responses"]
    single = document["paths"][f"{PACKAGES}/{{id}}"]["get"]
    assert "404" in single["responses"]
    assert {"PackagePage", "Package"} <= set(document["components"]["schemas"])
