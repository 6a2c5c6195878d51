"""Sign-in IP addresses and user agents at rest: sealed (the address with a blind index),
throttled and found by the index (also from an erasure-ledger entry that holds only the blind
index), and old entries with either in clear sealed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from accounts import login_ips, store
from contracts.erasure_ledger import ErasedIdentifier, ErasureReapplied, ReapplyErasure
from servicekit.clock import utcnow
from servicekit.ids import new_id
from servicekit.keyring import KEY_COLLECTION
from servicekit.messages import MessageContext
from support.accounts_owner import AccountsOwner, Business, Person
from support.privacy_standin import plaintext_hits
from support.services import fresh_namespace, running
from support.waiting import eventually

Heard = list[ErasureReapplied]


@pytest.fixture
async def reapplying(amqp_url: str, mongo_url: str) -> AsyncIterator[tuple[AccountsOwner, Heard]]:
    """Accounts and its stand-in privacy service, which also hears `ErasureReapplied`."""
    async with fresh_namespace(amqp_url, mongo_url, ["accounts", "privacy"]) as base:
        harness = AccountsOwner.build(base)
        heard: Heard = []

        async def on_answer(answer: ErasureReapplied, _context: MessageContext) -> None:
            heard.append(answer)

        harness.caller.router.on(ErasureReapplied, on_answer)
        async with running(harness.caller, harness.service):
            yield harness, heard


async def _reapply_by_ip_index(harness: AccountsOwner, heard: Heard, ip: str) -> dict[str, int]:
    """Send a ledger entry naming only the address's blind index; what was erased again."""
    command = ReapplyErasure(
        run_id=new_id("rap"),
        request_id=new_id("dsr"),
        identifiers=[ErasedIdentifier(kind="ip", index=harness.vault.index("ip", ip))],
        erased_at=utcnow(),
    )
    await harness.caller.bus.publish(command, to="accounts")

    async def answered() -> ErasureReapplied | None:
        return next((a for a in heard if a.run_id == command.run_id), None)

    answer = await eventually(answered, what="accounts answers the reapply")
    assert answer.succeeded, answer.error
    return {o.category: o.records for o in answer.outcomes if o.records}


async def test_the_stored_sign_in_holds_no_readable_address(harness: AccountsOwner) -> None:
    """A sign-in's address and user agent are stored as vault tokens beside the address's
    blind index, the throttle counts it under the blind index, and neither appears anywhere in
    the raw store; the history still shows both."""
    partner = await harness.partner(Business.sample())
    person = Person.sample()
    user = await harness.user(partner.id, person)
    await harness.login(person, password="wrong password, just once")
    ip_index = harness.vault.index("ip", person.ip)

    entries = await harness.db[store.LOGIN_HISTORY].find({"user_id": user.id}).to_list()
    assert len(entries) == 1
    assert login_ips.is_sealed(entries[0]["ip"])
    assert login_ips.is_sealed(entries[0]["user_agent"])
    assert entries[0]["ip_bidx"] == ip_index
    throttle = await harness.db[store.LOGIN_THROTTLE].find_one({"_id": f"ip:{ip_index}"})
    assert throttle is not None
    assert throttle["failures"] == 1
    await harness.outboxes_drained()
    assert plaintext_hits(await harness.everything(), [person.ip, person.user_agent]) == []
    opened = await login_ips.opened_sign_in(harness.vault, entries[0])
    assert opened == {"ip": person.ip, "user_agent": person.user_agent}


async def test_a_reapplied_erasure_with_only_the_address_index_deletes_the_sign_ins(
    reapplying: tuple[AccountsOwner, Heard],
) -> None:
    """A ledger entry holding only an IP address's blind index finds and deletes the sign-ins
    and the throttle entry of that address, and shreds the key of attempts by no known user;
    other addresses' sign-ins and the emails' throttle entries stay."""
    harness, heard = reapplying
    partner = await harness.partner(Business.sample())
    person, stranger, other = Person.sample(), Person.sample("Uma"), Person.sample("Otto")
    await harness.user(partner.id, person)
    await harness.user(partner.id, other)
    await harness.login(person)
    await harness.login(person, password="wrong password, just once")
    await harness.login(Person(**{**stranger.__dict__, "ip": person.ip}))  # an unknown email
    await harness.login(other)
    ip_index = harness.vault.index("ip", person.ip)
    unknown_key = login_ips.ip_subject(ip_index)
    assert await harness.db[KEY_COLLECTION].count_documents({"_id": unknown_key}) == 1

    erased = await _reapply_by_ip_index(harness, heard, person.ip)

    assert erased == {"login_history": 3, "sign_in_throttling": 1}
    history = harness.db[store.LOGIN_HISTORY]
    assert await history.count_documents({"ip_bidx": ip_index}) == 0
    other_index = harness.vault.index("ip", other.ip)
    assert await history.count_documents({"ip_bidx": other_index}) == 1
    throttled = await harness.db[store.LOGIN_THROTTLE].find({}).to_list()
    assert sorted(str(t["_id"]).partition(":")[0] for t in throttled) == ["email", "email"]
    assert await harness.db[KEY_COLLECTION].count_documents({"_id": unknown_key}) == 0


async def test_a_sign_in_stored_in_clear_is_sealed_and_then_found_by_the_index(
    reapplying: tuple[AccountsOwner, Heard],
) -> None:
    """Sign-ins written before sealing (address and user agent in clear) and before user agents
    were sealed (sealed address, clear user agent), and a throttle entry keyed by the clear
    address, are sealed (and re-keyed) by the start-up step, exactly once; a ledger entry with
    only the blind index then erases them."""
    harness, heard = reapplying
    address = Person.sample().ip
    at = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    legacy = {"at": at, "outcome": "refused", "reason": "unknown_email", "user_agent": "Old/1"}
    history = harness.db[store.LOGIN_HISTORY]
    await history.insert_many([{"_id": f"lgn_old{n}", **legacy, "ip": address} for n in (1, 2)])
    ip_index = harness.vault.index("ip", address)
    sealed_ip = await harness.vault.seal(
        login_ips.ip_subject(ip_index), "lgn_old3", {"ip": address}, indexed={"ip": "ip"}
    )
    await history.insert_one({"_id": "lgn_old3", **legacy, **sealed_ip})
    window = {"started_at": at}
    await harness.db[store.LOGIN_THROTTLE].insert_one(
        {"_id": f"ip:{address}", "failures": 2, "window": window}
    )

    assert await login_ips.seal_clear_sign_ins(harness.db, harness.vault) == 3
    assert await login_ips.seal_clear_sign_ins(harness.db, harness.vault) == 0

    sealed = await history.find({"ip_bidx": ip_index}).to_list()
    assert sorted(entry["_id"] for entry in sealed) == ["lgn_old1", "lgn_old2", "lgn_old3"]
    for entry in sealed:
        assert login_ips.is_sealed(entry["ip"])
        assert login_ips.is_sealed(entry["user_agent"])
        opened = await login_ips.opened_sign_in(harness.vault, entry)
        assert opened == {"ip": address, "user_agent": "Old/1"}
    assert plaintext_hits(await harness.everything(), [address, "Old/1"]) == []
    throttle = await harness.db[store.LOGIN_THROTTLE].find({}).to_list()
    assert [(t["_id"], t["failures"]) for t in throttle] == [(f"ip:{ip_index}", 2)]

    erased = await _reapply_by_ip_index(harness, heard, address)

    assert erased == {"login_history": 3, "sign_in_throttling": 1}
    assert await history.count_documents({}) == 0
