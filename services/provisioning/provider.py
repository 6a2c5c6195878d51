"""The network-provider adapter: the interface provisioning uses, and its HTTP implementation.

Only package codes, quantities, ICCIDs and idempotency keys cross to the provider: there is
no parameter through which an end user's email or reference could travel (privacy policy,
data minimisation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.provider import ICCID_PATTERN
from provisioning.settings import ProvisioningSettings


class ProviderError(Exception):
    """The provider did not do what was asked."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached, failed (5xx) or answered nonsense; retry later."""


class ProviderTimeout(ProviderError):
    """No answer in time. The provider may have acted: retry with the same idempotency key."""


class ProviderRejected(ProviderError):
    """The provider refused the request (4xx); retrying it unchanged will not help."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"provider refused ({status} {code}): {message}")
        self.status = status
        self.code = code


@dataclass(frozen=True)
class AllocatedProfile:
    """An eSIM profile the provider issued: where to download it and what it carries."""

    iccid: str
    package_code: str
    smdp_address: str
    matching_id: str = field(repr=False)

    @property
    def activation_code(self) -> str:
        """The LPA activation code a device scans (a secret: never logged)."""
        return f"LPA:1${self.smdp_address}${self.matching_id}"


@dataclass(frozen=True)
class TopupReceipt:
    """The provider's record of one top-up."""

    topup_id: str
    iccid: str
    package_code: str


@dataclass(frozen=True)
class ProfileStatus:
    """A profile's state at the provider and its data use."""

    iccid: str
    status: str
    data_used_bytes: int
    data_remaining_bytes: int


class NetworkProvider(Protocol):
    """What provisioning needs from a network provider; every call is idempotent by key."""

    async def allocate(
        self, package_code: str, quantity: int, idempotency_key: str
    ) -> list[AllocatedProfile]:
        """Allocate `quantity` profiles of a package; the same key returns the same profiles."""
        ...

    async def topup(self, iccid: str, package_code: str, idempotency_key: str) -> TopupReceipt:
        """Add a package to a profile; the same key tops up once."""
        ...

    async def status(self, iccid: str) -> ProfileStatus:
        """A profile's state and data use."""
        ...


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _ProfileAnswer(_Answer):
    iccid: str = Field(pattern=ICCID_PATTERN)
    package_code: str
    smdp_address: str = Field(min_length=1)
    matching_id: str = Field(min_length=1)
    status: str
    data_used_bytes: int = Field(ge=0)
    data_remaining_bytes: int = Field(ge=0)


class _AllocationAnswer(_Answer):
    profiles: list[_ProfileAnswer]


class _TopupAnswer(_Answer):
    topup_id: str
    iccid: str
    package_code: str


def luhn_valid(digits: str) -> bool:
    """Whether the last digit is the Luhn check digit of the others (ICCIDs carry one)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


class HttpNetworkProvider:
    """The provider's HTTP+JSON API through one aiohttp session with a bounded timeout."""

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def allocate(
        self, package_code: str, quantity: int, idempotency_key: str
    ) -> list[AllocatedProfile]:
        """`POST /v1/profiles`."""
        body = {
            "package_code": package_code,
            "quantity": quantity,
            "idempotency_key": idempotency_key,
        }
        answer = _parse(_AllocationAnswer, await self._call("POST", "/v1/profiles", body))
        profiles = [
            AllocatedProfile(
                iccid=p.iccid,
                package_code=p.package_code,
                smdp_address=p.smdp_address,
                matching_id=p.matching_id,
            )
            for p in answer.profiles
        ]
        if len(profiles) != quantity or not all(luhn_valid(p.iccid) for p in profiles):
            raise ProviderUnavailable("the provider's allocation does not match the request")
        return profiles

    async def topup(self, iccid: str, package_code: str, idempotency_key: str) -> TopupReceipt:
        """`POST /v1/profiles/{iccid}/topups`."""
        body = {"package_code": package_code, "idempotency_key": idempotency_key}
        raw = await self._call("POST", f"/v1/profiles/{_checked(iccid)}/topups", body)
        answer = _parse(_TopupAnswer, raw)
        return TopupReceipt(
            topup_id=answer.topup_id, iccid=answer.iccid, package_code=answer.package_code
        )

    async def status(self, iccid: str) -> ProfileStatus:
        """`GET /v1/profiles/{iccid}`."""
        answer = _parse(_ProfileAnswer, await self._call("GET", f"/v1/profiles/{_checked(iccid)}"))
        return ProfileStatus(
            iccid=answer.iccid,
            status=answer.status,
            data_used_bytes=answer.data_used_bytes,
            data_remaining_bytes=answer.data_remaining_bytes,
        )

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.request(method, self.base_url + path, json=body) as response:
                payload = await _json(response)
        except TimeoutError:
            raise ProviderTimeout(f"no answer to {method} {path} in time") from None
        except aiohttp.ClientError as failure:
            raise ProviderUnavailable(f"provider unreachable: {type(failure).__name__}") from None
        if response.status >= 500:
            raise ProviderUnavailable(f"provider failed with {response.status}")
        if response.status >= 400:
            error = payload if isinstance(payload, dict) else {}
            raise ProviderRejected(
                response.status, str(error.get("error", "rejected")), str(error.get("message", ""))
            )
        return payload


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return None


def _parse(model: type[_Answer], raw: Any) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError:
        raise ProviderUnavailable(
            f"malformed answer from the provider ({model.__name__})"
        ) from None


def _checked(iccid: str) -> str:
    """An ICCID safe to put in a path (digits only), else a refusal before any call."""
    if not (iccid.isdigit() and 19 <= len(iccid) <= 20):
        raise ProviderRejected(400, "invalid_iccid", "an ICCID is 19-20 digits")
    return iccid


def provider_from_settings(settings: ProvisioningSettings) -> HttpNetworkProvider:
    """The adapter to the provider at `provider_url`, bounded by `provider_timeout_seconds`."""
    return HttpNetworkProvider(settings.provider_url, settings.provider_timeout_seconds)
