"""The logs retention sweep with an injected clock: API request logs go after 30 days,
technical logs and order facts after 90, in batches; each sweep reports what it removed and
is announced (counts only); TTL indexes only where the server takes them."""

from __future__ import annotations

from datetime import timedelta

from contracts.retention import RetentionSwept
from logs.inventory import (
    API_REQUEST_RETENTION_DAYS,
    INVENTORY,
    ORDER_FACT_RETENTION_DAYS,
    TECHNICAL_LOG_RETENTION_DAYS,
)
from logs.order_facts import ORDER_FACTS
from logs.retention import RULES, RetentionJob, RetentionSweep, create_ttl_indexes
from logs.store import API_REQUESTS, TECHNICAL
from servicekit.settings import ServiceSettings
from support.logs_owner import LogsOwner, sample_ip
from support.privacy_standin import T0
from support.services import running
from support.waiting import eventually

MINUTE = timedelta(minutes=1)


def days(count: int) -> timedelta:
    """A retention period as a timedelta."""
    return timedelta(days=count)


async def test_each_rule_removes_only_what_outlived_it(harness: LogsOwner) -> None:
    """Records a minute past their rule go, records a minute short of it stay; the report
    counts what went, per inventory category."""
    api, tech, facts = (
        days(API_REQUEST_RETENTION_DAYS),
        days(TECHNICAL_LOG_RETENTION_DAYS),
        days(ORDER_FACT_RETENTION_DAYS),
    )
    ip = sample_ip()
    await harness.api_request(partner_id="ptn_s", ip=ip, user_agent="s", at=T0 - api - MINUTE)
    young_api = await harness.api_request(
        partner_id="ptn_s", ip=ip, user_agent="s", at=T0 - api + MINUTE
    )
    await harness.technical(at=T0 - tech - MINUTE, partner_id="ptn_s", ip=ip)
    young_tech = await harness.technical(at=T0 - api - MINUTE, partner_id="ptn_s", ip=ip)
    await harness.order_fact("ptn_s", at=T0 - facts - MINUTE)
    young_fact = await harness.order_fact("ptn_s", at=T0 - facts + MINUTE)

    report = await RetentionSweep(harness.db).sweep(T0)

    assert report.removed == {"api_request_logs": 1, "order_facts": 1, "technical_logs": 1}
    assert report.swept_at == T0
    assert await harness.ids(API_REQUESTS) == {young_api["_id"]}
    assert await harness.ids(TECHNICAL) == {young_tech["_id"]}
    assert await harness.ids(ORDER_FACTS) == {young_fact}


async def test_the_inventory_announces_the_periods_the_sweep_applies(harness: LogsOwner) -> None:
    """Each swept category's announced retention is the sweep's rule (one source)."""
    announced = {category.name: category.retention_days for category in INVENTORY}

    assert {str(rule.category): rule.days for rule in RULES} == {
        name: announced[name] for name in ("api_request_logs", "technical_logs", "order_facts")
    }
    assert announced["api_request_logs"] == 30
    assert announced["technical_logs"] == 90


async def test_a_sweep_deletes_in_batches_until_none_is_left(harness: LogsOwner) -> None:
    """With batches of two, five expired requests all go and are counted; a second sweep
    finds nothing."""
    expired = T0 - days(API_REQUEST_RETENTION_DAYS) - MINUTE
    for _ in range(5):
        await harness.api_request(partner_id="ptn_b", ip=sample_ip(), user_agent="b", at=expired)
    sweep = RetentionSweep(harness.db, batch_size=2)

    first, second = await sweep.sweep(T0), await sweep.sweep(T0)

    assert first.removed == {"api_request_logs": 5}
    assert second.removed == {}
    assert await harness.db[API_REQUESTS].count_documents({}) == 0


async def test_the_job_announces_each_sweep_once_per_interval(harness: LogsOwner) -> None:
    """The background job, at an injected time, sweeps and publishes `RetentionSwept` with
    service "logs"; a second run in the same interval is skipped."""
    expired = T0 - days(TECHNICAL_LOG_RETENTION_DAYS) - MINUTE
    await harness.technical(at=expired, partner_id="ptn_job", ip=sample_ip())
    job = RetentionJob(
        sweep=RetentionSweep(harness.db),
        bus=harness.service.bus,
        interval=timedelta(hours=6),
        first_delay=0,
    )

    report = await job.run_once(T0)
    again = await job.run_once(T0 + MINUTE)

    assert report is not None
    assert again is None

    async def announced() -> list[RetentionSwept]:
        return [e for e in harness.events if isinstance(e, RetentionSwept)]

    [event] = await eventually(announced, what="the sweep's announcement")
    assert (event.service, event.swept_at, event.removed) == ("logs", T0, {"technical_logs": 1})


async def test_ttl_indexes_are_made_only_where_the_server_takes_them(
    namespace: ServiceSettings,
) -> None:
    """With LOGS_TTL_INDEXES the service starts on any server; each collection the server
    took a TTL index for has one with its rule's period, and a refusing server has none."""
    harness = LogsOwner.build(namespace, logs_ttl_indexes=True)
    async with running(harness.caller, harness.service):
        taken = await create_ttl_indexes(harness.db)
        for rule in RULES:
            periods = [
                index.get("expireAfterSeconds")
                async for index in await harness.db[rule.collection].list_indexes()
            ]
            expected = rule.days * 24 * 3600 if taken[rule.collection] else None
            assert expected in periods, (rule.collection, periods)
            if not taken[rule.collection]:
                assert set(periods) == {None}
