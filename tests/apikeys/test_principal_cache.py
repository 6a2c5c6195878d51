"""The gateway's cache of verified keys: short-lived, keyed by a hash, cut short by revocations."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.accounts import Principal, Scope
from gateway.principals import PrincipalCache, Verifier
from servicekit.errors import RemoteCallError

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
KEY = "esk_test_AAAAAAAAAAAAAAAAsecretsecretsecretsecretsecret12abcdef"
PRINCIPAL = Principal(
    partner_id="ptn_a", key_id="AAAAAAAAAAAAAAAA", scopes=[Scope.ORDERS_READ], mode="test"
)


def later(seconds: float) -> datetime:
    """`seconds` after NOW."""
    return NOW + timedelta(seconds=seconds)


def test_a_principal_is_cached_for_the_ttl_under_a_hash_of_the_key() -> None:
    """A verified key is served from the cache until the TTL ends; the cache holds a hash of
    the key, never the key."""
    cache = PrincipalCache(ttl=timedelta(seconds=30))
    assert cache.put(KEY, PRINCIPAL, NOW)
    assert cache.get(KEY, later(29.9)) == PRINCIPAL
    assert KEY not in repr(vars(cache))
    assert "secretsecret" not in repr(vars(cache))
    assert cache.get(KEY, later(30)) is None
    assert len(cache) == 0


def test_a_revocation_drops_the_key_at_once() -> None:
    """A revocation effective now removes the key's entries; other keys stay."""
    cache = PrincipalCache(ttl=timedelta(seconds=30))
    other = PRINCIPAL.model_copy(update={"key_id": "BBBBBBBBBBBBBBBB"})
    cache.put(KEY, PRINCIPAL, NOW)
    cache.put("another key", other, NOW)
    cache.revoke(PRINCIPAL.key_id, later(1), later(1))
    assert cache.get(KEY, later(1)) is None
    assert cache.get("another key", later(1)) == other


def test_a_rotation_drops_the_key_when_its_overlap_window_ends() -> None:
    """A revocation effective later keeps the key until then, and no longer, even for an
    entry cached after the event."""
    cache = PrincipalCache(ttl=timedelta(seconds=30))
    cache.put(KEY, PRINCIPAL, NOW)
    cache.revoke(PRINCIPAL.key_id, later(10), NOW)
    assert cache.get(KEY, later(9.9)) == PRINCIPAL
    assert cache.get(KEY, later(10)) is None
    assert cache.put(KEY, PRINCIPAL, later(5))
    assert cache.get(KEY, later(9.9)) == PRINCIPAL
    assert cache.get(KEY, later(10)) is None


def test_a_verification_answered_after_the_revocation_is_refused() -> None:
    """A principal verified before a revocation but arriving after it is not cached, and
    the caller is told to refuse it."""
    cache = PrincipalCache(ttl=timedelta(seconds=30))
    cache.revoke(PRINCIPAL.key_id, NOW, NOW)
    assert not cache.put(KEY, PRINCIPAL, later(0.1))
    assert cache.get(KEY, later(0.1)) is None


def test_clearing_forgets_principals_but_not_revocations() -> None:
    """After a gap in broadcasts every principal is forgotten; known revocations still
    refuse late answers."""
    cache = PrincipalCache(ttl=timedelta(seconds=30))
    cache.put(KEY, PRINCIPAL, NOW)
    cache.revoke("CCCCCCCCCCCCCCCC", NOW, NOW)
    cache.clear()
    assert cache.get(KEY, NOW) is None
    late = PRINCIPAL.model_copy(update={"key_id": "CCCCCCCCCCCCCCCC"})
    assert not cache.put("late", late, later(1))


def test_the_cache_stays_within_its_size() -> None:
    """Past `max_entries` the expired entries go first, then the oldest."""
    cache = PrincipalCache(ttl=timedelta(seconds=30), max_entries=3)
    cache.put("expired", PRINCIPAL, later(-40))
    for n in range(3):
        cache.put(f"key {n}", PRINCIPAL, later(20))
    assert len(cache) == 3
    assert all(cache.get(f"key {n}", later(20)) == PRINCIPAL for n in range(3))
    cache.put("key 3", PRINCIPAL, later(21))
    assert len(cache) == 3
    assert cache.get("key 0", later(21)) is None
    assert cache.get("key 1", later(21)) == PRINCIPAL
    assert cache.get("key 3", later(21)) == PRINCIPAL


def test_a_zero_ttl_caches_nothing() -> None:
    """With the TTL at 0 every request is verified by accounts."""
    cache = PrincipalCache(ttl=timedelta(0))
    assert cache.put(KEY, PRINCIPAL, NOW)
    assert cache.get(KEY, NOW) is None


class SlowAccounts:
    """A stand-in bus whose verification is answered when the test says so."""

    def __init__(self) -> None:
        self.calls = 0
        self.answer: asyncio.Future[Principal] | None = None

    async def request(self, query: Any, *, to: str, reply: Any, timeout: float) -> Principal:
        self.calls += 1
        self.answer = asyncio.get_running_loop().create_future()
        return await self.answer


async def test_the_verifier_asks_once_and_refuses_a_key_revoked_while_it_asked() -> None:
    """The first request asks accounts and later ones use the cache; a key revoked while
    its verification was in flight is refused with `invalid_api_key`."""
    accounts = SlowAccounts()
    verifier = Verifier(accounts, 5.0, PrincipalCache(ttl=timedelta(seconds=30)))  # type: ignore[arg-type]
    first = asyncio.create_task(verifier.principal_of(KEY))
    await asyncio.sleep(0)
    assert accounts.answer is not None
    accounts.answer.set_result(PRINCIPAL)
    assert await first == PRINCIPAL
    assert await verifier.principal_of(KEY) == PRINCIPAL
    assert accounts.calls == 1

    other = "esk_test_other"
    racing = asyncio.create_task(verifier.principal_of(other))
    await asyncio.sleep(0)
    verifier.revoked(PRINCIPAL.key_id, datetime.now(UTC))
    accounts.answer.set_result(PRINCIPAL)
    with pytest.raises(RemoteCallError) as refused:
        await racing
    assert refused.value.code == "invalid_api_key"
    assert accounts.calls == 2
