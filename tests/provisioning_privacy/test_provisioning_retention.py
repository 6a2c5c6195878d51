"""Provisioning's retention sweep with an injected clock: technical logs kept until their
90 days run out and removed after; orders, top-ups and eSIMs kept 7 years and then removed
with their keys shredded; each sweep announced (counts only)."""

from __future__ import annotations

from datetime import timedelta

from contracts.retention import RetentionSwept
from provisioning.callbacks import CALLBACKS
from provisioning.inventory import (
    CALLBACK_RETENTION_DAYS,
    DELIVERY_LOG_RETENTION_DAYS,
    TRANSACTION_RETENTION_DAYS,
)
from provisioning.retention import RetentionJob, RetentionSweep
from provisioning.store import ESIMS, ORDERS
from provisioning.webhook_store import ATTEMPTS, DELIVERIES
from servicekit.clock import utcnow
from servicekit.outbox import PENDING
from servicekit.settings import ServiceSettings
from support.provisioning_owner import EndUser, ProvisioningOwner
from support.services import running
from support.waiting import eventually

MINUTE = timedelta(minutes=1)


async def logs_of(harness: ProvisioningOwner, user: EndUser) -> None:
    """An order, a callback, a delivery and an attempt about the user, made now."""
    await harness.order(user)
    await harness.callback(user.iccid)
    [delivery] = await harness.completed(user)
    await harness.attempt(delivery, user.partner_id)


async def test_technical_logs_go_when_their_90_days_run_out(harness: ProvisioningOwner) -> None:
    """Deliveries, attempts and callbacks stay a minute before 90 days and go a minute
    after; the order (a transaction record) stays; the report counts what went."""
    user = EndUser.sample("ptn_sweep")
    await harness.endpoint(user.partner_id)
    start = utcnow()
    await logs_of(harness, user)
    end = utcnow()
    sweep = RetentionSweep(harness.db, harness.vault)
    assert DELIVERY_LOG_RETENTION_DAYS == CALLBACK_RETENTION_DAYS == 90
    rule = timedelta(days=90)

    early = await sweep.sweep(start + rule - MINUTE)
    late = await sweep.sweep(end + rule + MINUTE)

    assert early.removed == {}
    assert late.removed == {"provider_callbacks": 1, "webhook_attempts": 1, "webhook_deliveries": 1}
    for name in (CALLBACKS, DELIVERIES, ATTEMPTS):
        assert await harness.db[name].count_documents({}) == 0, name
    assert await harness.ids(ORDERS) == {user.order_id}


async def test_transaction_records_go_when_their_7_years_run_out(
    harness: ProvisioningOwner,
) -> None:
    """An order, its top-up and its eSIM created 7 years and a minute before the sweep are
    deleted and the order's key shredded; records a minute short of 7 years stay."""
    rule = timedelta(days=TRANSACTION_RETENTION_DAYS)
    now = utcnow()
    old, young = EndUser.sample("ptn_old"), EndUser.sample("ptn_old")
    await harness.order(old, at=now - rule - MINUTE)
    await harness.topup(old, at=now - rule - MINUTE)
    await harness.order(young, at=now - rule + MINUTE)
    young_topup = await harness.topup(young, at=now - rule + MINUTE)
    token = await harness.sealed_email(old)

    report = await RetentionSweep(harness.db, harness.vault).sweep(now)

    assert report.removed == {"esim_profiles": 1, "orders": 1, "topups": 1}
    assert await harness.ids(ORDERS) == {young.order_id, young_topup}
    assert await harness.ids(ESIMS) == {young.iccid}
    assert await harness.opens(old.order_id, "email", token) is None
    assert await harness.opens(young.order_id, "email", await harness.sealed_email(young)) == (
        young.email
    )


async def test_without_keys_transaction_records_are_not_swept(harness: ProvisioningOwner) -> None:
    """A sweep without a vault (no keys configured) leaves old orders, whose keys it could
    not shred, for a sweep that can."""
    old = EndUser.sample("ptn_old_nokeys")
    await harness.order(old, at=utcnow() - timedelta(days=TRANSACTION_RETENTION_DAYS + 1))

    report = await RetentionSweep(harness.db).sweep(utcnow())

    assert report.removed == {}
    assert await harness.ids(ORDERS) == {old.order_id}


async def test_a_callback_waits_for_its_event_to_be_published(harness: ProvisioningOwner) -> None:
    """An old callback whose event is not yet published is kept until it is."""
    callback_id = await harness.callback(EndUser.sample("ptn_unpublished").iccid)
    await harness.db[CALLBACKS].update_one({"_id": callback_id}, {"$set": {PENDING: 1}})
    later = utcnow() + timedelta(days=CALLBACK_RETENTION_DAYS) + MINUTE

    report = await RetentionSweep(harness.db, harness.vault).sweep(later)

    assert report.removed == {}
    assert await harness.ids(CALLBACKS) == {callback_id}


async def test_one_replica_sweeps_each_interval_and_announces_counts(
    harness: ProvisioningOwner,
) -> None:
    """The job sweeps once per interval and publishes `RetentionSwept` for provisioning,
    with counts and no identifiers."""
    user = EndUser.sample("ptn_job")
    await harness.endpoint(user.partner_id)
    await logs_of(harness, user)
    job = RetentionJob(
        sweep=RetentionSweep(harness.db, harness.vault),
        bus=harness.service.bus,
        interval=timedelta(hours=6),
        first_delay=0,
    )
    later = utcnow() + timedelta(days=91)

    first = await job.run_once(later)
    again = await job.run_once(later + MINUTE)

    assert first is not None
    assert again is None

    async def announced() -> RetentionSwept | None:
        swept = [e for e in harness.events if isinstance(e, RetentionSwept)]
        return swept[0] if swept else None

    event = await eventually(announced, what="the sweep announced")
    assert event.service == "provisioning"
    assert event.removed == first.removed
    assert user.iccid not in event.model_dump_json()
    assert user.partner_id not in repr(event)


async def test_the_service_sweeps_in_the_background(namespace: ServiceSettings) -> None:
    """Provisioning built by `create_service` runs its first sweep after the configured
    delay and announces it."""
    harness = ProvisioningOwner.build(namespace, retention_sweep_first_delay_seconds=0)
    async with running(harness.caller, harness.service):

        async def announced() -> RetentionSwept | None:
            swept = [e for e in harness.events if isinstance(e, RetentionSwept)]
            return swept[0] if swept else None

        event = await eventually(announced, what="the background sweep announced")

    assert event.service == "provisioning"
    assert event.removed == {}
