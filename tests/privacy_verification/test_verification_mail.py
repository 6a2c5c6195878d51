"""Sending verification codes: the email, what is stored, resends and their limit, SMTP down."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import structlog
from pymongo.asynchronous.database import AsyncDatabase
from verification_support import START, MailSink, fresh_request, leaves

from contracts.privacy import RequestType
from privacy.settings import PrivacySettings
from privacy.verification import (
    CODES,
    CodeOutcome,
    CodeRules,
    VerificationMailFailed,
    check_code,
    send_code,
)
from servicekit.errors import ServiceError
from servicekit.mail import Mailer

Db = AsyncDatabase[dict[str, Any]]


async def test_the_mail_carries_a_six_digit_code_and_says_what_it_is_for(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """The subject gets one mail naming the request, its type, the code, expiry and a warning."""
    request_id, address = fresh_request()
    sent = await send_code(db, mailer, request_id, address, START, request_type=RequestType.ERASURE)
    [code] = await mail_sink.codes_to(address, 1)
    [mail] = await mail_sink.mails_to(address)
    assert re.fullmatch(r"[0-9]{6}", code)
    assert request_id in mail["subject"]
    assert request_id in mail["body"]
    assert "erasure" in mail["body"]
    assert "2026-11-26 12:10 UTC" in mail["body"]
    assert "after 3 wrong entries" in mail["body"]
    assert "If you did not ask for this, ignore this email" in mail["body"]
    assert sent.expires_at == START + timedelta(minutes=10)
    assert sent.codes_left == 2


async def test_the_store_holds_neither_the_code_nor_the_address(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """The stored record has a salted digest only: no code, no address, anywhere."""
    request_id, address = fresh_request()
    await send_code(db, mailer, request_id, address, START, request_type=RequestType.ACCESS)
    [code] = await mail_sink.codes_to(address, 1)
    stored = await db[CODES].find_one({"_id": request_id})
    assert stored is not None
    assert set(stored) == {"_id", "codes_sent", "state", "code", "attempts_left"}
    assert set(stored["code"]) == {"id", "salt", "digest", "issued_at", "expires_at"}
    for leaf in leaves(stored):
        assert leaf != code
        assert leaf != int(code)
        assert not (isinstance(leaf, str) and "@" in leaf)


async def test_neither_code_nor_address_is_logged(
    db: Db, mailer: Mailer, dead_mailer: Mailer, mail_sink: MailSink
) -> None:
    """Sending, failing to send and checking log the request id, never the code or address."""
    request_id, address = fresh_request()
    with structlog.testing.capture_logs() as records:
        with pytest.raises(VerificationMailFailed):
            await send_code(
                db, dead_mailer, request_id, address, START, request_type=RequestType.ACCESS
            )
        await send_code(db, mailer, request_id, address, START, request_type=RequestType.ACCESS)
        [code] = await mail_sink.codes_to(address, 1)
        await check_code(db, request_id, code, START)
    logged = repr(records)
    assert any(r.get("request_id") == request_id for r in records)
    assert code not in logged
    assert address not in logged
    assert "subject." not in logged


async def test_a_resend_replaces_the_old_code(db: Db, mailer: Mailer, mail_sink: MailSink) -> None:
    """After a resend the old code is wrong (and costs an attempt); the new one verifies."""
    request_id, address = fresh_request()
    await send_code(db, mailer, request_id, address, START, request_type=RequestType.ACCESS)
    later = START + timedelta(minutes=2)
    await send_code(db, mailer, request_id, address, later, request_type=RequestType.ACCESS)
    old, new = await mail_sink.codes_to(address, 2)
    if old == new:
        pytest.skip("the two random codes happen to be equal (one in a million)")
    first = await check_code(db, request_id, old, later)
    assert (first.outcome, first.attempts_left) == (CodeOutcome.WRONG, 2)
    assert (await check_code(db, request_id, new, later)).outcome is CodeOutcome.VERIFIED


async def test_a_resend_restores_full_attempts_and_a_new_lifetime(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """A new code starts with three attempts and ten minutes from its own sending."""
    request_id, address = fresh_request()
    await send_code(db, mailer, request_id, address, START, request_type=RequestType.ACCESS)
    [old] = await mail_sink.codes_to(address, 1)
    await check_code(db, request_id, "000000" if old != "000000" else "000001", START)
    later = START + timedelta(minutes=9)
    await send_code(db, mailer, request_id, address, later, request_type=RequestType.ACCESS)
    stored = await db[CODES].find_one({"_id": request_id})
    assert stored is not None
    assert stored["attempts_left"] == 3
    assert stored["code"]["expires_at"] == later + timedelta(minutes=10)
    [_, new] = await mail_sink.codes_to(address, 2)
    verified = await check_code(db, request_id, new, START + timedelta(minutes=15))
    assert verified.outcome is CodeOutcome.VERIFIED


async def test_a_request_gets_at_most_three_codes(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """The fourth code of a request is refused with `conflict`, and no fourth mail goes out."""
    request_id, address = fresh_request()
    for _ in range(3):
        await send_code(db, mailer, request_id, address, START, request_type=RequestType.ACCESS)
    with pytest.raises(ServiceError) as refused:
        await send_code(db, mailer, request_id, address, START, request_type=RequestType.ACCESS)
    assert refused.value.code == "conflict"
    assert "3 verification codes" in refused.value.message
    assert len(await mail_sink.mails_to(address)) == 3


async def test_no_code_is_sent_for_a_verified_request(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """Once verified, a resend is refused with `conflict` and sends nothing."""
    request_id, address = fresh_request()
    await send_code(db, mailer, request_id, address, START, request_type=RequestType.ACCESS)
    [code] = await mail_sink.codes_to(address, 1)
    assert (await check_code(db, request_id, code, START)).outcome is CodeOutcome.VERIFIED
    with pytest.raises(ServiceError) as refused:
        await send_code(db, mailer, request_id, address, START, request_type=RequestType.ACCESS)
    assert refused.value.code == "conflict"
    assert len(await mail_sink.mails_to(address)) == 1


async def test_smtp_down_is_a_clear_error_that_changes_nothing(
    db: Db, mailer: Mailer, dead_mailer: Mailer, mail_sink: MailSink
) -> None:
    """A failed send answers `unavailable`, keeps the old code, and costs no code of the limit."""
    request_id, address = fresh_request()
    await send_code(db, mailer, request_id, address, START, request_type=RequestType.ACCESS)
    await mail_sink.codes_to(address, 1)
    before = await db[CODES].find_one({"_id": request_id})
    with pytest.raises(VerificationMailFailed) as failed:
        await send_code(
            db, dead_mailer, request_id, address, START, request_type=RequestType.ACCESS
        )
    assert failed.value.code == "unavailable"
    assert address not in failed.value.message
    assert await db[CODES].find_one({"_id": request_id}) == before
    for _ in range(2):
        await send_code(db, mailer, request_id, address, START, request_type=RequestType.ACCESS)
    assert len(await mail_sink.mails_to(address)) == 3


async def test_smtp_down_on_the_first_code_leaves_no_code_and_the_full_limit(
    db: Db, mailer: Mailer, dead_mailer: Mailer, mail_sink: MailSink
) -> None:
    """A first send that fails leaves nothing to check, and three codes may still be sent."""
    request_id, address = fresh_request()
    for _ in range(2):
        with pytest.raises(VerificationMailFailed):
            await send_code(
                db, dead_mailer, request_id, address, START, request_type=RequestType.ACCESS
            )
    assert (await check_code(db, request_id, "123456", START)).outcome is CodeOutcome.NO_CODE
    for _ in range(3):
        await send_code(db, mailer, request_id, address, START, request_type=RequestType.ACCESS)
    codes = await mail_sink.codes_to(address, 3)
    assert (await check_code(db, request_id, codes[-1], START)).outcome is CodeOutcome.VERIFIED


def test_the_rules_come_from_the_privacy_settings() -> None:
    """VERIFICATION_* settings default to 600 s, 3 attempts, 3 codes and reach the rules."""
    assert CodeRules.from_settings(PrivacySettings()) == CodeRules(600, 3, 3)
    custom = PrivacySettings(
        verification_code_ttl_seconds=120, verification_max_attempts=5, verification_max_codes=2
    )
    assert CodeRules.from_settings(custom) == CodeRules(120, 5, 2)
