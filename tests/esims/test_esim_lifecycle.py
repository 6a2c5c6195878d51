"""An eSIM's life from the provider's events: installed, usage, expired; the webhooks they
cause (installed, usage thresholds once each, validity ending once per end); unknown ICCIDs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from esim_support import (
    MB,
    NOW,
    PARTNER_A,
    READER_A,
    Rig,
    context,
    esim_rig,
    esim_settings,
    package,
)

from contracts.orders import EsimView, GetEsim
from contracts.provider import ProfileExpired, ProfileInstalled, UsageUpdated
from provisioning.esim_store import ESIMS, apply_topup
from servicekit.clock import utcnow
from servicekit.ids import new_id
from servicekit.settings import ServiceSettings
from support.waiting import eventually

TOTAL = 1000 * MB


def installed(iccid: str, webhook_id: str | None = None) -> ProfileInstalled:
    """The provider's report that the profile was installed at NOW."""
    return ProfileInstalled(iccid=iccid, webhook_id=webhook_id or new_id("wh"), occurred_at=NOW)


def usage(iccid: str, used: int, total: int = TOTAL) -> UsageUpdated:
    """The provider's usage measurement."""
    return UsageUpdated(
        iccid=iccid,
        webhook_id=new_id("wh"),
        occurred_at=NOW,
        data_used_bytes=used,
        data_remaining_bytes=max(total - used, 0),
    )


async def view_of(rig: Rig, iccid: str) -> EsimView:
    """The owner's view of the eSIM."""
    return await rig.ask(GetEsim(actor=READER_A, partner_id=PARTNER_A, iccid=iccid), EsimView)


async def test_install_over_the_bus_starts_validity_and_sends_one_webhook(rig: Rig) -> None:
    """Installed (twice): status, install time, validity end, and one `esim.installed`."""
    await rig.subscribe(PARTNER_A)
    iccid, matching_id = await rig.add_esim()
    await rig.publish(installed(iccid))
    await rig.publish(installed(iccid))

    async def is_installed() -> EsimView | None:
        view = await view_of(rig, iccid)
        return view if view.status == "installed" else None

    view = await eventually(is_installed, timeout=10, what="eSIM installed")
    assert view.installed_at == NOW
    assert view.usage.validity_ends_at == NOW + timedelta(days=30)
    [sent] = await rig.received("esim.installed", 1)
    assert sent["iccid"] == iccid
    assert sent["installed_at"].startswith("2026-11-26T12:00:00")
    assert matching_id not in str(rig.receiver.bodies)
    assert "LPA:1$" not in str(rig.receiver.bodies)
    assert len(await rig.deliveries("esim.installed")) == 1


async def test_usage_thresholds_are_sent_once_under_redelivery(rig: Rig) -> None:
    """Usage at 50, 85 (twice, concurrently) and 100 %: one 80 % and one 100 % webhook."""
    await rig.subscribe(PARTNER_A)
    iccid, _ = await rig.add_esim()
    await rig.events.on_usage(usage(iccid, TOTAL // 2), context())
    assert await rig.deliveries("esim.usage_threshold") == []
    at_85 = usage(iccid, TOTAL * 85 // 100)
    await asyncio.gather(*(rig.events.on_usage(at_85, context()) for _ in range(3)))
    await rig.events.on_usage(at_85, context())
    stored = await rig.esim(iccid)
    assert stored["data_used_bytes"] == TOTAL * 85 // 100
    assert stored["data_remaining_bytes"] == TOTAL - TOTAL * 85 // 100
    assert stored["thresholds_notified"] == [f"80:{TOTAL}"]
    await rig.events.on_usage(usage(iccid, TOTAL), context())
    await rig.events.on_usage(usage(iccid, TOTAL), context())
    sent = await rig.received("esim.usage_threshold", 2)
    assert sorted(s["threshold_percent"] for s in sent) == [80, 100]
    assert {(s["iccid"], s["total_bytes"]) for s in sent} == {(iccid, TOTAL)}
    assert len(await rig.deliveries("esim.usage_threshold")) == 2


async def test_usage_over_the_bus_updates_the_view(rig: Rig) -> None:
    """A usage event on the bus shows in the eSIM's usage."""
    iccid, _ = await rig.add_esim()
    await rig.publish(usage(iccid, 300 * MB))

    async def measured() -> EsimView | None:
        view = await view_of(rig, iccid)
        return view if view.usage.data_used_bytes == 300 * MB else None

    view = await eventually(measured, timeout=10, what="usage recorded")
    assert view.usage.data_remaining_bytes == 700 * MB


async def test_an_older_measurement_never_moves_usage_back(rig: Rig) -> None:
    """Usage arriving out of order keeps the larger measurement."""
    iccid, _ = await rig.add_esim()
    await rig.events.on_usage(usage(iccid, 600 * MB), context())
    await rig.events.on_usage(usage(iccid, 200 * MB), context())
    stored = await rig.esim(iccid)
    assert (stored["data_used_bytes"], stored["data_remaining_bytes"]) == (600 * MB, 400 * MB)


async def test_unlimited_usage_keeps_remaining_unknown_and_sends_no_threshold(rig: Rig) -> None:
    """An unlimited eSIM records data used, no remaining data, and no threshold webhooks."""
    await rig.subscribe(PARTNER_A)
    iccid, _ = await rig.add_esim(sold=package(data_mb=None))
    await rig.events.on_usage(usage(iccid, 50_000 * MB, total=0), context())
    view = await view_of(rig, iccid)
    assert view.usage.data_used_bytes == 50_000 * MB
    assert view.usage.data_remaining_bytes is None
    assert await rig.deliveries("esim.usage_threshold") == []


async def test_a_topup_arms_the_thresholds_again(rig: Rig) -> None:
    """After a top-up raised the total, crossing 80 % of the new total is announced again."""
    await rig.subscribe(PARTNER_A)
    iccid, _ = await rig.add_esim()
    await rig.events.on_usage(usage(iccid, TOTAL * 9 // 10), context())
    applied = await apply_topup(rig.provisioning.db, await rig.esim(iccid), "top_1", package(), NOW)
    assert applied
    await rig.events.on_usage(usage(iccid, TOTAL * 17 // 10, total=2 * TOTAL), context())
    sent = await rig.received("esim.usage_threshold", 2)
    assert sorted(s["total_bytes"] for s in sent) == [TOTAL, 2 * TOTAL]


async def test_a_topup_after_usage_adds_exactly_past_two_gib(rig: Rig) -> None:
    """Remaining data set by a usage update and then topped up past 2**31 bytes stays exact."""
    iccid, _ = await rig.add_esim(sold=package(data_mb=2000))
    await rig.events.on_usage(usage(iccid, 100 * MB, total=2000 * MB), context())
    esim = await rig.esim(iccid)
    assert await apply_topup(rig.provisioning.db, esim, "top_1", package(data_mb=2000), NOW)
    stored = await rig.esim(iccid)
    assert stored["data_remaining_bytes"] == 3900 * MB
    assert stored["data_total_bytes"] == 4000 * MB


async def test_expired_is_recorded_once(rig: Rig) -> None:
    """An expiry sets status `expired`; a second one changes nothing."""
    iccid, _ = await rig.add_esim()
    first = ProfileExpired(iccid=iccid, webhook_id=new_id("wh"), occurred_at=NOW)
    await rig.events.on_expired(first, context())
    stored = await rig.esim(iccid)
    later = ProfileExpired(iccid=iccid, webhook_id=new_id("wh"), occurred_at=NOW + timedelta(1))
    await rig.events.on_expired(later, context())
    assert await rig.esim(iccid) == stored
    assert stored["status"] == "expired"
    assert stored["expiry"]["at"] == NOW


async def test_install_after_expiry_changes_nothing(rig: Rig) -> None:
    """An install reported for an expired eSIM neither revives it nor sends a webhook."""
    await rig.subscribe(PARTNER_A)
    iccid, _ = await rig.add_esim()
    expired = ProfileExpired(iccid=iccid, webhook_id=new_id("wh"), occurred_at=NOW)
    await rig.events.on_expired(expired, context())
    await rig.events.on_installed(installed(iccid), context())
    assert (await rig.esim(iccid))["status"] == "expired"
    assert await rig.deliveries("esim.installed") == []


async def test_unknown_iccid_is_ignored(rig: Rig) -> None:
    """Events about an ICCID nobody holds store nothing, send nothing, and block nothing."""
    await rig.subscribe(PARTNER_A)
    unknown = "8949000000000000999"
    for event in (
        installed(unknown),
        usage(unknown, TOTAL),
        ProfileExpired(iccid=unknown, webhook_id=new_id("wh"), occurred_at=NOW),
    ):
        await rig.publish(event)
    iccid, _ = await rig.add_esim()
    await rig.publish(installed(iccid))
    await rig.received("esim.installed", 1)
    assert await rig.provisioning.db[ESIMS].find_one({"_id": unknown}) is None
    assert [d["event_type"] for d in await rig.deliveries("esim.installed")] == ["esim.installed"]
    assert await rig.deliveries("esim.usage_threshold") == []


async def test_validity_ending_is_sent_once_per_end(rig: Rig) -> None:
    """Within 24 h of the end: one warning however often checked; a top-up's new end again."""
    await rig.subscribe(PARTNER_A)
    iccid, _ = await rig.add_esim(sold=package(validity_days=1))
    later, _ = await rig.add_esim(sold=package(validity_days=30))
    await rig.events.on_installed(installed(iccid), context())
    await rig.events.on_installed(installed(later), context())
    assert await rig.events.warn_validity_ending(NOW - timedelta(hours=1)) == 0
    check_at = NOW + timedelta(hours=1)
    assert await rig.events.warn_validity_ending(check_at) == 1
    assert await rig.events.warn_validity_ending(check_at) == 0
    [first] = await rig.received("esim.validity_ending", 1)
    assert (first["iccid"], first["ends_at"][:19]) == (iccid, "2026-11-27T12:00:00")
    applied = await apply_topup(
        rig.provisioning.db, await rig.esim(iccid), "top_1", package(validity_days=7), check_at
    )
    assert applied
    assert await rig.events.warn_validity_ending(check_at) == 0
    new_end = NOW + timedelta(days=8)
    assert await rig.events.warn_validity_ending(new_end - timedelta(hours=2)) == 1
    sent = await rig.received("esim.validity_ending", 2)
    assert [s["ends_at"][:19] for s in sent] == ["2026-11-27T12:00:00", "2026-12-04T12:00:00"]
    assert len(await rig.deliveries("esim.validity_ending")) == 2


async def test_validity_check_runs_in_the_background(base_settings: ServiceSettings) -> None:
    """The running service looks every `esim_validity_check_minutes` and announces by itself."""
    settings = esim_settings(base_settings, esim_validity_check_minutes=0.01)
    async with esim_rig(settings) as rig:
        await rig.subscribe(PARTNER_A)
        iccid, _ = await rig.add_esim()
        ends_at = utcnow().replace(microsecond=0) + timedelta(hours=3)
        await rig.provisioning.db[ESIMS].update_one(
            {"_id": iccid},
            {"$set": {"status": "installed", "validity": {"ends_at": ends_at, "warned": 0}}},
        )
        [sent] = await rig.received("esim.validity_ending", 1)
        assert sent["iccid"] == iccid
        assert (await rig.esim(iccid))["validity"]["warned"] == 1
