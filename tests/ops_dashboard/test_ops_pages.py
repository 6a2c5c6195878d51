"""The ops pages against the real accounts, gateway and broker: who may see them, the queues
and health, dead letters without bodies, their replay (ops only, CSRF-protected), and the
data-subject requests page."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from ops_dashboard_support import FLAKY, OPS_EMAIL, PARTNER_EMAIL, SUPPORT_EMAIL, OpsWorld

from partner_dashboard.dashboard_support import Browser, csrf_in
from support.waiting import eventually

SignIn = Callable[[str], Awaitable[Browser]]
OPS_PAGES = [
    "/dashboard/ops",
    "/dashboard/ops/queues",
    f"/dashboard/ops/dead-letters/{FLAKY}",
    "/dashboard/ops/requests",
]
DEAD_LETTERS = f"/dashboard/ops/dead-letters/{FLAKY}"
REPLAY = f"{DEAD_LETTERS}/replay"


def _row(html: str, first_cell: str) -> str:
    """The table row whose first cell is `first_cell`."""
    found = re.search(rf"<tr>\s*<td>{re.escape(first_cell)}</td>.*?</tr>", html, re.DOTALL)
    assert found is not None, f"no row for {first_cell}"
    return found.group(0)


async def test_queues_page_lists_the_namespace_queues_with_consumers(
    world: OpsWorld, sign_in: SignIn
) -> None:
    """An ops user sees every queue of the platform's services, with depth and consumers."""
    browser = await sign_in(OPS_EMAIL)
    page = await browser.get(f"/dashboard/ops/queues?service={FLAKY}")
    assert page.status == 200, page.text
    namespace = world.flaky.service.settings.bus_namespace
    assert f"{namespace}.accounts.queries" in page.text
    assert f"{namespace}.{FLAKY}.dlq" in page.text
    assert '<svg class="chart"' in page.text
    assert "style=" not in page.text
    overview = await browser.get("/dashboard/")
    assert '<a href="/dashboard/ops">Operations</a>' in overview.text  # the nav link


async def test_health_shows_running_services_up_and_missing_ones_absent(
    world: OpsWorld, sign_in: SignIn
) -> None:
    """Accounts (consuming) is up; provisioning, never started here, is shown as such."""
    browser = await sign_in(SUPPORT_EMAIL)
    page = await browser.get("/dashboard/ops")
    assert page.status == 200, page.text
    assert 'class="health-up">up' in _row(page.text, "accounts")
    assert 'class="health-absent">never started' in _row(page.text, "provisioning")


async def test_a_partner_user_gets_403_on_every_ops_page(world: OpsWorld, sign_in: SignIn) -> None:
    """A partner's user is refused every ops page and the replay, and has no ops nav link."""
    await world.flaky.dead_letter("partner-try")
    browser = await sign_in(PARTNER_EMAIL)
    for path in OPS_PAGES:
        page = await browser.get(path)
        assert page.status == 403, path
    overview = await browser.get("/dashboard/")
    assert 'href="/dashboard/ops"' not in overview.text
    token = csrf_in(overview.text)
    answer = await browser.post(REPLAY, {"csrf_token": token, "all": "yes"})
    assert answer.status == 403
    assert await world.flaky.dead_letters() == 1


async def test_dead_letters_page_shows_metadata_without_bodies(
    world: OpsWorld, sign_in: SignIn
) -> None:
    """A dead letter is listed with its type and reason; its body never reaches the page."""
    await world.flaky.dead_letter("secret-body-marker")
    browser = await sign_in(OPS_EMAIL)
    page = await browser.get(DEAD_LETTERS)
    assert page.status == 200, page.text
    assert "test.count_thing.v1" in page.text
    assert "secret-body-marker" not in page.text
    assert "Replay all" in page.text
    assert await world.flaky.dead_letters() == 1


async def test_ops_replay_empties_the_dlq_and_the_message_is_handled(
    world: OpsWorld, sign_in: SignIn
) -> None:
    """Replaying all (ops role) moves the dead letter back; the fixed service handles it."""
    await world.flaky.dead_letter("replay-me")
    world.flaky.broken = False
    browser = await sign_in(OPS_EMAIL)
    token = await browser.csrf_of(DEAD_LETTERS)
    answer = await browser.post(REPLAY, {"csrf_token": token, "all": "yes"})
    assert answer.status == 200, answer.text
    assert "Replayed</dt><dd>1" in answer.text

    async def handled() -> bool:
        return "replay-me" in world.flaky.handled

    await eventually(handled, what="the replayed command handled")
    assert await world.flaky.dead_letters() == 0


async def test_support_may_look_but_not_replay(world: OpsWorld, sign_in: SignIn) -> None:
    """A support user sees the dead letters without replay forms; a replay is a 403."""
    await world.flaky.dead_letter("support-try")
    world.flaky.broken = False
    browser = await sign_in(SUPPORT_EMAIL)
    page = await browser.get(DEAD_LETTERS)
    assert page.status == 200, page.text
    assert "test.count_thing.v1" in page.text
    assert "Replay all" not in page.text
    answer = await browser.post(REPLAY, {"csrf_token": csrf_in(page.text), "all": "yes"})
    assert answer.status == 403
    assert await world.flaky.dead_letters() == 1
    assert world.flaky.handled == []


async def test_replay_without_the_csrf_token_changes_nothing(
    world: OpsWorld, sign_in: SignIn
) -> None:
    """A replay with a wrong token is refused and the dead letter stays."""
    await world.flaky.dead_letter("csrf-try")
    world.flaky.broken = False
    browser = await sign_in(OPS_EMAIL)
    answer = await browser.post(REPLAY, {"csrf_token": "0" * 64, "all": "yes"})
    assert answer.status == 403
    assert "Nothing was changed" in answer.text
    assert await world.flaky.dead_letters() == 1
    assert world.flaky.handled == []


async def test_requests_page_counts_open_requests_by_state(
    world: OpsWorld, sign_in: SignIn
) -> None:
    """Open requests are counted by state; the overdue and due-soon ones are listed."""
    browser = await sign_in(SUPPORT_EMAIL)
    page = await browser.get("/dashboard/ops/requests")
    assert page.status == 200, page.text
    assert "<tr><td>in_progress</td><td>2</td></tr>" in page.text
    assert "<tr><td>awaiting_approval</td><td>1</td></tr>" in page.text
    assert '<strong class="overdue-count">1</strong>' in page.text
    assert '<strong class="due-soon-count">1</strong>' in page.text
    assert "prq_0001" in page.text
    assert "prq_0004" not in page.text  # completed: not open, not listed
    assert all(query.partner_id is None for query in world.privacy.asked)


async def test_ops_address_leads_to_the_ops_pages(world: OpsWorld, sign_in: SignIn) -> None:
    """`/ops` is a permanent redirect to the ops pages inside the dashboard."""
    browser = await sign_in(OPS_EMAIL)
    answer = await browser.get("/ops")
    assert (answer.status, answer.location) == (308, "/dashboard/ops")
