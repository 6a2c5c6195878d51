"""Reading eSIMs: one with its activation code (owner only), listings without credentials,
paging and filters, and the refusals of scope and tenancy."""

from __future__ import annotations

import pytest
from esim_support import (
    PARTNER_A,
    PARTNER_B,
    PLATFORM,
    READER_A,
    SMDP,
    Rig,
    key_of,
    package,
)

from contracts.accounts import Actor, Role, Scope
from contracts.orders import EsimPage, EsimView, GetEsim, ListEsims
from provisioning import esims, webhooks
from provisioning.esim_store import ESIMS
from provisioning.settings import ProvisioningSettings
from servicekit.errors import RemoteCallError
from servicekit.ids import new_id
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.services import running


async def test_owner_gets_the_activation_code(rig: Rig) -> None:
    """The owning partner's key reads the SM-DP+ address, matching id and LPA string."""
    iccid, matching_id = await rig.add_esim()
    view = await rig.ask(GetEsim(actor=READER_A, partner_id=PARTNER_A, iccid=iccid), EsimView)
    assert (view.iccid, view.status, view.smdp_address) == (iccid, "released", SMDP)
    assert view.matching_id == matching_id
    assert view.activation_code == f"LPA:1${SMDP}${matching_id}"
    assert view.usage.data_used_bytes == 0
    assert view.usage.data_total_bytes == view.usage.data_remaining_bytes == 1000 * 1024 * 1024
    assert view.installed_at is None
    assert view.usage.validity_ends_at is None


async def test_matching_id_is_stored_sealed(rig: Rig) -> None:
    """The stored document holds the matching id only as a sealed token."""
    iccid, matching_id = await rig.add_esim()
    stored = await rig.esim(iccid)
    assert stored["matching_id"].startswith("enc1.")
    assert matching_id not in str(stored)


async def test_a_dashboard_user_of_the_owner_gets_the_code(rig: Rig) -> None:
    """A user of the owning partner (no scopes: roles) reads the activation code too."""
    iccid, matching_id = await rig.add_esim()
    user = Actor(kind="user", id="usr_a", partner_id=PARTNER_A, role=Role.VIEWER)
    view = await rig.ask(GetEsim(actor=user, partner_id=PARTNER_A, iccid=iccid), EsimView)
    assert view.matching_id == matching_id


async def test_platform_reads_any_esim_without_its_credentials(rig: Rig) -> None:
    """The platform reads another partner's eSIM, but never its activation fields."""
    iccid, matching_id = await rig.add_esim(PARTNER_B)
    view = await rig.ask(GetEsim(actor=PLATFORM, partner_id=PARTNER_B, iccid=iccid), EsimView)
    assert view.iccid == iccid
    assert (view.smdp_address, view.matching_id, view.activation_code) == (None, None, None)
    assert matching_id not in view.model_dump_json()


async def test_another_partners_esim_is_not_found(rig: Rig) -> None:
    """Partner A asking for partner B's ICCID is told it does not exist."""
    iccid, _ = await rig.add_esim(PARTNER_B)
    with pytest.raises(RemoteCallError) as refused:
        await rig.ask(GetEsim(actor=READER_A, partner_id=PARTNER_A, iccid=iccid), EsimView)
    assert refused.value.code == "not_found"


async def test_unknown_iccid_is_not_found(rig: Rig) -> None:
    """An ICCID nobody holds is `not_found`."""
    query = GetEsim(actor=READER_A, partner_id=PARTNER_A, iccid="8949000000000000000")
    with pytest.raises(RemoteCallError) as refused:
        await rig.ask(query, EsimView)
    assert refused.value.code == "not_found"


@pytest.mark.parametrize(
    "actor",
    [
        key_of(PARTNER_A, Scope.ORDERS_READ, Scope.WEBHOOKS_MANAGE),
        key_of(PARTNER_B, Scope.ESIMS_READ),
    ],
    ids=["without_esims_read", "other_partners_key"],
)
async def test_refused_without_scope_or_for_another_partner(rig: Rig, actor: Actor) -> None:
    """A key without `esims:read`, or acting for another partner, is `forbidden` (get, list)."""
    iccid, _ = await rig.add_esim()
    for query, reply in (
        (GetEsim(actor=actor, partner_id=PARTNER_A, iccid=iccid), EsimView),
        (ListEsims(actor=actor, partner_id=PARTNER_A), EsimPage),
    ):
        with pytest.raises(RemoteCallError) as refused:
            await rig.ask(query, reply)  # type: ignore[arg-type]
        assert refused.value.code == "forbidden"


async def test_list_pages_newest_first_without_credentials(rig: Rig) -> None:
    """Five eSIMs page 2+2+1 by listing key, newest first; no page carries a credential."""
    placed = [(new_id("ord"), n) for n in (1, 2, 3)] + [(new_id("ord"), n) for n in (1, 2)]
    added = [await rig.add_esim(order_id=order, position=n) for order, n in placed]
    await rig.add_esim(PARTNER_B)
    by_key = sorted(zip(placed, added, strict=True), key=lambda pair: pair[0], reverse=True)
    expected = [iccid for _, (iccid, _) in by_key]
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = ListEsims(actor=READER_A, partner_id=PARTNER_A, limit=2, cursor=cursor)
        page = await rig.ask(query, EsimPage)
        text = page.model_dump_json()
        assert "LPA:1$" not in text
        assert not any(matching in text for _, matching in added)
        assert all(view.activation_code is None and view.smdp_address is None for view in page.data)
        seen += [view.iccid for view in page.data]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected


async def test_list_filters_by_order_and_status(rig: Rig) -> None:
    """`order_id` and `status` narrow the listing, alone and together."""
    order = new_id("ord")
    mine = [await rig.add_esim(order_id=order, position=n) for n in (1, 2)]
    other, _ = await rig.add_esim()
    await rig.provisioning.db[ESIMS].update_one(
        {"_id": mine[0][0]}, {"$set": {"status": "expired"}}
    )

    async def listed(**filters: object) -> list[str]:
        query = ListEsims.model_validate({"actor": READER_A, "partner_id": PARTNER_A, **filters})
        return [view.iccid for view in (await rig.ask(query, EsimPage)).data]

    assert await listed(order_id=order) == [mine[1][0], mine[0][0]]
    assert await listed(status="expired") == [mine[0][0]]
    assert await listed(order_id=order, status="released") == [mine[1][0]]
    assert other in await listed(status="released")


async def test_unlimited_esim_has_no_total_or_remaining(rig: Rig) -> None:
    """An unlimited package's eSIM shows null total and remaining data."""
    iccid, _ = await rig.add_esim(sold=package(data_mb=None))
    view = await rig.ask(GetEsim(actor=READER_A, partner_id=PARTNER_A, iccid=iccid), EsimView)
    assert view.usage.data_total_bytes is None
    assert view.usage.data_remaining_bytes is None


async def test_without_keys_the_queries_are_unavailable(base_settings: ServiceSettings) -> None:
    """Without MASTER_KEYS/BLIND_INDEX_KEY provisioning answers `unavailable`."""
    settings = ProvisioningSettings(**base_settings.model_dump())
    provisioning = Service.create("provisioning", settings)
    assert esims.register(provisioning, settings, webhooks.register(provisioning, settings)) is None
    caller = Service.create("tester", settings, stateless=True)
    async with running(provisioning, caller):
        query = ListEsims(actor=READER_A, partner_id=PARTNER_A)
        with pytest.raises(RemoteCallError) as refused:
            await caller.bus.request(query, to="provisioning", reply=EsimPage, timeout=10)
    assert refused.value.code == "unavailable"
