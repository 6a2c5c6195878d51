"""What the simulated provider holds in memory: the ICCID pool, profiles, idempotency keys."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from providersim.iccids import iccid_pool

DEFAULT_ALLOWANCE_BYTES = 1024**3
_ALLOWANCE = re.compile(r"(\d{1,5})(GB|MB)", re.IGNORECASE)


class SimError(Exception):
    """A refusal the API answers with an HTTP status and a stable error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def allowance_of(package_code: str) -> int:
    """The data a package grants: `…-5GB-…` is 5 GiB; codes without a size get 1 GiB."""
    match = _ALLOWANCE.search(package_code)
    if match is None:
        return DEFAULT_ALLOWANCE_BYTES
    unit = 1024**3 if match.group(2).upper() == "GB" else 1024**2
    return int(match.group(1)) * unit


@dataclass
class Profile:
    """One eSIM profile the provider issued."""

    iccid: str
    package_code: str
    smdp_address: str
    matching_id: str
    allowance_bytes: int
    created_at: datetime
    status: str = "allocated"
    used_bytes: int = 0

    def view(self) -> dict[str, Any]:
        """The profile as the API shows it."""
        return {
            "iccid": self.iccid,
            "package_code": self.package_code,
            "smdp_address": self.smdp_address,
            "matching_id": self.matching_id,
            "status": self.status,
            "data_used_bytes": self.used_bytes,
            "data_remaining_bytes": max(self.allowance_bytes - self.used_bytes, 0),
            "created_at": self.created_at.isoformat(),
        }


@dataclass
class Idempotent:
    """The first answer to an idempotency key, and what was asked, to spot a reused key."""

    request: dict[str, Any]
    response: dict[str, Any]


@dataclass
class ProviderState:
    """The provider's books. One event loop, no awaits inside a change: each is atomic."""

    smdp_address: str
    free: list[str]
    profiles: dict[str, Profile] = field(default_factory=dict)
    answers: dict[str, Idempotent] = field(default_factory=dict)

    @classmethod
    def with_pool(cls, prefix: str, size: int, smdp_address: str) -> ProviderState:
        """A provider with `size` unused ICCIDs."""
        return cls(smdp_address=smdp_address, free=list(reversed(iccid_pool(prefix, size))))

    def replay(self, key: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """The earlier answer to `key`; a conflict if the key came with another request."""
        earlier = self.answers.get(key)
        if earlier is None:
            return None
        if earlier.request != request:
            raise SimError(409, "idempotency_conflict", "key reused for a different request")
        return earlier.response

    def allocate(self, key: str, package_code: str, quantity: int) -> dict[str, Any]:
        """Allocate `quantity` profiles once per key."""
        request = {"op": "allocate", "package_code": package_code, "quantity": quantity}
        earlier = self.replay(key, request)
        if earlier is not None:
            return earlier
        if quantity > len(self.free):
            raise SimError(409, "pool_exhausted", f"only {len(self.free)} profiles left")
        now = datetime.now(UTC)
        issued = []
        for _ in range(quantity):
            profile = Profile(
                iccid=self.free.pop(),
                package_code=package_code,
                smdp_address=self.smdp_address,
                matching_id=secrets.token_hex(12).upper(),
                allowance_bytes=allowance_of(package_code),
                created_at=now,
            )
            self.profiles[profile.iccid] = profile
            issued.append(profile.view())
        response = {"request_id": f"req-{secrets.token_hex(8)}", "profiles": issued}
        self.answers[key] = Idempotent(request=request, response=response)
        return response

    def topup(self, key: str, iccid: str, package_code: str) -> dict[str, Any]:
        """Add a package's allowance to a profile once per key."""
        profile = self.profile(iccid)
        request = {"op": "topup", "iccid": iccid, "package_code": package_code}
        earlier = self.replay(key, request)
        if earlier is not None:
            return earlier
        if profile.status == "expired":
            raise SimError(409, "profile_expired", "an expired profile takes no top-up")
        profile.allowance_bytes += allowance_of(package_code)
        response = {
            "topup_id": f"top-{secrets.token_hex(8)}",
            "iccid": iccid,
            "package_code": package_code,
            "profile": profile.view(),
        }
        self.answers[key] = Idempotent(request=request, response=response)
        return response

    def profile(self, iccid: str) -> Profile:
        """A profile this provider issued."""
        profile = self.profiles.get(iccid)
        if profile is None:
            raise SimError(404, "unknown_profile", "no profile with this ICCID")
        return profile
