"""Provisioning's events from the network provider: what its verified callbacks reported."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from contracts.base import Event

ICCID_PATTERN = r"^89[0-9]{17,18}$"
"""An ICCID: 19 or 20 digits, starting with 89 (the telecom industry identifier)."""


class ProviderCallbackEvent(Event):
    """What every provider-reported event carries: which profile, which callback, when."""

    iccid: str = Field(
        pattern=ICCID_PATTERN,
        description="The profile the provider reported on.",
        examples=["8949000000000000017"],
    )
    webhook_id: str = Field(
        description="The provider's callback id; the same callback is recorded once.",
        examples=["wh_5f2b9c0e1a7d4c3b8e6f0a12"],
    )
    occurred_at: datetime = Field(description="When the provider says it happened (UTC).")


class ProfileInstalled(ProviderCallbackEvent):
    """The end user installed the eSIM profile on a device (reported by the provider)."""

    TYPE: ClassVar[str] = "provisioning.profile_installed.v1"


class UsageUpdated(ProviderCallbackEvent):
    """The provider measured a profile's data use."""

    TYPE: ClassVar[str] = "provisioning.usage_updated.v1"

    data_used_bytes: int = Field(ge=0, description="Data used so far.", examples=[52428800])
    data_remaining_bytes: int = Field(
        ge=0, description="Data left of the profile's packages.", examples=[1021313024]
    )


class ProfileExpired(ProviderCallbackEvent):
    """The profile's validity ended at the provider; it carries no more data."""

    TYPE: ClassVar[str] = "provisioning.profile_expired.v1"
