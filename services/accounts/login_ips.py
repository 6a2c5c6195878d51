"""Sign-in addresses and user agents: sealed in the login history, found and throttled by the
address's blind index.

A login-history entry keeps its address and its user agent (browser and device information)
as vault tokens in `ip` and `user_agent`, and the address's blind index
(`BlindIndex.of("ip", address)`) in `ip_bidx`, which is indexed: every lookup by address (a
request's subject, an erasure-ledger entry that holds only the blind index) goes through it.
The sign-in throttle counts an address under `ip:<blind index>`.

Both are sealed under the key of the user who tried to sign in, so erasing the user makes
every copy unreadable; an attempt with no known user (an unknown email) is sealed under the
address's own subject key `ip_<blind index>`, which erasing the address shreds.

Entries written before both were sealed (no `sealing` marker: a clear address, or a sealed
address beside a clear user agent) are sealed in place at start-up (`seal_clear_sign_ins`),
and the throttle's `ip:<address>` entries are moved to their blind-index key.
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
USER_AGENT = "user_agent"
SEALING = "sealing"
SEALED_BOTH = 2
"""`sealing: 2` marks an entry whose address and user agent are both sealed; entries without
the marker are from before (1 was the address alone, told by `ip_bidx`)."""
THROTTLE_PREFIX = "ip:"
_BATCH = 200

log = structlog.get_logger("accounts.login_ips")


def ip_subject(ip_index: str) -> str:
    """The key subject of sign-in addresses that belong to no known user."""
    return f"ip_{ip_index}"


def throttle_key(ip_index: str) -> str:
    """The sign-in throttle's key of an address (never the address itself)."""
    return f"{THROTTLE_PREFIX}{ip_index}"


async def sealed_sign_in(
    vault: Vault, entry_id: str, address: str, user_agent: str | None, user_id: str | None
) -> dict[str, Any]:
    """The sealed fields of a login-history entry: `ip`, `ip_bidx`, `user_agent`, `sealing`."""
    sealed = await vault.seal(
        _key_subject(vault.index(IP, address), user_id),
        entry_id,
        {IP: address, USER_AGENT: user_agent},
        indexed={IP: IP},
    )
    return {**sealed, SEALING: SEALED_BOTH}


def _key_subject(ip_index: str, user_id: str | None) -> str:
    return user_id or ip_subject(ip_index)


def is_sealed(value: Any) -> bool:
    """Whether a stored field is a vault token (not a clear value left from before)."""
    return isinstance(value, str) and value.startswith(f"{FORMAT_TAG}.")


async def opened_sign_in(vault: Vault, entry: dict[str, Any]) -> dict[str, str | None]:
    """The entry's `ip` and `user_agent` in clear; None where absent or the key is shredded."""
    opened: dict[str, str | None] = {}
    for name in (IP, USER_AGENT):
        value = entry.get(name)
        if is_sealed(value):
            opened[name] = (await vault.open(entry["_id"], entry, [name]))[name]
        else:
            opened[name] = value if isinstance(value, str) else None
    return opened


async def seal_clear_sign_ins(db: Db, vault: Vault) -> int:
    """Seal every login-history address and user agent still in clear (blind-indexing the
    address), and move the throttle's `ip:<address>` entries to `ip:<blind index>`; how many
    entries were rewritten.

    Idempotent and safe to interrupt: an entry is rewritten only while it still lacks the
    `sealing` marker, and a throttle entry is copied to its new key before the old one is
    deleted.
    """
    sealed = 0
    history = db[store.LOGIN_HISTORY]
    while True:
        batch = await history.find({SEALING: {"$exists": False}}).limit(_BATCH).to_list()
        for entry in batch:
            result = await history.update_one(
                {"_id": entry["_id"], SEALING: {"$exists": False}},
                {"$set": await _sealed_in_place(vault, entry)},
            )
            sealed += result.modified_count
        if len(batch) < _BATCH:
            break
    await _rekey_throttle(db, vault)
    if sealed:
        log.info("login_entries_sealed", entries=sealed)
    return sealed


async def _sealed_in_place(vault: Vault, entry: dict[str, Any]) -> dict[str, Any]:
    """The fields that seal an older entry: whichever of its address and user agent is clear."""
    address, user_agent = entry.get(IP), entry.get(USER_AGENT)
    ip_index = entry.get(IP_BIDX)
    clear: dict[str, str | None] = {}
    if isinstance(address, str) and not is_sealed(address):
        clear[IP] = address
        ip_index = vault.index(IP, address)
    if isinstance(user_agent, str) and not is_sealed(user_agent):
        clear[USER_AGENT] = user_agent
    fields: dict[str, Any] = {SEALING: SEALED_BOTH}
    if clear and isinstance(ip_index, str):
        subject = _key_subject(ip_index, entry.get("user_id"))
        indexed = {IP: IP} if IP in clear else None
        fields.update(await vault.seal(subject, entry["_id"], clear, indexed=indexed))
    return fields


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
