"""The chaos suite's own broker, store server and TCP proxy, which its faults may hit.

Other test runs share the machine's RabbitMQ node and their own store servers, so the chaos
suite never stops those: it starts a second RabbitMQ node (its own node name, ports and data
directory, no plugins) and its own store server (devstack's, on a free port and its own data
directory, so it can be SIGKILLed and restarted on the same files).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
from devstack.commands import run_logged
from devstack.errors import DevstackError
from devstack.net import free_port
from devstack.rabbitmq import BROKER_USER, SBIN_DIRS
from devstack.store_server import StoreKind, StoreServer, start_store_server

from support.tcpproxy import TcpProxy

CTL_TIMEOUT_S = 60.0
BOOT_TIMEOUT_S = 60.0


def _real_script(name: str) -> Path:
    """RabbitMQ's own script, not Debian's wrapper (which runs the default node through `su`
    and, called by another name, itself again)."""
    for directory in SBIN_DIRS:
        candidate = Path(directory) / name
        if candidate.exists():
            real = Path(os.path.realpath(candidate)).parent / name
            if real.is_file() and "wrapper" not in os.path.realpath(real):
                return real
    raise DevstackError(f"RabbitMQ's {name} not found: run `python -m devstack rabbitmq` first")


def _broker_user() -> str | None:
    """Root starts nodes as the rabbitmq user (its home holds the Erlang cookie ctl needs)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(BROKER_USER)
    except KeyError:
        return None
    return BROKER_USER


@dataclass
class OwnBroker:
    """A second RabbitMQ node on this machine: `stop_app`/`start_app` reach only it."""

    name: str
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="chaos-rabbitmq-")))

    @property
    def node(self) -> str:
        """The Erlang node name (`rabbitmqctl -n`)."""
        return f"{self.name}@localhost"

    @property
    def url(self) -> str:
        """Its AMQP URL."""
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.base / "node.pid"),
        }

    def _prepare(self) -> None:
        for directory in ("mnesia", "log"):
            (self.base / directory).mkdir(parents=True, exist_ok=True)
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        user = _broker_user()
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in [self.base, *self.base.rglob("*")]:
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def ctl(self, *args: str) -> str:
        """Run `rabbitmqctl -n <node> <args>`; its output. DevstackError when it fails."""
        argv = [str(_real_script("rabbitmqctl")), "-n", self.node, *args]
        code, text = run_logged(argv, CTL_TIMEOUT_S, env=self._env(), as_user=_broker_user())
        if code != 0:
            raise DevstackError(f"`{' '.join(argv)}` failed (exit code {code}): {text}")
        return text

    async def start(self) -> None:
        """Start the node detached and wait (bounded) until AMQP connections open."""
        self._prepare()
        argv = [str(_real_script("rabbitmq-server")), "-detached"]
        code, text = await asyncio.to_thread(
            run_logged, argv, CTL_TIMEOUT_S, env=self._env(), as_user=_broker_user()
        )
        if code != 0:
            raise DevstackError(f"cannot start RabbitMQ node {self.node}: {text}")
        await self.wait_answering()

    async def wait_answering(self, timeout: float = BOOT_TIMEOUT_S) -> None:
        """Wait until an AMQP connection to the node opens."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                # TCP first: the AMQP client logs an error for every refused connection.
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                connection = await aio_pika.connect(self.url, timeout=2)
                await connection.close()
                return
            except (OSError, aio_pika.exceptions.AMQPError, TimeoutError) as failure:
                if time.monotonic() > deadline:
                    log = self.base / "log"
                    raise DevstackError(
                        f"node {self.node} did not answer within {timeout:.0f} s ({failure!r});"
                        f" its logs are in {log}"
                    ) from failure
                await asyncio.sleep(0.2)

    async def stop_app(self) -> None:
        """`rabbitmqctl stop_app`: the node stays up, the broker closes every connection."""
        await asyncio.to_thread(self.ctl, "stop_app")

    async def start_app(self) -> None:
        """`rabbitmqctl start_app`, then wait until it accepts connections again."""
        await asyncio.to_thread(self.ctl, "start_app")
        await self.wait_answering()

    def stop(self) -> None:
        """Halt the node and remove its files."""
        try:
            self.ctl("stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def stop_abandoned_nodes(left_behind: Callable[[str], bool]) -> list[str]:
    """Halt the chaos nodes of runs that were killed before they could (`left_behind` tells
    a namespace of a run long over); the names of the nodes halted."""
    epmd = shutil.which("epmd")
    if epmd is None:
        return []
    code, text = run_logged([epmd, "-names"], CTL_TIMEOUT_S)
    names = (
        re.findall(r"^name (chaos-(\S+)) at port", text, flags=re.MULTILINE) if code == 0 else []
    )
    halted = []
    for name, namespace in names:
        if left_behind(namespace):
            with contextlib.suppress(DevstackError):
                OwnBroker(name=name, base=Path(tempfile.gettempdir())).ctl("stop")
                halted.append(name)
    return halted


@dataclass
class OwnStore:
    """An embedded store server that can be SIGKILLed and restarted on the same files."""

    kind: StoreKind | None
    data_dir: Path
    port: int = field(default_factory=free_port)
    server: StoreServer | None = None

    @property
    def url(self) -> str:
        """Its MongoDB URL."""
        assert self.server is not None
        return self.server.url

    async def start(self) -> None:
        """Start it (bounded wait until it answers ping)."""
        self.server = await asyncio.to_thread(
            start_store_server, self.kind, self.data_dir, self.port, say=lambda _: None
        )
        self.kind = self.server.kind

    def kill(self) -> None:
        """SIGKILL: no clean shutdown of its files."""
        assert self.server is not None
        self.server.process.kill()
        self.server.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop it cleanly."""
        if self.server is not None:
            self.server.stop()


class CuttableProxy(TcpProxy):
    """A TCP proxy whose link can be cut (live connections severed, new ones refused) and
    restored."""

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__(target_host, target_port)
        self.is_cut = False

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            writer.transport.abort()
            return
        await super()._accept(reader, writer)

    def cut(self) -> None:
        """Sever every connection and refuse new ones until `restore`."""
        self.is_cut = True
        self.drop_all()

    def restore(self) -> None:
        """Accept connections again."""
        self.is_cut = False
