"""Services as real processes (`python -m <service>`), for end-to-end and crash tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from support.waiting import eventually

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    """What one command line did."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """Stdout as JSON (`--json`)."""
        return json.loads(self.out)


async def run_module(
    module: str, argv: tuple[str, ...], env: dict[str, str], timeout: float
) -> Run:
    """Run `python -m <module> <argv>` as its own process from the repository root, with
    `env` added to this process's environment; killed after `timeout` seconds."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *argv,
        env={**os.environ, **env},
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServiceProcess:
    """One service process with its own environment, its output kept in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.env = env
        self.log_path = log_path
        self.port = int(env.get("HTTP_PORT", "0"))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process (its output goes to the log file)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *self.args],
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until /readyz answers 200, failing early if the process died."""

        async def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.args} exited: {self.output()[-2000:]}")
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(f"http://127.0.0.1:{self.port}/readyz") as response,
                ):
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(ready, timeout=timeout, interval=0.1, what=f"{self.args} ready")

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_exit(self, timeout: float = 20.0) -> int:
        """Wait (bounded) for the process to exit by itself; its exit code."""
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: no clean-up at all."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        self.kill()
