"""Authenticated `GET /v1/packages` through the gateway against a bare aiohttp handler, same run.

`make bench` runs it after the erasure benchmark. It starts accounts (which verifies API
keys), provisioning (which holds the catalogue) and the gateway (with `--all-services` also
logs and privacy), and the provider simulator, as real processes in a bus namespace of their
own, against RabbitMQ (started if it is local and down) and an embedded store server
(nx-27017 unless $STORE_SERVER says ferretdb; $MONGO_URL if set). It seeds the demo catalogue
and creates a partner with an API key as `bench_orders` does. The gateway's per-key rate limit
is set far above any rate reached here: the limiter runs on every request but refuses none.

Then each side in turn: a load generator in a process of its own (so its CPU is not spent
inside the measured server's process) opens `--concurrency` keep-alive connections, sends
`GET /v1/packages` for `--warmup` seconds uncounted, then for `--seconds` counted, timing
every request from sending it to reading the whole body. First through the gateway, with the
partner's key; then, with the platform idle, against a bare aiohttp app in a process of its
own that answers the very body the gateway answered (fetched once) with the same content type.
Any answer but 200, or none, counts as an error and makes the exit code 1; missing the goal
(the gateway at 0.5 of the bare rate or better) does not.

Progress goes to stderr, the report (or `--json`) to stdout. Everything started is stopped
and the namespace's queues, exchanges and databases are removed, also on failure or Ctrl-C.
Every process shares this machine, so other work running at the same time skews the numbers:
the core count and load average are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from bench_bus import load_average
from bench_bus_rounds import broker_pid, expect, process_cpu_seconds
from bench_gateway_stats import Tally, compare, render, summarize_side
from bench_orders import cpu_between, positive, profile_text, simulator_env, store
from bench_orders_load import say
from bench_partner import create_partner
from devstack.net import free_port
from devstack.rabbitmq import amqp_url_from_env, ensure_rabbitmq
from platform_procs import LocalPlatform, PlatformError, interrupts_as_errors

PATH = "/v1/packages"
SERVICES = ("accounts", "provisioning", "gateway")
OTHER_SERVICES = ("logs", "privacy")
SEEDED = ("provisioning",)
"""The demo catalogue `GET /v1/packages` lists."""
REQUEST_TIMEOUT_S = 30.0
START_DEADLINE_S = 60.0
"""How long a spawned process (load generator, bare server) may take to start."""
STOP_TIMEOUT_S = 15.0


# The load generator, in a process of its own.


@dataclass(frozen=True)
class Load:
    """What a load generator sends, how often, and for how long."""

    url: str
    headers: dict[str, str]
    concurrency: int
    warmup_s: float
    seconds: float


def drive(load: Load, conn: Connection) -> None:
    """Entry point of the load generator's process: says "counting" after the warm-up, then
    sends the counted run's Tally."""
    conn.send(asyncio.run(_drive(load, conn)))


async def _drive(load: Load, conn: Connection) -> Tally:
    connector = aiohttp.TCPConnector(limit=load.concurrency, force_close=False)
    async with aiohttp.ClientSession(
        headers=load.headers,
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
    ) as session:
        if load.warmup_s > 0:
            await hammer(session, load, load.warmup_s)
        conn.send("counting")
        cpu = time.process_time()
        tally = await hammer(session, load, load.seconds)
        tally.cpu_seconds = time.process_time() - cpu
        return tally


async def hammer(session: aiohttp.ClientSession, load: Load, seconds: float) -> Tally:
    """`load.concurrency` clients each sending one request after another for `seconds`;
    requests still in flight then are awaited and counted."""
    tally = Tally()
    started = time.perf_counter()
    deadline = started + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                async with session.get(load.url) as response:
                    body = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as failure:
                tally.failed(time.perf_counter() - sent, failure)
                continue
            tally.answered(status, time.perf_counter() - sent, body[:120].decode(errors="replace"))

    await asyncio.gather(*(client() for _ in range(load.concurrency)))
    tally.seconds = time.perf_counter() - started
    return tally


def run_side(label: str, load: Load, pids: dict[str, int | None]) -> dict[str, Any]:
    """Drive one side from a spawned load generator; its summary with the CPU each process
    used during the counted seconds."""
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    process = context.Process(target=drive, args=(load, child_end), daemon=True)
    say(f"{label}: {load.warmup_s} s warm-up, {load.seconds} s counted, {load.concurrency} conns")
    process.start()
    try:
        warmup_deadline = START_DEADLINE_S + load.warmup_s + REQUEST_TIMEOUT_S
        expect(parent_end, [process], f"{label} warm-up", warmup_deadline)
        before = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
        tally = expect(parent_end, [process], f"{label} tally", load.seconds + REQUEST_TIMEOUT_S)
        after = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
        process.join(STOP_TIMEOUT_S)
    finally:
        _stop(process)
    if not isinstance(tally, Tally):
        raise RuntimeError(f"the {label} load generator sent {tally!r}, not a tally")
    return summarize_side(tally, cpu_between(before, after))


def _stop(process: BaseProcess) -> None:
    if process.is_alive():
        process.terminate()
        process.join(STOP_TIMEOUT_S)
    if process.is_alive():
        process.kill()
        process.join(STOP_TIMEOUT_S)


# The bare side: one aiohttp handler answering the gateway's body.


def serve_bare(port: int, body: bytes, content_type: str) -> None:
    """Entry point of the bare server's process: `GET /v1/packages` answers `body`."""

    async def packages(_request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get(PATH, packages)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


async def gateway_body(url: str, headers: dict[str, str]) -> tuple[bytes, str]:
    """The gateway's answer to `GET /v1/packages` once: its body and Content-Type."""
    async with aiohttp.ClientSession(headers=headers) as session, session.get(url) as response:
        body = await response.read()
        if response.status != 200:
            raise PlatformError(f"GET {PATH} answered {response.status}: {body[:300]!r}")
        return body, response.headers["Content-Type"]


def wait_answering(port: int, process: BaseProcess) -> None:
    """Wait (bounded) until the bare server on `port` answers 200; RuntimeError if its process
    died or it never did."""
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise RuntimeError(f"the bare server exited with code {process.exitcode}")
        try:
            # A fixed http URL of this host (bandit B310).
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{PATH}", timeout=2) as response:  # nosec B310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the bare server did not answer within {START_DEADLINE_S:.0f} s")


def bare_side(body: bytes, content_type: str, args: argparse.Namespace) -> dict[str, Any]:
    """Serve `body` from a bare aiohttp app in its own process and drive it like the gateway."""
    port = free_port()
    url = f"http://127.0.0.1:{port}{PATH}"
    context = multiprocessing.get_context("spawn")
    server = context.Process(target=serve_bare, args=(port, body, content_type), daemon=True)
    server.start()
    try:
        wait_answering(port, server)
        load = Load(url, {}, args.concurrency, args.warmup, args.seconds)
        return run_side("bare", load, {"bare server": server.pid})
    finally:
        _stop(server)


# The whole run.


def gateway_side(
    platform: LocalPlatform, args: argparse.Namespace, pids: dict[str, int | None]
) -> tuple[dict[str, Any], bytes, str]:
    """Drive the gateway with a new partner's key; its summary, and the body it answers."""
    partner = asyncio.run(create_partner(platform, 1))
    url = f"{platform.url('gateway')}{PATH}"
    headers = {"Authorization": f"Bearer {partner.key}"}
    body, content_type = asyncio.run(gateway_body(url, headers))
    load = Load(url, headers, args.concurrency, args.warmup, args.seconds)
    return run_side("gateway", load, pids), body, content_type


def bench(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Start everything, measure both sides, stop everything; the result as a dict."""
    say(ensure_rabbitmq(args.amqp_url, say=say))
    load_before = load_average()
    with store(data_dir / "store") as (mongo_url, store_pid, described):
        say(f"store: {described}")
        services = SERVICES + (OTHER_SERVICES if args.all_services else ())
        (data_dir / "logs").mkdir()
        profiled = [args.profile] if args.profile else []
        extra = {"LOG_LEVEL": args.log_level}
        with LocalPlatform(
            args.amqp_url, mongo_url, data_dir / "logs", extra_env=extra, profiled=profiled
        ) as platform:
            say(f"namespace {platform.namespace}: seeding, starting {', '.join(services)}")
            for service in SEEDED:
                platform.seed(service)
            platform.start(services, simulator_env=simulator_env(1))
            platform.wait_ready()
            pids = {**platform.pids(), "store": store_pid, "broker": broker_pid()}
            pids.pop("providersim", None)
            gateway, body, content_type = gateway_side(platform, args, pids)
            bare = bare_side(body, content_type, args)
            namespace = platform.namespace
        profile = {}
        if args.profile:
            text = profile_text(platform.profile_path(args.profile), args.profile_top)
            profile = {"profiled": args.profile, "profile": text}
    return {
        "path": PATH,
        "body_bytes": len(body),
        "content_type": content_type,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "gateway": gateway,
        "bare": bare,
        **compare(gateway, bare),
        "errors": gateway["errors"] + bare["errors"],
        "services": list(services),
        "namespace": namespace,
        "store": described,
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_average(),
        **profile,
    }


def seconds_type(text: str) -> float:
    """An argparse type: a duration in seconds, more than 0."""
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=seconds_type, default=10.0, help="counted, each side")
    parser.add_argument("--concurrency", type=positive, default=32, help="keep-alive connections")
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds first")
    parser.add_argument("--all-services", action="store_true", help="also logs and privacy")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--amqp-url", default=amqp_url_from_env())
    parser.add_argument(
        "--profile", choices=SERVICES, help="run this service under cProfile (slows it)"
    )
    parser.add_argument("--profile-top", type=positive, default=30)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; 1 if any counted request was not answered 200."""
    args = parse_args(argv)
    try:
        with (
            interrupts_as_errors(),
            tempfile.TemporaryDirectory(prefix="bench-gateway-") as data_dir,
        ):
            result = bench(args, Path(data_dir))
    except KeyboardInterrupt:
        say("interrupted: everything started was stopped and its namespace removed")
        return 130
    print(json.dumps(result, indent=2) if args.json else render(result), flush=True)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
