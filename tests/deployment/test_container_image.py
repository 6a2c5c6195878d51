"""The Dockerfile builds one image for every service: multi-stage, non-root, a stdlib
HEALTHCHECK; and that healthcheck script answers by the server's status."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from deploy_modules import REPO, load

DOCKERFILE = (REPO / "Dockerfile").read_text()
healthcheck = load("container/healthcheck")


def test_two_stages_pinned_non_root_with_a_python_healthcheck() -> None:
    """Base images pinned by version tag; the final stage runs as a non-root user and checks
    /healthz with Python (no curl in the slim image)."""
    bases = re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert len(bases) == 2
    assert all(re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base) for base in bases)
    final = DOCKERFILE.split("\nFROM ")[-1]
    assert re.search(r"^USER 10001:10001$", final, re.M)
    assert 'CMD ["python", "/app/healthcheck.py"]' in final
    assert "--constraint requirements.lock" in DOCKERFILE
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ignored[1:2] == ["*"]
    assert "!deploy/compose/" not in ignored


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A local HTTP server answering 200 on /healthz and 503 elsewhere, as HTTP_PORT."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HTTP_PORT", str(server.server_port))
    monkeypatch.delenv("TLS_CERT_FILE", raising=False)
    yield server.server_port
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_healthcheck_exit_codes(server_port: int) -> None:
    """0 when /healthz answers 2xx; 1 for another status or a port nobody listens on."""
    assert healthcheck.main(["healthcheck"]) == 0
    assert healthcheck.main(["healthcheck", "/readyz"]) == 1
    with socket.socket() as reserved:  # bound, never listening: connections are refused
        reserved.bind(("127.0.0.1", 0))
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HTTP_PORT", str(reserved.getsockname()[1]))
            assert healthcheck.main(["healthcheck"]) == 1
