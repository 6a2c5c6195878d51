"""Who may do what: every permission check of the accounts service happens here.

Each command and query states the permission it needs (`require(actor, NEEDS, partner_id)`);
roles and API-key scopes map to permissions in the two tables below, and nowhere else
(what scopes a partner role holds is `contracts.accounts.ROLE_SCOPES`, shared with the
services that check scopes).
"""

from __future__ import annotations

from enum import StrEnum

from contracts.accounts import PARTNER_ROLES, PLATFORM_ROLES, Actor, Role, Scope, scopes_of
from servicekit.errors import ServiceError


class Permission(StrEnum):
    """Things an actor can be allowed to do."""

    PARTNER_CREATE = "partner:create"
    PARTNER_READ = "partner:read"
    PARTNER_UPDATE = "partner:update"
    PARTNER_CLOSE = "partner:close"
    PEOPLE_READ = "people:read"
    PEOPLE_MANAGE = "people:manage"
    KEYS_READ = "keys:read"
    KEYS_MANAGE = "keys:manage"
    BILLING_READ = "billing:read"
    BILLING_MANAGE = "billing:manage"
    LEDGER_ADJUST = "ledger:adjust"
    SESSIONS_MANAGE = "sessions:manage"


_PARTNER_READS = {
    Permission.PARTNER_READ,
    Permission.PEOPLE_READ,
    Permission.KEYS_READ,
    Permission.BILLING_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(
        _PARTNER_READS
        | {
            Permission.PARTNER_UPDATE,
            Permission.PARTNER_CLOSE,
            Permission.PEOPLE_MANAGE,
            Permission.KEYS_MANAGE,
            Permission.BILLING_MANAGE,
            Permission.SESSIONS_MANAGE,
        }
    ),
    Role.ADMIN: frozenset(
        _PARTNER_READS
        | {
            Permission.PARTNER_UPDATE,
            Permission.PEOPLE_MANAGE,
            Permission.KEYS_MANAGE,
            Permission.BILLING_MANAGE,
            Permission.SESSIONS_MANAGE,
        }
    ),
    Role.DEVELOPER: frozenset(
        {Permission.PARTNER_READ, Permission.KEYS_READ, Permission.KEYS_MANAGE}
    ),
    Role.BILLING: frozenset(
        {Permission.PARTNER_READ, Permission.BILLING_READ, Permission.BILLING_MANAGE}
    ),
    Role.VIEWER: frozenset(_PARTNER_READS),
    Role.OPS: frozenset(set(Permission)),
    Role.PRIVACY_OFFICER: frozenset({Permission.PARTNER_READ, Permission.PEOPLE_READ}),
    Role.SUPPORT: frozenset(_PARTNER_READS | {Permission.SESSIONS_MANAGE}),
}

SCOPE_PERMISSIONS: dict[Scope, frozenset[Permission]] = {
    Scope.ACCOUNT_READ: frozenset({Permission.PARTNER_READ, Permission.PEOPLE_READ}),
    Scope.ACCOUNT_WRITE: frozenset({Permission.PARTNER_UPDATE, Permission.PEOPLE_MANAGE}),
    Scope.KEYS_MANAGE: frozenset({Permission.KEYS_READ, Permission.KEYS_MANAGE}),
    Scope.BILLING_READ: frozenset({Permission.BILLING_READ}),
}


def permissions_of(actor: Actor) -> frozenset[Permission]:
    """Everything the actor may do (for its own partner, unless it is a platform actor)."""
    if actor.kind == "platform":
        return frozenset(Permission)
    if actor.kind == "user":
        return ROLE_PERMISSIONS.get(actor.role, frozenset()) if actor.role else frozenset()
    return frozenset().union(*(SCOPE_PERMISSIONS.get(scope, frozenset()) for scope in actor.scopes))


def is_platform(actor: Actor) -> bool:
    """Platform actors act across partners; partner actors only for their own."""
    return actor.kind == "platform" or (actor.kind == "user" and actor.role in PLATFORM_ROLES)


def require(actor: Actor, permission: Permission, partner_id: str | None) -> None:
    """Refuse unless the actor holds `permission` for `partner_id` (None: platform-wide)."""
    if permission not in permissions_of(actor):
        raise ServiceError("forbidden", f"this needs the `{permission.value}` permission")
    if is_platform(actor):
        return
    if partner_id is None or actor.partner_id != partner_id:
        raise ServiceError("not_found", "no such partner")


def grantable_scopes(actor: Actor) -> frozenset[Scope]:
    """The scopes `actor` may give a new API key: never more than it has itself."""
    if is_platform(actor):
        return frozenset(Scope)
    return scopes_of(actor)


def require_self_or(
    actor: Actor, permission: Permission, partner_id: str | None, user_id: str
) -> None:
    """Let a user act on their own account (sessions, login history); others need `permission`."""
    if actor.kind == "user" and actor.id == user_id:
        return
    require(actor, permission, partner_id)


def grantable_roles(actor: Actor) -> frozenset[Role]:
    """The roles `actor` may give a new dashboard user.

    The platform grants any role; a partner's owner any partner role; an admin any partner
    role but owner. API keys create no users: a leaked key must not mint dashboard logins.
    """
    if is_platform(actor):
        return (
            frozenset(Role) if actor.kind == "platform" or actor.role == Role.OPS else frozenset()
        )
    if actor.kind != "user" or Permission.PEOPLE_MANAGE not in permissions_of(actor):
        return frozenset()
    return PARTNER_ROLES if actor.role == Role.OWNER else PARTNER_ROLES - {Role.OWNER}


def require_grantable(actor: Actor, role: Role) -> None:
    """Refuse unless `actor` may give `role` to a new dashboard user."""
    if role not in grantable_roles(actor):
        raise ServiceError("forbidden", f"this actor may not give the `{role.value}` role")
