"""Bad input: a request that cannot be built, and raw bodies the privacy service refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lifecycle_support import PARTNER, raw_query, world
from pydantic import ValidationError

from contracts import RemoteError
from contracts.privacy import PrivacyRequestView, RequestType, SubjectRef, SubmitPrivacyRequest
from privacy import store
from servicekit.settings import ServiceSettings

SUBMIT = SubmitPrivacyRequest.TYPE


@pytest.mark.parametrize(
    ("request_type", "subject"),
    [
        ("forget_me", {"email": "ann@example.com"}),
        ("erasure", {}),
        ("erasure", {"email": "not-an-email"}),
        ("erasure", {"phone": "0612345678"}),
        ("erasure", {"iccid": "1234567890"}),
        ("erasure", {"ip": "300.1.2.3"}),
        ("objection", {"user_id": "", "end_user_ref": "ref-1"}),
        ("erasure", {"end_user_ref": " \t"}),
        ("erasure", {"partner_id": "\x1c"}),
    ],
    ids=[
        "unknown type",
        "no identifier",
        "email",
        "phone",
        "iccid",
        "ip",
        "empty user id",
        "blank reference",
        "partner id blank once stripped",
    ],
)
def test_a_malformed_request_cannot_be_built(request_type: str, subject: dict[str, str]) -> None:
    """An unknown type, a subject without identifier or a malformed identifier is refused by
    the contract before anything is sent."""
    with pytest.raises(ValidationError):
        SubmitPrivacyRequest.model_validate(
            {"partner_id": PARTNER, "type": request_type, "subject": subject}
        )


@pytest.mark.parametrize(
    "changes",
    [
        {"": "Ann"},
        {".name": "Ann"},
        {"contact.name": "Ann"},
        {"$set": "Ann"},
        {"Name": "Ann"},
        {"name": "A" * 4097},
        {f"field_{n}": "x" for n in range(33)},
    ],
    ids=["empty", "leading dot", "dotted", "dollar", "capital", "value too long", "too many"],
)
def test_a_rectification_names_fields_a_store_can_keep(changes: dict[str, str]) -> None:
    """The changes' field names are lower-case letters, digits and `_` (a store refuses or
    misreads an empty key, a `.` or a leading `$`); at most 32, each value 4,096 characters."""
    subject = {"email": "ann@example.com"}
    good = {"partner_id": PARTNER, "type": "rectification", "subject": subject}
    SubmitPrivacyRequest.model_validate({**good, "changes": {"name": "Ann", "end_user_ref": "r"}})
    with pytest.raises(ValidationError):
        SubmitPrivacyRequest.model_validate({**good, "changes": changes})


def _body(request_type: str, subject: dict[str, str], **more: Any) -> bytes:
    fields = {"partner_id": PARTNER, "type": request_type, "subject": subject, **more}
    return json.dumps(fields).encode()


async def test_a_raw_body_that_fails_the_contract_is_answered_with_an_error(
    base: ServiceSettings,
) -> None:
    """A body sent over the bus without the model is checked by the consumer: each bad one gets
    an `invalid_request` RemoteError naming the field and stores nothing; a good one opens a
    request."""
    bad: list[tuple[bytes, str]] = [
        (_body("forget_me", {"email": "ann@example.com"}), "type"),
        (_body("erasure", {}), "subject"),
        (_body("erasure", {"email": "not-an-email"}), "subject.email"),
        (_body("erasure", {"iccid": "12"}), "subject.iccid"),
        (_body("objection", {"user_id": "", "end_user_ref": "r"}), "subject.user_id"),
        (_body("erasure", {"end_user_ref": "\x1c"}), "subject.end_user_ref"),
        (_body("rectification", {"email": "a@example.com"}, changes={".x": "y"}), "changes"),
        (b"{not json", "json"),
    ]
    async with world(base, fakes={"alpha": None}) as scene:
        for body, field in bad:
            reply_type, reply_body = await raw_query(base, "privacy", SUBMIT, body)
            assert reply_type == RemoteError.TYPE
            error = RemoteError.model_validate_json(reply_body)
            assert error.code == "invalid_request"
            assert field in error.message.lower(), error.message
        assert await scene.db[store.REQUESTS].count_documents({}) == 0
        good = _body(RequestType.ERASURE.value, {"email": "ann@example.com"})
        reply_type, reply_body = await raw_query(base, "privacy", SUBMIT, good)
        assert reply_type == PrivacyRequestView.TYPE
        opened: Any = PrivacyRequestView.model_validate_json(reply_body)
        assert await scene.db[store.REQUESTS].count_documents({}) == 1
        assert opened.id == (await scene.db[store.REQUESTS].find_one({}) or {}).get("_id")
        assert SubjectRef(email="ann@example.com").identifiers() == {"email": "ann@example.com"}
