"""Privacy-policy contracts: versions, publication, change notices and acknowledgements."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import Field

from contracts.accounts import Actor
from contracts.base import Contract, Event, Query, Reply

MATERIAL_NOTICE_DAYS = 30
"""A material change takes effect at least this many days after its publication."""


class PolicyVersionView(Reply):
    """One version of the privacy policy (markdown)."""

    TYPE: ClassVar[str] = "privacy.policy_version.v1"

    version: int = Field(ge=1, description="1, 2, 3, ... in order of publication.", examples=[2])
    text: str = Field(description="The policy's full text, in markdown.")
    published_at: datetime = Field(description="When this version was published (UTC).")
    effective_at: datetime = Field(description="When it takes effect (UTC).")
    last_updated: date = Field(description='The "Last updated" date shown with the policy.')
    material: bool = Field(description="Whether it changes the policy materially.")
    summary: str = Field(description="What changed, in a few words.", examples=["Initial policy"])


class GetCurrentPolicy(Query):
    """The version of the privacy policy in force now (the latest whose effective date passed)."""

    TYPE: ClassVar[str] = "privacy.get_current_policy.v1"


class PublishPolicy(Query):
    """Publish a new version of the privacy policy (the privacy officer or the platform only).

    A material change must take effect at least 30 days after publication. Publishing the
    same text with the same terms again answers the version that holds it.
    """

    TYPE: ClassVar[str] = "privacy.publish_policy.v1"

    actor: Actor
    text: str = Field(min_length=1, max_length=200_000, description="The full text, markdown.")
    effective_at: datetime = Field(description="When the version takes effect (UTC).")
    material: bool = Field(description="Whether partners must be told (email and banner).")
    summary: str = Field(min_length=1, max_length=500, examples=["New sub-processor"])


class PolicyPublished(Event):
    """A material version of the privacy policy was published: every partner is told."""

    TYPE: ClassVar[str] = "privacy.policy_published.v1"

    version: int = Field(ge=1)
    published_at: datetime
    effective_at: datetime
    summary: str


class PolicyNoticeSent(Event):
    """Accounts emailed a partner's people about a policy version (once per partner and version)."""

    TYPE: ClassVar[str] = "accounts.policy_notice_sent.v1"

    partner_id: str = Field(max_length=64)
    version: int = Field(ge=1)
    recipients: int = Field(ge=0, description="How many addresses were emailed (no addresses).")
    sent_at: datetime


class PolicyNotice(Contract):
    """A dashboard banner: a policy version the partner was told about, and its acknowledgement."""

    version: int = Field(ge=1)
    summary: str
    published_at: datetime
    effective_at: datetime
    notified_at: datetime
    acknowledged_at: datetime | None = Field(
        default=None, description="When the partner acknowledged it; absent until then."
    )


class GetPolicyNotices(Query):
    """The policy notices of one partner, newest first."""

    TYPE: ClassVar[str] = "privacy.get_policy_notices.v1"

    partner_id: str = Field(max_length=64)


class PolicyNotices(Reply):
    """A partner's policy notices."""

    TYPE: ClassVar[str] = "privacy.policy_notices.v1"

    notices: list[PolicyNotice]


class AcknowledgePolicy(Query):
    """A partner acknowledges a policy version (stored once per partner and version)."""

    TYPE: ClassVar[str] = "privacy.acknowledge_policy.v1"

    actor: Actor
    partner_id: str = Field(max_length=64)
    version: int = Field(ge=1)


class PolicyAcknowledged(Reply):
    """The acknowledgement as stored (the first one, when acknowledged twice)."""

    TYPE: ClassVar[str] = "privacy.policy_acknowledged.v1"

    partner_id: str
    version: int = Field(ge=1)
    acknowledged_at: datetime
