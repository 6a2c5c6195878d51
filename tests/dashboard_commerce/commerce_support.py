"""What the commerce page tests share: the world the fixtures build."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp.test_utils import TestServer
from yarl import URL

from contracts.identity import PartnerView
from support.accounts_owner import AccountsOwner
from support.provisioning_owner import PACKAGE, EndUser, ProvisioningOwner

TOP_UP = 5_000
"""The partner's top-up before its order, in minor units."""


@dataclass
class CommerceWorld:
    """The running services, the partner's people, and its order of one eSIM."""

    gateway: TestServer
    accounts: AccountsOwner
    provisioning: ProvisioningOwner
    partner: PartnerView
    end_user: EndUser

    @property
    def url(self) -> URL:
        """The gateway's base URL."""
        return URL(str(self.gateway.make_url("/")))

    @property
    def debit(self) -> int:
        """What the order cost, in minor units."""
        return PACKAGE.price.amount
