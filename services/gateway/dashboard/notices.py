"""The banner of a policy notice not yet acknowledged, on every dashboard page of a partner's
user, and its "Acknowledge" form.

Privacy keeps the notices (`GetPolicyNotices`); asking on every page would cost a round trip
per page, so each gateway replica keeps the answer per partner for `TTL_SECONDS` (at most
`MAX_PARTNERS` partners, the least recently asked dropped first). A short staleness is fine:
a notice is about a policy change that takes effect weeks later (30 days for a material
one), so a banner that appears up to half a minute late changes nothing; acknowledging in
this replica drops the partner's entry at once, so the person who acknowledged no longer
sees it, and another replica stops showing it within the same half minute.

A privacy service that does not answer (or answers an error) must not break the page: no
banner, a warning logged, and the empty answer kept for the same time so that pages are not
each held up by the wait.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar

import structlog
from aiohttp import web

from contracts.policy import (
    AcknowledgePolicy,
    GetPolicyNotices,
    PolicyAcknowledged,
    PolicyNotice,
    PolicyNotices,
)
from gateway.dashboard import csrf
from gateway.dashboard.forms import safe_return_path, text
from gateway.dashboard.guard import Handler
from gateway.dashboard.lookups import ask
from gateway.dashboard.rendering import (
    OVERVIEW_PATH,
    TEMPLATES,
    PageError,
    partner_of,
    redirect,
    viewer_of,
)
from gateway.dashboard.state import DASHBOARD, VIEWER
from servicekit.errors import ServiceError

log = structlog.get_logger("gateway")

TTL_SECONDS = 30.0
MAX_PARTNERS = 10_000
BANNER_TIMEOUT_SECONDS = 1.0
"""How long a page waits for privacy's notices before it is shown without a banner."""
TO = "privacy"

_PENDING: ContextVar[PolicyNotice | None] = ContextVar("pending_policy_notice", default=None)
"""The notice of the page being rendered (each request is handled in its own task)."""


class NoticeCache:
    """Per partner: its pending notice (or None) as privacy answered it, for `ttl` seconds."""

    def __init__(
        self,
        ttl: float = TTL_SECONDS,
        size: int = MAX_PARTNERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, PolicyNotice | None]] = OrderedDict()

    def get(self, partner_id: str) -> tuple[bool, PolicyNotice | None]:
        """Whether a fresh answer is kept, and that answer."""
        entry = self._entries.get(partner_id)
        if entry is None or self.clock() - entry[0] >= self.ttl:
            self._entries.pop(partner_id, None)
            return False, None
        self._entries.move_to_end(partner_id)
        return True, entry[1]

    def put(self, partner_id: str, notice: PolicyNotice | None) -> None:
        """Keep an answer; the least recently asked partner goes when full."""
        self._entries[partner_id] = (self.clock(), notice)
        self._entries.move_to_end(partner_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def drop(self, partner_id: str) -> None:
        """Forget a partner's answer (after it acknowledged a notice here)."""
        self._entries.pop(partner_id, None)


NOTICES: web.AppKey[NoticeCache] = web.AppKey("dashboard_policy_notices", NoticeCache)


def pending_of(notices: PolicyNotices) -> PolicyNotice | None:
    """The newest notice not yet acknowledged (notices come newest first)."""
    return next((n for n in notices.notices if n.acknowledged_at is None), None)


async def pending_for(request: web.Request, partner_id: str) -> PolicyNotice | None:
    """The partner's pending notice, from this replica's cache or else from privacy; None
    when there is none or privacy did not answer."""
    cache = request.config_dict[NOTICES]
    known, notice = cache.get(partner_id)
    if known:
        return notice
    bus = request.config_dict[DASHBOARD].gate.bus
    try:
        answer = await bus.request(
            GetPolicyNotices(partner_id=partner_id),
            to=TO,
            reply=PolicyNotices,
            timeout=BANNER_TIMEOUT_SECONDS,
        )
        notice = pending_of(answer)
    except Exception as error:  # whatever privacy did, the page is shown without a banner
        code = error.code if isinstance(error, ServiceError) else type(error).__name__
        log.warning("policy_notices_unavailable", error=code)
        notice = None
    cache.put(partner_id, notice)
    return notice


@web.middleware
async def banner(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Find the partner's pending notice for the page's banner (partner users only)."""
    viewer = request.get(VIEWER)
    partner_id = viewer.actor.partner_id if viewer is not None else None
    if partner_id is None:
        return await handler(request)
    token = _PENDING.set(await pending_for(request, partner_id))
    try:
        return await handler(request)
    finally:
        _PENDING.reset(token)


def pending_notice() -> PolicyNotice | None:
    """The banner's notice of the page being rendered (a template global)."""
    return _PENDING.get()


async def acknowledge(request: web.Request) -> web.StreamResponse:
    """Acknowledge a policy version for the partner as the signed-in user; back to the page."""
    form = await request.post()
    csrf.verify(request, form)
    viewer = viewer_of(request)
    partner_id = partner_of(viewer)
    version = text(form, "version")
    if not (version.isascii() and version.isdigit() and len(version) <= 6 and int(version)):
        raise PageError(400, "Bad request", "No such policy version.")
    query = AcknowledgePolicy(actor=viewer.actor, partner_id=partner_id, version=int(version))
    await ask(request, query, PolicyAcknowledged, TO)
    request.config_dict[NOTICES].drop(partner_id)
    return redirect(safe_return_path(text(form, "next"), OVERVIEW_PATH))


def install(dashboard: web.Application, cache: NoticeCache | None = None) -> None:
    """The banner's middleware, cache, template global and acknowledge route."""
    dashboard[NOTICES] = cache or NoticeCache()
    dashboard.middlewares.append(banner)
    dashboard[TEMPLATES].globals["pending_policy_notice"] = pending_notice
    dashboard.router.add_post("/policy/acknowledge", acknowledge)
