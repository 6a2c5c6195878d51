"""Dashboard sign-in: argon2 passwords, server-side sessions, throttling, the login history.

- Passwords are argon2id hashes (argon2-cffi), computed off the event loop, rehashed on a
  successful login when the parameters have changed.
- Sessions live in `sessions`; the store keeps only the SHA-256 of the token, which is shown
  once. A session expires at a fixed time and is revoked by deleting it.
- Failures are counted per account (keyed by the email's blind index, so an unknown email is
  throttled exactly like a known one) and per IP address, keyed by the address's blind index
  (`accounts.throttle`, `accounts.login_ips`).
- Every attempt goes to `login_history` with its time, IP address (sealed, with its blind
  index), user agent and reason.
- Every refusal is the same answer; a lockout adds when to retry. No answer tells whether an
  email is registered: an unknown email is checked against a decoy hash, and counted.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import SecretStr

from accounts import store
from accounts.login_ips import opened_sign_in, sealed_sign_in, throttle_key
from accounts.settings import AccountsSettings
from accounts.store import Db
from accounts.throttle import Throttle
from contracts.accounts import Actor, Role
from contracts.dashboard import (
    IssuedSession,
    Login,
    LoginAttempt,
    LoginHistoryPage,
    LoginRefusal,
    LoginResult,
    SessionPrincipal,
)
from contracts.identity import PartnerStatus
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.vault import Vault

TOKEN_PREFIX = "ess_"  # noqa: S105 (a prefix, not a secret)  # nosec B105
IP_LIMIT_FACTOR = 4
"""An address may fail this many times the per-account limit (offices share addresses)."""
ERASED = "(erased)"
"""What the history shows for a field whose key was shredded."""
INVALID_SESSION = ServiceError("invalid_session", "the session is not valid")


def token_digest(token: str) -> str:
    """What the store keeps of a session token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def actor_of(user: dict[str, Any]) -> Actor:
    """The actor a signed-in user acts as."""
    return Actor(
        kind="user", id=user["_id"], partner_id=user.get("partner_id"), role=Role(user["role"])
    )


class Passwords:
    """argon2id hashing and checking, run in a worker thread (each takes ~100 ms of CPU)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._decoy: str | None = None

    async def hash(self, password: str) -> str:
        """A new hash of `password`."""
        return await asyncio.to_thread(self.hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches `stored`; with no hash, a decoy costs the same and fails."""
        if self._decoy is None:
            self._decoy = await self.hash(secrets.token_urlsafe(16))
        try:
            matched = await asyncio.to_thread(self.hasher.verify, stored or self._decoy, password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and stored is not None

    def needs_rehash(self, stored: str) -> bool:
        """Whether `stored` was made with other parameters than the current ones."""
        return self.hasher.check_needs_rehash(stored)


@dataclass(frozen=True)
class LoginPolicy:
    """Throttling and session lifetime (from `AccountsSettings`)."""

    max_failures: int = 5
    max_failures_per_ip: int = 5 * IP_LIMIT_FACTOR
    failure_window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    session_ttl: timedelta = timedelta(hours=12)

    @classmethod
    def from_settings(cls, settings: AccountsSettings) -> LoginPolicy:
        """The policy the settings configure."""
        return cls(
            max_failures=settings.login_max_failures,
            max_failures_per_ip=settings.login_max_failures * IP_LIMIT_FACTOR,
            failure_window=timedelta(minutes=settings.login_failure_window_minutes),
            lockout=timedelta(minutes=settings.login_lockout_minutes),
            session_ttl=timedelta(minutes=settings.session_ttl_minutes),
        )


def _failure_reason(user: dict[str, Any] | None, stored: str | None) -> str:
    if user is None:
        return "unknown_email"
    return "no_password" if stored is None else "wrong_password"


def refused(wait: timedelta | None = None) -> LoginResult:
    """The one refusal every failed login gets; with a lockout, when to retry."""
    retry_after = max(1, math.ceil(wait.total_seconds())) if wait is not None else None
    return LoginResult(refusal=LoginRefusal(retry_after_seconds=retry_after))


@dataclass
class Auth:
    """Logins, sessions and the login history of dashboard users."""

    db: Db
    vault: Vault
    passwords: Passwords
    policy: LoginPolicy
    throttle: Throttle = field(init=False)

    def __post_init__(self) -> None:
        self.throttle = Throttle(self.db, self.policy.failure_window, self.policy.lockout)

    async def login(self, request: Login, now: datetime) -> LoginResult:
        """Check the password and open a session, or refuse (the same way for every reason)."""
        email_bidx = self.vault.index("email", request.email)
        account_key = f"email:{email_bidx}"
        ip_key = throttle_key(self.vault.index("ip", str(request.ip)))
        user = await self.db[store.USERS].find_one({"email_bidx": email_bidx})
        wait = await self.throttle.locked_for([account_key, ip_key], now)
        if wait is not None:
            await self._remember(request, user, now, "locked")
            return refused(wait)
        password = request.password.get_secret_value()
        stored = user["password"]["hash"] if user and "password" in user else None
        matched = await self.passwords.verify(stored, password)  # a decoy without a user
        if user is None or not matched:
            locked = await self.throttle.fail(account_key, self.policy.max_failures, now)
            ip_locked = await self.throttle.fail(ip_key, self.policy.max_failures_per_ip, now)
            await self._remember(request, user, now, _failure_reason(user, stored))
            return refused(self.policy.lockout if locked or ip_locked else None)
        barred = await self._barred(user)
        if barred is not None:
            await self._remember(request, user, now, barred)
            return refused()
        await self.throttle.clear(account_key)
        if stored is not None and self.passwords.needs_rehash(stored):
            await self._rehash(user["_id"], password, now)
        session = await self._open_session(user, now)
        await self._remember(request, user, now, "ok")
        return LoginResult(session=session)

    async def verify_session(self, token: str, now: datetime) -> SessionPrincipal:
        """The user of a live session; `invalid_session` for anything else. Writes nothing."""
        session = await self.db[store.SESSIONS].find_one({"token_hash": token_digest(token)})
        if session is None or session["expires_at"] <= now:
            raise INVALID_SESSION
        user = await self.db[store.USERS].find_one({"_id": session["user_id"]})
        if user is None or await self._barred(user) is not None:
            raise INVALID_SESSION
        return SessionPrincipal(
            session_id=session["_id"], actor=actor_of(user), expires_at=session["expires_at"]
        )

    async def logout(self, token: str) -> int:
        """End the session of `token`; how many ended (0 if it had already)."""
        result = await self.db[store.SESSIONS].delete_one({"token_hash": token_digest(token)})
        return result.deleted_count

    async def revoke_sessions(self, user_id: str) -> int:
        """End every session of a user; how many."""
        result = await self.db[store.SESSIONS].delete_many({"user_id": user_id})
        return result.deleted_count

    async def purge_expired_sessions(self, now: datetime) -> int:
        """Delete sessions past their expiry (a retention sweep); how many."""
        result = await self.db[store.SESSIONS].delete_many({"expires_at": {"$lt": now}})
        return result.deleted_count

    async def history(self, user_id: str, *, limit: int, cursor: str | None) -> LoginHistoryPage:
        """A user's sign-in attempts, newest first, one page (the cursor is the last id seen)."""
        criteria: dict[str, Any] = {"user_id": user_id}
        if cursor is not None:
            criteria["_id"] = {"$lt": cursor}
        found = self.db[store.LOGIN_HISTORY].find(criteria).sort("_id", -1).limit(limit + 1)
        documents = [document async for document in found]
        page = documents[:limit]
        return LoginHistoryPage(
            data=[await self._attempt(document) for document in page],
            next_cursor=page[-1]["_id"] if len(documents) > limit else None,
        )

    async def _attempt(self, document: dict[str, Any]) -> LoginAttempt:
        opened = await opened_sign_in(self.vault, document)
        return LoginAttempt(
            at=document["at"],
            outcome=document["outcome"],
            reason=document["reason"],
            ip=_shown(opened["ip"]),
            user_agent=_shown(opened["user_agent"]),
        )

    async def _barred(self, user: dict[str, Any]) -> str | None:
        """Why a user with the right password may still not sign in, if anything."""
        if user.get("status") != "active":
            return "user_disabled"
        partner_id = user.get("partner_id")
        if partner_id is not None:
            partner = await self.db[store.PARTNERS].find_one({"_id": partner_id}, {"status": 1})
            if partner is None or partner["status"] == PartnerStatus.CLOSED.value:
                return "partner_closed"
        return None

    async def _rehash(self, user_id: str, password: str, now: datetime) -> None:
        rehashed = await self.passwords.hash(password)
        await self.db[store.USERS].update_one(
            {"_id": user_id}, {"$set": {"password": {"hash": rehashed, "at": now}}}
        )

    async def _open_session(self, user: dict[str, Any], now: datetime) -> IssuedSession:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        session = {
            "_id": new_id("ses"),
            "token_hash": token_digest(token),
            "user_id": user["_id"],
            "created_at": now,
            "expires_at": now + self.policy.session_ttl,
        }
        await self.db[store.SESSIONS].insert_one(session)
        return IssuedSession(
            session_id=session["_id"],
            token=SecretStr(token),
            expires_at=session["expires_at"],
            actor=actor_of(user),
        )

    async def _remember(
        self, request: Login, user: dict[str, Any] | None, now: datetime, reason: str
    ) -> None:
        entry_id = new_id("lgn")
        user_id = user["_id"] if user is not None else None
        entry: dict[str, Any] = {
            "_id": entry_id,
            "at": now,
            "outcome": "signed_in" if reason == "ok" else "refused",
            "reason": reason,
            **await sealed_sign_in(
                self.vault, entry_id, str(request.ip), request.user_agent, user_id
            ),
        }
        if user is not None:
            entry["user_id"] = user["_id"]
            if "partner_id" in user:
                entry["partner_id"] = user["partner_id"]
        await self.db[store.LOGIN_HISTORY].insert_one(entry)


def _shown(opened: str | None) -> str:
    return ERASED if opened is None else opened
