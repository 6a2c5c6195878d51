"""The raw documents of a test namespace, read as a thief of the database would.

Before a test namespace's database is dropped, every document of it is read raw:
- the logs database's documents must hold no secret (`secret_shapes.secret_kinds`);
- no document may hold an email address or a phone number in plaintext (sealed fields are
  `enc1.` tokens, blind indexes are HMAC digests: neither has that shape), and the fields the
  services' inventories declare sealed must hold tokens, whatever their value looks like.

What is allowed to stay readable is listed once, in `JUSTIFIED`, with the reason.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from support.secret_shapes import personal_kinds, secret_kinds, strings_in

TOKEN_PREFIX = "enc1."

SEALED: dict[tuple[str, str], tuple[str, ...]] = {
    ("accounts", "users"): ("name", "email"),
    ("accounts", "contacts"): ("name", "email", "phone"),
    ("accounts", "partners"): ("tax_id", "address", "phone"),
    ("accounts", "billing_profiles"): ("customer_token", "card_brand", "last4"),
    ("accounts", "login_history"): ("ip", "user_agent"),
    ("logs", "api_requests"): ("ip", "user_agent"),
    ("logs", "technical_logs"): ("email", "ip", "user_agent"),
    ("provisioning", "orders"): ("end_user.email", "end_user.reference"),
    ("provisioning", "esims"): ("matching_id",),
    ("provisioning", "webhook_endpoints"): ("secret",),
}
"""Personal fields kept sealed, by (service, collection): present means an `enc1.` token. Written
out here from the inventories and decisions 0004/0005/0011 rather than imported from the services'
constants, so that a field dropped from a service's sealed list is caught, not followed."""


@dataclass(frozen=True)
class Allowed:
    """Plaintext that may stay readable: where (glob patterns) and why. A `defect` is not a
    justification but a known fault whose fix is pending: the run passes and says so."""

    service: str
    collection: str
    path: str
    reason: str
    value: str = "*"
    defect: bool = False

    def covers(self, service: str, collection: str, path: str, value: str) -> bool:
        """Whether this allowance covers `value` at `path` of `service`'s `collection`."""
        return (
            fnmatch.fnmatchcase(service, self.service)
            and fnmatch.fnmatchcase(collection, self.collection)
            and fnmatch.fnmatchcase(path, self.path)
            and fnmatch.fnmatchcase(value, self.value)
        )


_REQUEST_IDENTIFIERS = (
    "Decision 0013: the privacy service keeps a data-subject request's identifiers (the email"
    " or phone the subject is found by) in the request, so that its tasks can be sent again and"
    " re-run; the privacy service holds no vault of its own."
)

JUSTIFIED: tuple[Allowed, ...] = (
    Allowed(
        "privacy",
        "requests",
        "subject.*",
        _REQUEST_IDENTIFIERS,
    ),
    Allowed(
        "privacy",
        "requests",
        "_outbox.*",
        f"{_REQUEST_IDENTIFIERS} The task commands waiting in the request's outbox carry them.",
    ),
    Allowed(
        "provisioning",
        "webhook_endpoints",
        "secret",
        "Test data: `support.provisioning_owner` inserts endpoints directly with this stand-in in"
        " place of a sealed secret; it is no secret, and a real one (`whsec_…`) is not allowed.",
        value="sealed-secret-stand-in",
    ),
)
"""Every plaintext personal value allowed in a raw document, with the reason (one place)."""

ALLOWED_SEEN: dict[Allowed, int] = {}
"""How many values each allowance let through in this session (the summary names defects)."""


@dataclass(frozen=True)
class DocumentFinding:
    """One secret or personal value found in a raw document (never the value itself)."""

    kind: str
    namespace: str
    database: str
    collection: str
    document_id: str
    path: str

    def place(self) -> str:
        """Where the finding is."""
        return (
            f"namespace {self.namespace}, database {self.database}, collection"
            f" {self.collection}, document {self.document_id}, field {self.path}"
        )


TEST_DATABASE = re.compile(r"(?P<namespace>t[0-9a-f]{14})_(?P<service>[a-z0-9_]+)")
"""A test namespace's database (`support.names.unique_namespace`, `database_name(service)`)."""
PLATFORM_SERVICES = frozenset({"accounts", "provisioning", "logs", "privacy", "gateway"})
"""The platform's services; test-only services (`alpha`, `tester`, ...) hold made-up data."""


@dataclass
class ScanCount:
    """How much the scans read (the sentinel shows it cannot have seen nothing)."""

    databases: int = 0
    documents: int = 0


async def scan_database(
    db: AsyncDatabase[dict[str, Any]], count: ScanCount | None = None
) -> list[DocumentFinding]:
    """Findings in the raw documents of a platform service's database in a test namespace
    (none for any other database)."""
    named = TEST_DATABASE.fullmatch(db.name)
    if named is None or named["service"] not in PLATFORM_SERVICES:
        return []
    findings: list[DocumentFinding] = []
    count = count if count is not None else ScanCount()
    count.databases += 1
    for collection in sorted(await db.list_collection_names()):
        async for document in db[collection].find():
            count.documents += 1
            where = (named["namespace"], db.name, collection)
            findings.extend(_document_findings(named["service"], where, document))
    return findings


def _document_findings(
    service: str, where: tuple[str, str, str], document: Mapping[str, Any]
) -> list[DocumentFinding]:
    namespace, database, collection = where
    document_id = str(document.get("_id"))
    kinds_at: dict[tuple[str, str], None] = {}
    sealed = SEALED.get((service, collection), ())
    for path, text, is_key in strings_in(document):
        kinds = personal_kinds(text)
        if not is_key and _in_sealed(path, sealed) and not text.startswith(TOKEN_PREFIX):
            kinds.append("unsealed personal field")
        if service == "logs":
            kinds.extend(secret_kinds(text))
        for kind in kinds:
            rule = next((r for r in JUSTIFIED if r.covers(service, collection, path, text)), None)
            if rule is None:
                kinds_at[(kind, path)] = None
            else:
                ALLOWED_SEEN[rule] = ALLOWED_SEEN.get(rule, 0) + 1
    return [
        DocumentFinding(kind, namespace, database, collection, document_id, path)
        for kind, path in kinds_at
    ]


def _in_sealed(path: str, sealed: tuple[str, ...]) -> bool:
    return any(path == field or path.startswith(f"{field}.") for field in sealed)
