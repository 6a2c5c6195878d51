"""The order form: its contract (labels, fields, button), one order for a double submit,
refusals that place nothing (a viewer, bad input)."""

from __future__ import annotations

import asyncio
import re

from insights_support import CHEAP_PACKAGE, InsightsWorld, NewBrowser

from partner_dashboard.dashboard_support import OWNER_EMAIL, VIEWER_EMAIL, csrf_in

FORM = "/dashboard/orders/new"
_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def _form_values(page: str, **fields: str) -> dict[str, str]:
    """The form's hidden fields from the page, and the fields a person fills in."""
    found = _KEY.search(page)
    assert found is not None, "the form carries no idempotency key"
    values = {"csrf_token": csrf_in(page), "idempotency_key": found.group(1)}
    return values | {"package_id": CHEAP_PACKAGE, "quantity": "1", "reference": ""} | fields


async def test_the_form_shows_its_fields_and_a_double_submit_places_one_order(
    world: InsightsWorld, signed_in: NewBrowser
) -> None:
    """The form has Package/Quantity/End-user reference and Place order; two submits of one
    render place one order and both land on it."""
    owner = await signed_in(OWNER_EMAIL)
    listing = await owner.get("/dashboard/orders")
    assert f'href="{FORM}"' in listing.text
    page = await owner.get(FORM)
    assert page.status == 200, page.text
    for label in ('for="package_id">Package<', 'for="quantity">Quantity<'):
        assert label in page.text
    assert 'for="reference">End-user reference<' in page.text
    assert 'type="number" name="quantity"' in page.text
    assert 'value="1" required' in page.text
    assert ">Place order</button>" in page.text
    assert re.search(rf'<option value="{CHEAP_PACKAGE}">[^<]+ — \d+\.\d\d EUR</option>', page.text)
    before = await world.orders_of(world.partner.id)
    values = _form_values(page.text, quantity="2", reference="cust-77")
    first, second = await asyncio.gather(owner.post(FORM, values), owner.post(FORM, values))
    assert await world.orders_of(world.partner.id) == before + 1
    assert first.status == second.status == 303, (first.text, second.text)
    assert re.fullmatch(r"/dashboard/orders/ord_\w+", first.location)
    assert second.location in {first.location, "/dashboard/orders"}
    shown = await owner.get(first.location)
    assert shown.status == 200
    assert CHEAP_PACKAGE in shown.text


async def test_a_viewer_may_not_order(world: InsightsWorld, signed_in: NewBrowser) -> None:
    """A viewer gets a 403 page for the form and for a submitted one; nothing is placed."""
    viewer = await signed_in(VIEWER_EMAIL)
    assert (await viewer.get(FORM)).status == 403
    token = await viewer.csrf_of("/dashboard/orders")
    before = await world.orders_of(world.partner.id)
    values = {"csrf_token": token, "idempotency_key": "viewer-try-1", "package_id": CHEAP_PACKAGE}
    refused = await viewer.post(FORM, values | {"quantity": "1"})
    assert refused.status == 403, refused.text
    assert await world.orders_of(world.partner.id) == before


async def test_bad_input_shows_the_form_again(world: InsightsWorld, signed_in: NewBrowser) -> None:
    """An unknown package, a bad quantity or reference: the form again
    (422) with the error and the values entered, and no order placed."""
    owner = await signed_in(OWNER_EMAIL)
    page = (await owner.get(FORM)).text
    before = await world.orders_of(world.partner.id)
    cases = {
        "Choose a package from the list": {"package_id": "pkg_does_not_exist"},
        "whole number from 1 to 50": {"quantity": "0"},
        "from 1 to 50.": {"quantity": "³"},
        "up to 128 printable characters": {"reference": "x" * 129},
    }
    for message, fields in cases.items():
        answer = await owner.post(FORM, _form_values(page, **fields))
        assert answer.status == 422, (fields, answer.text)
        assert message in answer.text, fields
        assert 'role="alert"' in answer.text
    again = await owner.post(FORM, _form_values(page, quantity="abc"))
    assert again.status == 422
    assert 'value="abc"' in again.text
    assert await world.orders_of(world.partner.id) == before
