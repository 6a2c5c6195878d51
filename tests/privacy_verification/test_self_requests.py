"""A person asking about themselves: the request waits for the emailed code, then runs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from verification_support import MailSink, other_code

from contracts import Contract
from contracts.privacy import (
    PrivacyRequestView,
    RequestChannel,
    RequestType,
    ResendVerificationCode,
    SubjectRef,
    SubmitPrivacyRequest,
    VerifyPrivacyRequest,
)
from servicekit.errors import RemoteCallError
from servicekit.service import Service
from support.privacy_owners import (
    FakeOwner,
    TaskCommand,
    ask_privacy,
    privacy_service,
)
from support.services import fresh_namespace, running
from support.waiting import eventually

OWNER = "gamma"


@dataclass
class SelfService:
    """The privacy service mailing to the sink, and `gamma`, a data owner keeping its tasks."""

    privacy: Service
    owner: FakeOwner

    @property
    def tasks(self) -> list[TaskCommand]:
        """The task commands gamma received."""
        return self.owner.commands

    async def ask(self, query: Contract) -> PrivacyRequestView:
        """A request/reply call to the privacy service."""
        view: PrivacyRequestView = await ask_privacy(self.owner.service, query)
        return view


@pytest.fixture
async def self_service(
    amqp_url: str, mongo_url: str, mail_sink: MailSink, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SelfService]:
    """Privacy (its SMTP settings aimed at the sink, no ledger key) with `gamma` registered."""
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(mail_sink.smtp_port))
    async with fresh_namespace(amqp_url, mongo_url, ["privacy", OWNER]) as base:
        privacy = privacy_service(base, blind_index_key=None)
        owner = FakeOwner.create(OWNER, base)
        async with running(privacy, owner.service):
            await owner.register(privacy.db)
            yield SelfService(privacy, owner)


def _about_oneself(email: str) -> SubmitPrivacyRequest:
    return SubmitPrivacyRequest(
        channel=RequestChannel.SELF,
        partner_id="ptn_self",
        requested_by="usr_self",
        type=RequestType.ACCESS,
        subject=SubjectRef(email=email, user_id="usr_self"),
    )


async def _tasks(service: SelfService) -> list[Any]:
    return list(service.tasks)


async def test_the_right_code_starts_the_request(
    self_service: SelfService, mail_sink: MailSink
) -> None:
    """The request waits in identity_unverified with no task sent; the emailed code moves it
    to in_progress and sends its task."""
    email = f"me.{uuid.uuid4().hex[:8]}@example.com"
    opened = await self_service.ask(_about_oneself(email))
    assert opened.status == "identity_unverified"
    assert opened.channel == "self"
    assert opened.tasks == []
    [code] = await mail_sink.codes_to(email, 1)
    assert self_service.tasks == []
    verified = await self_service.ask(VerifyPrivacyRequest(request_id=opened.id, code=code))
    assert verified.status == "in_progress"
    assert [task.service for task in verified.tasks] == [OWNER]
    [task] = await eventually(lambda: _tasks(self_service), what="gamma's task")
    assert task.request_id == opened.id


async def test_three_wrong_codes_reject_the_request(
    self_service: SelfService, mail_sink: MailSink
) -> None:
    """Two wrong codes are refused with the attempts left; the third rejects the request,
    and no task is ever sent."""
    email = f"me.{uuid.uuid4().hex[:8]}@example.com"
    opened = await self_service.ask(_about_oneself(email))
    [code] = await mail_sink.codes_to(email, 1)
    wrong = VerifyPrivacyRequest(request_id=opened.id, code=other_code(code))
    for left in (2, 1):
        with pytest.raises(RemoteCallError) as refused:
            await self_service.ask(wrong)
        assert refused.value.code == "verification_failed"
        assert f"{left} attempts left" in str(refused.value)
    with pytest.raises(RemoteCallError) as rejected:
        await self_service.ask(wrong)
    assert "rejected" in str(rejected.value)
    stored = await self_service.privacy.db["requests"].find_one({"_id": opened.id})
    assert stored is not None
    assert stored["status"] == "rejected"
    assert self_service.tasks == []


async def test_a_resent_code_replaces_the_first(
    self_service: SelfService, mail_sink: MailSink
) -> None:
    """After a resend, the first code no longer verifies and the second one does."""
    email = f"me.{uuid.uuid4().hex[:8]}@example.com"
    opened = await self_service.ask(_about_oneself(email))
    await self_service.ask(ResendVerificationCode(request_id=opened.id))
    first, second = await mail_sink.codes_to(email, 2)
    assert first != second, "two random codes in a row were equal (one chance in a million)"
    with pytest.raises(RemoteCallError):
        await self_service.ask(VerifyPrivacyRequest(request_id=opened.id, code=first))
    verified = await self_service.ask(VerifyPrivacyRequest(request_id=opened.id, code=second))
    assert verified.status == "in_progress"
