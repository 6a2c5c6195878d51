"""Provisioning itself refuses a purchase by a dashboard user whose role may not buy, whatever
the gateway checked before (defence in depth: the dashboard's order form checks it too)."""

from __future__ import annotations

import secrets

import pytest
from commerce_support import CommerceWorld

from contracts.accounts import Actor, Role
from contracts.orders import CreateOrder, CreateTopup, OrderView, TopupView
from provisioning.store import ORDERS
from servicekit.errors import RemoteCallError
from support.provisioning_owner import PACKAGE


def _order(world: CommerceWorld, role: Role) -> CreateOrder:
    user = Actor(
        kind="user", id=f"usr_{secrets.token_hex(4)}", partner_id=world.partner.id, role=role
    )
    return CreateOrder(
        actor=user,
        partner_id=world.partner.id,
        idempotency_key=secrets.token_hex(8),
        package_id=PACKAGE.id,
        quantity=1,
    )


@pytest.mark.parametrize("role", [Role.VIEWER, Role.BILLING])
async def test_a_user_whose_role_may_not_buy_is_refused_and_nothing_is_stored(
    world: CommerceWorld, role: Role
) -> None:
    """An order by a viewer or billing user is `forbidden`, and no order is written."""
    before = await world.provisioning.db[ORDERS].count_documents({})
    with pytest.raises(RemoteCallError) as refused:
        await world.accounts.caller.bus.request(
            _order(world, role), to="provisioning", reply=OrderView, timeout=15
        )
    assert refused.value.code == "forbidden"
    assert "role may not buy" in refused.value.message
    assert await world.provisioning.db[ORDERS].count_documents({}) == before


async def test_a_viewer_may_not_top_up_either(world: CommerceWorld) -> None:
    """A top-up by a viewer is `forbidden` too."""
    viewer = Actor(kind="user", id="usr_viewer", partner_id=world.partner.id, role=Role.VIEWER)
    topup = CreateTopup(
        actor=viewer,
        partner_id=world.partner.id,
        idempotency_key=secrets.token_hex(8),
        iccid=world.end_user.iccid,
        package_id=PACKAGE.id,
    )
    with pytest.raises(RemoteCallError) as refused:
        await world.accounts.caller.bus.request(
            topup, to="provisioning", reply=TopupView, timeout=15
        )
    assert refused.value.code == "forbidden"


@pytest.mark.parametrize("role", [Role.OWNER, Role.DEVELOPER])
async def test_a_user_whose_role_may_buy_gets_a_pending_order(
    world: CommerceWorld, role: Role
) -> None:
    """An owner's or developer's order is taken: the answer is the new order."""
    order = await world.accounts.caller.bus.request(
        _order(world, role), to="provisioning", reply=OrderView, timeout=15
    )
    assert order.package_id == PACKAGE.id
    assert order.quantity == 1
