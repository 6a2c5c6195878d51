"""Dashboard sessions over the bus: login, verification, expiry, logout and revocation, the
login history and who may see it; secrets masked everywhere but on the wire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from people_support import IP, PASSWORD, USER_AGENT, PeopleHarness, accounts_settings, member
from pydantic import ValidationError

from accounts.app import create_service
from contracts.accounts import Role
from contracts.dashboard import (
    CreateUser,
    ListLoginHistory,
    Login,
    LoginHistoryPage,
    LoginResult,
    Logout,
    RevokeSessions,
    SessionPrincipal,
    SessionsRevoked,
    VerifySession,
)
from contracts.identity import ClosePartner, PartnerView
from servicekit.receipts import generate_signing_key
from servicekit.settings import ServiceSettings

DEFAULT_TTL = timedelta(minutes=12 * 60)


async def _token(harness: PeopleHarness, email: str) -> str:
    result = await harness.login(email)
    assert result.session is not None
    return result.session.token.get_secret_value()


async def _verify(harness: PeopleHarness, token: str) -> SessionPrincipal:
    return await harness.ask(VerifySession(token=token), SessionPrincipal)


async def _refused_token(harness: PeopleHarness, token: str) -> str:
    return (await harness.refusal(VerifySession(token=token))).code


async def test_a_session_names_its_user_and_expires_at_its_ttl(harness: PeopleHarness) -> None:
    """Login over the bus gives a token whose verification is the user as an actor, until the
    TTL has passed; unknown emails and wrong passwords get one identical refusal."""
    partner = await harness.partner()
    user = await harness.user(partner.id, Role.BILLING, email="sam.session@example.com")
    token = await _token(harness, "sam.session@example.com")
    principal = await _verify(harness, token)
    assert (principal.actor.id, principal.actor.partner_id, principal.actor.role) == (
        user.id,
        partner.id,
        Role.BILLING,
    )
    assert principal.expires_at == harness.clock.now + DEFAULT_TTL

    harness.clock.advance(seconds=DEFAULT_TTL.total_seconds() - 1)
    assert (await _verify(harness, token)).session_id == principal.session_id
    harness.clock.advance(seconds=1)
    assert await _refused_token(harness, token) == "invalid_session"

    wrong = await harness.login("sam.session@example.com", "not my password at all")
    unknown = await harness.login("nobody.at.all@example.com")
    assert wrong == unknown
    assert wrong.refusal is not None
    assert wrong.refusal.retry_after_seconds is None


async def test_logout_ends_one_session_and_revocation_ends_them_all(
    harness: PeopleHarness,
) -> None:
    """Logout ends only its own session (twice is harmless); a viewer may not revoke another
    user's sessions, another partner's admin finds no such user, the user and their admin may."""
    partner = await harness.partner()
    user = await harness.user(partner.id, Role.DEVELOPER, email="rex.revoke@example.com")
    first, second = [await _token(harness, "rex.revoke@example.com") for _ in range(2)]
    assert (await harness.ask(Logout(token=first), SessionsRevoked)).revoked == 1
    assert (await harness.ask(Logout(token=first), SessionsRevoked)).revoked == 0
    assert await _refused_token(harness, first) == "invalid_session"
    await _verify(harness, second)

    viewer = member(partner.id, Role.VIEWER)
    refused = await harness.refusal(RevokeSessions(actor=viewer, user_id=user.id))
    assert refused.code == "forbidden"
    stranger = member((await harness.partner()).id, Role.ADMIN)
    refused = await harness.refusal(RevokeSessions(actor=stranger, user_id=user.id))
    assert refused.code == "not_found"
    await _verify(harness, second)

    itself = member(partner.id, Role.DEVELOPER, user_id=user.id)
    revoked = await harness.ask(RevokeSessions(actor=itself, user_id=user.id), SessionsRevoked)
    assert revoked.revoked == 1
    third, fourth = [await _token(harness, "rex.revoke@example.com") for _ in range(2)]
    admin = member(partner.id, Role.ADMIN)
    revoked = await harness.ask(RevokeSessions(actor=admin, user_id=user.id), SessionsRevoked)
    assert revoked.revoked == 2
    for token in (second, third, fourth):
        assert await _refused_token(harness, token) == "invalid_session"


async def test_closing_the_partner_ends_its_users_sessions(harness: PeopleHarness) -> None:
    """Once the partner is closed, its users' sessions no longer verify and logins are refused."""
    partner = await harness.partner()
    await harness.user(partner.id, Role.OWNER, email="cleo.close@example.com")
    token = await _token(harness, "cleo.close@example.com")
    owner = member(partner.id, Role.OWNER)
    await harness.ask(ClosePartner(actor=owner, partner_id=partner.id), PartnerView)
    assert await _refused_token(harness, token) == "invalid_session"
    assert (await harness.login("cleo.close@example.com")).session is None


async def test_the_login_history_is_shown_to_the_user_and_their_admins_only(
    harness: PeopleHarness,
) -> None:
    """Attempts are listed with time, address and user agent to the user and an admin; a
    viewer gets `forbidden`, another partner's owner `not_found`."""
    partner = await harness.partner()
    user = await harness.user(partner.id, Role.VIEWER, email="hal.history@example.com")
    await harness.login("hal.history@example.com", "a wrong password!!")
    harness.clock.advance(minutes=1)
    await harness.login("hal.history@example.com")
    expected = [
        (harness.clock.now, "signed_in", "ok", IP, USER_AGENT),
        (harness.clock.now - timedelta(minutes=1), "refused", "wrong_password", IP, USER_AGENT),
    ]
    for actor in (
        member(partner.id, Role.VIEWER, user_id=user.id),
        member(partner.id, Role.ADMIN),
    ):
        page = await harness.ask(ListLoginHistory(actor=actor, user_id=user.id), LoginHistoryPage)
        assert [(a.at, a.outcome, a.reason, a.ip, a.user_agent) for a in page.data] == expected
    other_viewer = member(partner.id, Role.VIEWER)
    refused = await harness.refusal(ListLoginHistory(actor=other_viewer, user_id=user.id))
    assert refused.code == "forbidden"
    outsider = member((await harness.partner()).id, Role.OWNER)
    refused = await harness.refusal(ListLoginHistory(actor=outsider, user_id=user.id))
    assert refused.code == "not_found"


def test_passwords_and_tokens_are_masked_outside_the_wire() -> None:
    """Passwords and session tokens never show in repr or validation errors, only in the JSON
    body that crosses the bus."""
    login = Login(email="m@example.com", password=PASSWORD, ip=IP, user_agent=USER_AGENT)
    assert PASSWORD not in repr(login)
    assert PASSWORD in login.model_dump_json()
    with pytest.raises(ValidationError) as invalid:
        CreateUser.model_validate(
            {
                "actor": member("ptn_x", Role.OWNER).model_dump(),
                "partner_id": "ptn_x",
                "name": "Mo",
                "email": "m@example.com",
                "role": "viewer",
                "password": "hunter2-short",
                "extra": "x",
            }
        )
    assert "hunter2" not in str(invalid.value)
    assert "hunter2" not in repr(LoginResult.model_validate_json(_result_json()))


def _result_json() -> str:
    return (
        '{"session": {"session_id": "ses_1", "token": "ess_hunter2", "expires_at":'
        ' "2026-11-26T12:00:00Z", "actor": {"kind": "user", "id": "usr_1"}}}'
    )


async def test_the_composition_root_answers_every_people_request(
    amqp_url: str, mongo_url: str
) -> None:
    """`create_service` registers the partner, people and login answers."""
    base = ServiceSettings(amqp_url=amqp_url, mongo_url=mongo_url)
    service = create_service(accounts_settings(base, receipt_signing_key=generate_signing_key()))
    expected = {
        "accounts.create_partner.v1",
        "accounts.update_partner.v1",
        "accounts.add_contact.v1",
        "accounts.create_user.v1",
        "accounts.login.v1",
        "accounts.verify_session.v1",
        "accounts.revoke_sessions.v1",
        "accounts.list_login_history.v1",
    }
    assert service.store is not None
    await service.store.close()
    assert expected <= set(service.router.answers)
