"""Signed callbacks from the simulator to provisioning: verified, recorded once, published."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from callback_support import Rig, callback_body, callback_rig, signed
from sim_support import webhook_secret

from contracts.provider import ProfileExpired, ProfileInstalled, UsageUpdated
from provisioning.provider import HttpNetworkProvider
from servicekit.ids import new_id
from servicekit.settings import ServiceSettings
from support.waiting import eventually

SECRET = webhook_secret()
ICCID = "8949000000000000018"


@pytest.fixture
async def rig(
    base_settings: ServiceSettings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Rig]:
    """Provisioning and a simulator sharing one callback secret."""
    logs = tmp_path_factory.mktemp("callbacks") / "providersim.log"
    async with callback_rig(base_settings, logs, SECRET) as running:
        yield running


async def test_simulator_callbacks_become_recorded_events(rig: Rig) -> None:
    """Install, usage and expiry callbacks from the simulator are verified, stored under their
    webhook ids and published as provisioning events with the reported values."""
    adapter = HttpNetworkProvider(rig.sim.url, timeout_seconds=2.0)
    [profile] = await adapter.allocate("EU-1GB-7D", 1, new_id("ord"))
    await adapter.close()
    path = f"/_sim/profiles/{profile.iccid}"

    sent = [
        await rig.sim.admin("POST", f"{path}/install"),
        await rig.sim.admin("POST", f"{path}/usage", {"used_bytes": 50 * 1024**2}),
        await rig.sim.admin("POST", f"{path}/expire"),
    ]

    assert [(status, body["delivered"]) for status, body in sent] == [(200, True)] * 3
    ids = [body["webhook_id"] for _, body in sent]
    await eventually(lambda: _heard_all(rig, ids), what="three provider events on the bus")
    installed, usage, expired = (rig.heard.of(webhook_id)[0] for webhook_id in ids)
    assert isinstance(installed, ProfileInstalled)
    assert isinstance(expired, ProfileExpired)
    assert isinstance(usage, UsageUpdated)
    assert (usage.data_used_bytes, usage.data_remaining_bytes) == (50 * 1024**2, 974 * 1024**2)
    assert {e.iccid for e in (installed, usage, expired)} == {profile.iccid}
    stored = await rig.stored({"iccid": profile.iccid})
    assert sorted(doc["_id"] for doc in stored) == sorted(ids)


async def _heard_all(rig: Rig, webhook_ids: list[str]) -> bool:
    return all(rig.heard.of(webhook_id) for webhook_id in webhook_ids)


async def test_redelivered_callback_is_recorded_and_published_once(rig: Rig) -> None:
    """The same signed callback posted twice is stored once and yields one event."""
    webhook_id = new_id("wh")
    body = callback_body(ICCID)

    first = await rig.post(body, signed(SECRET, webhook_id, body, datetime.now(UTC)))
    again = await rig.post(body, signed(SECRET, webhook_id, body, datetime.now(UTC)))
    marker = new_id("wh")
    marker_body = callback_body(ICCID, "profile.expired")
    await rig.post(marker_body, signed(SECRET, marker, marker_body, datetime.now(UTC)))

    assert (first[0], first[1]["status"]) == (200, "recorded")
    assert (again[0], again[1]["status"]) == (200, "duplicate")
    await eventually(lambda: _heard_all(rig, [marker]), what="the later callback's event")
    assert len(rig.heard.of(webhook_id)) == 1
    assert len(await rig.stored({"_id": webhook_id})) == 1


def _unauthentic(body: str, webhook_id: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Callbacks provisioning must refuse, each as (body, headers)."""
    now = datetime.now(UTC)
    good = signed(SECRET, webhook_id, body, now)
    tampered = body.replace('"profile.installed"', '"profile.expired"')
    return {
        "unsigned": (body, {"content-type": "application/json"}),
        "no signature": (body, {k: v for k, v in good.items() if k != "webhook-signature"}),
        "wrong secret": (body, signed(webhook_secret(), webhook_id, body, now)),
        "tampered body": (tampered, good),
        "other webhook id": (body, {**good, "webhook-id": new_id("wh")}),
        "stale": (body, signed(SECRET, webhook_id, body, now - timedelta(minutes=10))),
        "from the future": (body, signed(SECRET, webhook_id, body, now + timedelta(minutes=10))),
        "garbled signature": (body, {**good, "webhook-signature": "v1,not-base64!"}),
        "bad timestamp": (body, {**good, "webhook-timestamp": "yesterday"}),
    }


async def test_unauthentic_callbacks_are_refused_and_change_nothing(rig: Rig) -> None:
    """Unsigned, wrongly signed, tampered, replayed-stale or garbled callbacks get 401, and
    nothing is stored or published."""
    webhook_id = new_id("wh")
    cases = _unauthentic(callback_body(ICCID), webhook_id)

    answers = {name: await rig.post(body, headers) for name, (body, headers) in cases.items()}

    assert {name: status for name, (status, _) in answers.items()} == dict.fromkeys(cases, 401)
    assert {problem["code"] for _, problem in answers.values()} == {"invalid_signature"}
    assert await rig.stored({"iccid": ICCID}) == []
    assert rig.heard.events == []


async def test_signed_but_malformed_callback_is_a_bad_request(rig: Rig) -> None:
    """An authentic callback whose body is not understood gets 400 and is not stored."""
    webhook_id = new_id("wh")
    body = callback_body(ICCID, "usage.updated")

    status, problem = await rig.post(body, signed(SECRET, webhook_id, body, datetime.now(UTC)))

    assert (status, problem["code"]) == (400, "invalid_request")
    assert await rig.stored({"_id": webhook_id}) == []


async def test_simulator_with_another_secret_is_refused_after_bounded_retries(
    base_settings: ServiceSettings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A provider signing with the wrong secret is refused on every attempt (first try and two
    retries), and provisioning records nothing."""
    logs = tmp_path_factory.mktemp("wrong-secret") / "providersim.log"
    async with callback_rig(base_settings, logs, SECRET, sim_secret=webhook_secret()) as rig:
        adapter = HttpNetworkProvider(rig.sim.url, timeout_seconds=2.0)
        [profile] = await adapter.allocate("EU-1GB-7D", 1, new_id("ord"))
        await adapter.close()

        status, delivery = await rig.sim.admin("POST", f"/_sim/profiles/{profile.iccid}/install")

        assert (status, delivery["delivered"]) == (502, False)
        assert delivery["attempts"] == ["401", "401", "401"]
        assert await rig.stored({"iccid": profile.iccid}) == []
