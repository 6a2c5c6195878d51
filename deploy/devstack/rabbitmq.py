"""A RabbitMQ broker for development and tests: use the one that answers, else start or install it.

Only a broker on this machine is ever started or installed, and installing needs root on
Debian or Ubuntu (`apt-get install rabbitmq-server`). Debian's policy-rc.d may refuse to start
the service when the package is installed; `rabbitmq-server -detached` starts it regardless.
"""

import asyncio
import os
import pwd
import resource
import shutil
import socket
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, TypeVar

import aio_pika
from aio_pika.exceptions import AMQPConnectionError, AMQPError, ProbableAuthenticationError
from yarl import URL

from .commands import run_logged
from .errors import DevstackError
from .net import redact_url
from .output import Say, say

DEFAULT_AMQP_URL: Final = "amqp://guest:guest@127.0.0.1:5672/"
AMQP_URL_ENV: Final = "AMQP_URL"
PROBE_TIMEOUT_S: Final = 5.0
START_TIMEOUT_S: Final = 60.0
INSTALL_TIMEOUT_S: Final = 900.0
CTL_TIMEOUT_S: Final = 30.0
# Debian puts the server scripts in /usr/sbin, which a non-root PATH may lack.
SBIN_DIRS: Final = ("/usr/sbin", "/usr/local/sbin", "/usr/lib/rabbitmq/bin")
INSTALL_HINT: Final = (
    "install RabbitMQ (Debian/Ubuntu: `sudo apt-get install rabbitmq-server`, then"
    " `sudo rabbitmq-server -detached`; macOS: `brew install rabbitmq`), or set AMQP_URL to a"
    " broker that runs"
)

BROKER_OPEN_FILES: Final = 65536
"""Open files allowed to a broker this module starts. RabbitMQ opens a file per queue while
recovering them at boot; under Debian's default of 1024 a node holding more queues than that
hangs there, never listening."""
BROKER_USER: Final = "rabbitmq"

T = TypeVar("T")


def amqp_url_from_env() -> str:
    """AMQP_URL from the environment, else the local default broker."""
    return os.environ.get(AMQP_URL_ENV) or DEFAULT_AMQP_URL


def redact(amqp_url: str) -> str:
    """The URL with its password replaced by `***`, fit for logs and reports."""
    return redact_url(amqp_url)


def _is_local(host: str) -> bool:
    # B104 (bind to all interfaces) does not apply: hosts are compared here, none is bound.
    if host in {"", "localhost", "::1", "0.0.0.0", "::"} or host.startswith("127."):  # nosec
        return True
    return host in {socket.gethostname(), socket.getfqdn()}


def _run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even when called inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


async def _amqp_connect(amqp_url: str, timeout: float) -> None:
    connection = await asyncio.wait_for(aio_pika.connect(amqp_url, timeout=timeout), timeout + 1)
    await connection.close()


def _probe(amqp_url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """None when an AMQP connection to the URL opens; else why not, as text.

    Raises DevstackError when the broker answers but refuses the login or the virtual host:
    starting another broker would not help then.
    """
    url = URL(amqp_url)
    host, port = url.host or "localhost", url.port or 5672
    try:  # a plain TCP connect first: quick, and spares the AMQP client's error logging
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        return f"no TCP connection to {host}:{port} ({exc.strerror or exc})"
    try:
        _run_coroutine(lambda: _amqp_connect(amqp_url, timeout))
    except ProbableAuthenticationError as exc:
        raise DevstackError(
            f"the broker at {redact(amqp_url)} refused the credentials ({exc}): fix the user"
            " and password in AMQP_URL (RabbitMQ's default guest/guest works from localhost only)"
        ) from exc
    except AMQPConnectionError as exc:
        return f"{host}:{port} accepts TCP but the AMQP connection failed ({exc!r})"
    except AMQPError as exc:
        vhost = url.path[1:] or "/"
        raise DevstackError(
            f"the broker at {redact(amqp_url)} refused the AMQP connection ({exc!r}): does the"
            f" virtual host {vhost!r} exist? Create it (`rabbitmqctl add_vhost NAME` and"
            " `rabbitmqctl set_permissions -p NAME USER '.*' '.*' '.*'`) or fix AMQP_URL"
        ) from exc
    except (TimeoutError, OSError) as exc:
        return (
            f"{host}:{port} accepts TCP but no AMQP handshake completed within {timeout:.0f} s"
            f" ({exc!r}): is it RabbitMQ, and has it finished starting?"
        )
    return None


def _find_program(name: str) -> str | None:
    found = shutil.which(name)
    if found is not None:
        return found
    for directory in SBIN_DIRS:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _raise_open_files_limit() -> None:
    """Let the broker about to be started inherit BROKER_OPEN_FILES (or the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = BROKER_OPEN_FILES if hard == resource.RLIM_INFINITY else min(BROKER_OPEN_FILES, hard)
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _start_command(server: str) -> tuple[list[str], str | None]:
    """The command that starts the broker detached, and the user to run it as.

    As root, Debian's wrapper script becomes the rabbitmq user through `su`, whose PAM session
    resets the open-files limit to 1024; running the real script as that user directly keeps
    the limit raised here.
    """
    _raise_open_files_limit()
    real = Path(os.path.realpath(server)).parent / "rabbitmq-server"
    if os.geteuid() == 0 and real.is_file() and real != Path(server):
        try:
            pwd.getpwnam(BROKER_USER)
        except KeyError:
            return [server, "-detached"], None
        return [str(real), "-detached"], BROKER_USER
    return [server, "-detached"], None


def _install_with_apt(say: Say) -> None:
    say("RabbitMQ is not installed; installing the Debian package rabbitmq-server with apt-get...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "rabbitmq-server"]):
        say(f"running: {' '.join(argv)}")
        code, text = run_logged(argv, INSTALL_TIMEOUT_S, env=env)
        if code != 0:
            raise DevstackError(
                f"`{' '.join(argv)}` failed (exit code {code}); output ends with:\n"
                + "\n".join(f"    {line}" for line in text.splitlines()[-20:])
                + f"\n{INSTALL_HINT}"
            )


def _start_and_wait(server: str, amqp_url: str, timeout: float, say: Say) -> float:
    """Start the local broker detached and wait until it answers; return the seconds it took."""
    say(f"starting RabbitMQ: {server} -detached (ready in about 15 s)...")
    started = time.monotonic()
    argv, as_user = _start_command(server)
    code, text = run_logged(argv, CTL_TIMEOUT_S, as_user=as_user)
    # A non-zero exit may only mean a node is already booting; what counts is the connect.
    deadline = started + timeout
    reason: str | None = "not tried yet"
    while time.monotonic() < deadline:
        reason = _probe(amqp_url, timeout=min(PROBE_TIMEOUT_S, max(deadline - time.monotonic(), 1)))
        if reason is None:
            return time.monotonic() - started
        time.sleep(1.0)
    port = URL(amqp_url).port or 5672
    if "Only root" in text:
        hint = "only root (or the rabbitmq user) can start it: run `sudo rabbitmq-server -detached`"
    elif port != 5672 and os.environ.get("RABBITMQ_NODE_PORT") != str(port):
        hint = (
            f"RabbitMQ listens on 5672 unless RABBITMQ_NODE_PORT says otherwise, and the URL"
            f" names port {port}: fix AMQP_URL"
        )
    else:
        hint = "see /var/log/rabbitmq/ for the broker's own log"
    raise DevstackError(
        f"started `{server} -detached` (exit code {code}) but {redact(amqp_url)} did not answer"
        f" within {timeout:.0f} s: {reason}; {hint}. Its output:\n"
        + ("\n".join(f"    {line}" for line in text.splitlines()[-20:]) or "    (none)")
    )


def ensure_rabbitmq(
    amqp_url: str,
    *,
    start_timeout: float = START_TIMEOUT_S,
    probe_timeout: float = PROBE_TIMEOUT_S,
    say: Say = say,
) -> str:
    """Make sure a RabbitMQ broker answers at `amqp_url`; return one line saying what was done.

    A broker that answers is used as it is. Otherwise, when the URL points at this machine:
    an installed but stopped `rabbitmq-server` is started (`-detached`); a missing one is
    installed with apt-get when we are root on Debian/Ubuntu, then started. Every wait is
    bounded. Raises DevstackError naming what to install or which URL is unreachable.
    """
    reason = _probe(amqp_url, probe_timeout)
    if reason is None:
        return f"RabbitMQ answers at {redact(amqp_url)} (already running)"
    host = URL(amqp_url).host or "localhost"
    if not _is_local(host):
        raise DevstackError(
            f"no RabbitMQ answers at {redact(amqp_url)}: {reason}. That host is not this machine,"
            " so devstack cannot start it: start that broker or point AMQP_URL at one that runs"
        )
    installed_now = False
    server = _find_program("rabbitmq-server")
    if server is None:
        if not (Path("/etc/debian_version").exists() and os.geteuid() == 0):
            raise DevstackError(
                f"no RabbitMQ answers at {redact(amqp_url)} ({reason}) and rabbitmq-server is not"
                f" installed: {INSTALL_HINT}"
            )
        if shutil.which("apt-get") is None:
            raise DevstackError(
                f"rabbitmq-server is not installed and apt-get is missing: {INSTALL_HINT}"
            )
        _install_with_apt(say)
        installed_now = True
        server = _find_program("rabbitmq-server")
        if server is None:
            raise DevstackError(
                "apt-get installed rabbitmq-server but no rabbitmq-server command was found"
                f" on PATH nor in {', '.join(SBIN_DIRS)}"
            )
    elapsed = _start_and_wait(server, amqp_url, start_timeout, say)
    what = "installed (apt-get) and started" if installed_now else "started"
    return (
        f"RabbitMQ {what} with `{server} -detached`;"
        f" answers at {redact(amqp_url)} after {elapsed:.0f} s"
    )


def close_all_connections(
    reason: str = "test", *, vhost: str | None = None, timeout: float = CTL_TIMEOUT_S
) -> None:
    """Close every client connection on the local broker (by default those of vhost "/").

    For fault-injection tests. It closes every client's connections on that vhost, including
    those of a `make run` stack using the same broker. Raises DevstackError when rabbitmqctl
    is missing or fails.
    """
    ctl = _find_program("rabbitmqctl")
    if ctl is None:
        raise DevstackError(
            f"rabbitmqctl is not installed (it comes with rabbitmq-server): {INSTALL_HINT}"
        )
    argv = [ctl, "close_all_connections"]
    if vhost is not None:
        argv += ["--vhost", vhost]
    argv.append(reason)
    code, text = run_logged(argv, timeout)
    if code != 0:
        raise DevstackError(f"`{' '.join(argv)}` failed (exit code {code}): {text}")


def _ctl_rows(ctl: str, vhost: str, what: str, *columns: str) -> list[list[str]]:
    argv = [ctl, what, "-q", "--no-table-headers", "-p", vhost, *columns]
    code, text = run_logged(argv, CTL_TIMEOUT_S)
    if code != 0:
        raise DevstackError(f"`{' '.join(argv)}` failed (exit code {code}): {text}")
    return [line.split("\t") for line in text.splitlines() if line.strip()]


async def _delete(amqp_url: str, queues: list[str], exchanges: list[str]) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
        for exchange in exchanges:
            await channel.exchange_delete(exchange)


def remove_abandoned_namespaces(amqp_url: str, left_behind: Callable[[str], bool]) -> int:
    """Delete the queues and exchanges of the namespaces `left_behind` says a run left behind,
    unless one of their queues has a consumer.

    Test and benchmark runs that were killed leave their namespaces on the broker, and a
    broker holding thousands of queues boots slowly. Only the caller can tell a leftover from
    a live run's namespace (whose queues may have no consumer yet, or ever: retry queues), so
    it decides. Local broker only (it lists through rabbitmqctl); returns the number of queues
    deleted. Raises DevstackError when rabbitmqctl fails.
    """
    if not _is_local(URL(amqp_url).host or "localhost"):
        raise DevstackError(f"{redact(amqp_url)} is not on this machine, beyond rabbitmqctl")
    ctl = _find_program("rabbitmqctl")
    if ctl is None:
        raise DevstackError(f"rabbitmqctl is not installed: {INSTALL_HINT}")
    vhost = URL(amqp_url).path[1:] or "/"

    def owner(name: str) -> str | None:
        prefix = name.split(".", 1)[0]
        return prefix if left_behind(prefix) else None

    queues = _ctl_rows(ctl, vhost, "list_queues", "name", "consumers")
    in_use = {owner(name) for name, consumers in queues if consumers != "0"}

    def is_abandoned(name: str) -> bool:
        return owner(name) not in in_use | {None}

    abandoned = [name for name, _ in queues if is_abandoned(name)]
    exchanges = [
        name for (name,) in _ctl_rows(ctl, vhost, "list_exchanges", "name") if is_abandoned(name)
    ]
    if abandoned or exchanges:
        _run_coroutine(lambda: _delete(amqp_url, abandoned, exchanges))
    return len(abandoned)
