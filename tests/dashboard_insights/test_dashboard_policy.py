"""The policy page (markdown rendered, raw HTML escaped) and the banner of a pending policy
notice: shown, refused without the CSRF token, gone once acknowledged."""

from __future__ import annotations

from insights_support import OTHER_OWNER_EMAIL, PRIVACY_OFFICER, InsightsWorld, NewBrowser

from contracts.policy import PolicyNoticeSent, PolicyVersionView, PublishPolicy
from partner_dashboard.dashboard_support import OWNER_EMAIL, csrf_in
from servicekit.clock import utcnow
from support.waiting import eventually

POLICY_TEXT = (
    "# Privacy Policy\n\nLast updated: November 2026\n\n"
    "We keep **little**.\n\n<script>alert('x')</script>\n\n"
    "<b>raw</b> and [a link](javascript:alert(1))\n"
)
BANNER = 'aria-label="Privacy policy notice"'


async def test_the_policy_page_renders_markdown_and_escapes_raw_html(
    world: InsightsWorld, signed_in: NewBrowser
) -> None:
    """The policy in force shows its version and date, its markdown as HTML, and any HTML
    of the text escaped (no script, no javascript: link)."""
    publication = PublishPolicy(
        actor=PRIVACY_OFFICER,
        text=POLICY_TEXT,
        effective_at=utcnow(),
        material=False,
        summary="Clearer wording",
    )
    published = await world.ask(publication, PolicyVersionView, "privacy")
    owner = await signed_in(OWNER_EMAIL)
    page = await owner.get("/dashboard/policy")
    assert page.status == 200, page.text
    assert f"Version {published.version}," in page.text
    assert "<h1>Privacy Policy</h1>" in page.text
    assert "<strong>little</strong>" in page.text
    assert "&lt;script&gt;alert(" in page.text
    assert "&lt;b&gt;raw&lt;/b&gt;" in page.text
    assert "<script" not in page.text
    assert 'href="javascript:' not in page.text


async def test_the_banner_shows_a_pending_notice_until_it_is_acknowledged(
    world: InsightsWorld, signed_in: NewBrowser
) -> None:
    """A notice privacy recorded shows a banner; a post without the CSRF token changes
    nothing; acknowledging records it and the banner goes at once."""
    partner_id = world.other.id
    notice = PolicyNoticeSent(partner_id=partner_id, version=1, recipients=1, sent_at=utcnow())
    await world.caller.bus.publish(notice, to="privacy")

    async def recorded() -> bool:
        return len(await world.notices(partner_id)) == 1

    await eventually(recorded, what="the notice recorded")
    owner = await signed_in(OTHER_OWNER_EMAIL)
    page = await owner.get("/dashboard/orders")
    assert BANNER in page.text
    assert "version 1 (Initial policy)" in page.text
    assert 'href="/dashboard/policy"' in page.text
    form = {"version": "1", "next": "/dashboard/orders"}
    refused = await owner.post("/dashboard/policy/acknowledge", form | {"csrf_token": "forged"})
    assert refused.status == 403
    assert [n.acknowledged_at for n in await world.notices(partner_id)] == [None]
    assert BANNER in (await owner.get("/dashboard/")).text
    done = await owner.post(
        "/dashboard/policy/acknowledge", form | {"csrf_token": csrf_in(page.text)}
    )
    assert done.status == 303, done.text
    assert done.location == "/dashboard/orders"
    [acknowledged] = await world.notices(partner_id)
    assert acknowledged.acknowledged_at is not None
    assert BANNER not in (await owner.get("/dashboard/orders")).text
