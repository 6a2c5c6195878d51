"""A dashboard user's own account, as accounts holds it: what a page needs to act for the
person themselves (their email for a request about their own data), whatever their role."""

from __future__ import annotations

from typing import ClassVar

from contracts.accounts import Actor
from contracts.base import Query


class GetOwnUser(Query):
    """The signed-in user's own account (`accounts.user.v1`), decrypted. Needs nothing but
    being that user: any role may read its own account, none another's through this."""

    TYPE: ClassVar[str] = "accounts.get_own_user.v1"

    actor: Actor
