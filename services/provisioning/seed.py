"""The demo order `make run` seeds, so the demo partner has an eSIM and an end user; and the
demo package catalogue.

The demo order has the shape the order flow stores (`purchase_store.purchase_document`),
completed, its end user's email and reference sealed with the order's key, and one eSIM
(`esim_store.esim_document`, its matching id sealed with the partner's key). Sealing needs
MASTER_KEYS and BLIND_INDEX_KEY: without them only the catalogue is seeded.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import datetime

import structlog
from iso3166 import countries_by_alpha2
from pymongo.errors import DuplicateKeyError

from contracts.catalogue import Coverage, Package, Region
from contracts.money import Money
from contracts.orders import EndUser, PurchaseStep
from provisioning import catalogue_store, esim_store, store
from provisioning.modes import Mode
from provisioning.provider import AllocatedProfile
from provisioning.purchase_store import (
    Kind,
    State,
    purchase_document,
    seal_end_user,
    transition,
)
from provisioning.regions import REGION_COUNTRIES, regions_of
from provisioning.store import Db
from servicekit.cli import seed_once
from servicekit.clock import utcnow
from servicekit.outbox import with_outbox
from servicekit.vault import Vault

log = structlog.get_logger("provisioning.seed")

DEMO_PARTNER_ID = "ptn_demo"
DEMO_ORDER_ID = "ord_demo"
DEMO_END_USER_EMAIL = "demo.contact@example.com"
"""The demo partner's owner bought a test eSIM for herself, so she is also an end user."""
DEMO_END_USER_REFERENCE = "demo-end-user-1"
DEMO_PACKAGE_ID = "pkg_europe_5gb_30d"
DEMO_ICCID = "8949990000000000010"
"""Luhn-valid, and outside the provider simulator's pool (prefix 8949000), so no allocation
of the simulator ever repeats it."""
DEMO_SMDP_ADDRESS = "smdp.providersim.test"
DEMO_MODE: Mode = "test"
"""The demo order and eSIM are test ones, as the demo API key is a test key (decision 0019)."""

CURRENCY = "EUR"


def _codes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


POPULAR_COUNTRIES = _codes(
    "DE FR ES IT GB US JP TH TR GR PT NL AT CH MX CA AE SG ID VN KR AU EG MA HR IS CN BR IN HK"
)
"""Countries that get more local sizes than the one every country has."""
UNLIMITED_COUNTRIES = POPULAR_COUNTRIES[:10]
RETIRED_COUNTRIES = POPULAR_COUNTRIES[:6]
"""Countries whose old 500 MB package is still in the catalogue, no longer for sale."""

Size = tuple[int | None, int, int]
"""(MB or None for unlimited, validity in days, base price in euro cents)."""

EVERY_COUNTRY_SIZE: Size = (1024, 7, 450)
POPULAR_SIZES: tuple[Size, ...] = ((5 * 1024, 30, 1500), (10 * 1024, 30, 2500))
UNLIMITED_SIZE: Size = (None, 7, 2900)
RETIRED_SIZE: Size = (500, 7, 300)
REGIONAL_SIZES: tuple[Size, ...] = (
    (1024, 7, 900),
    (3 * 1024, 15, 1900),
    (5 * 1024, 30, 2900),
    (10 * 1024, 30, 4900),
)
GLOBAL_SIZES: tuple[Size, ...] = (
    (1024, 7, 1200),
    (3 * 1024, 30, 2900),
    (5 * 1024, 30, 4500),
    (10 * 1024, 30, 7900),
    (None, 7, 5900),
)
REGION_MARKUP_PERCENT = {
    Region.EUROPE: 80,
    Region.AMERICAS: 110,
    Region.ASIA: 100,
    Region.MIDDLE_EAST: 120,
    Region.AFRICA: 140,
    Region.OCEANIA: 130,
}
"""Regional prices relative to the base (Europe's roaming is cheapest)."""


async def seed_demo(db: Db, vault: Vault | None) -> None:
    """Add any package of the demo catalogue that is missing (the catalogue holds no personal
    data); create the demo order and its eSIM once (never again after it was erased), when
    there is a vault to seal them with."""
    await seed_catalogue(db)
    if vault is None:
        log.warning("demo_order_not_seeded", reason="encryption_not_configured")
        return
    await seed_once(db, "demo_order", lambda: _create_demo_order(db, vault, utcnow()))


async def seed_catalogue(db: Db) -> int:
    """Store the demo catalogue's missing packages; how many were added."""
    await catalogue_store.create_indexes(db)
    return await catalogue_store.insert_missing(db, demo_catalogue())


def demo_catalogue() -> list[Package]:
    """The demo catalogue, the same every run: a local package for every country, more sizes
    and unlimited ones for popular countries, regional and global packages, a few retired."""
    local = [_local(code, EVERY_COUNTRY_SIZE) for code in sorted(countries_by_alpha2)]
    local += [_local(code, size) for code in POPULAR_COUNTRIES for size in POPULAR_SIZES]
    local += [_local(code, UNLIMITED_SIZE) for code in UNLIMITED_COUNTRIES]
    local += [_local(code, RETIRED_SIZE, active=False) for code in RETIRED_COUNTRIES]
    regional = [
        _regional(region, size, percent)
        for region, percent in REGION_MARKUP_PERCENT.items()
        for size in REGIONAL_SIZES
    ]
    regional.append(_regional(Region.EUROPE, (None, 15, 3900), 100))
    worldwide = [_global(size) for size in GLOBAL_SIZES]
    return [*local, *regional, *worldwide]


def _local(code: str, size: Size, *, active: bool = True) -> Package:
    mb, days, cents = size
    percent = 100 if code in POPULAR_COUNTRIES else _local_markup(code)
    name = countries_by_alpha2[code].apolitical_name
    return _package(
        slug=code.lower(),
        place=name,
        coverage=Coverage.LOCAL,
        countries=[code],
        regions=regions_of(code),
        size=(mb, days, cents * percent // 100),
        active=active,
    )


def _local_markup(code: str) -> int:
    return 110 if Region.EUROPE in regions_of(code) else 160


def _regional(region: Region, size: Size, percent: int) -> Package:
    mb, days, cents = size
    return _package(
        slug=region.value.lower(),
        place=region.value.replace("_", " ").title(),
        coverage=Coverage.REGIONAL,
        countries=sorted(REGION_COUNTRIES[region]),
        regions=[region],
        size=(mb, days, cents * percent // 100),
    )


def _global(size: Size) -> Package:
    return _package(
        slug="global",
        place="Global",
        coverage=Coverage.GLOBAL,
        countries=sorted(REGION_COUNTRIES[Region.GLOBAL]),
        regions=[Region.GLOBAL],
        size=size,
    )


def _package(
    *,
    slug: str,
    place: str,
    coverage: Coverage,
    countries: list[str],
    regions: list[Region],
    size: Size,
    active: bool = True,
) -> Package:
    mb, days, cents = size
    allowance = "unlimited" if mb is None else _allowance(mb)
    return Package(
        id=f"pkg_{slug}_{allowance.replace(' ', '').lower()}_{days}d",
        title=f"{place}: {allowance}, {days} days",
        coverage=coverage,
        countries=countries,
        regions=regions,
        unlimited=mb is None,
        data_mb=mb,
        validity_days=days,
        price=Money(amount=_retail(cents), currency=CURRENCY),
        active=active,
    )


def _allowance(mb: int) -> str:
    return f"{mb // 1024} GB" if mb % 1024 == 0 else f"{mb} MB"


def _retail(cents: int) -> int:
    """A shelf price ending in .99 (4.50 -> 4.99)."""
    return cents // 100 * 100 + 99


def _demo_package() -> Package:
    [package] = [p for p in demo_catalogue() if p.id == DEMO_PACKAGE_ID]
    return package


async def _create_demo_order(db: Db, vault: Vault, now: datetime) -> None:
    """The demo order, completed, and its eSIM; a repeat after a crash adds nothing twice."""
    package = _demo_package()
    end_user = EndUser(email=DEMO_END_USER_EMAIL, reference=DEMO_END_USER_REFERENCE)
    terms = {
        "package_id": package.id,
        "quantity": 1,
        "end_user": end_user.model_dump(mode="json"),
        "max_total_price": None,
        "kind": Kind.ORDER.value,
        "mode": DEMO_MODE,
    }
    order = purchase_document(
        purchase_id=DEMO_ORDER_ID,
        kind=Kind.ORDER,
        partner_id=DEMO_PARTNER_ID,
        key="seed-demo-order",
        terms=terms,
        unit_price=package.price,
        quantity=1,
        iccids=[DEMO_ICCID],
        end_user=await seal_end_user(vault, DEMO_ORDER_ID, end_user),
        now=now,
        mode=DEMO_MODE,
    )
    steps = (PurchaseStep.FUNDS_RESERVED, PurchaseStep.PROVIDER_DONE, PurchaseStep.COMPLETED)
    order["transitions"] += [transition(step, now) for step in steps]
    order["state"] = State.COMPLETED.value
    profile = AllocatedProfile(
        iccid=DEMO_ICCID,
        package_code=package.id,
        smdp_address=DEMO_SMDP_ADDRESS,
        matching_id=secrets.token_hex(12).upper(),
    )
    esim = await esim_store.esim_document(
        vault,
        profile=profile,
        position=0,
        partner_id=DEMO_PARTNER_ID,
        order_id=DEMO_ORDER_ID,
        package=package,
        now=now,
        mode=DEMO_MODE,
    )
    await esim_store.insert_once(db, esim)
    with contextlib.suppress(DuplicateKeyError):
        await db[store.ORDERS].insert_one(with_outbox(order))
