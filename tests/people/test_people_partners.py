"""Partners: created by ops, read and rectified by their own people, closed with a date; every
request checks its permission, and rectifications are recorded without values."""

from __future__ import annotations

from people_support import OPS, T0, TAX_ID, Domain, PeopleHarness, member, partner_request

from contracts.accounts import Actor, Role, Scope
from contracts.identity import (
    AddContact,
    ClosePartner,
    ContactRole,
    GetPartner,
    PartnerClosed,
    PartnerCreated,
    PartnerUpdated,
    PartnerView,
    UpdatePartner,
)
from servicekit.ids import new_id
from support.waiting import eventually


async def test_ops_creates_a_partner_and_the_creation_is_announced(
    harness: PeopleHarness,
) -> None:
    """Ops creates an active partner at the clock's time; `partner_created` is published."""
    partner = await harness.partner()
    assert partner.id.startswith("ptn_")
    assert (partner.status, partner.created_at, partner.currency) == ("active", T0, "EUR")

    async def announced() -> bool:
        return any(
            isinstance(e, PartnerCreated) and e.partner_id == partner.id for e in harness.events
        )

    await eventually(announced, what="partner_created heard")


async def test_only_the_platform_creates_partners(harness: PeopleHarness) -> None:
    """A partner's owner, an API key with every scope and platform support are refused with
    `forbidden`, and no partner is written."""
    existing = await harness.partner()
    before = await harness.db["partners"].count_documents({})
    refused_actors = [
        member(existing.id, Role.OWNER),
        Actor(kind="api_key", id="key_1", partner_id=existing.id, scopes=list(Scope)),
        Actor(kind="user", id="usr_support", role=Role.SUPPORT),
    ]
    for actor in refused_actors:
        refused = await harness.refusal(partner_request(actor=actor))
        assert refused.code == "forbidden", actor
    assert await harness.db["partners"].count_documents({}) == before


async def test_a_viewer_cannot_update_the_partner(harness: PeopleHarness) -> None:
    """A viewer's rectification is refused with `forbidden`; nothing changes or is recorded."""
    partner = await harness.partner()
    viewer = member(partner.id, Role.VIEWER)
    refused = await harness.refusal(
        UpdatePartner(actor=viewer, partner_id=partner.id, tax_id="DE111111111")
    )
    assert refused.code == "forbidden"
    read = await harness.ask(GetPartner(actor=viewer, partner_id=partner.id), PartnerView)
    assert read.tax_id == TAX_ID
    assert await harness.db["rectifications"].count_documents({}) == 0


async def test_another_partners_people_cannot_read_or_update(harness: PeopleHarness) -> None:
    """The owner of one partner gets `not_found` reading or rectifying another partner."""
    partner = await harness.partner()
    other = await harness.partner()
    outsider = member(other.id, Role.OWNER)
    read = await harness.refusal(GetPartner(actor=outsider, partner_id=partner.id))
    update = await harness.refusal(
        UpdatePartner(actor=outsider, partner_id=partner.id, business_name="Hijacked Ltd")
    )
    assert (read.code, update.code) == ("not_found", "not_found")
    ops_view = await harness.ask(GetPartner(actor=OPS, partner_id=partner.id), PartnerView)
    assert ops_view.business_name != "Hijacked Ltd"


async def test_a_rectification_records_fields_time_and_actor_but_no_values(
    harness: PeopleHarness,
) -> None:
    """An admin's update records which fields changed, when and by whom, announces their names
    only, and applies the new values; repeating the same values records nothing more."""
    partner = await harness.partner()
    admin = member(partner.id, Role.ADMIN)
    harness.clock.advance(hours=1)
    update = UpdatePartner(
        actor=admin,
        partner_id=partner.id,
        business_name=partner.business_name,
        tax_id="DE222333444",
        phone="+4930999888777",
    )
    updated = await harness.ask(update, PartnerView)
    assert (updated.tax_id, updated.phone) == ("DE222333444", "+4930999888777")

    records = [doc async for doc in harness.db["rectifications"].find({})]
    assert len(records) == 1
    record = records[0]
    assert record["record"] == "partner"
    assert record["record_id"] == partner.id
    assert record["fields"] == ["phone", "tax_id"]
    assert (record["at"], record["by"]) == (harness.clock.now, admin.id)
    for value in ("DE222333444", "999888777", TAX_ID):
        assert value not in repr(record)

    async def announced() -> list[PartnerUpdated]:
        return [e for e in harness.events if isinstance(e, PartnerUpdated)]

    [event] = await eventually(announced, what="partner_updated heard")
    assert (event.partner_id, event.fields, event.by) == (partner.id, ["phone", "tax_id"], admin.id)

    await harness.ask(update, PartnerView)
    assert await harness.db["rectifications"].count_documents({}) == 1


async def test_closing_a_partner_sets_the_status_and_the_date_once(
    harness: PeopleHarness,
) -> None:
    """An admin may not close; the owner closes with the clock's date, closing again changes
    nothing, one `partner_closed` is published, and no contact can be added afterwards."""
    partner = await harness.partner()
    admin = member(partner.id, Role.ADMIN)
    owner = member(partner.id, Role.OWNER)
    refused = await harness.refusal(ClosePartner(actor=admin, partner_id=partner.id))
    assert refused.code == "forbidden"

    harness.clock.advance(days=3)
    closed = await harness.ask(ClosePartner(actor=owner, partner_id=partner.id), PartnerView)
    assert (closed.status, closed.closed_on) == ("closed", harness.clock.now.date())
    harness.clock.advance(days=1)
    again = await harness.ask(ClosePartner(actor=owner, partner_id=partner.id), PartnerView)
    assert again.closed_on == closed.closed_on

    async def closures() -> list[PartnerClosed]:
        return [e for e in harness.events if isinstance(e, PartnerClosed)]

    [event] = await eventually(closures, what="partner_closed heard")
    assert event.closed_on == closed.closed_on
    add = AddContact(
        actor=owner,
        partner_id=partner.id,
        name="Late Larry",
        email="late.larry@example.com",
        role=ContactRole.PRIMARY,
    )
    assert (await harness.refusal(add)).code == "conflict"


async def test_a_request_handled_twice_takes_effect_once(domain: Domain) -> None:
    """The same creation (same partner id) and the same rectification (same message id) handled
    twice leave one partner, one rectification record and one event of each."""
    partner_id = new_id("ptn")
    request = partner_request()
    await domain.partners.create(request, partner_id=partner_id, now=T0)
    await domain.partners.create(request, partner_id=partner_id, now=T0)
    update = UpdatePartner(actor=OPS, partner_id=partner_id, tax_id="DE555666777")
    message_id = new_id("msg")
    for _ in range(2):
        await domain.partners.update(update, message_id=message_id, now=T0)
    assert await domain.db["partners"].count_documents({}) == 1
    assert await domain.db["rectifications"].count_documents({}) == 1
    stored = await domain.db["partners"].find_one({"_id": partner_id})
    assert stored is not None
    assert [entry["type"] for entry in stored["_outbox"]] == [
        PartnerCreated.TYPE,
        PartnerUpdated.TYPE,
    ]
