"""Sample people and businesses with values distinctive enough to scan the raw accounts
database for, and small helpers to read privacy results."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from contracts.privacy import PrivacyTaskCompleted
from servicekit.ids import new_id

Doc = dict[str, Any]


@dataclass(frozen=True)
class Person:
    """A person with values no other test uses, so the raw store can be searched for them."""

    name: str
    email: str
    phone: str
    ip: str
    user_agent: str

    @classmethod
    def sample(cls, first: str = "Zelda") -> Person:
        """A new person; every value carries a random tag."""
        tag = secrets.token_hex(3)
        digits = str(int(tag, 16) % 10**6).zfill(6)
        return cls(
            name=f"{first} Quillfeather {tag}",
            email=f"{first.lower()}.{tag}@quill.example.org",
            phone=f"+49157{digits}11",
            ip=f"198.51.100.{int(tag[:2], 16) % 250 + 2}",
            user_agent=f"QuillBrowser/{tag}",
        )

    def values(self) -> list[str]:
        """What must not be found in plaintext once the person is erased."""
        return [self.name, self.email, self.phone, self.phone.lstrip("+"), self.user_agent]


@dataclass(frozen=True)
class Business:
    """A partner's identity with values no other test uses."""

    name: str
    tax_id: str
    street: str
    phone: str

    @classmethod
    def sample(cls) -> Business:
        """A new business; every value carries a random tag."""
        tag = secrets.token_hex(3)
        digits = str(int(tag, 16) % 10**6).zfill(6)
        return cls(
            name=f"Quasar Roaming {tag} GmbH",
            tax_id=f"DE9{digits}17",
            street=f"Nebelweg {tag}",
            phone=f"+49301{digits}9",
        )

    def values(self) -> list[str]:
        """What must not be found in plaintext once the partner is erased."""
        return [self.name, self.tax_id, self.street, self.phone, self.phone.lstrip("+")]


def task() -> dict[str, str]:
    """The ids a privacy command carries: a new request, and accounts' task of it."""
    request_id = new_id("dsr")
    return {"request_id": request_id, "task_id": f"{request_id}.accounts"}


def plaintext_hits(documents: list[tuple[str, Doc]], values: list[str]) -> list[str]:
    """Where any of `values` appears (case-insensitively) in the documents, as `collection:id`."""
    lowered = [value.lower() for value in values]
    return [
        f"{collection}:{document.get('_id')}"
        for collection, document in documents
        if any(value in repr(document).lower() for value in lowered)
    ]


def by_category(result: PrivacyTaskCompleted) -> dict[str, Any]:
    """A task's outcomes keyed by category."""
    return {outcome.category: outcome for outcome in result.outcomes}
