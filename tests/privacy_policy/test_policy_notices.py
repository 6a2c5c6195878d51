"""Change notices over the real bus: emails to every active partner's people once, banners,
acknowledgements once, and the policy through the gateway."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import aiohttp
from policy_support import NEW_TEXT, OFFICER, PolicyWorld

from contracts.policy import (
    GetPolicyNotices,
    PolicyNotices,
    PolicyPublished,
    PolicyVersionView,
    PublishPolicy,
)
from servicekit.clock import utcnow
from support.waiting import eventually


def material_change(days_ahead: int = 31) -> PublishPolicy:
    """A material change published now, taking effect `days_ahead` days later."""
    return PublishPolicy(
        actor=OFFICER,
        text=NEW_TEXT,
        effective_at=utcnow() + timedelta(days=days_ahead),
        material=True,
        summary="New payment processor",
    )


async def recipients(world: PolicyWorld) -> Counter[str]:
    """How many messages the sink received per recipient address."""
    return Counter(address for message in await world.sink.messages() for address in message["to"])


async def banners(world: PolicyWorld, partner_id: str) -> list[int]:
    """The versions of the partner's notices."""
    notices = await world.ask(GetPolicyNotices(partner_id=partner_id), PolicyNotices, "privacy")
    return [notice.version for notice in notices.notices]


async def api(world: PolicyWorld, key: str, method: str, path: str, **body: Any) -> Any:
    """Call the gateway with a key; the status and the JSON body."""
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.request(method, str(world.gateway.make_url(path)), json=body or None) as got,
    ):
        return got.status, await got.json()


async def test_material_version_emails_every_active_partner_once_and_shows_banners(
    world: PolicyWorld,
) -> None:
    """Owners and contacts of active partners get one email each; closed partners none."""
    first, first_people = await world.partner("alpha")
    second, second_people = await world.partner("beta")
    _closed, closed_people = await world.partner("gamma", closed=True)
    version = await world.ask(material_change(), PolicyVersionView, "privacy")
    expected = Counter({address: 1 for address in [*first_people, *second_people]})

    async def all_told() -> bool:
        got = await recipients(world)
        return all(got[address] >= 1 for address in expected)

    await eventually(all_told, timeout=20, what="every active partner's people emailed")
    for partner_id in (first, second):
        await eventually(
            lambda p=partner_id: banners(world, p), timeout=10, what=f"{partner_id} banner"
        )
        assert await banners(world, partner_id) == [version.version]
    # The same event again (a redelivery, or a replay) emails nobody twice.
    replayed = await world.publish(
        PolicyPublished(
            version=version.version,
            published_at=version.published_at,
            effective_at=version.effective_at,
            summary=version.summary,
        )
    )
    await eventually(lambda: world.accounts_handled(replayed), timeout=10, what="replay handled")
    got = await recipients(world)
    assert got == expected, got
    assert not set(closed_people) & set(got)
    [message, *_] = await world.sink.messages()
    assert f"version {version.version}" in message["subject"]
    assert "New payment processor" in message["body"]


async def test_acknowledgement_is_stored_once_and_shown_on_the_notice(world: PolicyWorld) -> None:
    """Acknowledging twice through the gateway keeps the first time; the notice shows it."""
    partner_id, _people = await world.partner("delta")
    key = await world.api_key(partner_id)
    version = await world.ask(material_change(), PolicyVersionView, "privacy")
    await eventually(lambda: banners(world, partner_id), timeout=20, what="banner")
    status, first = await api(
        world, key, "POST", "/v1/privacy/policy/acknowledge", version=version.version
    )
    assert status == 200, first
    status, again = await api(
        world, key, "POST", "/v1/privacy/policy/acknowledge", version=version.version
    )
    assert (status, again) == (200, first)
    status, notices = await api(world, key, "GET", "/v1/privacy/policy/notices")
    assert status == 200, notices
    [notice] = notices["notices"]
    assert notice["version"] == version.version
    assert notice["acknowledged_at"] == first["acknowledged_at"]


async def test_acknowledging_an_unknown_version_is_not_found(world: PolicyWorld) -> None:
    """A version that does not exist cannot be acknowledged: 404, nothing stored."""
    partner_id, _people = await world.partner("epsilon")
    key = await world.api_key(partner_id)
    status, problem = await api(world, key, "POST", "/v1/privacy/policy/acknowledge", version=99)
    assert status == 404, problem
    assert problem["code"] == "not_found"
    status, notices = await api(world, key, "GET", "/v1/privacy/policy/notices")
    assert (status, notices) == (200, {"notices": []})


async def test_gateway_serves_the_version_in_force_and_its_date(world: PolicyWorld) -> None:
    """GET /v1/privacy/policy: version 1, last updated February 2026, while v2 is pending."""
    partner_id, _people = await world.partner("zeta")
    key = await world.api_key(partner_id)
    await world.ask(material_change(), PolicyVersionView, "privacy")
    status, policy = await api(world, key, "GET", "/v1/privacy/policy")
    assert status == 200, policy
    assert policy["version"] == 1
    assert date.fromisoformat(policy["last_updated"]) == date(2026, 2, 1)
    assert "Privacy Policy" in policy["text"]


async def test_gateway_refuses_the_policy_without_a_valid_key(world: PolicyWorld) -> None:
    """The policy routes need a valid API key like every other route."""
    status, problem = await api(world, "esk_test_not_a_key", "GET", "/v1/privacy/policy")
    assert status == 401, problem
