"""Log ingest through the bus into the store, beside a raw `insert_many` of the same documents.

`make bench` runs it after the order benchmark. In one run, against RabbitMQ (started if it is
local and down) and one store server (nx-27017 unless $STORE_SERVER says ferretdb; $MONGO_URL
if set), in a bus namespace and databases of its own, removed at the end:

- through the bus: the REAL logs service (`logs.app.create_service`, its whole lifecycle,
  in this process) consumes batches of up to 500 API request records
  (`gateway.api_requests_logged.v1`, as the gateway ships them) and of technical records
  (`logs.technical_records.v1`, as every service's shipper does), a realistic mix with IP
  addresses, user agents and emails, so sealing happens. The batches are built (the
  producers' work) before the clock starts; the clock runs from the first publish until the
  logs service has handled every batch, that is stored every record.
- raw, right after, while the service idles: the same records as the documents the logs
  service builds, inserted with one unordered `insert_many` per collection into another
  database of the same server, with the same indexes: once plain (personal fields in clear,
  no blind indexes) and once sealed (sealed beforehand, so only the insert is timed; sealing's
  own time is shown beside). Each raw database is dropped after its insert.

`--rounds` (3) repeats both; the rates are the medians, the ratio the median of each round's
own ratio: the machine is shared, and a round slowed by other work then compares with itself.

The goal: ingest through the bus at 0.6 of the raw sealed rate or better (same documents).
A warm-up goes through the bus first, uncounted: a record of every subject the work names
(each partner, each IP, each person), so their keys exist as in a running system where most
subjects were seen before; connections are warm too. Progress goes to stderr; the report (or
`--json`) to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from statistics import median
from typing import Any

import aio_pika
from aiohttp import web
from bench_bus import load_average
from devstack.net import free_port, redact_url
from devstack.rabbitmq import amqp_url_from_env, ensure_rabbitmq
from devstack.store_server import kind_from_env, start_store_server
from pymongo import AsyncMongoClient

from contracts.gateway import ApiRequestRecord, ApiRequestsLogged
from contracts.logs import MAX_RECORDS_PER_BATCH, TechnicalRecord, TechnicalRecordsShipped
from logs import store as logs_store
from logs.app import NAME as LOGS
from logs.app import create_service
from logs.handlers import LogWriter, api_request_documents, technical_documents
from logs.settings import LogsSettings
from servicekit.bus import Bus
from servicekit.clock import utcnow
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.ids import new_id
from servicekit.logging import configure_logging
from servicekit.messages import Outgoing
from servicekit.metrics import MESSAGES_CONSUMED
from servicekit.topology import Topology, delete_namespace
from servicekit.vault import Vault

GOAL = 0.6
"""Ingest through the bus at this fraction of the raw sealed `insert_many` rate, or better."""
PRODUCER = "benchlogs"
RAW = "lograw"
DEADLINE_S = 600.0
POLL_S = 0.02
PARTNERS = 20
IPS = 400
AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) partner-integration/4.2",
    "python-requests/2.32.3",
    "curl/8.5.0",
    "okhttp/4.12.0",
    "Go-http-client/2.0",
)
ROUTES = (
    ("POST", "/v1/orders", 201),
    ("GET", "/v1/orders/{id}", 200),
    ("GET", "/v1/packages", 200),
    ("GET", "/v1/esims/{iccid}", 200),
    ("POST", "/v1/topups", 201),
    ("GET", "/v1/usage", 200),
)
Batch = ApiRequestsLogged | TechnicalRecordsShipped


def say(message: str) -> None:
    """Progress, on stderr (stdout is the report)."""
    print(message, file=sys.stderr, flush=True)


def ip_of(n: int) -> str:
    """The n-th address of the documentation ranges (IPv4, some IPv6)."""
    if n % 5 == 0:
        return f"2001:db8::{n:x}"
    return f"{198 + n % 2}.51.{100 + n % 13}.{n % 250 + 1}"


def api_record(rng: random.Random) -> ApiRequestRecord:
    """An API request as the gateway records it: mostly authenticated, some 401s."""
    method, route, status = rng.choice(ROUTES)
    known = rng.random() < 0.9
    partner = f"ptn_bench{rng.randrange(PARTNERS):03d}"
    return ApiRequestRecord(
        request_id=new_id("req"),
        partner_id=partner if known else None,
        key_id=f"key_{partner}" if known else None,
        method=method,
        route=route,
        path=route.replace("{id}", new_id("ord")).replace("{iccid}", "8944500102030405067"),
        status=status if known else 401,
        duration_ms=round(rng.uniform(0.5, 80), 3),
        ip=ip_of(rng.randrange(IPS)),
        user_agent=rng.choice(AGENTS),
        received_at=utcnow(),
        request_bytes=rng.randrange(0, 2000) if method == "POST" else None,
        response_bytes=rng.randrange(100, 8000),
    )


def technical_record(rng: random.Random) -> TechnicalRecord:
    """A technical record as a service ships it: most plain, some about a partner or a user
    (with email and IP)."""
    roll = rng.random()
    common: dict[str, Any] = {
        "at": utcnow(),
        "service": rng.choice(("accounts", "provisioning", "gateway", "privacy")),
        "level": "warning" if roll > 0.95 else "info",
        "correlation_id": new_id("cor"),
        "fields": {"attempt": rng.randrange(1, 4), "elapsed_ms": round(rng.uniform(0, 50), 2)},
    }
    if roll < 0.1:
        return sign_in(common, rng.randrange(IPS), rng)
    if roll < 0.3:
        partner = f"ptn_bench{rng.randrange(PARTNERS):03d}"
        return TechnicalRecord(**common, event="order_debited", partner_id=partner)
    return TechnicalRecord(
        **common, event="message_handled", message_type="provisioning.order_requested.v1"
    )


def sign_in(common: dict[str, Any], n: int, rng: random.Random) -> TechnicalRecord:
    """A dashboard sign-in of the n-th person: email, IP, user agent, a user id for half."""
    user = {"user_id": f"usr_bench{n:04d}"} if n % 2 else {}
    return TechnicalRecord(
        **common,
        event="dashboard_sign_in",
        email=f"user{n}@example.com",
        ip=ip_of(n),
        user_agent=rng.choice(AGENTS),
        **user,
    )


def warmup_batches() -> list[Batch]:
    """A record of every subject the work can name (each partner, each IP unauthenticated,
    each person signing in), so that their keys exist as in a running system."""
    rng = random.Random(0)
    partners = [
        api_record(rng).model_copy(update={"partner_id": f"ptn_bench{n:03d}"})
        for n in range(PARTNERS)
    ]
    anonymous = {"partner_id": None, "key_id": None, "status": 401}
    unknown = [api_record(rng).model_copy(update={**anonymous, "ip": ip_of(n)}) for n in range(IPS)]
    common: dict[str, Any] = {"at": utcnow(), "service": "accounts", "level": "info"}
    people = [sign_in(common, n, rng) for n in range(IPS)]
    api = [*partners, *unknown]
    return [
        *(ApiRequestsLogged(records=api[n : n + MAX_RECORDS_PER_BATCH]) for n in _starts(api)),
        *(
            TechnicalRecordsShipped(records=people[n : n + MAX_RECORDS_PER_BATCH])
            for n in _starts(people)
        ),
    ]


def _starts(records: list[Any]) -> range:
    return range(0, len(records), MAX_RECORDS_PER_BATCH)


def batches(api: int, technical: int, seed: int) -> list[Batch]:
    """The records in batches of up to 500, API and technical batches interleaved."""
    rng = random.Random(seed)
    api_batches: list[Batch] = [
        ApiRequestsLogged(records=[api_record(rng) for _ in range(size)]) for size in _sizes(api)
    ]
    technical_batches: list[Batch] = [
        TechnicalRecordsShipped(records=[technical_record(rng) for _ in range(size)])
        for size in _sizes(technical)
    ]
    mixed: list[Batch] = []
    for n in range(max(len(api_batches), len(technical_batches))):
        mixed.extend(api_batches[n : n + 1] + technical_batches[n : n + 1])
    return mixed


def _sizes(total: int) -> list[int]:
    full, rest = divmod(total, MAX_RECORDS_PER_BATCH)
    return [MAX_RECORDS_PER_BATCH] * full + ([rest] if rest else [])


def documents_of(batch: Batch) -> tuple[str, list[dict[str, Any]]]:
    """The collection and documents the logs service builds from a batch (not sealed)."""
    message_id = new_id("msg")
    if isinstance(batch, ApiRequestsLogged):
        return logs_store.API_REQUESTS, api_request_documents(batch, message_id)
    return logs_store.TECHNICAL, technical_documents(batch, message_id)


def handled_now() -> float:
    """Batches of both kinds the logs service in this process has handled (stored). Reads only
    its counter: the whole registry would read /proc at every poll, CPU the service needs."""
    types = {ApiRequestsLogged.TYPE, TechnicalRecordsShipped.TYPE}
    return sum(
        sample.value
        for metric in MESSAGES_CONSUMED.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
        and sample.labels.get("service") == LOGS
        and sample.labels.get("type") in types
        and sample.labels.get("outcome") == "handled"
    )


@asynccontextmanager
async def logs_service(settings: LogsSettings) -> AsyncIterator[None]:
    """The real logs service, its whole lifecycle, in this process."""
    runner = web.AppRunner(create_service(settings).http_app())
    await runner.setup()
    try:
        yield
    finally:
        await runner.cleanup()


async def rounds_of(
    settings: LogsSettings, work: list[Batch], warmup: list[Batch], rounds: int
) -> list[dict[str, float]]:
    """Seconds of each round: the work through the bus (from the first publish until the logs
    service handled every batch), then the raw inserts of the same records."""
    bus = Bus(url=settings.amqp_url, topology=Topology(settings.bus_namespace), service=PRODUCER)
    await bus.connect()
    try:
        async with logs_service(settings):
            await publish_and_wait(bus, [bus.outgoing(b, correlation_id="warmup") for b in warmup])
            measured = []
            for number in range(1, rounds + 1):
                outgoing = [bus.outgoing(b, correlation_id=new_id("cor")) for b in work]
                say(f"round {number}/{rounds}: {len(outgoing)} batches through the bus")
                through_bus = await publish_and_wait(bus, outgoing)
                measured.append({"through_bus": through_bus, **await raw_inserts(settings, work)})
            return measured
    finally:
        await bus.close()


async def publish_and_wait(bus: Bus, outgoing: list[Outgoing]) -> float:
    """Publish, then wait (bounded) until as many more batches were handled; the seconds."""
    target = handled_now() + len(outgoing)
    started = time.perf_counter()
    await bus.publish_many(outgoing)
    while handled_now() < target:
        if time.perf_counter() - started > DEADLINE_S:
            raise TimeoutError(f"{target - handled_now():.0f} batches not stored in {DEADLINE_S}s")
        await asyncio.sleep(POLL_S)
    return time.perf_counter() - started


async def raw_inserts(settings: LogsSettings, work: list[Batch]) -> dict[str, float]:
    """Seconds of a raw plain and a raw sealed `insert_many` of the work's documents, and of
    sealing them, into a database with the logs service's indexes."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    try:
        timings: dict[str, float] = {}
        for variant in ("plain", "sealed"):
            db = client[settings.database_name(f"{RAW}_{variant}")]
            await logs_store.create_indexes(db)
            by_collection = _documents_by_collection(work)
            if variant == "sealed":
                encryption = settings.encryption()
                assert encryption is not None
                writer = LogWriter(db, Vault.from_settings(db, encryption))
                started = time.perf_counter()
                for documents in by_collection.values():
                    await writer.seal(documents)
                timings["sealing"] = time.perf_counter() - started
            say(f"raw {variant}: insert_many of {sum(map(len, by_collection.values()))} documents")
            started = time.perf_counter()
            for collection, documents in by_collection.items():
                await db[collection].insert_many(documents, ordered=False)
            timings[variant] = time.perf_counter() - started
            await client.drop_database(db.name)
        return timings
    finally:
        await client.close()


def _documents_by_collection(work: list[Batch]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for batch in work:
        collection, documents = documents_of(batch)
        grouped.setdefault(collection, []).extend(documents)
    return grouped


async def stored_counts(settings: LogsSettings) -> dict[str, int]:
    """Documents in each collection of the logs service's database."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    try:
        db = client[settings.database_name(LOGS)]
        return {c: await db[c].count_documents({}) for c in logs_store.INDEXES}
    finally:
        await client.close()


async def remove_namespace(settings: LogsSettings) -> None:
    """Delete the run's queues, exchanges and databases."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        services = [LOGS, PRODUCER]
        topology = Topology(settings.bus_namespace)
        await delete_namespace(channel, topology, services, settings.retry_delays_ms)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    try:
        for name in (LOGS, PRODUCER, f"{RAW}_plain", f"{RAW}_sealed"):
            await client.drop_database(settings.database_name(name))
    finally:
        await client.close()


def logs_settings(amqp_url: str, mongo_url: str, prefetch: int) -> LogsSettings:
    """Settings of a fresh namespace; the service ships no records of its own below errors."""
    signing = {"receipt_signing_key": base64.b64encode(secrets.token_bytes(32)).decode()}
    return LogsSettings.model_validate(
        {
            **(signing if "receipt_signing_key" in LogsSettings.model_fields else {}),
            "amqp_url": amqp_url,
            "mongo_url": mongo_url,
            "bus_namespace": f"benchlogs{new_id('n')[-8:]}".lower(),
            "master_keys": LocalMasterKeys.generate(),
            "blind_index_key": BlindIndex.generate_key(),
            "log_level": "warning",
            "log_format": "json",
            "log_ship_level": "error",
            "prefetch": prefetch,
        }
    )


async def measure(args: argparse.Namespace, mongo_url: str) -> dict[str, Any]:
    """Every round in one namespace, removed at the end."""
    settings = logs_settings(args.amqp_url, mongo_url, args.prefetch)
    say(f"building {args.api_records} API and {args.technical_records} technical records")
    work = batches(args.api_records, args.technical_records, args.seed)
    warmup = warmup_batches()
    try:
        measured = await rounds_of(settings, work, warmup, args.rounds)
        counts = await stored_counts(settings)
    finally:
        await remove_namespace(settings)
    return {
        **rates(args.api_records + args.technical_records, measured),
        "stored": counts,
        "stored_expected": expected_counts([*warmup, *work * args.rounds]),
        "warmup_records": expected_counts(warmup),
        "prefetch": settings.prefetch,
        "namespace": settings.bus_namespace,
    }


def expected_counts(sent: list[Batch]) -> dict[str, int]:
    """The documents each collection should hold once every batch sent was stored."""
    expected = dict.fromkeys(logs_store.INDEXES, 0)
    for batch in sent:
        collection = (
            logs_store.API_REQUESTS
            if isinstance(batch, ApiRequestsLogged)
            else logs_store.TECHNICAL
        )
        expected[collection] += len(batch.records)
    return expected


def rates(records: int, measured: list[dict[str, float]]) -> dict[str, Any]:
    """The report's rates (records per second, the median of the rounds) and ratios (the
    median of each round's own ratio, so that a round slowed by other work compares with
    itself)."""
    per_round = [{k: records / v for k, v in seconds.items()} for seconds in measured]
    ratio = round(median(r["through_bus"] / r["sealed"] for r in per_round), 3)
    return {
        "records": records,
        "rounds": len(measured),
        "through_bus_records_per_second": _median_of(per_round, "through_bus"),
        "raw_sealed_records_per_second": _median_of(per_round, "sealed"),
        "raw_plain_records_per_second": _median_of(per_round, "plain"),
        "sealing_records_per_second": _median_of(per_round, "sealing"),
        "ratio_to_raw_sealed": ratio,
        "ratio_to_raw_plain": round(median(r["through_bus"] / r["plain"] for r in per_round), 3),
        "ratios_to_raw_sealed": [round(r["through_bus"] / r["sealed"], 3) for r in per_round],
        "goal": GOAL,
        "goal_met": ratio >= GOAL,
        "seconds": [{k: round(v, 3) for k, v in seconds.items()} for seconds in measured],
    }


def _median_of(per_round: list[dict[str, float]], key: str) -> float:
    return round(median(r[key] for r in per_round), 1)


def render(result: dict[str, Any]) -> str:
    """The human-readable report."""
    met = "met" if result["goal_met"] else "NOT met"
    return "\n".join(
        [
            f"log ingest: {result['records']} records a round, median of {result['rounds']}"
            f" rounds ({result['store']})",
            f"  stored {result['stored']} of {result['stored_expected']} (with the warm-up)",
            f"  through the bus into the store  {result['through_bus_records_per_second']:>10}/s",
            f"  raw insert_many, sealed docs    {result['raw_sealed_records_per_second']:>10}/s",
            f"  raw insert_many, plain docs     {result['raw_plain_records_per_second']:>10}/s",
            f"  sealing alone (one process)     {result['sealing_records_per_second']:>10}/s",
            f"  ratio to raw sealed {result['ratio_to_raw_sealed']}"
            f" (to raw plain {result['ratio_to_raw_plain']}; rounds"
            f" {result['ratios_to_raw_sealed']});"
            f" goal {result['goal']} of raw or better: {met}",
            f"  {result['cores']} cores, load average {result['load_before']} before,"
            f" {result['load_after']} after (other work on the machine skews the numbers)",
        ]
    )


@contextmanager
def store_server(data_dir: Path) -> Iterator[tuple[str, str]]:
    """$MONGO_URL, else an embedded store server of our own: its URL and a description."""
    external = os.environ.get("MONGO_URL")
    if external:
        yield external, f"MONGO_URL={redact_url(external)}"
        return
    server = start_store_server(kind_from_env() or "nx", data_dir, free_port(), say=say)
    try:
        yield server.url, server.describe()
    finally:
        server.stop()


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Start what is needed, measure, stop it; the result as a dict."""
    configure_logging("bench", "warning", "json", stream=sys.stderr)
    say(ensure_rabbitmq(args.amqp_url, say=say))
    with (
        tempfile.TemporaryDirectory(prefix="bench-logs-") as data_dir,
        store_server(Path(data_dir)) as (mongo_url, described),
    ):
        say(f"store: {described}")
        load_before = load_average()
        result = asyncio.run(measure(args, mongo_url))
    return {
        **result,
        "store": described,
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_average(),
    }


def count(text: str) -> int:
    """An argparse type: an integer of at least 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--api-records", type=count, default=10_000, help="a round")
    parser.add_argument("--technical-records", type=count, default=10_000, help="a round")
    parser.add_argument("--rounds", type=positive, default=3, help="bus and raw, alternated")
    parser.add_argument("--prefetch", type=int, default=32, help="the logs service's prefetch")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--amqp-url", default=amqp_url_from_env())
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; 1 if a record was not stored."""
    args = parse_args(argv)
    if args.api_records + args.technical_records == 0:
        say("nothing to measure: give --api-records or --technical-records")
        return 2
    result = bench(args)
    print(json.dumps(result, indent=2) if args.json else render(result), flush=True)
    return 0 if result["stored"] == result["stored_expected"] else 1


if __name__ == "__main__":
    sys.exit(main())
