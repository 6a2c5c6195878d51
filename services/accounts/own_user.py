"""A dashboard user reads their own account (`GetOwnUser`): every role may, since a person's
rights about their own data (a request about themselves) do not depend on their role."""

from __future__ import annotations

from accounts.users import Users
from contracts.dashboard import UserView
from contracts.own_user import GetOwnUser
from servicekit.errors import ServiceError
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.vault import Vault


class OwnUser:
    """The handler over accounts' users."""

    def __init__(self, users: Users) -> None:
        self.users = users

    async def get_own_user(self, query: GetOwnUser, _context: MessageContext) -> UserView:
        """Only a user actor, and only its own active account."""
        if query.actor.kind != "user":
            raise ServiceError("forbidden", "only a dashboard user has an own account")
        document = await self.users.user_document(query.actor.id)
        if document.get("status") != "active":
            raise ServiceError("not_found", "no such user")
        return await self.users.user_view(document)


def register(service: Service, vault: Vault) -> None:
    """Answer `GetOwnUser`."""
    service.router.answer(GetOwnUser, OwnUser(Users(service.db, vault)).get_own_user)
