"""Helpers of the ops status tests: the running platform slice (accounts, privacy, the
gateway, a caller service), its users, and reading figures off the pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from aiohttp.test_utils import TestServer
from yarl import URL

from contracts import Query, Reply
from contracts.accounts import Role
from contracts.dashboard import CreateUser, UserView
from contracts.identity import CreatePartner, PartnerView, PostalAddress
from partner_dashboard.dashboard_support import PASSWORD
from servicekit.service import Service
from support.accounts_owner import OPS

R = TypeVar("R", bound=Reply)
REPORT_SECONDS = 0.2
"""The services' status report interval in these tests."""
OPS_EMAIL = "olga.ops@status.example.org"
PARTNER_EMAIL = "paul.partner@status.example.org"
ACTIVITY = "/dashboard/ops/activity"
TRAFFIC = "/dashboard/ops/traffic"
RETENTION = "/dashboard/ops/retention"


@dataclass
class StatusWorld:
    """The running gateway and the service the tests publish from."""

    gateway: TestServer
    caller: Service

    @property
    def url(self) -> URL:
        """The gateway's base URL."""
        return URL(str(self.gateway.make_url("/")))


async def create_users(caller: Service) -> None:
    """An ops user, and the owner of a partner."""

    async def ask(query: Query, reply: type[R]) -> R:
        return await caller.bus.request(query, to="accounts", reply=reply, timeout=15)

    partner = await ask(
        CreatePartner(
            actor=OPS,
            business_name="Status Test Mobile",
            registration_number="HRB 4242",
            address=PostalAddress(line1="Ring 2", city="Bremen", country="DE"),
            phone="+494215550101",
        ),
        PartnerView,
    )
    for partner_id, name, email, role in [
        (None, "Olga Ops", OPS_EMAIL, Role.OPS),
        (partner.id, "Paul Partner", PARTNER_EMAIL, Role.OWNER),
    ]:
        user = CreateUser(
            actor=OPS, partner_id=partner_id, name=name, email=email, role=role, password=PASSWORD
        )
        await ask(user, UserView)


def row(html: str, first_cell: str) -> str:
    """The table row whose first cell is `first_cell`."""
    found = re.search(rf"<tr>\s*<td>{re.escape(first_cell)}</td>.*?</tr>", html, re.DOTALL)
    assert found is not None, f"no row for {first_cell}"
    return found.group(0)


def cell_number(html: str, css_class: str) -> float:
    """The number in the first cell of that class."""
    found = re.search(rf'<td class="{css_class}">([0-9.e+-]+)</td>', html)
    assert found is not None, f"no cell {css_class}"
    return float(found.group(1))
