"""The embedded store servers start, serve, stop and release their port; misuse fails clearly.

No __init__.py in this directory on purpose: it would make this module `devstack.test_...`
and shadow the real `devstack` package.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

import pytest
from devstack.errors import DevstackError
from devstack.net import free_port, is_listening
from devstack.output import quiet
from devstack.store_server import (
    STORE_KINDS,
    StoreKind,
    choose_kind,
    ferretdb_is_built,
    find_go,
    parse_kind,
    start_store_server,
)
from pymongo import MongoClient

HOST = "127.0.0.1"


def _skip_without_ferretdb(kind: StoreKind) -> None:
    if kind == "ferretdb" and find_go() is None and not ferretdb_is_built():
        pytest.skip("FerretDB cannot be built here: no `go` on PATH and no built binary")


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_server_starts_serves_documents_stops_and_releases_its_port(
    kind: StoreKind, tmp_path: Path
) -> None:
    """Each kind answers ping, stores and returns a document, then stops and frees its port."""
    _skip_without_ferretdb(kind)
    port = free_port()
    server = start_store_server(kind, tmp_path / "store", port, say=quiet)
    try:
        assert server.kind == kind
        assert server.url.startswith(f"mongodb://{HOST}:{port}/")
        assert server.reason
        client: MongoClient[dict[str, Any]] = MongoClient(
            server.url, directConnection=True, serverSelectionTimeoutMS=5000
        )
        try:
            assert client.admin.command("ping")["ok"] == 1
            inserted = client.devstack_test.things.insert_one({"name": "sim", "bytes": 42})
            found = client.devstack_test.things.find_one({"_id": inserted.inserted_id})
            assert found == {"_id": inserted.inserted_id, "name": "sim", "bytes": 42}
        finally:
            client.close()
    finally:
        server.stop()
    assert server.process.returncode == 0, f"{kind} did not exit cleanly:\n{server.log_tail()}"
    assert not server.is_running()
    assert not is_listening(HOST, port), f"port {port} still accepts connections after stop()"
    server.stop()  # idempotent


def test_unknown_kind_raises_an_error_naming_the_valid_kinds(tmp_path: Path) -> None:
    """A kind other than ferretdb or nx is refused before anything starts, naming both."""
    with pytest.raises(DevstackError, match=r"unknown store server kind 'mongod'.*ferretdb, nx"):
        start_store_server(cast(Any, "mongod"), tmp_path / "store", free_port(), say=quiet)
    assert not (tmp_path / "store").exists()


def test_store_server_env_value_is_validated() -> None:
    """STORE_SERVER values parse case-insensitively, empty means automatic, typos are refused."""
    assert parse_kind(" FerretDB ") == "ferretdb"
    assert parse_kind("nx") == "nx"
    assert parse_kind("") is None
    assert parse_kind(None) is None
    with pytest.raises(DevstackError, match="STORE_SERVER"):
        parse_kind("ferret")


def test_automatic_choice_falls_back_to_nx_without_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no Go on PATH and no built FerretDB, the automatic choice is nx and says why."""
    monkeypatch.setattr("devstack.store_server.find_go", lambda: None)
    monkeypatch.setattr("devstack.store_server.ferretdb_is_built", lambda: False)
    kind, reason = choose_kind(None)
    assert kind == "nx"
    assert "no `go` on PATH" in reason


def test_ferretdb_binary_is_stale_when_a_source_is_newer(tmp_path: Path) -> None:
    """The FerretDB binary counts as built only when it exists and is newer than every source."""
    binary = tmp_path / "ferretdb"
    sources = ("main.go", "go.mod", "go.sum")
    for name in sources:
        (tmp_path / name).write_text("x")
    assert not ferretdb_is_built(binary, tmp_path, sources)
    binary.write_text("binary")
    now = time.time()
    for name in sources:
        os.utime(tmp_path / name, (now - 100, now - 100))
    os.utime(binary, (now - 50, now - 50))
    assert ferretdb_is_built(binary, tmp_path, sources)
    os.utime(tmp_path / "go.sum", (now, now))
    assert not ferretdb_is_built(binary, tmp_path, sources)


def test_start_refuses_a_port_already_in_use(tmp_path: Path) -> None:
    """A busy port is reported as such instead of pinging whatever listens there."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((HOST, 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(DevstackError, match=rf"port {port} on {HOST} is already in use"):
            start_store_server("nx", tmp_path / "store", port, say=quiet)


def test_a_server_that_exits_at_start_is_reported_with_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server process that dies before answering ping raises with its exit code and log tail."""
    crash = [sys.executable, "-c", "import sys; print('cannot open the data files'); sys.exit(3)"]
    monkeypatch.setattr("devstack.store_server._command", lambda *args: crash)
    with pytest.raises(DevstackError, match=r"(?s)exited with code 3.*cannot open the data files"):
        start_store_server("nx", tmp_path / "store", free_port(), say=quiet)


def test_a_server_that_never_answers_is_stopped_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that does not answer ping within the timeout is stopped and reported."""
    mute = [sys.executable, "-c", "import time; print('starting...', flush=True); time.sleep(60)"]
    monkeypatch.setattr("devstack.store_server._command", lambda *args: mute)
    started = time.monotonic()
    with pytest.raises(
        DevstackError, match=r"(?s)did not answer ping .* within 1 s.*starting\.\.\."
    ):
        start_store_server("nx", tmp_path / "store", free_port(), timeout=1.0, say=quiet)
    assert time.monotonic() - started < 15


def test_cli_store_runs_until_sigterm_then_stops_the_server(tmp_path: Path) -> None:
    """`python -m devstack store` serves until SIGTERM, then stops its server and exits 0."""
    port = free_port()
    output_path = tmp_path / "cli.out"
    with output_path.open("wb") as output:
        cli = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devstack",
                "store",
                "--kind",
                "nx",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "store"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while f"MONGO_URL=mongodb://{HOST}:{port}/" not in output_path.read_text():
            assert cli.poll() is None, f"CLI exited early:\n{output_path.read_text()}"
            assert time.monotonic() < deadline, f"CLI not ready in 30 s:\n{output_path.read_text()}"
            time.sleep(0.1)
        assert is_listening(HOST, port)
        cli.send_signal(signal.SIGTERM)
        assert cli.wait(timeout=30) == 0, output_path.read_text()
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait(timeout=10)
    text = output_path.read_text()
    assert "devstack: store server nx at" in text
    assert "devstack: nx stopped" in text
    assert not is_listening(HOST, port)
