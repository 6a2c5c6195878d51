"""The peer in the bus benchmark: FastStream's RabbitMQ broker, on the same broker, same run.

FastStream runs from its own virtualenv (`.venv/bench-tools`, deploy/bench-tools.txt) as two
subprocesses of deploy/bench_bus_faststream.py, on a queue declared here exactly as the raw
aio-pika round's is (quorum, delivery limit, dead-letter exchange, bound to a topic exchange)
and deleted after the round. They speak one line at a time on stdin/stdout.
"""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess  # nosec B404: runs our own script with our own venv's interpreter
import threading
from pathlib import Path
from typing import IO

from bench_bus_procs import CONSUMER, PRODUCER, Report, Role
from bench_bus_rounds import (
    ROUND_DEADLINE_S,
    START_DEADLINE_S,
    Round,
    broker_pid,
    declare_raw,
    delete_raw,
    process_cpu_seconds,
    raw_queue,
    used_since,
)

from servicekit.bus import PUBLISH_WINDOW
from servicekit.settings import ServiceSettings

DEPLOY = Path(__file__).resolve().parent
BENCH_TOOLS_PYTHON = DEPLOY.parent / ".venv" / "bench-tools" / "bin" / "python"
"""The interpreter of the virtualenv FastStream is installed in (make bench-bus installs it)."""
SCRIPT = DEPLOY / "bench_bus_faststream.py"


class Peer:
    """One FastStream process of a round, and the lines it has printed so far."""

    def __init__(
        self, role: Role, settings: ServiceSettings, queue_name: str, exchange: str, messages: int
    ) -> None:
        self.role = role
        self.process = subprocess.Popen(  # nosec B603: fixed argv, no shell
            [
                str(BENCH_TOOLS_PYTHON),
                str(SCRIPT),
                role,
                f"--amqp-url={settings.amqp_url}",
                f"--queue={queue_name}",
                f"--exchange={exchange}",
                f"--messages={messages}",
                f"--prefetch={settings.prefetch}",
                f"--window={PUBLISH_WINDOW}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.strip())
        self.lines.put(None)

    def expect(self, what: str, deadline_s: float) -> str:
        """The next line the process prints, or an error saying what did not come."""
        try:
            line = self.lines.get(timeout=deadline_s)
        except queue.Empty:
            raise RuntimeError(
                f"FastStream {self.role}: no {what} within {deadline_s:.0f} s"
            ) from None
        if line is None:
            code = self.process.wait()
            raise RuntimeError(f"FastStream {self.role} exited with code {code} (see above)")
        return line

    def report(self) -> Report:
        """The process's report of its part of the round."""
        values = json.loads(self.expect("report", ROUND_DEADLINE_S))
        return Report(values["started"], values["finished"], values["cpu_seconds"])

    def go(self) -> None:
        """Tell a producer to start publishing."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        """Make sure the process has ended."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(START_DEADLINE_S)


def faststream_available() -> str | None:
    """Why FastStream rounds cannot run here, or None when they can."""
    if not BENCH_TOOLS_PYTHON.exists():
        return f"{BENCH_TOOLS_PYTHON} is missing (make bench-bus installs it)"
    return None


def faststream_round(settings: ServiceSettings, messages: int, store_pid: int | None) -> Round:
    """One FastStream round on its own queue: consumer first, then the producer, then go."""
    queue_name, exchange = raw_queue(settings)
    asyncio.run(declare_raw(settings, queue_name, exchange))
    peers: list[Peer] = []
    try:
        for role in (CONSUMER, PRODUCER):
            peers.append(Peer(role, settings, queue_name, exchange, messages))
            peers[-1].expect(f"{role} ready", START_DEADLINE_S)
        consumer, producer = peers
        broker = broker_pid()
        store_cpu, broker_cpu = process_cpu_seconds(store_pid), process_cpu_seconds(broker)
        producer.go()
        produced, consumed = producer.report(), consumer.report()
        store_used, broker_used = used_since(store_pid, store_cpu), used_since(broker, broker_cpu)
    finally:
        for peer in peers:
            peer.stop()
        asyncio.run(delete_raw(settings, queue_name, exchange))
    return Round(
        side="faststream",
        prefetch=settings.prefetch,
        messages=messages,
        seconds=consumed.finished - produced.started,
        publish_seconds=produced.finished - produced.started,
        producer_cpu=produced.cpu_seconds,
        consumer_cpu=consumed.cpu_seconds,
        store_cpu=store_used,
        broker_cpu=broker_used,
    )
