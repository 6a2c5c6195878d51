"""Test infrastructure: the RabbitMQ broker and the MongoDB-compatible store for the whole session.

- `amqp_url`: $AMQP_URL, else the local broker (started, or installed, when none answers).
- `mongo_url`: $MONGO_URL, else an embedded server ($STORE_SERVER picks ferretdb or nx) on a
  free port with a fresh data directory, so the suite runs beside `make run`.

The secrets sentinel (`support.sentinel`) watches the whole session's logs and raw documents;
`support.platform` starts the whole platform as processes once, for the folders that use it.
"""

import os
from collections.abc import Callable, Iterator

import pytest
from devstack.errors import DevstackError
from devstack.net import free_port, redact_url
from devstack.rabbitmq import (
    amqp_url_from_env,
    ensure_rabbitmq,
    redact,
    remove_abandoned_namespaces,
)
from devstack.store_server import (
    StoreServer,
    build_ferretdb,
    choose_kind,
    ferretdb_is_built,
    kind_from_env,
    start_store_server,
)

from support.names import left_behind

pytest_plugins = ("support.sentinel", "support.platform")

MONGO_URL_ENV = "MONGO_URL"

# argon2id at its smallest for the whole session, in this process and every service process it
# starts (they inherit the environment): password hashing was over half the CPU of the
# dashboard folders. Production keeps argon2-cffi's defaults (AccountsSettings).
CHEAP_PASSWORD_HASHING = {
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_KIB": "1024",
    "PASSWORD_HASH_PARALLELISM": "1",
}
for _name, _value in CHEAP_PASSWORD_HASHING.items():
    os.environ.setdefault(_name, _value)

_started: list[str] = []


def _terminal_say(config: pytest.Config) -> Callable[[str], None]:
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def say(message: str) -> None:
        line = f"devstack: {message}"
        if reporter is not None:
            reporter.write_line(line)
        else:
            print(line, flush=True)

    return say


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which store server and which broker this session uses."""
    mongo = os.environ.get(MONGO_URL_ENV)
    if mongo:
        store = f"store server: {MONGO_URL_ENV}={redact_url(mongo)}"
    else:
        try:
            kind, reason = choose_kind(kind_from_env())
            store = f"store server: embedded {kind} on a free port ({reason})"
        except DevstackError as exc:
            store = f"store server: cannot choose ({exc})"
    return [store, f"broker: {redact(amqp_url_from_env())}"]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Build FerretDB before any test runs when the session will need it.

    A first build takes 1-2 minutes; inside the `mongo_url` fixture it would count against
    the first test's timeout. A failure here is left for that fixture to report.
    """
    if os.environ.get(MONGO_URL_ENV):
        return
    try:
        kind, _ = choose_kind(kind_from_env())
        if kind == "ferretdb" and not ferretdb_is_built():
            build_ferretdb(say=_terminal_say(session.config))
    except DevstackError:
        pass


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat what the session actually started, with how long it took."""
    for line in _started:
        terminalreporter.write_line(f"devstack: {line}")


@pytest.fixture(scope="session")
def amqp_url(pytestconfig: pytest.Config) -> str:
    """The AMQP URL of a broker that answers; fails the session with what to install if none."""
    url = amqp_url_from_env()
    problem: str | None = None
    try:
        _started.append(ensure_rabbitmq(url, say=_terminal_say(pytestconfig)))
    except DevstackError as exc:
        problem = str(exc)
    if problem is not None:
        pytest.fail(f"no RabbitMQ broker: {problem}", pytrace=False)
    try:
        removed = remove_abandoned_namespaces(url, left_behind)
        _started.append(f"removed {removed} queues that killed test runs left on the broker")
    except DevstackError as exc:
        _started.append(f"left earlier runs' queues on the broker: {exc}")
    return url


@pytest.fixture(scope="session")
def mongo_url(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """$MONGO_URL, else the URL of an embedded store server started for this session."""
    external = os.environ.get(MONGO_URL_ENV)
    if external:
        yield external
        return
    server: StoreServer | None = None
    problem = ""
    try:
        server = start_store_server(
            kind_from_env(),
            tmp_path_factory.mktemp("store"),
            free_port(),
            say=_terminal_say(pytestconfig),
        )
    except DevstackError as exc:
        problem = str(exc)
    if server is None:
        pytest.fail(
            f"cannot start the embedded store server (set {MONGO_URL_ENV} to use another"
            f" one): {problem}",
            pytrace=False,
        )
    _started.append(f"store server {server.describe()}, ready in {server.started_in:.1f} s")
    try:
        yield server.url
    finally:
        server.stop()
