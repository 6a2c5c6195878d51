"""Bus throughput, end to end: servicekit against raw aio-pika and FastStream, same run.

`make bench-bus` runs it. A round publishes N small JSON events from one process while
another process consumes them, as a producing and a consuming service would, and is timed
from the first publish until the consumer has acknowledged all N. The sides:

- raw: aio-pika alone. A durable quorum queue (delivery limit, dead-letter exchange) bound to
  a topic exchange; persistent, mandatory messages; publisher confirms awaited in windows of
  100; manual acks with the same prefetch as servicekit.
- servicekit: two real `Service`s started through their aiohttp apps' cleanup contexts. The
  producer publishes with `bus.publish_many`; the consumer's handler is registered with
  `router.on`, and its real Consumer validates the body, looks the message up in the inbox,
  runs the handler, records the inbox, observes the metrics and acks.
- idempotent: the same, with the handler registered `idempotent=True`: no inbox.
- faststream: the peer, FastStream's RabbitMQ broker on the raw side's topology, run from
  its own virtualenv (deploy/bench_bus_peer.py, deploy/bench_bus_faststream.py).
- raw_dedupe: raw aio-pika whose consumer does by hand, with PyMongo's async API against the
  same store server, the exactly-once bookkeeping servicekit's inbox does: one lookup and one
  record a message, no grouping (deploy/bench_bus_dedupe.py).

Every side runs at every prefetch of `--prefetch` (default: the platform's, 128, and 32, raw
aio-pika's best); rounds alternate over the prefetches and, within each, over the sides, the
first rounds of every (side, prefetch) being warm-ups that are not counted. A side's figure is
its best median over the prefetches, with the prefetch it was reached at. The goals compare
like with like, each side at its best prefetch (deploy/bench_bus_report.py):
- 0.85: servicekit idempotent (no inbox) against raw (neither does store work), AND servicekit
  with the inbox against raw + dedupe (both do one lookup and one record a message); met only
  when both are;
- 1.2: servicekit idempotent against FastStream (which has no inbox either);
- no goal, for information: servicekit with the inbox against plain raw, what exactly-once
  costs on this machine.

Every queue, exchange and database belongs to this run only and is deleted after its round. The
inbox is $MONGO_URL when set, else an embedded store server started here and stopped at the
end: nx-27017 unless $STORE_SERVER says ferretdb. FerretDB 1.24's SQLite backend does not use
its `_id` index for lookups, so a round of N messages costs O(N^2) there: that measures
FerretDB, not servicekit (decision 0003).

Everything shares the machine with the broker and the store server, so other work skews the
numbers; the load average is given before and after, and the CPU each process used per message.
Progress goes to stderr, the report (or `--json`, a result document) to stdout. This is a
measurement, not a test: it exits 0 whether or not the goals are met, and says which.
`--profile` instead runs servicekit rounds with both processes under cProfile (CPU time).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bench_bus_peer import faststream_available, faststream_round
from bench_bus_procs import ROLES
from bench_bus_render import render
from bench_bus_report import SIDES, result_document
from bench_bus_rounds import Round, Side, raw_round, servicekit_round
from devstack.net import free_port, redact_url
from devstack.rabbitmq import amqp_url_from_env
from devstack.store_server import kind_from_env, start_store_server

from servicekit.bus import PUBLISH_WINDOW
from servicekit.settings import ServiceSettings

RAW_BEST_PREFETCH = 32
"""Where raw aio-pika and FastStream ran fastest on this machine (decision 0003)."""


def progress(text: str) -> None:
    """A progress line, on stderr."""
    print(text, file=sys.stderr, flush=True)


def round_namespace() -> str:
    """A fresh namespace for one round: "bench", its start (8 hex digits of Unix time), then
    chance, the form the test suite's clean-up of killed runs' leftovers knows to be young."""
    return f"bench{int(time.time()):08x}{secrets.token_hex(3)}"


def round_settings(
    args: argparse.Namespace, mongo_url: str, namespace: str, prefetch: int
) -> ServiceSettings:
    """Settings of one round's own namespace; logging at warning, so only trouble shows."""
    return ServiceSettings.model_validate(
        {
            "amqp_url": args.amqp_url,
            "mongo_url": mongo_url,
            "bus_namespace": namespace,
            "prefetch": prefetch,
            "log_level": "warning",
            "log_format": "json",
        }
    )


@contextmanager
def store(data_dir: Path) -> Iterator[tuple[str, int | None, str]]:
    """$MONGO_URL, else an embedded store server of our own: its URL, process id, description."""
    external = os.environ.get("MONGO_URL")
    if external:
        yield external, None, f"MONGO_URL={redact_url(external)}"
        return
    server = start_store_server(kind_from_env() or "nx", data_dir, free_port())
    try:
        yield server.url, server.process.pid, server.describe()
    finally:
        server.stop()


def one_round(side: Side, settings: ServiceSettings, messages: int, store_pid: int | None) -> Round:
    """One round of one side, in the namespace of `settings`."""
    if side in ("raw", "raw_dedupe"):
        return raw_round(settings, messages, store_pid, dedupe=side == "raw_dedupe")
    if side == "faststream":
        return faststream_round(settings, messages, store_pid)
    return servicekit_round(settings, messages, store_pid, idempotent=side == "idempotent")


def bench(
    args: argparse.Namespace, sides: list[Side], mongo_url: str, store_pid: int | None
) -> list[Round]:
    """Alternate the rounds over the prefetches and, within each, the sides; warm-ups first."""
    prefetches = ", ".join(str(prefetch) for prefetch in args.prefetch)
    progress(
        f"bench-bus: {args.messages} messages a round, {args.warmups} warm-up and"
        f" {args.rounds} counted rounds a side and prefetch ({', '.join(sides)}; prefetch"
        f" {prefetches}), confirm window {PUBLISH_WINDOW}, broker {redact_url(args.amqp_url)},"
        f" load average {load_average()}"
    )
    rounds: list[Round] = []
    for index in range(args.warmups + args.rounds):
        counted = index >= args.warmups
        label = f"round {index - args.warmups + 1}" if counted else "warm-up"
        for prefetch in args.prefetch:
            for side in sides:
                settings = round_settings(args, mongo_url, round_namespace(), prefetch)
                result = one_round(side, settings, args.messages, store_pid)
                progress(
                    f"  {label:<8} {side:<11} prefetch {prefetch:<4} {result.rate:7.0f} msg/s"
                    f"  load {load_average()}"
                )
                rounds.append(replace(result, counted=counted))
    return rounds


def load_average() -> float | None:
    """The 1-minute load average, as a hint of other work on the machine."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def profile(args: argparse.Namespace, mongo_url: str, store_pid: int | None) -> None:
    """A warm-up servicekit round, then one with both processes under cProfile (CPU time)."""
    idempotent = args.profile == "idempotent"
    prefetch = args.prefetch[0]
    servicekit_round(
        round_settings(args, mongo_url, round_namespace(), prefetch),
        args.messages,
        store_pid,
        idempotent=idempotent,
    )
    with tempfile.TemporaryDirectory(prefix="bench-bus-profile-") as directory:
        result = servicekit_round(
            round_settings(args, mongo_url, round_namespace(), prefetch),
            args.messages,
            store_pid,
            idempotent=idempotent,
            profile_dir=Path(directory),
        )
        print(
            f"profiled {result.side} round: {args.messages} messages, prefetch {prefetch},"
            f" {result.rate:.0f} msg/s"
            f" (slowed by the profiler); cpu s: producer {result.producer_cpu:.2f},"
            f" consumer {result.consumer_cpu:.2f}, store {result.store_cpu or 0:.2f}"
        )
        for role in ROLES:
            for order in ("tottime", "cumulative"):
                out = io.StringIO()
                stats = pstats.Stats(str(Path(directory) / f"{role}.prof"), stream=out)
                stats.sort_stats(order).print_stats(args.profile_top)
                print(f"--- {role}, by {order}")
                print(out.getvalue())


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def prefetch_list(text: str) -> list[int]:
    """An argparse type: prefetch counts separated by commas (each run in turn, no repeats)."""
    try:
        values = [positive(part) for part in text.split(",") if part.strip()]
    except (ValueError, argparse.ArgumentTypeError):
        values = []
    if not values:
        raise argparse.ArgumentTypeError(f"prefetch counts are positive integers; got {text!r}")
    return list(dict.fromkeys(values))


def side_list(text: str) -> list[Side]:
    """An argparse type: sides separated by commas, in the order they are to run."""
    sides = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [side for side in sides if side not in SIDES]
    if unknown or not sides:
        raise argparse.ArgumentTypeError(f"sides are among {', '.join(SIDES)}; got {text!r}")
    return [side for side in SIDES if side in sides]


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    defaults = ServiceSettings()
    parser = argparse.ArgumentParser(
        description="servicekit publish+consume throughput against raw aio-pika and FastStream"
    )
    parser.add_argument("--messages", type=positive, default=6_000, help="per round")
    parser.add_argument(
        "--rounds", type=positive, default=2, help="counted rounds per side and prefetch"
    )
    parser.add_argument(
        "--warmups", type=int, default=1, help="uncounted rounds per side and prefetch"
    )
    parser.add_argument(
        "--prefetch",
        type=prefetch_list,
        default=list(dict.fromkeys([RAW_BEST_PREFETCH, defaults.prefetch])),
        help="comma-separated; every side runs at each (default: 32, raw's best, and the"
        " platform's); --profile uses the first",
    )
    parser.add_argument("--sides", type=side_list, default=list(SIDES), help=",".join(SIDES))
    parser.add_argument("--amqp-url", default=amqp_url_from_env())
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="servicekit",
        choices=["servicekit", "idempotent"],
        help="profile a servicekit round (with the inbox, or idempotent) instead",
    )
    parser.add_argument("--profile-top", type=positive, default=40)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report; 0 whether or not the goals are met."""
    args = parse(argv)
    sides: list[Side] = args.sides
    missing = faststream_available() if "faststream" in sides else None
    if missing:
        progress(f"bench-bus: FastStream not measured: {missing}")
        sides = [side for side in sides if side != "faststream"]
    before = load_average()
    with (
        tempfile.TemporaryDirectory(prefix="bench-bus-") as data_dir,
        store(Path(data_dir)) as (mongo_url, store_pid, described),
    ):
        progress(f"store: {described}")
        if args.profile:
            profile(args, mongo_url, store_pid)
            return 0
        rounds = bench(args, sides, mongo_url, store_pid)
    context = {"store": described, "load_average": {"before": before, "after": load_average()}}
    if missing:
        context["faststream_not_measured"] = missing
    document = result_document(args, rounds, context)
    print(json.dumps(document, indent=2) if args.json else render(document), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
