"""The privacy-policy routes: the policy in force, the partner's notices, acknowledgements.

Any valid key may read the policy and its notices and acknowledge a version: the policy is
public, and the notices are the calling partner's own (the partner comes from the key).
"""

from __future__ import annotations

from pydantic import Field

from contracts.policy import (
    AcknowledgePolicy,
    GetCurrentPolicy,
    GetPolicyNotices,
    PolicyAcknowledged,
    PolicyNotices,
    PolicyVersionView,
)
from gateway.api import Call, Endpoint
from gateway.handlers import actor_of
from gateway.schemas import ApiModel
from servicekit.bus import Bus

TO = "privacy"


class AcknowledgePolicyBody(ApiModel):
    """The policy version the partner acknowledges."""

    version: int = Field(ge=1, description="The version number from the notice.", examples=[2])


class PolicyHandlers:
    """Endpoint functions of `/v1/privacy/policy`."""

    def __init__(self, bus: Bus, timeout: float) -> None:
        self.bus = bus
        self.timeout = timeout

    async def get_policy(self, _call: Call) -> PolicyVersionView:
        """The privacy policy in force, with its "Last updated" date."""
        return await self.bus.request(
            GetCurrentPolicy(), to=TO, reply=PolicyVersionView, timeout=self.timeout
        )

    async def get_notices(self, call: Call) -> PolicyNotices:
        """The calling partner's policy notices (banners), newest first."""
        query = GetPolicyNotices(partner_id=call.principal.partner_id)
        return await self.bus.request(query, to=TO, reply=PolicyNotices, timeout=self.timeout)

    async def acknowledge(self, call: Call) -> PolicyAcknowledged:
        """Acknowledge a policy version for the calling partner (once; repeats answer it)."""
        body: AcknowledgePolicyBody = call.body
        query = AcknowledgePolicy(
            actor=actor_of(call), partner_id=call.principal.partner_id, version=body.version
        )
        return await self.bus.request(query, to=TO, reply=PolicyAcknowledged, timeout=self.timeout)


def policy_endpoints(handlers: PolicyHandlers) -> list[Endpoint]:
    """The privacy policy and its change notices: any valid key."""
    return [
        Endpoint(
            "GET",
            "/v1/privacy/policy",
            "getPrivacyPolicy",
            "Get the privacy policy in force",
            handlers.get_policy,
            PolicyVersionView,
            missing=True,
            tags=["privacy"],
            description="The current version's markdown text, number, `last_updated` date,"
            " publication and effective dates, and summary of changes.",
        ),
        Endpoint(
            "GET",
            "/v1/privacy/policy/notices",
            "listPrivacyPolicyNotices",
            "List your privacy-policy change notices",
            handlers.get_notices,
            PolicyNotices,
            tags=["privacy"],
            description="One notice per material policy version you were emailed about,"
            " newest first, with `acknowledged_at` once you acknowledged it.",
        ),
        Endpoint(
            "POST",
            "/v1/privacy/policy/acknowledge",
            "acknowledgePrivacyPolicy",
            "Acknowledge a privacy-policy version",
            handlers.acknowledge,
            PolicyAcknowledged,
            body=AcknowledgePolicyBody,
            missing=True,
            tags=["privacy"],
            description="Stored once per partner and version: acknowledging again answers"
            " the first acknowledgement. An unknown version is 404.",
        ),
    ]
