"""The gateway as a real process with TLS_CERT_FILE and TLS_KEY_FILE: HTTPS only."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp
import pytest
from tls_support import TlsFiles

from servicekit.settings import ServiceSettings
from support.names import unique_namespace
from support.processes import ServiceProcess, free_port
from support.services import remove_namespace
from support.waiting import eventually


async def _healthy(url: str, trust: ssl.SSLContext, process: ServiceProcess) -> bool:
    """Whether /healthz answers 200 over a verified TLS connection; fails if the process died."""
    if process.process is not None and process.process.poll() is not None:
        raise AssertionError(f"gateway exited: {process.output()[-2000:]}")
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{url}/healthz", ssl=trust) as response,
        ):
            return response.status == 200
    except aiohttp.ClientConnectorError:
        return False


async def test_the_gateway_serves_https_with_its_certificate_and_no_plain_http(
    amqp_url: str, mongo_url: str, tls_files: TlsFiles, tmp_path: Path
) -> None:
    """With a certificate configured, /healthz answers over HTTPS verified against that
    certificate, plain HTTP to the same port gets no answer, and the start-up log says https."""
    port = free_port()
    namespace = unique_namespace()
    gateway = ServiceProcess(
        ["-m", "gateway"],
        {
            "AMQP_URL": amqp_url,
            "MONGO_URL": mongo_url,
            "BUS_NAMESPACE": namespace,
            "HTTP_PORT": str(port),
            "TLS_CERT_FILE": str(tls_files.cert_file),
            "TLS_KEY_FILE": str(tls_files.key_file),
            "LOG_FORMAT": "json",
        },
        tmp_path / "gateway.log",
    )
    trust = ssl.create_default_context(cafile=str(tls_files.cert_file))
    gateway.start()
    try:
        await eventually(
            lambda: _healthy(f"https://127.0.0.1:{port}", trust, gateway),
            timeout=30,
            interval=0.1,
            what="gateway /healthz over https",
        )
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    raise AssertionError(f"plain HTTP answered {response.status}")
        listening = [line for line in gateway.output().splitlines() if "http_listening" in line]
        assert listening, gateway.output()[-2000:]
        assert f"https://127.0.0.1:{port}" in listening[0]
    finally:
        gateway.stop()
        await remove_namespace(
            ServiceSettings(amqp_url=amqp_url, mongo_url=mongo_url, bus_namespace=namespace),
            ["gateway"],
        )
