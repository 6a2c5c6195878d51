"""Checking verification codes: right, wrong, spent, expired, malformed, and racing checks."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from verification_support import START, MailSink, RacingDb, fresh_request, other_code

from contracts.privacy import RequestType
from privacy.verification import (
    CODES,
    CodeCheck,
    CodeOutcome,
    CodeRules,
    check_code,
    forget_codes,
    send_code,
)
from servicekit.errors import ServiceError
from servicekit.mail import Mailer

Db = AsyncDatabase[dict[str, Any]]


async def sent_code(
    db: Db, mailer: Mailer, sink: MailSink, rules: CodeRules | None = None
) -> tuple[str, str]:
    """Email a code for a new request; the request id and the code the subject received."""
    request_id, address = fresh_request()
    await send_code(
        db,
        mailer,
        request_id,
        address,
        START,
        request_type=RequestType.ACCESS,
        rules=rules or CodeRules(),
    )
    [code] = await sink.codes_to(address, 1)
    return request_id, code


async def test_the_right_code_verifies(db: Db, mailer: Mailer, mail_sink: MailSink) -> None:
    """The emailed code verifies the request and records when."""
    request_id, code = await sent_code(db, mailer, mail_sink)
    at = START + timedelta(minutes=3)
    assert await check_code(db, request_id, code, at) == CodeCheck(CodeOutcome.VERIFIED)
    stored = await db[CODES].find_one({"_id": request_id})
    assert stored is not None
    assert stored["state"] == "verified"
    assert stored["verification"]["at"] == at


async def test_the_same_code_again_says_verified_and_another_says_no_code(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """After success the same code answers VERIFIED again (redelivery); others NO_CODE."""
    request_id, code = await sent_code(db, mailer, mail_sink)
    await check_code(db, request_id, code, START)
    later = START + timedelta(hours=1)
    assert (await check_code(db, request_id, code, later)).outcome is CodeOutcome.VERIFIED
    wrong = other_code(code)
    assert (await check_code(db, request_id, wrong, later)).outcome is CodeOutcome.NO_CODE


async def test_wrong_codes_count_down_and_the_third_spends_the_code(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """Wrong codes leave 2, then 1, then EXHAUSTED; then even the right code fails."""
    request_id, code = await sent_code(db, mailer, mail_sink)
    wrong = other_code(code)
    outcomes = [await check_code(db, request_id, wrong, START) for _ in range(3)]
    assert outcomes == [
        CodeCheck(CodeOutcome.WRONG, 2),
        CodeCheck(CodeOutcome.WRONG, 1),
        CodeCheck(CodeOutcome.EXHAUSTED),
    ]
    assert (await check_code(db, request_id, code, START)).outcome is CodeOutcome.EXHAUSTED
    assert (await check_code(db, request_id, wrong, START)).outcome is CodeOutcome.EXHAUSTED


async def test_a_spent_code_cannot_be_replaced(db: Db, mailer: Mailer, mail_sink: MailSink) -> None:
    """Once a code is spent by wrong attempts, no new code is sent (the request is rejected)."""
    request_id, code = await sent_code(db, mailer, mail_sink)
    for _ in range(3):
        await check_code(db, request_id, other_code(code), START)
    with pytest.raises(ServiceError) as refused:
        await send_code(
            db, mailer, request_id, "x@example.com", START, request_type=RequestType.ACCESS
        )
    assert refused.value.code == "conflict"


async def test_a_code_expires_after_ten_minutes(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """At ten minutes the right code answers EXPIRED and no attempt is taken."""
    request_id, code = await sent_code(db, mailer, mail_sink)
    expired = await check_code(db, request_id, code, START + timedelta(minutes=10))
    assert expired == CodeCheck(CodeOutcome.EXPIRED, 3)
    wrong = await check_code(db, request_id, other_code(code), START + timedelta(minutes=11))
    assert wrong.outcome is CodeOutcome.EXPIRED


async def test_a_code_still_works_just_before_it_expires(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """One second before the ten minutes are up, the code verifies."""
    request_id, code = await sent_code(db, mailer, mail_sink)
    just_before = START + timedelta(minutes=10) - timedelta(seconds=1)
    assert (await check_code(db, request_id, code, just_before)).outcome is CodeOutcome.VERIFIED


async def test_configured_rules_set_lifetime_and_attempts(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """Codes sent under other rules expire and are spent by those rules."""
    rules = CodeRules(ttl_seconds=60, max_attempts=1, max_codes=1)
    request_id, code = await sent_code(db, mailer, mail_sink, rules)
    late = await check_code(db, request_id, code, START + timedelta(seconds=60))
    assert late.outcome is CodeOutcome.EXPIRED
    request_id, code = await sent_code(db, mailer, mail_sink, rules)
    spent = await check_code(db, request_id, other_code(code), START)
    assert spent.outcome is CodeOutcome.EXHAUSTED


async def test_no_code_for_an_unknown_request(db: Db) -> None:
    """A request that never had a code sent answers NO_CODE."""
    assert (await check_code(db, "dsr_unknown", "123456", START)).outcome is CodeOutcome.NO_CODE


async def test_a_malformed_code_is_refused_without_costing_an_attempt(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """Anything but six ASCII digits is `invalid_request` and leaves the attempts alone."""
    request_id, _ = await sent_code(db, mailer, mail_sink)
    for malformed in ["12345", "1234567", "12a456", "١٢٣٤٥٦", ""]:
        with pytest.raises(ServiceError) as refused:
            await check_code(db, request_id, malformed, START)
        assert refused.value.code == "invalid_request"
    stored = await db[CODES].find_one({"_id": request_id})
    assert stored is not None
    assert stored["attempts_left"] == 3


async def test_concurrent_wrong_checks_get_three_attempts_in_all(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """Ten wrong checks that all read before any writes: two WRONG (2 and 1 left), the rest
    EXHAUSTED; the code is spent."""
    request_id, code = await sent_code(db, mailer, mail_sink)
    wrong = other_code(code)
    racing: Any = RacingDb(db, 10)
    results = await asyncio.gather(
        *[check_code(racing, request_id, wrong, START) for _ in range(10)]
    )
    counted = Counter(results)
    assert counted == {
        CodeCheck(CodeOutcome.WRONG, 2): 1,
        CodeCheck(CodeOutcome.WRONG, 1): 1,
        CodeCheck(CodeOutcome.EXHAUSTED): 8,
    }
    assert (await check_code(db, request_id, code, START)).outcome is CodeOutcome.EXHAUSTED


async def test_a_right_check_racing_wrong_ones_never_exceeds_the_attempts(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """Six wrong checks and the right one at once: at most two WRONG answers, and the right
    one verifies exactly when it came before the third wrong one."""
    request_id, code = await sent_code(db, mailer, mail_sink)
    racing: Any = RacingDb(db, 7)
    wrong = [check_code(racing, request_id, other_code(code), START) for _ in range(6)]
    *wrong_results, right_result = await asyncio.gather(
        *wrong, check_code(racing, request_id, code, START)
    )
    wrong_answers = [r for r in wrong_results if r.outcome is CodeOutcome.WRONG]
    assert len(wrong_answers) <= 2
    stored = await db[CODES].find_one({"_id": request_id})
    assert stored is not None
    assert stored["attempts_left"] >= 0
    if right_result.outcome is CodeOutcome.VERIFIED:
        assert stored["state"] == "verified"
    else:
        assert right_result.outcome is CodeOutcome.EXHAUSTED
        assert stored["attempts_left"] == 0
        assert stored["state"] == "pending"


async def test_concurrent_right_checks_all_say_verified(
    db: Db, mailer: Mailer, mail_sink: MailSink
) -> None:
    """The same right code checked five times at once verifies once and answers VERIFIED."""
    request_id, code = await sent_code(db, mailer, mail_sink)
    racing: Any = RacingDb(db, 5)
    results = await asyncio.gather(*[check_code(racing, request_id, code, START) for _ in range(5)])
    assert set(results) == {CodeCheck(CodeOutcome.VERIFIED)}
    stored = await db[CODES].find_one({"_id": request_id})
    assert stored is not None
    assert stored["attempts_left"] == 3


async def test_forgetting_removes_the_record(db: Db, mailer: Mailer, mail_sink: MailSink) -> None:
    """Once forgotten, a request has no code to check."""
    request_id, code = await sent_code(db, mailer, mail_sink)
    await forget_codes(db, request_id)
    assert await db[CODES].find_one({"_id": request_id}) is None
    assert (await check_code(db, request_id, code, START)).outcome is CodeOutcome.NO_CODE
