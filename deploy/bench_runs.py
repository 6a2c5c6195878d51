"""How `deploy/bench.py` runs each benchmark, and what it checks around the runs.

A benchmark runs as `python deploy/bench_<name>.py <sizes> --json` in a subprocess: its stderr
(progress) is passed through line by line, prefixed with its name and the elapsed seconds, and
its last lines kept for the report; its stdout is the result document. A run that outlives its
time limit gets SIGTERM (every benchmark stops its processes and removes its namespace then),
SIGKILL if it does not stop.

Around the runs: the queues and exchanges a benchmark's namespace left on the broker (listed
with rabbitmqctl, local brokers only), the databases it left in a shared store server, and the
broker's version.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from shutil import which
from typing import Any

import aio_pika
from devstack.store_server import REPO_ROOT
from pymongo import AsyncMongoClient
from yarl import URL

STDERR_TAIL_LINES = 25
STOP_GRACE_S = 60.0
"""After SIGTERM, time for a benchmark to stop its processes and remove its namespace."""
CTL_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Benchmark:
    """One benchmark script, its sizes in each mode and its time limits."""

    name: str
    script: str
    quick: tuple[str, ...]
    full: tuple[str, ...] = ()
    quick_limit_s: float = 300.0
    full_limit_s: float = 3600.0

    def argv(self, quick: bool, extra: Sequence[str] = ()) -> list[str]:
        """The command line of a run (`extra` options after the sizes: the last one wins)."""
        sizes = self.quick if quick else self.full
        script = str(REPO_ROOT / "deploy" / self.script)
        return [sys.executable, script, *sizes, *extra, "--json"]


QUIET = ("--log-level", "warning")
BENCHMARKS = {
    "bus": Benchmark(
        "bus",
        "bench_bus.py",
        ("--messages", "500", "--rounds", "1", "--warmups", "0", "--prefetch", "128"),
    ),
    "gateway": Benchmark(
        "gateway",
        "bench_gateway.py",
        ("--seconds", "1", "--concurrency", "4", "--warmup", "0", *QUIET),
    ),
    "logs": Benchmark(
        "logs",
        "bench_logs.py",
        ("--api-records", "620", "--technical-records", "130", "--rounds", "1"),
    ),
    "orders": Benchmark(
        "orders",
        "bench_orders.py",
        ("--orders", "20", "--concurrency", "4", "--warmup", "0", "--bus-messages", "50", *QUIET),
    ),
    "privacy": Benchmark(
        "privacy",
        "bench_privacy.py",
        (
            *("--single", "3", "--warmup", "1", "--burst", "5", "--log-records", "200,2000"),
            *("--flat-erasures", "2", "--skip-ceiling", *QUIET),
        ),
    ),
    "memory": Benchmark(
        "memory",
        "bench_memory.py",
        ("--seconds", "20", "--settle", "3", *QUIET),
        full_limit_s=1200.0,
    ),
}
"""In the issue's order. Quick sizes are the smallest that still exercise every phase."""


@dataclass
class Outcome:
    """What one run gave: `ok`, `failed`, `timed out` or `not measured`, and its result."""

    status: str
    seconds: float = 0.0
    exit_code: int | None = None
    why: str = ""
    stderr_tail: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    cpu_s: float = 0.0
    """CPU seconds of the benchmark's process and every process it started and waited for
    (not the broker's): robust to other work on the machine, unlike the wall time."""
    options: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def child_env(amqp_url: str, mongo_url: str | None) -> dict[str, str]:
    """The benchmark's environment: this tree's code first, the broker, the shared store."""
    ours = os.pathsep.join([str(REPO_ROOT / "services"), str(REPO_ROOT / "deploy")])
    inherited = os.environ.get("PYTHONPATH")
    env = {
        **os.environ,
        "AMQP_URL": amqp_url,
        "PYTHONPATH": f"{ours}{os.pathsep}{inherited}" if inherited else ours,
    }
    if mongo_url is not None:
        env["MONGO_URL"] = mongo_url
    return env


def result_of(stdout: str) -> dict[str, Any] | None:
    """The JSON document a benchmark printed (progress printed before it is skipped)."""
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("{"):
            try:
                found = json.loads("\n".join(lines[index:]))
            except ValueError:
                continue
            return found if isinstance(found, dict) else None
    return None


def pass_through(stream: Any, name: str, started: float, tail: deque[str]) -> None:
    """Echo the benchmark's progress to our stderr, prefixed; keep its last lines."""
    for line in stream:
        line = line.rstrip("\n")
        tail.append(line)
        print(f"[{name} {time.monotonic() - started:4.0f}s] {line}", file=sys.stderr, flush=True)


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM (the benchmark cleans up), then SIGKILL."""
    process.terminate()
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def children_cpu_s() -> float:
    """CPU seconds used so far by this process's children and their descendants that have
    ended (a benchmark waits for every process it starts)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_benchmark(
    benchmark: Benchmark,
    quick: bool,
    amqp_url: str,
    mongo_url: str | None,
    extra: Sequence[str] = (),
) -> Outcome:
    """Run one benchmark to its end (or its time limit); what it gave."""
    script = REPO_ROOT / "deploy" / benchmark.script
    if '"--json"' not in script.read_text():
        return Outcome("not measured", why=f"{benchmark.script} has no --json option yet")
    limit = benchmark.quick_limit_s if quick else benchmark.full_limit_s
    argv = benchmark.argv(quick, extra)
    started, cpu_before = time.monotonic(), children_cpu_s()
    tail = deque[str](maxlen=STDERR_TAIL_LINES)
    process = subprocess.Popen(  # dev tooling: our own argv, no shell  # nosec B603
        argv,
        env=child_env(amqp_url, mongo_url),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    chunks: list[str] = []
    readers = [
        threading.Thread(target=pass_through, args=(process.stderr, benchmark.name, started, tail)),
        threading.Thread(
            target=lambda: chunks.append(process.stdout.read() if process.stdout else "")
        ),
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        timed_out = True
        stop(process)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the benchmark cleans up first
        stop(process)
        raise
    for reader in readers:
        reader.join()
    outcome = Outcome(
        "ok",
        round(time.monotonic() - started, 1),
        process.returncode,
        result=result_of("".join(chunks)),
        cpu_s=round(children_cpu_s() - cpu_before, 1),
        options=argv[2:-1],
    )
    if timed_out:
        outcome.status, outcome.why = "timed out", f"not done within {limit:.0f} s"
    elif process.returncode != 0 or outcome.result is None:
        outcome.status = "failed"
        outcome.why = f"exit code {process.returncode}" + ("" if outcome.result else ", no JSON")
    if outcome.status != "ok":
        outcome.stderr_tail = list(tail)
    return outcome


def _ctl_names(what: str, vhost: str) -> list[str]:
    ctl = which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    listed = subprocess.run(  # dev tooling: our own argv, no shell  # nosec B603
        [ctl, what, "-q", "--no-table-headers", "-p", vhost, "name"],
        capture_output=True,
        text=True,
        timeout=CTL_TIMEOUT_S,
        check=True,
    )
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()]


def left_on_broker(amqp_url: str, namespaces: Sequence[str]) -> list[str]:
    """Queues and exchanges of these namespaces still on the broker (local brokers only)."""
    url = URL(amqp_url)
    if not namespaces or url.host not in ("127.0.0.1", "localhost", "::1"):
        return []
    vhost = url.path[1:] or "/"
    try:
        names = _ctl_names("list_queues", vhost) + _ctl_names("list_exchanges", vhost)
    except (OSError, subprocess.SubprocessError) as failure:
        return [f"could not list the broker's queues with rabbitmqctl: {failure!r}"[:300]]
    wanted = set(namespaces)
    return [f"left on the broker: {name}" for name in names if name.split(".", 1)[0] in wanted]


async def left_in_store(mongo_url: str, namespaces: Sequence[str]) -> list[str]:
    """Databases of these namespaces still in the store server."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        databases = await client.list_database_names()
    finally:
        await client.close()
    return [
        f"left in the store: database {name}"
        for name in databases
        if any(name.startswith(f"{namespace}_") for namespace in namespaces)
    ]


async def _broker_version(amqp_url: str) -> str:
    connection = await aio_pika.connect(amqp_url)
    try:
        transport = connection.transport
        properties = transport.connection.server_properties if transport else {}
        product, version = properties.get("product", "RabbitMQ"), properties.get("version", "?")
        return f"{_text(product)} {_text(version)}"
    finally:
        await connection.close()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def rabbitmq_version(amqp_url: str) -> str:
    """The broker's product and version, as it announces them."""
    try:
        return asyncio.run(_broker_version(amqp_url))
    except Exception as failure:  # a report line, not a reason to stop
        return f"unknown ({failure!r})"[:200]
