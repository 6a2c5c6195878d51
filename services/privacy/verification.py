"""Identity verification by emailed code, for a dashboard user asking about themselves.

The rules (the `self` channel, `RequestStatus.IDENTITY_UNVERIFIED` until a right code comes back):
- A code is six random digits (`secrets`), emailed to the subject's address. It is stored only
  as HMAC-SHA256 under a random salt of its own, bound to the request id; neither the code nor
  the address is stored or logged.
- A code lives `VERIFICATION_CODE_TTL_SECONDS` (600) and takes `VERIFICATION_MAX_ATTEMPTS` (3)
  wrong entries; the last wrong one spends it (EXHAUSTED, final: the lead rejects the request),
  after which even the right code fails. An expired code costs no attempt.
- A request may have `VERIFICATION_MAX_CODES` (3) codes emailed, the first included. A new code
  replaces the old one (which stops working) and starts with full attempts. A send that fails
  changes nothing and does not count against the limit.
- A right code verifies once; checking the same code again answers VERIFIED again (a
  redelivered query), any other code then answers NO_CODE.

One document per request in `verification_codes`, `_id` the request id:
`codes_sent`, `state` ("none" before the first code is stored, "pending", "verified"), `code`
{id, salt, digest, issued_at, expires_at}, `attempts_left`, and `verification` {at, code_id}
once verified. Every change is one conditional single-document write (decision 0002): attempts
are taken with `attempts_left >= 1` and `$inc: -1`, so racing checks never get extra attempts
(against FerretDB within one process: its client has one connection). The salt sits beside the
digest: hashing keeps the code out of the store; the short life and few attempts protect it.
A code is counted before it is sent and stored after: a crash in between costs one code of the
limit and leaves the earlier code valid.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from contracts.privacy import RequestType
from privacy.settings import PrivacySettings
from servicekit.errors import ServiceError
from servicekit.ids import new_id
from servicekit.mail import Mail, Mailer, MailError

log = structlog.get_logger("privacy.verification")

Db = AsyncDatabase[dict[str, Any]]

CODES = "verification_codes"
CODE_DIGITS = 6
CHECK_ROUNDS = 5
"""A check whose code was replaced or used while it ran looks again, at most this often."""

NONE, PENDING, VERIFIED_STATE = "none", "pending", "verified"
OPEN_STATES = [NONE, PENDING]

PURPOSES = {
    RequestType.ACCESS: "a copy of your personal data (access)",
    RequestType.PORTABILITY: "your personal data in a portable format (portability)",
    RequestType.RECTIFICATION: "a correction of your personal data (rectification)",
    RequestType.ERASURE: "the erasure of your personal data (erasure)",
    RequestType.RESTRICTION: "a restriction of the processing of your data (restriction)",
    RequestType.RESTRICTION_LIFT: "lifting a restriction of your data (restriction lift)",
    RequestType.OBJECTION: "an objection to the processing of your data (objection)",
}


class CodeOutcome(StrEnum):
    """What a check of a code found."""

    VERIFIED = "verified"
    WRONG = "wrong"
    EXHAUSTED = "exhausted"
    EXPIRED = "expired"
    NO_CODE = "no_code"


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of a check; `attempts_left` counts what the current code has left."""

    outcome: CodeOutcome
    attempts_left: int = 0


@dataclass(frozen=True)
class CodeSent:
    """A code went out: when it expires and how many more codes the request may ask for."""

    expires_at: datetime
    codes_left: int


@dataclass(frozen=True)
class CodeRules:
    """How long a code lives, how many wrong entries it takes, how many codes a request gets."""

    ttl_seconds: int = 600
    max_attempts: int = 3
    max_codes: int = 3

    @classmethod
    def from_settings(cls, settings: PrivacySettings) -> CodeRules:
        """The rules configured by `VERIFICATION_*`."""
        return cls(
            ttl_seconds=settings.verification_code_ttl_seconds,
            max_attempts=settings.verification_max_attempts,
            max_codes=settings.verification_max_codes,
        )


DEFAULT_RULES = CodeRules()


class VerificationMailFailed(ServiceError):
    """The code could not be emailed; nothing changed, a later resend may try again."""

    def __init__(self) -> None:
        super().__init__(
            "unavailable", "the verification code could not be emailed; try again shortly"
        )


def code_digest(request_id: str, code: str, salt: bytes) -> str:
    """HMAC-SHA256 of the code (bound to its request) under its salt, hex."""
    return hmac.new(salt, f"{request_id}:{code}".encode(), hashlib.sha256).hexdigest()


def verification_mail(
    to: str,
    request_id: str,
    request_type: RequestType,
    code: str,
    expires_at: datetime,
    rules: CodeRules = DEFAULT_RULES,
) -> Mail:
    """The email carrying a code: what it is for, the code, its expiry, and what to do if
    it was not asked for."""
    expiry = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    return Mail(
        to=to,
        subject=f"Your verification code for privacy request {request_id}",
        body=(
            f"You asked us for {PURPOSES[request_type]}: a data-subject request under our"
            " privacy policy.\n"
            f"Request: {request_id} (type: {request_type.value})\n\n"
            f"Your verification code: {code}\n\n"
            f"It expires at {expiry} and stops working after {rules.max_attempts} wrong"
            " entries. Enter it where you made the request.\n\n"
            "If you did not ask for this, ignore this email: nothing happens without the code.\n"
        ),
    )


async def send_code(
    db: Db,
    mailer: Mailer,
    request_id: str,
    email: str,
    now: datetime,
    *,
    request_type: RequestType,
    rules: CodeRules = DEFAULT_RULES,
) -> CodeSent:
    """Email a fresh code for the request, replacing any earlier one.

    ServiceError `conflict` when the request is verified already, its code was spent, or it
    had all its codes; VerificationMailFailed (`unavailable`) when the mail did not go out,
    in which case nothing changed."""
    codes_sent = await _reserve(db, request_id, rules)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    expires_at = now + timedelta(seconds=rules.ttl_seconds)
    mail = verification_mail(email, request_id, request_type, code, expires_at, rules)
    sent = False
    try:
        await mailer.send(mail)
        sent = True
    except MailError:
        raise VerificationMailFailed() from None
    finally:
        if not sent:
            await _release(db, request_id)
    await _store(db, request_id, code, now, expires_at, rules)
    log.info("verification_code_sent", request_id=request_id, codes_sent=codes_sent)
    return CodeSent(expires_at=expires_at, codes_left=rules.max_codes - codes_sent)


async def _reserve(db: Db, request_id: str, rules: CodeRules) -> int:
    """Count one more code against the limit before it is sent; the count now."""
    await db[CODES].update_one(
        {"_id": request_id}, {"$setOnInsert": {"codes_sent": 0, "state": NONE}}, upsert=True
    )
    reserved = await db[CODES].find_one_and_update(
        {
            "_id": request_id,
            "state": {"$in": OPEN_STATES},
            "attempts_left": {"$nin": [0]},
            "codes_sent": {"$lt": rules.max_codes},
        },
        {"$inc": {"codes_sent": 1}},
        return_document=ReturnDocument.AFTER,
    )
    if reserved is not None:
        return int(reserved["codes_sent"])
    stored = await db[CODES].find_one({"_id": request_id})
    if stored is not None and stored.get("state") == VERIFIED_STATE:
        raise ServiceError("conflict", "this request's identity is verified already")
    if stored is not None and stored.get("attempts_left") == 0:
        raise ServiceError("conflict", "the verification code was spent by wrong attempts")
    raise ServiceError(
        "conflict", f"this request had its {rules.max_codes} verification codes already"
    )


async def _release(db: Db, request_id: str) -> None:
    """A code that was not sent does not count against the limit."""
    await db[CODES].update_one(
        {"_id": request_id, "codes_sent": {"$gte": 1}}, {"$inc": {"codes_sent": -1}}
    )


async def _store(
    db: Db, request_id: str, code: str, now: datetime, expires_at: datetime, rules: CodeRules
) -> None:
    """Make the sent code the request's only valid one, with full attempts."""
    salt = secrets.token_bytes(16)
    stored_code = {
        "id": new_id("vcd"),
        "salt": salt.hex(),
        "digest": code_digest(request_id, code, salt),
        "issued_at": now,
        "expires_at": expires_at,
    }
    replaced = await db[CODES].update_one(
        {"_id": request_id, "state": {"$in": OPEN_STATES}},
        {"$set": {"code": stored_code, "attempts_left": rules.max_attempts, "state": PENDING}},
    )
    if replaced.matched_count == 0:
        raise ServiceError("conflict", "this request's identity is verified already")


async def check_code(db: Db, request_id: str, code: str, now: datetime) -> CodeCheck:
    """Check a code entered for the request; a wrong one costs an attempt (see the rules)."""
    if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
        raise ServiceError("invalid_request", "a verification code is six digits")
    for _ in range(CHECK_ROUNDS):
        stored = await db[CODES].find_one({"_id": request_id})
        if stored is None or "code" not in stored:
            return CodeCheck(CodeOutcome.NO_CODE)
        right = _matches(request_id, code, stored["code"])
        result = _settled(stored, right, now) or await _attempt(db, stored, right, now)
        if result is not None:
            log.info("verification_checked", request_id=request_id, outcome=result.outcome.value)
            return result
    raise ServiceError("conflict", "the verification code changed while it was checked; retry")


def _matches(request_id: str, code: str, stored_code: dict[str, Any]) -> bool:
    """Whether the code is the stored one, compared in constant time."""
    digest = code_digest(request_id, code, bytes.fromhex(stored_code["salt"]))
    return hmac.compare_digest(digest, stored_code["digest"])


def _settled(stored: dict[str, Any], right: bool, now: datetime) -> CodeCheck | None:
    """The outcome when the stored state decides it without a write."""
    if stored["state"] == VERIFIED_STATE:
        return CodeCheck(CodeOutcome.VERIFIED if right else CodeOutcome.NO_CODE)
    if stored["attempts_left"] <= 0:
        return CodeCheck(CodeOutcome.EXHAUSTED)
    if now >= stored["code"]["expires_at"]:
        return CodeCheck(CodeOutcome.EXPIRED, stored["attempts_left"])
    return None


async def _attempt(db: Db, stored: dict[str, Any], right: bool, now: datetime) -> CodeCheck | None:
    """Verify with a right code or take an attempt for a wrong one, only while the code read
    is still the current one with attempts left; None when it no longer was."""
    guard = {
        "_id": stored["_id"],
        "code.id": stored["code"]["id"],
        "state": PENDING,
        "attempts_left": {"$gte": 1},
    }
    if right:
        verification = {"at": now, "code_id": stored["code"]["id"]}
        done = await db[CODES].update_one(
            guard, {"$set": {"state": VERIFIED_STATE, "verification": verification}}
        )
        return CodeCheck(CodeOutcome.VERIFIED) if done.modified_count == 1 else None
    taken = await db[CODES].find_one_and_update(
        guard, {"$inc": {"attempts_left": -1}}, return_document=ReturnDocument.AFTER
    )
    if taken is None:
        return None
    left = int(taken["attempts_left"])
    return CodeCheck(CodeOutcome.EXHAUSTED) if left == 0 else CodeCheck(CodeOutcome.WRONG, left)


async def forget_codes(db: Db, request_id: str) -> None:
    """Remove a request's verification record (when the request is closed)."""
    await db[CODES].delete_one({"_id": request_id})
