"""Dashboard contracts: the dashboard's users, signing in, sessions and the login history.

A session token is shown once, in the login's answer; accounts keeps only its SHA-256. Every
refusal to sign in looks the same, so no answer tells whether an email is registered.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field, IPvAnyAddress, field_validator, model_validator

from contracts.accounts import PLATFORM_ROLES, Actor, Role
from contracts.base import Contract, Query, Reply, WireSecret
from contracts.identity import SECRET_SAFE, Email, Id, Text

PASSWORD_MIN = 12
PASSWORD_MAX = 128
USER_AGENT_MAX = 512


class CreateUser(Query):
    """Create a dashboard user (needs `people:manage`, and a role the actor may grant).

    Partner roles belong to a partner; platform roles (ops, privacy officer, support) to none.
    """

    TYPE: ClassVar[str] = "accounts.create_user.v1"
    model_config = SECRET_SAFE

    actor: Actor
    partner_id: Id | None = None
    name: Text = Field(examples=["Ada Lovelace"])
    email: Email
    role: Role
    password: WireSecret = Field(description="12 to 128 characters, not the email; never logged.")

    @field_validator("password")
    @classmethod
    def _password_length(cls, value: WireSecret) -> WireSecret:
        if not PASSWORD_MIN <= len(value.get_secret_value()) <= PASSWORD_MAX:
            raise ValueError(f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CreateUser:
        if self.password.get_secret_value().strip().lower() == str(self.email).lower():
            raise ValueError("the password must not be the email address")
        if (self.role in PLATFORM_ROLES) != (self.partner_id is None):
            raise ValueError("platform roles have no partner; partner roles need one")
        return self


class ListUsers(Query):
    """A partner's dashboard users (needs `people:read`); no partner: the platform's users."""

    TYPE: ClassVar[str] = "accounts.list_users.v1"

    actor: Actor
    partner_id: Id | None = None


class UserView(Reply):
    """A dashboard user, decrypted; never the password."""

    TYPE: ClassVar[str] = "accounts.user.v1"

    id: str
    partner_id: str | None = None
    name: str | None = None
    email: str | None = None
    role: Role
    status: Literal["active", "disabled"]
    restricted: bool = False
    objection: bool = False
    created_at: datetime


class UserList(Reply):
    """Dashboard users, oldest first."""

    TYPE: ClassVar[str] = "accounts.user_list.v1"

    data: list[UserView]


class Login(Query):
    """Sign in to the dashboard. Refusals are answers (`LoginResult.refusal`), all alike."""

    TYPE: ClassVar[str] = "accounts.login.v1"
    model_config = SECRET_SAFE

    email: Email
    password: WireSecret = Field(max_length=PASSWORD_MAX, description="Never logged.")
    ip: IPvAnyAddress
    user_agent: str = Field(default="", description=f"Cut to {USER_AGENT_MAX} characters.")

    @field_validator("user_agent")
    @classmethod
    def _cut(cls, value: str) -> str:
        return value[:USER_AGENT_MAX]


class IssuedSession(Contract):
    """A new session: the token is shown this once; the store keeps only its SHA-256."""

    session_id: str
    token: WireSecret
    expires_at: datetime
    actor: Actor


class LoginRefusal(Contract):
    """Why not: the same for a wrong password, an unknown email and a locked account."""

    code: Literal["invalid_credentials"] = "invalid_credentials"
    message: str = "the email or password is not correct"
    retry_after_seconds: int | None = Field(
        default=None, ge=1, description="Set while the account or address is locked out."
    )


class LoginResult(Reply):
    """Exactly one of `session` and `refusal`."""

    TYPE: ClassVar[str] = "accounts.login_result.v1"

    session: IssuedSession | None = None
    refusal: LoginRefusal | None = None

    @model_validator(mode="after")
    def _one(self) -> LoginResult:
        if (self.session is None) == (self.refusal is None):
            raise ValueError("a login result has a session or a refusal")
        return self


class VerifySession(Query):
    """Who holds this session token (error `invalid_session` if it is not live)."""

    TYPE: ClassVar[str] = "accounts.verify_session.v1"
    model_config = SECRET_SAFE

    token: WireSecret = Field(max_length=256)


class SessionPrincipal(Reply):
    """The user behind a live session, as an actor."""

    TYPE: ClassVar[str] = "accounts.session_principal.v1"

    session_id: str
    actor: Actor
    expires_at: datetime


class Logout(Query):
    """End the session of this token (a token already ended is fine)."""

    TYPE: ClassVar[str] = "accounts.logout.v1"
    model_config = SECRET_SAFE

    token: WireSecret = Field(max_length=256)


class RevokeSessions(Query):
    """End every session of a user (needs `sessions:manage`, or the user themself)."""

    TYPE: ClassVar[str] = "accounts.revoke_sessions.v1"

    actor: Actor
    user_id: Id


class SessionsRevoked(Reply):
    """How many sessions were ended."""

    TYPE: ClassVar[str] = "accounts.sessions_revoked.v1"

    revoked: int = Field(ge=0)


class ListLoginHistory(Query):
    """A user's sign-in attempts, newest first (needs `sessions:manage`, or the user themself)."""

    TYPE: ClassVar[str] = "accounts.list_login_history.v1"

    actor: Actor
    user_id: Id
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=64)


class LoginAttempt(Contract):
    """One sign-in attempt."""

    at: datetime
    outcome: Literal["signed_in", "refused"]
    reason: str = Field(examples=["ok", "wrong_password", "locked"])
    ip: str
    user_agent: str


class LoginHistoryPage(Reply):
    """A page of sign-in attempts."""

    TYPE: ClassVar[str] = "accounts.login_history.v1"

    data: list[LoginAttempt]
    next_cursor: str | None = None
