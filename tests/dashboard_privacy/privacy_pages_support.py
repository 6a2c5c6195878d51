"""Helpers of the privacy pages' tests: the running platform, and reading its pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestServer
from yarl import URL

from contracts.dashboard import UserView
from contracts.identity import PartnerView
from contracts.privacy import (
    ListPrivacyRequests,
    PrivacyRequestPage,
    PrivacyRequestView,
    SubmitPrivacyRequest,
)
from partner_dashboard.dashboard_support import Answer, Browser
from privacy_verification.verification_support import MailSink, code_of
from servicekit.service import Service
from support.waiting import eventually

REQUEST_PAGE = re.compile(r"^/dashboard/privacy/(dsr_[0-9a-z]+)(/verify)?$")
STATUS = re.compile(r'<dd class="request-status">([a-z_]+)</dd>')


@dataclass
class PrivacyWorld:
    """Accounts, privacy and the gateway running; a partner with an owner and a viewer; a
    caller on the bus; the SMTP sink privacy mails its codes to."""

    gateway: TestServer
    caller: Service
    partner: PartnerView
    owner: UserView
    viewer: UserView
    mail: MailSink

    @property
    def url(self) -> URL:
        """The gateway's base URL."""
        return URL(str(self.gateway.make_url("/")))

    async def requests_of(self, partner_id: str) -> list[PrivacyRequestView]:
        """Every request privacy holds for a partner (as ops would list them)."""
        query = ListPrivacyRequests(partner_id=partner_id, limit=200)
        page = await self.caller.bus.request(
            query, to="privacy", reply=PrivacyRequestPage, timeout=15
        )
        return page.data

    async def code_for(self, request_id: str, address: str, count: int = 1) -> str:
        """The latest code mailed to `address` for this request, waiting (bounded) until
        `count` codes were mailed for it."""

        async def mailed() -> list[str]:
            mails = await self.mail.mails_to(address)
            codes = [code_of(mail) for mail in mails if request_id in mail["body"]]
            return codes if len(codes) >= count else []

        codes = await eventually(mailed, timeout=10, what=f"the code of {request_id}")
        return codes[-1]

    async def list_for(self, partner_id: str, user_id: str, **options: Any) -> PrivacyRequestPage:
        """One page of what a user of the partner may see (`options`: limit, cursor, ...)."""
        query = ListPrivacyRequests(partner_id=partner_id, for_user_id=user_id, **options)
        return await self.caller.bus.request(
            query, to="privacy", reply=PrivacyRequestPage, timeout=15
        )

    async def submit(self, command: SubmitPrivacyRequest) -> PrivacyRequestView:
        """Open a request over the bus, as the API or the CLI does."""
        return await self.caller.bus.request(
            command, to="privacy", reply=PrivacyRequestView, timeout=15
        )


def request_id_of(answer: Answer) -> str:
    """The request id a redirect to a request's page (or its code page) names."""
    assert answer.status == 303, answer.text
    found = REQUEST_PAGE.match(answer.location)
    assert found is not None, answer.location
    return found.group(1)


async def status_on_page(browser: Browser, request_id: str) -> str:
    """The status the request's page shows."""
    page = await browser.get(f"/dashboard/privacy/{request_id}")
    assert page.status == 200, page.text
    found = STATUS.search(page.text)
    assert found is not None, page.text
    return found.group(1)
