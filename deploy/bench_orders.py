"""Orders per second end to end through the gateway, beside the bus ceiling of the same run.

`make bench` runs it. It starts accounts, provisioning and the gateway (with `--all-services`
also logs and privacy, which orders do not need) and the provider simulator at zero latency
and zero faults, as real processes in a bus namespace of their own, against RabbitMQ (started
if it is local and down) and an embedded store server (nx-27017 unless $STORE_SERVER says
ferretdb; $MONGO_URL if set). It seeds the catalogue, creates a partner with a balance for
every order and a key with `orders:write`, places a warm-up, then the counted orders:
`--concurrency` clients each sending `POST /v1/orders` (one eSIM, a new Idempotency-Key each)
until `--orders` have been answered. Latency is request sent → answer received, on the
client. Any answer but 201 `completed` is counted and shown, and makes the exit code 1.

Alongside: where an order's time goes (from the steps the order records and the client's
clock), the bus messages an order causes by type (from the services' own metrics, scraped
before and after), the CPU each process used, and the bus ceiling: one raw aio-pika round
and one servicekit round of `deploy/bench_bus.py`, measured while the platform is idle.
Progress goes to stderr; the report (or `--json`) to stdout. Everything started is stopped
and the namespace's queues, exchanges and databases are removed, also on failure or Ctrl-C.
Every process shares this machine, so other work running at the same time skews the numbers:
the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
from bench_bus import load_average
from bench_bus_rounds import broker_pid, process_cpu_seconds, raw_round, servicekit_round
from bench_orders_load import place_orders, say
from bench_orders_stats import (
    bus_traffic,
    difference,
    parse_metrics,
    render,
    summarize_orders,
)
from bench_partner import BenchPartner, create_partner
from devstack.net import free_port, redact_url
from devstack.rabbitmq import amqp_url_from_env, ensure_rabbitmq
from devstack.store_server import kind_from_env, start_store_server
from platform_procs import LocalPlatform, interrupts_as_errors

from servicekit.settings import ServiceSettings

DEFAULT_PACKAGE = "pkg_de_1gb_7d"
"""A package of the demo catalogue (provisioning's `seed-demo`)."""
ORDER_SERVICES = ("accounts", "provisioning", "gateway")
OTHER_SERVICES = ("logs", "privacy")
SEEDED = ("provisioning",)
"""Only the catalogue is needed; the partner is created through accounts like any other."""
REQUEST_TIMEOUT_S = 60.0
POOL_MARGIN = 1000
"""ICCIDs the simulator holds beyond one per order."""


@contextmanager
def store(data_dir: Path) -> Iterator[tuple[str, int | None, str]]:
    """$MONGO_URL, else an embedded store server of our own: URL, process id, description."""
    external = os.environ.get("MONGO_URL")
    if external:
        yield external, None, f"MONGO_URL={redact_url(external)}"
        return
    server = start_store_server(kind_from_env() or "nx", data_dir, free_port(), say=say)
    try:
        yield server.url, server.process.pid, server.describe()
    finally:
        server.stop()


def simulator_env(orders: int) -> dict[str, str]:
    """The provider simulator answers at once, never fails, and has an ICCID for every order."""
    return {
        "PROVIDERSIM_LATENCY_MIN_MS": "0",
        "PROVIDERSIM_LATENCY_MAX_MS": "0",
        "PROVIDERSIM_FAILURE_RATE": "0",
        "PROVIDERSIM_TIMEOUT_RATE": "0",
        "PROVIDERSIM_POOL_SIZE": str(orders + POOL_MARGIN),
    }


async def scrape(platform: LocalPlatform, names: tuple[str, ...]) -> list[str]:
    """The /metrics page of each named service."""
    async with aiohttp.ClientSession() as session:
        pages = []
        for name in names:
            async with session.get(f"{platform.url(name)}/metrics") as response:
                pages.append(await response.text())
        return pages


def cpu_now(pids: dict[str, int | None]) -> dict[str, float | None]:
    """CPU seconds each process has used so far (this process: "bench client")."""
    used = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
    return {**used, "bench client": time.process_time()}


def cpu_between(
    before: dict[str, float | None], after: dict[str, float | None]
) -> dict[str, float]:
    """CPU seconds used between two readings (processes that could not be read left out)."""
    return {
        name: round(value - start, 2)
        for name, value in after.items()
        if value is not None and (start := before.get(name)) is not None
    }


async def run_orders(
    platform: LocalPlatform, partner: BenchPartner, args: argparse.Namespace, pids: dict[str, Any]
) -> dict[str, Any]:
    """The warm-up, then the counted orders with the metrics and CPU read around them."""
    services = tuple(name for name in platform.processes if name != "providersim")
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(
        base_url=platform.url("gateway"),
        headers={"Authorization": f"Bearer {partner.key}"},
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
    ) as session:
        if args.warmup:
            say(f"warm-up: {args.warmup} orders")
            await place_orders(session, args.package, args.warmup, args.concurrency, "warm-up")
        say(f"counted: {args.orders} orders, {args.concurrency} concurrent clients")
        before, cpu_before = parse_metrics(await scrape(platform, services)), cpu_now(pids)
        samples, seconds = await place_orders(
            session, args.package, args.orders, args.concurrency, "orders"
        )
        cpu_after = cpu_now(pids)
        await asyncio.sleep(0.5)  # the last outcome events' other deliveries are acked by now
        after = parse_metrics(await scrape(platform, services))
    return {
        "orders": summarize_orders(samples, seconds),
        "bus": bus_traffic(difference(before, after), len(samples)),
        "cpu_seconds": cpu_between(cpu_before, cpu_after),
    }


def bus_ceiling(
    args: argparse.Namespace, mongo_url: str, store_pid: int | None, namespace: str
) -> dict[str, float]:
    """One raw aio-pika and one servicekit publish→consume round of bench_bus, in msg/s."""
    settings = ServiceSettings.model_validate(
        {
            "amqp_url": args.amqp_url,
            "mongo_url": mongo_url,
            "bus_namespace": f"{namespace}bus",
            "log_level": "warning",
            "log_format": "json",
        }
    )
    say(f"bus ceiling: a raw and a servicekit round of {args.bus_messages} messages")
    raw = raw_round(settings, args.bus_messages, store_pid)
    kit = servicekit_round(settings, args.bus_messages, store_pid)
    return {
        "raw_messages_per_second": round(raw.rate, 1),
        "servicekit_messages_per_second": round(kit.rate, 1),
    }


def bench(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Start everything, measure, stop everything; the result as a dict."""
    say(ensure_rabbitmq(args.amqp_url, say=say))
    load_before = load_average()
    with store(data_dir / "store") as (mongo_url, store_pid, described):
        say(f"store: {described}")
        services = ORDER_SERVICES + (OTHER_SERVICES if args.all_services else ())
        extra = {"LOG_LEVEL": args.log_level}
        (data_dir / "logs").mkdir()
        profiled = [args.profile] if args.profile else []
        with LocalPlatform(
            args.amqp_url, mongo_url, data_dir / "logs", extra_env=extra, profiled=profiled
        ) as platform:
            say(f"namespace {platform.namespace}: seeding, starting {', '.join(services)}")
            for service in SEEDED:
                platform.seed(service)
            platform.start(services, simulator_env=simulator_env(args.orders + args.warmup))
            platform.wait_ready()
            partner = asyncio.run(create_partner(platform, args.orders + args.warmup))
            pids: dict[str, int | None] = {
                **platform.pids(),
                "store": store_pid,
                "broker": broker_pid(),
            }
            result = asyncio.run(run_orders(platform, partner, args, pids))
            ceiling = bus_ceiling(args, mongo_url, store_pid, platform.namespace)
            namespace = platform.namespace
        if args.profile:
            result["profiled"] = args.profile
            result["profile"] = profile_text(platform.profile_path(args.profile), args.profile_top)
    per_order = result["bus"]["delivered_per_order"] or 1
    ceiling["orders_per_second_at_most"] = round(
        ceiling["servicekit_messages_per_second"] / per_order, 1
    )
    return {
        **result,
        "concurrency": args.concurrency,
        "warmup": args.warmup,
        "bus_ceiling": ceiling,
        "services": list(services),
        "namespace": namespace,
        "store": described,
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_average(),
    }


def profile_text(path: Path, top: int) -> str:
    """The `top` functions of a cProfile stats file by own time."""
    out = io.StringIO()
    pstats.Stats(str(path), stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=positive, default=2000, help="counted orders")
    parser.add_argument("--concurrency", type=positive, default=32, help="concurrent clients")
    parser.add_argument("--warmup", type=int, default=100, help="uncounted orders first")
    parser.add_argument("--bus-messages", type=positive, default=5000, help="per ceiling round")
    parser.add_argument("--package", default=DEFAULT_PACKAGE)
    parser.add_argument("--all-services", action="store_true", help="also logs and privacy")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--amqp-url", default=amqp_url_from_env())
    parser.add_argument(
        "--profile", choices=ORDER_SERVICES, help="run this service under cProfile (slows it)"
    )
    parser.add_argument("--profile-top", type=positive, default=30)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; 1 if any order did not complete with 201."""
    args = parse_args(argv)
    try:
        with (
            interrupts_as_errors(),
            tempfile.TemporaryDirectory(prefix="bench-orders-") as data_dir,
        ):
            result = bench(args, Path(data_dir))
    except KeyboardInterrupt:
        say("interrupted: everything started was stopped and its namespace removed")
        return 130
    print(json.dumps(result, indent=2) if args.json else render(result), flush=True)
    return 1 if result["orders"]["not_completed"] else 0


if __name__ == "__main__":
    sys.exit(main())
