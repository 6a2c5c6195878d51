"""Retention sweeps with an injected clock: each record kept until its rule runs out and
removed after, closed partners erased two years after closure, the ledger seven years after,
and the sweep's report (counts only) announced by the service's background job."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from accounts.inventory import (
    CLOSED_ACCOUNT_RETENTION_DAYS,
    LOGIN_HISTORY_RETENTION_DAYS,
    TRANSACTION_RETENTION_DAYS,
    Category,
)
from accounts.retention import RUNS, RetentionJob, RetentionSweep
from contracts.privacy import InventoryAnnounced
from contracts.retention import RetentionSwept
from servicekit.keyring import KEY_COLLECTION
from servicekit.settings import ServiceSettings
from support.accounts_owner import AccountsOwner, Business, Person
from support.privacy_standin import plaintext_hits
from support.services import running
from support.waiting import eventually

MINUTE = timedelta(minutes=1)


def sweeper(harness: AccountsOwner) -> RetentionSweep:
    """The accounts sweep over the harness's database, to be run at any `now`."""
    return RetentionSweep.from_settings(harness.db, harness.vault, harness.settings)


async def latest(
    harness: AccountsOwner, collection: str, path: str, criteria: dict[str, Any] | None = None
) -> datetime:
    """The latest value of a date field (a dotted path) among the matching documents."""
    found = await harness.db[collection].find_one(criteria or {}, sort=[(path, -1)])
    assert found is not None
    value: Any = found
    for part in path.split("."):
        value = value[part]
    assert isinstance(value, datetime)
    return value


async def test_technical_records_are_kept_until_their_rule_runs_out(
    harness: AccountsOwner,
) -> None:
    """Throttle counters go once their window has passed, sessions once expired, API-key
    request ids after a day, the login history after 90 days, and not a minute before."""
    partner = await harness.partner(Business.sample())
    person, stranger = Person.sample(), Person.sample("Mallory")
    await harness.user(partner.id, person)
    await harness.login(stranger)  # an unknown email: counted per email and per address
    await harness.login(person)
    await harness.api_key(partner.id, "shop backend")
    throttled = await latest(harness, "login_throttle", "window.started_at")
    expires = await latest(harness, "sessions", "expires_at")
    requested = await latest(harness, "api_key_requests", "at")
    logged = await latest(harness, "login_history", "at")
    sweep = sweeper(harness)
    window = timedelta(minutes=harness.settings.login_failure_window_minutes)

    assert (await sweep.sweep(throttled + window - MINUTE)).removed == {}
    assert (await sweep.sweep(throttled + window + MINUTE)).removed == {"sign_in_throttling": 2}
    assert (await sweep.sweep(expires - MINUTE)).removed == {}
    assert (await sweep.sweep(expires + MINUTE)).removed == {"dashboard_sessions": 1}
    assert (await sweep.sweep(requested + timedelta(days=1) - MINUTE)).removed == {}
    assert (await sweep.sweep(requested + timedelta(days=1) + MINUTE)).removed == {
        "api_key_requests": 1
    }
    ninety_days = timedelta(days=LOGIN_HISTORY_RETENTION_DAYS)
    assert (await sweep.sweep(logged + ninety_days - MINUTE)).removed == {}
    assert (await sweep.sweep(logged + ninety_days + MINUTE)).removed == {"login_history": 2}
    assert await harness.db["users"].count_documents({}) == 1


async def test_a_closed_partner_is_erased_two_years_after_closure_its_ledger_after_seven(
    harness: AccountsOwner,
) -> None:
    """Two years after closure a partner's identity, people, billing profile and keys are
    erased (keys shredded, no plaintext left) but its ledger stays; seven years after the
    latest entry the ledger goes too, with the balance and the partner's stub. An open
    partner's ledger stays however old."""
    business, person = Business.sample(), Person.sample()
    closing = await harness.partner(business)
    staying = await harness.partner(Business.sample())
    contact = await harness.contact(closing.id, person)
    user = await harness.user(closing.id, Person.sample("Uma"))
    await harness.billing(closing.id)
    await harness.api_key(closing.id, "shop backend")
    for partner_id in (closing.id, staying.id):
        await harness.ledger(partner_id)
    await harness.close(closing.id)
    closed_at = await latest(harness, "partners", "closure.at", {"_id": closing.id})
    two_years = closed_at + timedelta(days=CLOSED_ACCOUNT_RETENTION_DAYS)
    sweep = sweeper(harness)

    early = await sweep.sweep(two_years - MINUTE)
    assert early.partners_erased == 0
    assert await harness.db["contacts"].count_documents({"_id": contact.id}) == 1

    due = await sweep.sweep(two_years + MINUTE)

    assert due.partners_erased == 1
    assert due.removed == {
        "api_keys": 1,
        "billing_profile": 1,
        "contact_people": 1,
        "dashboard_users": 1,
        "partner_identity": 1,
    }
    for subject_id in (closing.id, contact.id, user.id):
        assert await harness.db[KEY_COLLECTION].count_documents({"_id": subject_id}) == 0
    await harness.outboxes_drained()
    values = [*business.values(), *person.values()]
    assert plaintext_hits(await harness.everything(), values) == []
    assert await harness.db["ledger"].count_documents({"partner_id": closing.id}) == 2
    assert (await sweep.sweep(two_years + 2 * MINUTE)).removed == {}

    last_entry = await latest(harness, "ledger", "created_at")
    seven_years = last_entry + timedelta(days=TRANSACTION_RETENTION_DAYS)
    assert (await sweep.sweep(seven_years - MINUTE)).removed == {}
    assert (await sweep.sweep(seven_years + MINUTE)).removed == {"balance_ledger": 2}
    assert await harness.db["ledger"].count_documents({"partner_id": staying.id}) == 2
    assert await harness.db["partners"].count_documents({"_id": closing.id}) == 0
    assert await harness.db["balances"].count_documents({"_id": closing.id}) == 0
    assert await harness.db["partners"].count_documents({"_id": staying.id}) == 1


async def test_the_service_sweeps_soon_after_start_and_announces_counts_only(
    sweeping: ServiceSettings,
) -> None:
    """Shortly after start the service sweeps on its own and announces the counts (no
    personal data) as `privacy.retention_swept.v1`; a second sweep in the same interval is
    left to whoever claimed it, the next interval sweeps again."""
    harness = AccountsOwner.build(sweeping, retention_sweep_first_delay_seconds=0.2)
    old = datetime.now(UTC) - timedelta(days=LOGIN_HISTORY_RETENTION_DAYS + 10)
    ip, agent = "203.0.113.250", "AncientBrowser/1.0"
    old_attempt = {"_id": "lgn_old", "at": old, "outcome": "refused", "ip": ip, "user_agent": agent}
    await harness.db["login_history"].insert_one(old_attempt)

    async with running(harness.caller, harness.service):

        async def announced() -> list[RetentionSwept]:
            return [e for e in harness.events if isinstance(e, RetentionSwept)]

        [event] = await eventually(announced, what="the retention report")
        assert event.service == "accounts"
        assert event.removed == {"login_history": 1}
        assert ip not in event.model_dump_json()
        assert agent not in event.model_dump_json()
        assert await harness.db["login_history"].count_documents({}) == 0
        assert await harness.db[RUNS].count_documents({}) == 1

        job = RetentionJob(
            sweep=sweeper(harness),
            bus=harness.service.bus,
            interval=timedelta(hours=6),
            first_delay=0,
        )
        assert await job.run_once(event.swept_at) is None
        later = await job.run_once(event.swept_at + timedelta(hours=6))
        assert later is not None
        assert later.removed == {}


async def test_the_inventory_announced_at_start_states_each_rule_the_sweep_applies(
    harness: AccountsOwner,
) -> None:
    """Accounts announces every category it holds, each with purpose, legal basis and
    retention; the days are the ones the sweep applies."""

    async def heard() -> list[InventoryAnnounced]:
        return [e for e in harness.events if isinstance(e, InventoryAnnounced)]

    [inventory] = await eventually(heard, what="the inventory")
    categories = {category.name: category for category in inventory.categories}
    assert set(categories) == {category.value for category in Category}
    assert all(c.purpose and c.retention and c.actions for c in categories.values())
    expected = {
        "partner_identity": ("contract", CLOSED_ACCOUNT_RETENTION_DAYS),
        "contact_people": ("contract", CLOSED_ACCOUNT_RETENTION_DAYS),
        "dashboard_users": ("contract", CLOSED_ACCOUNT_RETENTION_DAYS),
        "login_history": ("legitimate_interests", 90),
        "balance_ledger": ("legal_obligation", TRANSACTION_RETENTION_DAYS),
    }
    for name, (basis, days) in expected.items():
        assert (categories[name].legal_basis, categories[name].retention_days) == (basis, days)
    assert CLOSED_ACCOUNT_RETENTION_DAYS >= 2 * 365 + 1
    assert TRANSACTION_RETENTION_DAYS >= 7 * 365 + 2


async def test_a_sweep_runs_on_demand_from_the_command_line(harness: AccountsOwner) -> None:
    """`python -m accounts.retention` sweeps the accounts database once and prints the
    counts as JSON."""
    old = datetime.now(UTC) - timedelta(days=LOGIN_HISTORY_RETENTION_DAYS + 1)
    await harness.db["login_history"].insert_one({"_id": "lgn_cli", "at": old, "ip": "192.0.2.1"})
    settings = harness.settings
    env = {
        **os.environ,
        "MONGO_URL": settings.mongo_url,
        "AMQP_URL": settings.amqp_url,
        "BUS_NAMESPACE": settings.bus_namespace,
        "MASTER_KEYS": settings.master_keys.get_secret_value(),
        "BLIND_INDEX_KEY": settings.blind_index_key.get_secret_value(),
        "API_KEY_PEPPER": settings.api_key_pepper.get_secret_value(),
        "LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "accounts.retention",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    report = json.loads(stdout)
    assert report["removed"] == {"login_history": 1}
    assert await harness.db["login_history"].count_documents({"_id": "lgn_cli"}) == 0
