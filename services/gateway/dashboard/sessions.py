"""Signing in and out, and who holds a session: always accounts' answer, asked over the bus.

Sessions are not cached: a page asks accounts each time, so a logout (or a revocation of all
of a user's sessions) takes effect on every gateway replica at once.
"""

from __future__ import annotations

from contracts.dashboard import (
    Login,
    LoginResult,
    Logout,
    SessionPrincipal,
    SessionsRevoked,
    VerifySession,
)
from servicekit.bus import Bus
from servicekit.errors import RemoteCallError

TOKEN_MAX = 256
"""Longest session token accounts accepts; a longer cookie is not a session."""


class SessionGate:
    """Accounts' session queries, as the dashboard uses them."""

    def __init__(self, bus: Bus, timeout: float) -> None:
        self.bus = bus
        self.timeout = timeout

    async def principal_of(self, token: str) -> SessionPrincipal | None:
        """Who holds this token; None when it is no live session (other errors propagate)."""
        if not token or len(token) > TOKEN_MAX:
            return None
        try:
            return await self.bus.request(
                VerifySession(token=token),
                to="accounts",
                reply=SessionPrincipal,
                timeout=self.timeout,
            )
        except RemoteCallError as error:
            if error.code in {"invalid_session", "invalid_request"}:
                return None
            raise

    async def login(self, request: Login) -> LoginResult:
        """Accounts' answer to a sign-in: a session, or a refusal that reveals nothing."""
        return await self.bus.request(
            request, to="accounts", reply=LoginResult, timeout=self.timeout
        )

    async def logout(self, token: str) -> None:
        """End the session of this token (one already ended is fine)."""
        if token and len(token) <= TOKEN_MAX:
            await self.bus.request(
                Logout(token=token), to="accounts", reply=SessionsRevoked, timeout=self.timeout
            )
