"""The HTTP adapter against the simulator process: allocation, idempotency, faults, pool."""

from __future__ import annotations

import time

import pytest
from sim_support import Simulator, simulator

from provisioning.provider import (
    HttpNetworkProvider,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    luhn_valid,
)
from servicekit.ids import new_id
from support.processes import free_port


async def test_allocation_returns_valid_distinct_profiles(provider: HttpNetworkProvider) -> None:
    """Allocating 3 profiles gives 3 distinct Luhn-valid 89… ICCIDs with SM-DP+ and matching id."""
    profiles = await provider.allocate("EU-5GB-30D", 3, new_id("ord"))

    assert len({p.iccid for p in profiles}) == 3
    for profile in profiles:
        assert profile.iccid.startswith("89")
        assert 19 <= len(profile.iccid) <= 20
        assert luhn_valid(profile.iccid)
        assert profile.package_code == "EU-5GB-30D"
        assert profile.activation_code == f"LPA:1${profile.smdp_address}${profile.matching_id}"
        assert profile.matching_id not in repr(profile)
    status = await provider.status(profiles[0].iccid)
    assert (status.status, status.data_used_bytes) == ("allocated", 0)
    assert status.data_remaining_bytes == 5 * 1024**3


async def test_same_idempotency_key_returns_the_same_profiles(
    provider: HttpNetworkProvider,
) -> None:
    """A repeated allocation key returns the first profiles; a new key allocates new ones."""
    key = new_id("ord")
    first = await provider.allocate("EU-1GB-7D", 2, key)
    again = await provider.allocate("EU-1GB-7D", 2, key)
    other = await provider.allocate("EU-1GB-7D", 2, new_id("ord"))

    assert [p.iccid for p in again] == [p.iccid for p in first]
    assert not {p.iccid for p in other} & {p.iccid for p in first}


async def test_reused_key_for_another_request_is_rejected(provider: HttpNetworkProvider) -> None:
    """A key reused with a different package is refused as an idempotency conflict."""
    key = new_id("ord")
    await provider.allocate("EU-1GB-7D", 1, key)

    with pytest.raises(ProviderRejected) as refused:
        await provider.allocate("EU-3GB-15D", 1, key)
    assert (refused.value.status, refused.value.code) == (409, "idempotency_conflict")


async def test_provider_failure_raises_unavailable_and_allocates_nothing(
    sim: Simulator, provider: HttpNetworkProvider
) -> None:
    """At a failure rate of 1 the adapter raises ProviderUnavailable; the key stays unused."""
    await sim.configure(failure_rate=1)
    key = new_id("ord")
    free = await sim.free()
    with pytest.raises(ProviderUnavailable):
        await provider.allocate("EU-1GB-7D", 1, key)
    assert await sim.free() == free

    await sim.configure(failure_rate=0)
    profiles = await provider.allocate("EU-3GB-15D", 1, key)
    assert profiles[0].package_code == "EU-3GB-15D"


async def test_hung_request_times_out_and_the_retry_gets_the_same_profiles(
    sim: Simulator,
) -> None:
    """A hung answer raises ProviderTimeout within the bound; retrying the key returns what the
    provider allocated meanwhile, not a second allocation."""
    adapter = HttpNetworkProvider(sim.url, timeout_seconds=0.5)
    key = new_id("ord")
    try:
        await sim.configure(timeout_rate=1)
        free = await sim.free()
        started = time.monotonic()
        with pytest.raises(ProviderTimeout):
            await adapter.allocate("EU-1GB-7D", 2, key)
        assert time.monotonic() - started < 2.0
        assert await sim.free() == free - 2
        await sim.configure(timeout_rate=0)
        retried = await adapter.allocate("EU-1GB-7D", 2, key)
        assert len(retried) == 2
        assert await sim.free() == free - 2
    finally:
        await sim.configure(timeout_rate=0)
        await adapter.close()


async def test_unreachable_provider_raises_unavailable() -> None:
    """Nobody listening at the provider URL is ProviderUnavailable, not a hang."""
    adapter = HttpNetworkProvider(f"http://127.0.0.1:{free_port()}", timeout_seconds=2.0)
    try:
        with pytest.raises(ProviderUnavailable):
            await adapter.allocate("EU-1GB-7D", 1, new_id("ord"))
    finally:
        await adapter.close()


async def test_pool_exhaustion_is_a_clear_refusal(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Asking more than the pool holds is refused (pool_exhausted); what is left still serves."""
    logs = tmp_path_factory.mktemp("small-pool") / "providersim.log"
    async with simulator(logs, pool_size="3") as small:
        adapter = HttpNetworkProvider(small.url, timeout_seconds=2.0)
        try:
            await adapter.allocate("EU-1GB-7D", 2, new_id("ord"))
            with pytest.raises(ProviderRejected) as refused:
                await adapter.allocate("EU-1GB-7D", 2, new_id("ord"))
            assert (refused.value.status, refused.value.code) == (409, "pool_exhausted")
            assert len(await adapter.allocate("EU-1GB-7D", 1, new_id("ord"))) == 1
        finally:
            await adapter.close()


async def test_topup_adds_data_once_per_key(provider: HttpNetworkProvider) -> None:
    """A top-up adds its package's data; repeating its key adds nothing more."""
    [profile] = await provider.allocate("EU-1GB-7D", 1, new_id("ord"))
    key = new_id("top")
    first = await provider.topup(profile.iccid, "EU-2GB-7D", key)
    again = await provider.topup(profile.iccid, "EU-2GB-7D", key)

    assert again.topup_id == first.topup_id
    status = await provider.status(profile.iccid)
    assert status.data_remaining_bytes == 3 * 1024**3


async def test_unknown_iccid_is_rejected_as_not_found(provider: HttpNetworkProvider) -> None:
    """Top-up and status of an ICCID the provider never issued are refused with 404."""
    unknown = "8999999999999999994"
    with pytest.raises(ProviderRejected) as refused:
        await provider.status(unknown)
    assert (refused.value.status, refused.value.code) == (404, "unknown_profile")
    with pytest.raises(ProviderRejected):
        await provider.topup(unknown, "EU-1GB-7D", new_id("top"))


async def test_invalid_request_is_rejected(provider: HttpNetworkProvider) -> None:
    """A quantity of 0 is refused as invalid_request by the provider."""
    with pytest.raises(ProviderRejected) as refused:
        await provider.allocate("EU-1GB-7D", 0, new_id("ord"))
    assert (refused.value.status, refused.value.code) == (400, "invalid_request")
