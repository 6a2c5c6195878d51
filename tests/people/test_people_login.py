"""Dashboard sign-in: one refusal for every failure, lockouts per account and per address that
end with time, the login history, and argon2 hashes kept current (time injected)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from argon2 import PasswordHasher
from people_support import IP, LIMITS, PASSWORD, T0, USER_AGENT, Domain

from accounts.auth import Auth, Passwords
from accounts.users import NewUser
from contracts.accounts import Role
from contracts.dashboard import Login, LoginRefusal, LoginResult

EMAIL = "lena.login@example.com"
PLAIN_REFUSAL = LoginResult(refusal=LoginRefusal())
LOCKOUT_SECONDS = int(LIMITS.lockout.total_seconds())


async def _fail(domain: Domain, times: int, *, email: str = EMAIL, ip: str = IP) -> LoginResult:
    result = PLAIN_REFUSAL
    for attempt in range(times):
        result = await domain.login(email, T0 + timedelta(seconds=attempt), "wrong password!", ip)
    return result


async def test_a_right_password_opens_a_session_for_the_user(domain: Domain) -> None:
    """The session names the user as an actor with partner and role, expires after the TTL,
    and the store keeps only the SHA-256 of its token."""
    user_id = await domain.user("ptn_login", EMAIL)
    await domain.db["partners"].insert_one({"_id": "ptn_login", "status": "active"})
    result = await domain.login(EMAIL, T0)
    assert result.refusal is None
    assert result.session is not None
    actor = result.session.actor
    assert (actor.kind, actor.id, actor.partner_id, actor.role) == (
        "user",
        user_id,
        "ptn_login",
        "admin",
    )
    assert result.session.expires_at == T0 + LIMITS.session_ttl
    token = result.session.token.get_secret_value()
    stored = await domain.db["sessions"].find_one({"_id": result.session.session_id})
    assert stored is not None
    assert token not in repr(stored)
    assert len(stored["token_hash"]) == 64


async def test_wrong_password_and_unknown_email_get_the_same_refusal(domain: Domain) -> None:
    """A wrong password, an unknown email, a user without a password and a closed partner's
    user are refused alike; the history tells the reasons apart for the user's admins."""
    user_id = await domain.user(None, EMAIL)
    no_password = NewUser(None, "Nora Nopass", "nora.nopass@example.com", Role.OPS.value)
    await domain.users.insert_user("usr_nopass", no_password, password_hash=None, by="test", now=T0)
    closed_partner_user = await domain.user("ptn_closed", "carl.closed@example.com")
    await domain.db["partners"].insert_one({"_id": "ptn_closed", "status": "closed"})
    results = [
        await domain.login(EMAIL, T0, "not the password"),
        await domain.login("nobody.here@example.com", T0),
        await domain.login("nora.nopass@example.com", T0),
        await domain.login("carl.closed@example.com", T0),
    ]
    assert results == [PLAIN_REFUSAL] * 4
    reasons = {doc["reason"] async for doc in domain.db["login_history"].find({})}
    assert reasons == {"wrong_password", "unknown_email", "no_password", "partner_closed"}
    history = await domain.auth.history(user_id, limit=10, cursor=None)
    assert [(a.outcome, a.reason, a.ip, a.user_agent) for a in history.data] == [
        ("refused", "wrong_password", IP, USER_AGENT)
    ]
    assert await domain.db["login_history"].count_documents({"reason": "unknown_email"}) == 1
    closed = await domain.auth.history(closed_partner_user, limit=10, cursor=None)
    assert [a.reason for a in closed.data] == ["partner_closed"]


class CountingHasher(PasswordHasher):
    """A cheap argon2 hasher that counts the checks it makes."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.checks = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.checks += 1
        return super().verify(hash, password)


async def test_an_unknown_email_costs_a_password_check_like_a_known_one(domain: Domain) -> None:
    """Signing in with an unknown email checks the password against a decoy hash, so the
    answer takes as long as for a known email with a wrong password."""
    await domain.user(None, EMAIL)
    hasher = CountingHasher()
    auth = Auth(domain.db, domain.vault, Passwords(hasher), LIMITS)
    for email in (EMAIL, "nobody.here@example.com"):
        before = hasher.checks
        login = Login(email=email, password="wrong password!", ip=IP, user_agent=USER_AGENT)
        assert await auth.login(login, T0) == PLAIN_REFUSAL
        assert hasher.checks == before + 1, email


async def test_an_account_locks_after_repeated_failures_and_unlocks_after_the_lockout(
    domain: Domain,
) -> None:
    """The Nth failure within the window locks the account: even the right password is
    refused with a retry-after until the lockout has passed; then it signs in."""
    await domain.user(None, EMAIL)
    assert await _fail(domain, LIMITS.max_failures - 1) == PLAIN_REFUSAL
    locking = await _fail(domain, 1)
    assert locking.refusal is not None
    assert locking.refusal.retry_after_seconds == LOCKOUT_SECONDS
    during = await domain.login(EMAIL, T0 + timedelta(minutes=5))
    assert during.session is None
    assert during.refusal is not None
    assert during.refusal.code == "invalid_credentials"
    assert during.refusal.retry_after_seconds == LOCKOUT_SECONDS - 5 * 60
    after = await domain.login(EMAIL, T0 + LIMITS.lockout + timedelta(seconds=1))
    assert after.session is not None


async def test_an_unknown_email_locks_exactly_like_a_known_one(domain: Domain) -> None:
    """Failures for an email nobody has lock it as well, so a lockout reveals nothing."""
    locking = await _fail(domain, LIMITS.max_failures, email="ghost@example.com")
    assert locking.refusal is not None
    assert locking.refusal.retry_after_seconds == LOCKOUT_SECONDS


async def test_failures_spread_beyond_the_window_do_not_lock(domain: Domain) -> None:
    """N-1 failures, then N-1 more after the window has passed: no lockout."""
    await domain.user(None, EMAIL)
    await _fail(domain, LIMITS.max_failures - 1)
    later = T0 + LIMITS.failure_window + timedelta(seconds=30)
    for attempt in range(LIMITS.max_failures - 1):
        result = await domain.login(EMAIL, later + timedelta(seconds=attempt), "wrong password!")
        assert result == PLAIN_REFUSAL
    assert (await domain.login(EMAIL, later + timedelta(minutes=1))).session is not None


async def test_an_address_locks_after_failures_across_accounts(domain: Domain) -> None:
    """Failures from one address over many emails lock the address: a real user is refused
    from there, but signs in from another address; the address unlocks after the lockout."""
    await domain.user(None, EMAIL)
    for index in range(LIMITS.max_failures_per_ip):
        await _fail(domain, 1, email=f"guess{index}@example.com", ip="198.51.100.9")
    blocked = await domain.login(EMAIL, T0 + timedelta(minutes=1), ip="198.51.100.9")
    assert blocked.refusal is not None
    assert blocked.refusal.retry_after_seconds is not None
    elsewhere = await domain.login(EMAIL, T0 + timedelta(minutes=1), ip="192.0.2.44")
    assert elsewhere.session is not None
    later = T0 + LIMITS.lockout + timedelta(minutes=1)
    assert (await domain.login(EMAIL, later, ip="198.51.100.9")).session is not None


async def test_a_success_clears_the_account_failures(domain: Domain) -> None:
    """N-1 failures, a success, then N-1 failures more do not lock the account."""
    await domain.user(None, EMAIL)
    await _fail(domain, LIMITS.max_failures - 1)
    assert (await domain.login(EMAIL, T0 + timedelta(minutes=1))).session is not None
    assert await _fail(domain, LIMITS.max_failures - 1) == PLAIN_REFUSAL


async def test_the_login_history_pages_newest_first(domain: Domain) -> None:
    """Each attempt is recorded with time, address, user agent and reason; pages of two come
    newest first and end without a cursor."""
    user_id = await domain.user(None, EMAIL)
    await domain.login(EMAIL, T0, "wrong password!")
    await domain.login(EMAIL, T0 + timedelta(minutes=1))
    await domain.login(EMAIL, T0 + timedelta(minutes=2), ip="2001:db8::1")
    first = await domain.auth.history(user_id, limit=2, cursor=None)
    assert [(a.at, a.outcome, a.ip) for a in first.data] == [
        (T0 + timedelta(minutes=2), "signed_in", "2001:db8::1"),
        (T0 + timedelta(minutes=1), "signed_in", IP),
    ]
    assert first.next_cursor is not None
    second = await domain.auth.history(user_id, limit=2, cursor=first.next_cursor)
    assert [(a.at, a.reason) for a in second.data] == [(T0, "wrong_password")]
    assert second.next_cursor is None


async def test_a_hash_made_with_old_parameters_is_replaced_on_login(domain: Domain) -> None:
    """A user hashed with weaker argon2 parameters signs in with the current ones, and the
    stored hash is rehashed with them (argon2id, never the password)."""
    user_id = await domain.user(None, EMAIL)
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    auth = Auth(domain.db, domain.vault, stronger, LIMITS)
    before = await domain.db["users"].find_one({"_id": user_id})
    assert before is not None
    assert stronger.needs_rehash(before["password"]["hash"])
    login = Login(email=EMAIL, password=PASSWORD, ip=IP, user_agent=USER_AGENT)
    assert (await auth.login(login, T0)).session is not None
    after = await domain.db["users"].find_one({"_id": user_id})
    assert after is not None
    assert after["password"]["hash"].startswith("$argon2id$v=19$m=2048,t=2,p=1$")
    assert not stronger.needs_rehash(after["password"]["hash"])
    assert PASSWORD not in repr(after)


async def test_sweeps_remove_only_what_has_expired(domain: Domain) -> None:
    """Expired sessions and throttle keys whose window and lockout have passed are deleted; a
    live session and a running lock stay."""
    await domain.user(None, EMAIL)
    await domain.login(EMAIL, T0)
    await domain.login(EMAIL, T0 + LIMITS.session_ttl)
    await _fail(domain, LIMITS.max_failures, email="locked.out@example.com")
    await _fail(domain, 1, email="once.wrong@example.com", ip="192.0.2.1")
    sweep_at = T0 + LIMITS.session_ttl + timedelta(seconds=1)
    assert await domain.auth.purge_expired_sessions(sweep_at) == 1
    assert await domain.db["sessions"].count_documents({}) == 1
    assert await domain.auth.throttle.purge(T0 + LIMITS.failure_window) == 0
    after_window = T0 + LIMITS.failure_window + timedelta(minutes=1)
    assert await domain.auth.throttle.purge(after_window) == 3, "all but the locked email"
    assert await domain.auth.throttle.purge(T0 + LIMITS.lockout + timedelta(seconds=10)) == 1
    assert await domain.db["login_throttle"].count_documents({}) == 0
