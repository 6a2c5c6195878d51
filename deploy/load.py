"""A sustained mixed load on the whole platform; checks that it holds, drains and stays bounded.

`make load` runs it (`make load-quick`: 40 s). It starts every service (accounts, provisioning,
logs, privacy, the gateway) and the provider simulator (zero latency, zero faults) as real
processes in a bus namespace of their own (`LocalPlatform`), against RabbitMQ (started if it
is local and down) and an embedded store server (nx-27017 unless $STORE_SERVER says
ferretdb; $MONGO_URL if set). From this process, on loopback, as one partner with a balance
for every order and a test-mode key: a webhook receiver subscribed to the partner's order
outcomes (every order causes a delivery; `load_hooks`), then for `--minutes` a mix of orders
(each with an Idempotency-Key, for a new end user), reads (packages, orders, one order, eSIMs,
one eSIM, balance) and data-subject requests (access and erasure of the orders' end users) at
`--rate` calls a second, at most `--concurrency` in flight (`load_mix`). Progress every
`--progress` seconds on stderr.

Each process's RSS is sampled every `--sample` seconds (`load_watch`). When the load stops:
the backlog (messages ready in the services' queues, unpublished outbox documents, orders
without their outcome delivered, requests not closed) must empty within `--drain-timeout`.
The checks: no errors (an unexpected status, a failed order, a refused delivery), every
order final, every request closed `completed`, the queues drained with no dead letters, the
memory of every process bounded (`load_watch.memory_bounded`). The report (or `--json`) goes
to stdout; the exit code is 1 if a check failed, and why is printed. Everything started is
stopped and the namespace's queues, exchanges and databases removed, also on failure or
Ctrl-C. Other work on the machine skews the figures: the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
from bench_bus import load_average
from bench_orders import positive, simulator_env, store
from bench_orders_load import say
from bench_partner import create_partner
from bench_privacy import owners_registered, remove_client_queues
from bench_privacy_load import running_client
from devstack.rabbitmq import amqp_url_from_env, ensure_rabbitmq
from load_hooks import Receiver, ReceiverServer, Subjects, subscribe
from load_mix import DEFAULT_MIX, Caller, Mix, Recorder, drive, parse_mix
from load_report import by_kind, checks, closings, drain_figures, outcomes, render, webhooks
from load_watch import Backlog, MemorySamples, backlog, memory_bounded
from platform_procs import LocalPlatform, interrupts_as_errors
from pymongo import AsyncMongoClient

from contracts.accounts import Scope
from servicekit.logging import configure_logging

SERVICES = ("accounts", "provisioning", "logs", "privacy", "gateway")
SEEDED = ("provisioning",)
PACKAGE = "pkg_de_1gb_7d"
SCOPES = [
    Scope.ORDERS_WRITE,
    Scope.ORDERS_READ,
    Scope.ESIMS_READ,
    Scope.BILLING_READ,
    Scope.PRIVACY_WRITE,
    Scope.PRIVACY_READ,
    Scope.WEBHOOKS_MANAGE,
]
PLATFORM_ENV = {"WEBHOOKS_ALLOW_PRIVATE_URLS": "true"}
"""The receiver listens on loopback: allowed for test-mode endpoints only."""
REQUEST_TIMEOUT_S = 60.0
DRAIN_POLL_S = 0.5


class Run:
    """One load run against a started platform."""

    def __init__(self, platform: LocalPlatform, args: argparse.Namespace) -> None:
        self.platform = platform
        self.args = args
        self.subjects = Subjects(secrets.token_hex(3), args.seed)
        self.recorder = Recorder()
        self.receiver = Receiver(self.subjects)
        self.memory = MemorySamples(platform.pids())
        self.started = time.monotonic()

    def clock(self) -> float:
        """Seconds since the load started (negative before)."""
        return time.monotonic() - self.started

    async def run(self) -> dict[str, Any]:
        """Subscribe, load, drain; the figures."""
        await owners_registered(self.platform)
        partner = await create_partner(self.platform, expected_orders(self.args), SCOPES)
        async with (
            aiohttp.ClientSession(
                base_url=self.platform.url("gateway"),
                headers={"Authorization": f"Bearer {partner.key}"},
                connector=aiohttp.TCPConnector(limit=self.args.concurrency),
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
            ) as session,
            ReceiverServer(self.receiver) as server,
            running_client(
                self.args.amqp_url, self.platform.mongo_url, self.platform.namespace
            ) as client,
        ):
            self.receiver.secret = await subscribe(session, server.url)
            mix = Mix(self.args.mix, self.args.seed)
            caller = Caller(session, self.subjects, self.recorder, mix, PACKAGE, client.closings)
            return await self._load_and_drain(caller, mix)

    async def _load_and_drain(self, caller: Caller, mix: Mix) -> dict[str, Any]:
        args = self.args
        self.started = time.monotonic()
        watchers = [
            asyncio.create_task(self.memory.every(args.sample, self.clock)),
            asyncio.create_task(self._progress()),
        ]
        try:
            say(f"load: {args.minutes} min at {args.rate}/s, at most {args.concurrency} in flight")
            seconds = await drive(caller.call, mix, args.rate, args.minutes * 60, args.concurrency)
            say(f"load stopped after {seconds:.1f} s; waiting for the backlog to drain")
            drained_in, last, drained = await self._drain()
        finally:
            for task in [*watchers, *caller.watching]:
                task.cancel()
            await asyncio.gather(*watchers, *caller.watching, return_exceptions=True)
        return self._figures(seconds, drain_figures(drained_in, args.drain_timeout, last, drained))

    async def _drain(self) -> tuple[float, Backlog, bool]:
        """Wait until nothing is left to do (bounded): seconds, the last backlog, drained."""
        stopped = time.monotonic()
        connection = await aio_pika.connect(self.args.amqp_url)
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self.platform.mongo_url)
        try:
            while True:
                last = await backlog(self.platform, connection, client)
                done = last.empty and self._all_final()
                waited = time.monotonic() - stopped
                if done or waited > self.args.drain_timeout:
                    return waited, last, done
                await asyncio.sleep(DRAIN_POLL_S)
        finally:
            await client.close()
            await connection.close()

    def _all_final(self) -> bool:
        delivered = self.receiver.deliveries
        orders_final = all(order_id in delivered for order_id in self.recorder.orders)
        return orders_final and len(self.recorder.closed) == len(self.recorder.requests)

    async def _progress(self) -> None:
        every = self.args.progress
        before = 0
        while True:
            await asyncio.sleep(every)
            calls = len(self.recorder.calls)
            say(
                f"  {self.clock():6.0f} s: {(calls - before) / every:5.1f} calls/s ({calls} so"
                f" far), orders {len(self.recorder.orders)}, deliveries"
                f" {len(self.receiver.deliveries)}, requests {len(self.recorder.closed)}/"
                f"{len(self.recorder.requests)} closed, errors {self._errors()}"
            )
            before = calls

    def _errors(self) -> int:
        return len(self.recorder.errors) + len(self.receiver.rejected)

    def _figures(self, seconds: float, drain: dict[str, Any]) -> dict[str, Any]:
        recorder, receiver = self.recorder, self.receiver
        allowance = self.args.memory_allowance
        done = outcomes(recorder, receiver)
        return {
            "seconds": round(seconds, 1),
            "target_rate": self.args.rate,
            "achieved_rate": round(len(recorder.calls) / seconds, 2) if seconds else 0.0,
            "concurrency": self.args.concurrency,
            "mix": {kind: weight for kind, weight in self.args.mix.items() if weight},
            "substituted": recorder.substituted,
            "kinds": by_kind(recorder, seconds),
            "closings": closings(recorder, seconds),
            "webhooks": webhooks(receiver, seconds),
            **done,
            "errors": self._errors(),
            "error_examples": recorder.error_examples() + receiver.rejected[:3],
            "drain": drain,
            "memory_allowance_percent": allowance,
            "memory": {
                name: memory_bounded(series, seconds, allowance)
                for name, series in self.memory.series.items()
            },
            "memory_series": self.memory.series,
        }


def expected_orders(args: argparse.Namespace) -> int:
    """Orders the run may place, with a margin (the partner's credit, the simulator's pool)."""
    share = args.mix["order"] / sum(args.mix.values())
    return int(args.rate * args.minutes * 60 * share * 1.5) + 50


@contextmanager
def loaded_platform(
    args: argparse.Namespace, data_dir: Path
) -> Iterator[tuple[LocalPlatform, str, float | None]]:
    """RabbitMQ made sure of, a store server, and the platform seeded, started and ready for
    a load run: `(platform, store description, load average before)`; all stopped after."""
    say(ensure_rabbitmq(args.amqp_url, say=say))
    load_before = load_average()
    with store(data_dir / "store") as (mongo_url, _store_pid, described):
        say(f"store: {described}")
        (data_dir / "logs").mkdir()
        extra = {"LOG_LEVEL": args.log_level, **PLATFORM_ENV}
        with LocalPlatform(
            args.amqp_url, mongo_url, data_dir / "logs", extra_env=extra
        ) as platform:
            say(f"namespace {platform.namespace}: seeding, starting {', '.join(SERVICES)}")
            for service in SEEDED:
                platform.seed(service)
            platform.start(SERVICES, simulator_env=simulator_env(expected_orders(args)))
            platform.wait_ready()
            yield platform, described, load_before


def load(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """Start everything, load, check, stop everything; the result as a dict."""
    configure_logging("load", "warning", "json", stream=sys.stderr)
    with loaded_platform(args, data_dir) as (platform, described, load_before):
        try:
            result = asyncio.run(Run(platform, args).run())
        finally:
            asyncio.run(remove_client_queues(platform))
        namespace = platform.namespace
    result["checks"] = checks(result)
    passed = all(check["passed"] for check in result["checks"].values())
    return {
        **result,
        "verdict": "pass" if passed else "FAIL",
        "services": list(SERVICES),
        "namespace": namespace,
        "store": described,
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_average(),
    }


def positive_float(text: str) -> float:
    """An argparse type: a number more than 0."""
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not more than 0")
    return value


def mix_type(text: str) -> dict[str, float]:
    """An argparse type: the mix (`order=30,read=64,access=3,erasure=3`)."""
    try:
        return parse_mix(text)
    except ValueError as failure:
        raise argparse.ArgumentTypeError(str(failure)) from failure


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    default_mix = ",".join(f"{kind}={weight:g}" for kind, weight in DEFAULT_MIX.items())
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--minutes", type=positive_float, default=5.0, help="of load")
    parser.add_argument("--rate", type=positive_float, default=20.0, help="calls a second")
    parser.add_argument("--mix", type=mix_type, default=parse_mix(default_mix), help=default_mix)
    parser.add_argument("--concurrency", type=positive, default=16, help="calls in flight")
    parser.add_argument("--drain-timeout", type=positive_float, default=120.0, help="seconds")
    parser.add_argument("--sample", type=positive_float, default=5.0, help="RSS every s")
    parser.add_argument("--progress", type=positive_float, default=5.0, help="report every s")
    parser.add_argument(
        "--memory-allowance", type=float, default=10.0, help="%% the last third may add"
    )
    parser.add_argument("--seed", type=int, default=1, help="of the mix's draws")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--amqp-url", default=amqp_url_from_env())
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the load and print the report; 1 if a check failed (and why, on stderr)."""
    args = parse_args(argv)
    try:
        with interrupts_as_errors(), tempfile.TemporaryDirectory(prefix="load-") as data_dir:
            result = load(args, Path(data_dir))
    except KeyboardInterrupt:
        say("interrupted: everything started was stopped and its namespace removed")
        return 130
    print(json.dumps(result, indent=2) if args.json else render(result), flush=True)
    failed = {name: c["why"] for name, c in result["checks"].items() if not c["passed"]}
    for name, why in failed.items():
        say(f"FAILED {name}: {why}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
