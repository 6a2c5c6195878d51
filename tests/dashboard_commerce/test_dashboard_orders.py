"""The order, eSIM and balance pages: the seeded order and its eSIM, the QR code image behind a
session, and the balance and ledger after the order's debit."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from types import ModuleType

import pytest
from commerce_support import TOP_UP, CommerceWorld

from contracts.money import Money
from gateway.dashboard import esim_pages, order_pages
from partner_dashboard.dashboard_support import Browser
from support.provisioning_owner import PACKAGE, EndUser
from support.qr_codes import decode_png_qr


def _money(amount: int) -> str:
    """An amount in the package's currency as the pages show it: `38.00 EUR`."""
    currency = PACKAGE.price.currency
    return f"{Money(amount=amount, currency=currency).decimal()} {currency}"


async def test_the_order_list_shows_the_order_with_status_package_and_price(
    world: CommerceWorld, owner: Browser
) -> None:
    """The orders page lists the order: its status, package, total and a link to it."""
    page = await owner.get("/dashboard/orders")
    assert page.status == 200, page.text
    assert f'href="/dashboard/orders/{world.end_user.order_id}"' in page.text
    assert "completed" in page.text
    assert PACKAGE.id in page.text
    assert _money(PACKAGE.price.amount) in page.text


async def test_an_orders_page_lists_its_esim(world: CommerceWorld, owner: Browser) -> None:
    """One order's page shows its total and links its eSIM."""
    page = await owner.get(f"/dashboard/orders/{world.end_user.order_id}")
    assert page.status == 200, page.text
    assert f'href="/dashboard/esims/{world.end_user.iccid}"' in page.text
    assert _money(PACKAGE.price.amount) in page.text


async def test_an_unknown_order_is_a_404_page(owner: Browser) -> None:
    """An order id that is not the partner's answers the 404 page."""
    page = await owner.get("/dashboard/orders/ord_doesnotexist")
    assert page.status == 404
    assert "<html" in page.text


async def test_the_esim_page_shows_status_usage_and_a_qr_image(
    world: CommerceWorld, owner: Browser
) -> None:
    """The eSIM list links the eSIM; its page shows status, usage and the QR image route."""
    listing = await owner.get("/dashboard/esims")
    assert f'href="/dashboard/esims/{world.end_user.iccid}"' in listing.text
    assert world.end_user.activation_code not in listing.text  # listings carry no codes
    page = await owner.get(f"/dashboard/esims/{world.end_user.iccid}")
    assert page.status == 200, page.text
    assert "released" in page.text
    assert "Data used" in page.text
    assert f'src="/dashboard/esims/{world.end_user.iccid}/qr.png"' in page.text


async def test_the_qr_image_is_the_activation_code_as_png_never_cached(
    world: CommerceWorld, owner: Browser
) -> None:
    """The QR route answers a PNG (not stored by the browser) that scans to the LPA code."""
    path = f"/dashboard/esims/{world.end_user.iccid}/qr.png"
    async with owner.session.get(path, allow_redirects=False) as answer:
        assert answer.status == 200
        assert answer.content_type == "image/png"
        assert answer.headers["Cache-Control"] == "no-store"
        image = await answer.read()
    assert decode_png_qr(image) == [world.end_user.activation_code]


async def test_the_qr_image_needs_a_session(
    world: CommerceWorld, browser_factory: Callable[[], Awaitable[Browser]]
) -> None:
    """Without a session the QR route sends the browser to the login page, with no image."""
    stranger = await browser_factory()
    path = f"/dashboard/esims/{world.end_user.iccid}/qr.png"
    async with stranger.session.get(path, allow_redirects=False) as answer:
        assert answer.status == 303
        assert answer.headers["Location"] == "/dashboard/login"
        assert not answer.content_type.startswith("image/")


async def test_another_partners_esim_is_not_found(owner: Browser) -> None:
    """An ICCID the partner does not own answers 404, for the page and the image."""
    iccid = "8999" + "0" * 16
    assert (await owner.get(f"/dashboard/esims/{iccid}")).status == 404
    async with owner.session.get(f"/dashboard/esims/{iccid}/qr.png") as answer:
        assert answer.status == 404
        assert answer.content_type == "text/html"


async def test_the_balance_went_down_and_the_ledger_shows_the_debit(
    world: CommerceWorld, viewer: Browser
) -> None:
    """The balance is the top-up less the order; the ledger lists the top-up and the debit."""
    page = await viewer.get("/dashboard/balance")
    assert page.status == 200, page.text
    available = re.search(r'<strong id="available">([^<]*)</strong>', page.text)
    assert available is not None
    assert available.group(1) == _money(TOP_UP - world.debit)
    assert _money(TOP_UP) in page.text
    assert _money(-world.debit) in page.text
    assert f'href="/dashboard/orders/{world.end_user.order_id}"' in page.text


async def test_a_bad_cursor_is_a_404_page(owner: Browser) -> None:
    """A cursor that is no cursor answers 404 rather than an error."""
    page = await owner.get("/dashboard/balance?cursor=" + "x" * 300)
    assert page.status == 404


@pytest.mark.parametrize(
    ("module", "path", "key"),
    [(order_pages, "/dashboard/orders", "order_id"), (esim_pages, "/dashboard/esims", "iccid")],
)
async def test_lists_page_with_the_apis_cursor(
    world: CommerceWorld,
    owner: Browser,
    monkeypatch: pytest.MonkeyPatch,
    module: ModuleType,
    path: str,
    key: str,
) -> None:
    """With one row a page, the first page links the next, which shows the other row and ends."""
    monkeypatch.setattr(module, "PAGE_SIZE", 1)
    second = EndUser.sample(world.partner.id)
    await world.provisioning.order(second)
    expected = {getattr(world.end_user, key), getattr(second, key)}
    first = await owner.get(path)
    link = re.search(rf'<a href="({re.escape(path)}\?cursor=[^"]+)">Next page</a>', first.text)
    assert link is not None, first.text
    last = await owner.get(link.group(1))
    assert last.status == 200
    assert "Next page" not in last.text
    shown = [
        {value for value in expected if f"{path}/{value}" in page.text} for page in (first, last)
    ]
    assert [len(rows) for rows in shown] == [1, 1]
    assert shown[0] | shown[1] == expected
