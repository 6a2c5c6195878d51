"""Request/reply handlers for partners, contact people, dashboard users and dashboard login.

Each handler states the permission it needs (`accounts.permissions`), then calls the domain
(`partners`, `people`, `auth`). Records a request creates take ids derived from its message
id, so a redelivered request answers with what it made the first time.
"""

from __future__ import annotations

from accounts import login_ips, store
from accounts.auth import Auth, LoginPolicy, Passwords
from accounts.partners import BalanceOpener, Partners
from accounts.people import People, id_from_message
from accounts.permissions import Permission, require, require_grantable, require_self_or
from accounts.settings import AccountsSettings
from accounts.users import Users
from contracts.dashboard import (
    CreateUser,
    ListLoginHistory,
    ListUsers,
    Login,
    LoginHistoryPage,
    LoginResult,
    Logout,
    RevokeSessions,
    SessionPrincipal,
    SessionsRevoked,
    UserList,
    UserView,
    VerifySession,
)
from contracts.identity import (
    AddContact,
    ClosePartner,
    ContactList,
    ContactRemoved,
    ContactView,
    CreatePartner,
    GetPartner,
    ListContacts,
    PartnerView,
    RemoveContact,
    UpdateContact,
    UpdatePartner,
)
from servicekit.clock import Clock, utcnow
from servicekit.messages import MessageContext
from servicekit.service import Service
from servicekit.vault import Vault


class PeopleHandlers:
    """One handler per request type; `clock` is injectable for tests."""

    def __init__(
        self, partners: Partners, people: People, users: Users, auth: Auth, clock: Clock = utcnow
    ) -> None:
        self.partners = partners
        self.people = people
        self.users = users
        self.auth = auth
        self.clock = clock

    async def create_partner(self, request: CreatePartner, context: MessageContext) -> PartnerView:
        """Needs `partner:create` (platform only)."""
        require(request.actor, Permission.PARTNER_CREATE, None)
        partner_id = id_from_message("ptn", context.message_id)
        return await self.partners.create(request, partner_id=partner_id, now=self.clock())

    async def get_partner(self, request: GetPartner, _context: MessageContext) -> PartnerView:
        """Needs `partner:read` for the partner."""
        require(request.actor, Permission.PARTNER_READ, request.partner_id)
        return await self.partners.get(request.partner_id)

    async def update_partner(self, request: UpdatePartner, context: MessageContext) -> PartnerView:
        """Needs `partner:update` for the partner."""
        require(request.actor, Permission.PARTNER_UPDATE, request.partner_id)
        return await self.partners.update(request, message_id=context.message_id, now=self.clock())

    async def close_partner(self, request: ClosePartner, context: MessageContext) -> PartnerView:
        """Needs `partner:close` for the partner."""
        require(request.actor, Permission.PARTNER_CLOSE, request.partner_id)
        return await self.partners.close(
            request.partner_id, by=request.actor.id, message_id=context.message_id, now=self.clock()
        )

    async def add_contact(self, request: AddContact, context: MessageContext) -> ContactView:
        """Needs `people:manage` for the partner."""
        require(request.actor, Permission.PEOPLE_MANAGE, request.partner_id)
        contact_id = id_from_message("con", context.message_id)
        return await self.people.add_contact(request, contact_id=contact_id, now=self.clock())

    async def list_contacts(self, request: ListContacts, _context: MessageContext) -> ContactList:
        """Needs `people:read` for the partner."""
        require(request.actor, Permission.PEOPLE_READ, request.partner_id)
        return ContactList(data=await self.people.list_contacts(request.partner_id))

    async def update_contact(self, request: UpdateContact, context: MessageContext) -> ContactView:
        """Needs `people:manage` for the partner."""
        require(request.actor, Permission.PEOPLE_MANAGE, request.partner_id)
        return await self.people.update_contact(
            request, message_id=context.message_id, now=self.clock()
        )

    async def remove_contact(
        self, request: RemoveContact, _context: MessageContext
    ) -> ContactRemoved:
        """Needs `people:manage` for the partner."""
        require(request.actor, Permission.PEOPLE_MANAGE, request.partner_id)
        await self.people.remove_contact(request.partner_id, request.contact_id)
        return ContactRemoved(contact_id=request.contact_id)

    async def create_user(self, request: CreateUser, context: MessageContext) -> UserView:
        """Needs `people:manage` for the partner (platform users: platform-wide) and a role
        the actor may grant."""
        require(request.actor, Permission.PEOPLE_MANAGE, request.partner_id)
        require_grantable(request.actor, request.role)
        password_hash = await self.auth.passwords.hash(request.password.get_secret_value())
        return await self.users.create_user(
            request,
            user_id=id_from_message("usr", context.message_id),
            password_hash=password_hash,
            now=self.clock(),
        )

    async def list_users(self, request: ListUsers, _context: MessageContext) -> UserList:
        """Needs `people:read` for the partner (platform users: platform-wide)."""
        require(request.actor, Permission.PEOPLE_READ, request.partner_id)
        return UserList(data=await self.users.list_users(request.partner_id))

    async def login(self, request: Login, _context: MessageContext) -> LoginResult:
        """Needs nothing but the credentials."""
        return await self.auth.login(request, self.clock())

    async def verify_session(
        self, request: VerifySession, _context: MessageContext
    ) -> SessionPrincipal:
        """Needs nothing but the token."""
        return await self.auth.verify_session(request.token.get_secret_value(), self.clock())

    async def logout(self, request: Logout, _context: MessageContext) -> SessionsRevoked:
        """Needs nothing but the token."""
        return SessionsRevoked(revoked=await self.auth.logout(request.token.get_secret_value()))

    async def revoke_sessions(
        self, request: RevokeSessions, _context: MessageContext
    ) -> SessionsRevoked:
        """Needs `sessions:manage` for the user's partner, unless it is the user themself."""
        user = await self.users.user_document(request.user_id)
        require_self_or(
            request.actor, Permission.SESSIONS_MANAGE, user.get("partner_id"), request.user_id
        )
        return SessionsRevoked(revoked=await self.auth.revoke_sessions(request.user_id))

    async def list_login_history(
        self, request: ListLoginHistory, _context: MessageContext
    ) -> LoginHistoryPage:
        """Needs `sessions:manage` for the user's partner, unless it is the user themself."""
        user = await self.users.user_document(request.user_id)
        require_self_or(
            request.actor, Permission.SESSIONS_MANAGE, user.get("partner_id"), request.user_id
        )
        return await self.auth.history(request.user_id, limit=request.limit, cursor=request.cursor)


def build_handlers(
    service: Service,
    settings: AccountsSettings,
    vault: Vault,
    *,
    open_balance: BalanceOpener | None = None,
    clock: Clock = utcnow,
) -> PeopleHandlers:
    """The handlers over the service's store, bus and outbox."""
    partners = Partners(service.db, vault, service.bus.outgoing, open_balance=open_balance)
    people = People(service.db, vault)
    users = Users(service.db, vault)
    auth = Auth(
        service.db,
        vault,
        Passwords(settings.password_hasher()),
        LoginPolicy.from_settings(settings),
    )
    return PeopleHandlers(partners, people, users, auth, clock)


def register(
    service: Service,
    settings: AccountsSettings,
    vault: Vault,
    *,
    open_balance: BalanceOpener | None = None,
    clock: Clock = utcnow,
) -> None:
    """Answer the partner, people and dashboard-login requests of the accounts service.

    `open_balance` opens a new partner's balance in its currency (the ledger's).
    """
    if store.PARTNERS not in service.outbox.collections:
        service.outbox.collections.append(store.PARTNERS)
    handlers = build_handlers(service, settings, vault, open_balance=open_balance, clock=clock)

    async def seal_clear_sign_ins() -> None:  # sign-ins stored before both fields were sealed
        await login_ips.seal_clear_sign_ins(service.db, vault)

    service.startup.append(seal_clear_sign_ins)
    answer = service.router.answer
    answer(CreatePartner, handlers.create_partner)
    answer(GetPartner, handlers.get_partner)
    answer(UpdatePartner, handlers.update_partner)
    answer(ClosePartner, handlers.close_partner)
    answer(AddContact, handlers.add_contact)
    answer(ListContacts, handlers.list_contacts)
    answer(UpdateContact, handlers.update_contact)
    answer(RemoveContact, handlers.remove_contact)
    answer(CreateUser, handlers.create_user)
    answer(ListUsers, handlers.list_users)
    answer(Login, handlers.login)
    answer(VerifySession, handlers.verify_session)
    answer(Logout, handlers.logout)
    answer(RevokeSessions, handlers.revoke_sessions)
    answer(ListLoginHistory, handlers.list_login_history)
