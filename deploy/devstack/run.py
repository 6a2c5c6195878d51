"""`make run`: the whole platform on this machine, seeded with a demo partner.

Starts (or reuses) RabbitMQ and the embedded store server, seeds the demo partner, runs every
service of the Procfile under honcho, waits until all are ready and prints how to call the API.
Ctrl-C stops everything; the data stays in `.data/` for the next run.
"""

import base64
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from honcho.environ import parse_procfile
from honcho.manager import Manager

from accounts.apikeys import generate as generate_api_key
from privacy.export_links import generate_link_key
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.receipts import generate_signing_key

from .errors import DevstackError
from .net import is_listening, redact_url
from .output import say
from .rabbitmq import amqp_url_from_env, ensure_rabbitmq
from .store_server import REPO_ROOT, StoreServer, kind_from_env, start_store_server

DATA = REPO_ROOT / ".data"
STORE_PORT = 27117
PORTS = {
    "gateway": 8080,
    "accounts": 8081,
    "provisioning": 8082,
    "logs": 8083,
    "privacy": 8084,
    "providersim": 8090,
    "smtp": 8026,
}
"""HTTP ports; `smtp` is the SMTP sink's (its messages at /messages)."""
SMTP_PORT = 8025
SEEDED = ["accounts", "provisioning", "logs"]
DATA_OWNERS = ("accounts", "provisioning", "logs")
"""Services that join the privacy fan-out, each signing its receipts with its own key."""
RECEIPT_KEY_PREFIX = "RECEIPT_SIGNING_KEY_"
READY_TIMEOUT_S = 90.0


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _write_env_file(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    path.chmod(0o600)


def _webhook_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def dev_secrets(saved: dict[str, str] | None = None) -> dict[str, str]:
    """Development secrets: from the environment, else `saved`, else newly generated."""
    generators = {
        "API_KEY_PEPPER": lambda: secrets.token_urlsafe(32),
        "DEMO_API_KEY": lambda: generate_api_key("test")[0],
        "DEMO_PASSWORD": lambda: secrets.token_urlsafe(12),
        "MASTER_KEYS": LocalMasterKeys.generate,
        "BLIND_INDEX_KEY": BlindIndex.generate_key,
        "PROVIDER_CALLBACK_SECRET": _webhook_secret,
        "EXPORT_LINK_KEY": generate_link_key,
        **{receipt_key_name(owner): generate_signing_key for owner in DATA_OWNERS},
    }
    known = saved or {}
    return {
        name: os.environ.get(name) or known.get(name) or generate()
        for name, generate in generators.items()
    }


def receipt_key_name(service: str) -> str:
    """Where the dev secrets keep one data owner's receipt signing key."""
    return RECEIPT_KEY_PREFIX + service.upper()


def process_env(service: str, env: dict[str, str]) -> dict[str, str]:
    """One process's environment: its own `RECEIPT_SIGNING_KEY`, and no other service's key."""
    own = env.get(receipt_key_name(service))
    shared = {name: value for name, value in env.items() if not name.startswith(RECEIPT_KEY_PREFIX)}
    return {**shared, "RECEIPT_SIGNING_KEY": own} if own else shared


def provider_env(provider_port: int, provisioning_port: int) -> dict[str, str]:
    """Where provisioning finds the provider simulator, and where the simulator calls back."""
    return {
        "PROVIDER_URL": f"http://127.0.0.1:{provider_port}",
        "PROVIDER_CALLBACK_URL": f"http://127.0.0.1:{provisioning_port}/provider/callbacks",
    }


def _store() -> tuple[str, StoreServer | None]:
    external = os.environ.get("MONGO_URL")
    if external:
        say(f"using MONGO_URL={redact_url(external)}")
        return external, None
    if is_listening("127.0.0.1", STORE_PORT):
        raise DevstackError(
            f"port {STORE_PORT} is taken (is another `make run` still up?); stop it or set"
            " MONGO_URL to use that server"
        )
    server = start_store_server(kind_from_env(), DATA / "store", STORE_PORT, say=say)
    say(f"store server {server.describe()}")
    return server.url, server


def _check_ports() -> None:
    busy = [f"{name} ({port})" for name, port in PORTS.items() if is_listening("127.0.0.1", port)]
    if busy:
        raise DevstackError(f"ports already in use: {', '.join(busy)}; stop what holds them")


def seed_demo(env: dict[str, str]) -> None:
    """Seed every data-owning service's demo data through its own `seed-demo` command."""
    for service in SEEDED:
        result = subprocess.run(  # dev tooling: our own argv, no shell  # nosec B603
            [sys.executable, "-m", service, "seed-demo"],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise DevstackError(f"seeding {service} failed:\n{result.stderr[-3000:]}")
    say("demo partner seeded (ptn_demo, balance EUR 1,000.00)")


def _ready(port: int) -> bool:
    try:
        # A fixed http URL of this host (bandit B310).
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:  # nosec B310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _announce_when_ready(demo_key: str, demo_password: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if all(_ready(port) for port in PORTS.values()):
            gateway = f"http://127.0.0.1:{PORTS['gateway']}"
            lines = [
                "",
                "all services ready",
                f"  gateway:   {gateway}  (API reference: {gateway}/docs)",
                f"  demo key:  {demo_key}  (also in .data/demo.env)",
                f'  try:       curl -H "Authorization: Bearer {demo_key}" {gateway}/v1/ping',
                f"  dashboard: {gateway}/dashboard  (demo.owner@example.com, password"
                f" {demo_password}; also in .data/demo.env)",
                "  Ctrl-C stops everything; data stays in .data/",
                "",
            ]
            for line in lines:
                say(line)
            return
        time.sleep(0.5)
    say(f"not every service was ready after {READY_TIMEOUT_S:.0f} s; see the output above")


def run() -> int:
    """Run the platform in the foreground until Ctrl-C."""
    amqp_url = amqp_url_from_env()
    say(ensure_rabbitmq(amqp_url, say=say))
    _check_ports()
    mongo_url, server = _store()
    try:
        dev = dev_secrets(_read_env_file(DATA / "demo.env"))
        _write_env_file(
            DATA / "demo.env", {**dev, "GATEWAY_URL": f"http://127.0.0.1:{PORTS['gateway']}"}
        )
        env = {
            **os.environ,
            **dev,
            "AMQP_URL": amqp_url,
            "MONGO_URL": mongo_url,
            **provider_env(PORTS["providersim"], PORTS["provisioning"]),
            "LOG_FORMAT": os.environ.get("LOG_FORMAT", "console"),
            "WEBHOOKS_ALLOW_PRIVATE_URLS": os.environ.get("WEBHOOKS_ALLOW_PRIVATE_URLS", "true"),
            "PYTHONUNBUFFERED": "1",
            "SMTP_PORT": os.environ.get("SMTP_PORT", str(SMTP_PORT)),
        }
        seed_demo(env)
        manager = Manager()
        procfile = parse_procfile((REPO_ROOT / "Procfile").read_text())
        for name, command in procfile.processes.items():
            own_env = {**process_env(name, env), "HTTP_PORT": str(PORTS[name])}
            command = command.replace("python ", f"{sys.executable} ", 1)
            manager.add_process(name, command, env=own_env, cwd=str(REPO_ROOT))
        threading.Thread(
            target=_announce_when_ready,
            args=(dev["DEMO_API_KEY"], dev["DEMO_PASSWORD"]),
            daemon=True,
        ).start()
        manager.loop()
        return int(manager.returncode or 0)
    finally:
        if server is not None:
            server.stop()
            say("store server stopped")
