"""The platform's services as real processes in a namespace of their own, for benchmarks.

`LocalPlatform` starts `python -m <service>` processes of this tree (its `services/` and
`deploy/` come first on their PYTHONPATH) against a given broker and store, each with a free
port and its output in a log file, waits until every one answers /readyz, and stops them
(SIGTERM, then SIGKILL) and removes the namespace's queues, exchanges and databases when it
is left, also on an error or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import aio_pika
from devstack.net import free_port
from devstack.run import dev_secrets, process_env, provider_env
from devstack.store_server import REPO_ROOT
from pymongo import AsyncMongoClient

from servicekit.settings import ServiceSettings
from servicekit.topology import Topology, delete_namespace

SIMULATOR = "providersim"
"""The network-provider simulator: a process like the services, but not on the bus."""

STATEFUL = ("accounts", "provisioning", "logs", "privacy")
"""Services that own a database (the gateway and the simulator hold none)."""

UNLIMITED_RATE = {"RATE_LIMIT_PER_SECOND": "1000000000", "RATE_LIMIT_BURST": "1000000000"}
"""Benchmarks drive one API key far past any partner's limit: the gateway's limiter still runs
(its cost is measured) but never refuses."""

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
SEED_TIMEOUT_S = 120.0
LOG_TAIL_CHARS = 3000


class PlatformError(RuntimeError):
    """A process of the platform did not start, seed or answer as it should."""


def new_namespace(prefix: str) -> str:
    """A bus namespace (and database prefix) nobody else uses: its start time, then chance
    (the test suite removes such namespaces once they are hours old and unused)."""
    return f"{prefix}{int(time.time()):08x}{secrets.token_hex(3)}"


def source_path() -> str:
    """PYTHONPATH that makes child processes run this tree's code, not an installed copy."""
    ours = [str(REPO_ROOT / "services"), str(REPO_ROOT / "deploy")]
    inherited = os.environ.get("PYTHONPATH")
    return os.pathsep.join([*ours, inherited] if inherited else ours)


@dataclass
class ServiceProcess:
    """One running `python -m <name>` with its port and log file."""

    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """Base URL of its HTTP server."""
        return f"http://127.0.0.1:{self.port}"

    def is_ready(self) -> bool:
        """Whether /readyz answers 200 right now; PlatformError if the process has exited."""
        code = self.process.poll()
        if code is not None:
            raise PlatformError(f"{self.name} exited with code {code}:\n{self.log_tail()}")
        try:
            readyz = f"http://127.0.0.1:{self.port}/readyz"
            with urllib.request.urlopen(readyz, timeout=2) as response:  # fixed http URL  # nosec B310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM, then SIGKILL if it has not stopped within `timeout`."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)

    def log_tail(self) -> str:
        """The end of what it printed."""
        try:
            return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except OSError:
            return "(no log)"


@dataclass
class LocalPlatform:
    """Services of one namespace on this machine; use it as a context manager."""

    amqp_url: str
    mongo_url: str
    logs_dir: Path
    namespace: str = field(default_factory=lambda: new_namespace("bench"))
    extra_env: dict[str, str] = field(default_factory=dict)
    profiled: Sequence[str] = ()
    """Services run under cProfile; their stats are written to `profile_path(name)` on stop."""
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.env = {
            **os.environ,
            **dev_secrets(),
            "AMQP_URL": self.amqp_url,
            "MONGO_URL": self.mongo_url,
            "BUS_NAMESPACE": self.namespace,
            "LOG_FORMAT": "json",
            "PYTHONPATH": source_path(),
            "PYTHONUNBUFFERED": "1",
            **UNLIMITED_RATE,
            **self.extra_env,
        }

    def __enter__(self) -> LocalPlatform:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.stop()
        try:
            asyncio.run(self.remove_namespace())
        except Exception as failure:
            print(
                f"could not remove namespace {self.namespace} entirely: {failure!r}",
                file=sys.stderr,
                flush=True,
            )

    def seed(self, service: str) -> None:
        """Run a service's `seed-demo` command in this namespace."""
        result = subprocess.run(  # dev tooling: our own argv, no shell  # nosec B603
            [sys.executable, "-m", service, "seed-demo"],
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=SEED_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            raise PlatformError(f"seeding {service} failed:\n{result.stderr[-LOG_TAIL_CHARS:]}")

    def start(self, services: Sequence[str], *, simulator_env: dict[str, str]) -> None:
        """Start the services and the provider simulator (each on a free port)."""
        ports = {name: free_port() for name in [*services, SIMULATOR]}
        if "provisioning" in ports:
            self.env.update(provider_env(ports[SIMULATOR], ports["provisioning"]))
        for name, port in ports.items():
            extra = simulator_env if name == SIMULATOR else {}
            self.processes[name] = self._spawn(name, port, extra)

    def profile_path(self, name: str) -> Path:
        """Where a profiled service's cProfile stats are written when it stops."""
        return self.logs_dir / f"{name}.prof"

    def _spawn(self, name: str, port: int, extra: dict[str, str]) -> ServiceProcess:
        log_path = self.logs_dir / f"{name}.log"
        profiler = ["-m", "cProfile", "-o", str(self.profile_path(name))]
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # dev tooling: our own argv, no shell  # nosec B603
                [sys.executable, *(profiler if name in self.profiled else []), "-m", name],
                env={**process_env(name, self.env), **extra, "HTTP_PORT": str(port)},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
            )
        return ServiceProcess(name, port, log_path, process)

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Wait until every process answers /readyz; PlatformError naming the ones that do not."""
        waiting = dict(self.processes)
        deadline = time.monotonic() + timeout
        while waiting:
            waiting = {name: p for name, p in waiting.items() if not p.is_ready()}
            if waiting and time.monotonic() > deadline:
                raise PlatformError(f"not ready after {timeout:.0f} s: {', '.join(waiting)}")
            if waiting:
                time.sleep(0.2)

    def url(self, name: str) -> str:
        """Base URL of a running process's HTTP server."""
        return self.processes[name].url

    def pids(self) -> dict[str, int]:
        """Process id of each running process."""
        return {name: p.process.pid for name, p in self.processes.items()}

    def stop(self) -> None:
        """Stop every process (the gateway first, so nothing new comes in)."""
        for name in sorted(self.processes, key=lambda n: n != "gateway"):
            self.processes[name].stop()

    def retry_delays(self) -> list[int]:
        """The services' retry delays (their retry queues are named after them)."""
        configured = self.env.get("RETRY_DELAYS_MS")
        if configured:
            return [int(delay) for delay in json.loads(configured)]
        return ServiceSettings().retry_delays_ms

    async def remove_namespace(self) -> None:
        """Delete the namespace's queues, exchanges and databases."""
        services = [name for name in self.processes if name != SIMULATOR]
        connection = await aio_pika.connect(self.amqp_url)
        async with connection:
            channel = await connection.channel()
            topology = Topology(self.namespace)
            await delete_namespace(channel, topology, services, self.retry_delays())
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(self.mongo_url)
        try:
            for service in STATEFUL:
                await client.drop_database(f"{self.namespace}_{service}")
        finally:
            await client.close()


@contextmanager
def interrupts_as_errors() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt like Ctrl-C, so clean-up runs either way."""

    def on_term(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    handler: Callable[[int, object], None] = on_term
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
