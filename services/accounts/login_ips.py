"""Sign-in IP addresses: sealed in the login history, found and throttled by blind index.

A login-history entry keeps its address as a vault token in `ip` and its blind index
(`BlindIndex.of("ip", address)`) in `ip_bidx`, which is indexed: every lookup by address (a
request's subject, an erasure-ledger entry that holds only the blind index) goes through it.
The sign-in throttle counts an address under `ip:<blind index>`.

The address is sealed under the key of the user who tried to sign in, so erasing the user
makes every copy unreadable; an attempt with no known user (an unknown email) is sealed under
the address's own subject key `ip_<blind index>`, which erasing the address shreds.

Entries written before addresses were sealed (a clear `ip`, no `ip_bidx`) are sealed in place
at start-up (`seal_clear_addresses`), and the throttle's `ip:<address>` entries are moved to
their blind-index key.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from pymongo.errors import DuplicateKeyError

from accounts import store
from accounts.store import Db
from servicekit.crypto import FORMAT_TAG
from servicekit.vault import Vault, blind_field

IP = "ip"
IP_BIDX = blind_field(IP)
THROTTLE_PREFIX = "ip:"
_BATCH = 200

log = structlog.get_logger("accounts.login_ips")


def ip_subject(ip_index: str) -> str:
    """The key subject of sign-in addresses that belong to no known user."""
    return f"ip_{ip_index}"


def throttle_key(ip_index: str) -> str:
    """The sign-in throttle's key of an address (never the address itself)."""
    return f"{THROTTLE_PREFIX}{ip_index}"


async def sealed_address(
    vault: Vault, entry_id: str, address: str, user_id: str | None
) -> dict[str, str]:
    """`{"ip": token, "ip_bidx": index}` for a login-history entry."""
    subject = user_id or ip_subject(vault.index(IP, address))
    return await vault.seal(subject, entry_id, {IP: address}, indexed={IP: IP})


def is_sealed(value: Any) -> bool:
    """Whether a stored `ip` is a vault token (not a clear address left from before)."""
    return isinstance(value, str) and value.startswith(f"{FORMAT_TAG}.")


async def opened_address(vault: Vault, entry: dict[str, Any]) -> str | None:
    """The entry's address in clear; None once its key is shredded."""
    value = entry.get(IP)
    if not is_sealed(value):
        return value if isinstance(value, str) else None
    return (await vault.open(entry["_id"], entry, [IP]))[IP]


async def seal_clear_addresses(db: Db, vault: Vault) -> int:
    """Seal (and blind-index) every login-history address still in clear, and move the
    throttle's `ip:<address>` entries to `ip:<blind index>`; how many entries were sealed.

    Idempotent and safe to interrupt: an entry is rewritten only while it still lacks
    `ip_bidx`, and a throttle entry is copied to its new key before the old one is deleted.
    """
    sealed = 0
    history = db[store.LOGIN_HISTORY]
    while True:
        batch = await history.find({IP_BIDX: {"$exists": False}}).limit(_BATCH).to_list()
        clear = [entry for entry in batch if isinstance(entry.get(IP), str)]
        for entry in clear:
            fields = await sealed_address(vault, entry["_id"], entry[IP], entry.get("user_id"))
            result = await history.update_one(
                {"_id": entry["_id"], IP_BIDX: {"$exists": False}}, {"$set": fields}
            )
            sealed += result.modified_count
        if len(batch) < _BATCH or not clear:
            break
    await _rekey_throttle(db, vault)
    if sealed:
        log.info("login_addresses_sealed", entries=sealed)
    return sealed


async def _rekey_throttle(db: Db, vault: Vault) -> None:
    throttle = db[store.LOGIN_THROTTLE]
    # `ip;` is the next string after every `ip:<...>` key: a range on the unique `_id`.
    found = throttle.find({"_id": {"$gte": THROTTLE_PREFIX, "$lt": "ip;"}})
    async for entry in found:
        address = str(entry["_id"])[len(THROTTLE_PREFIX) :]
        if _is_index(address):
            continue
        moved = {**entry, "_id": throttle_key(vault.index(IP, address))}
        # A duplicate means it is counted under the new key already: that count is live.
        with contextlib.suppress(DuplicateKeyError):
            await throttle.insert_one(moved)
        await throttle.delete_one({"_id": entry["_id"]})


def _is_index(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)
