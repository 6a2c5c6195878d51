"""Create the secrets docker-compose.yml mounts, once, in deploy/compose/secrets/ (git-ignored).

    .venv/bin/python deploy/compose_secrets.py [--host esim.example.com] [--dir PATH]

Every file is created only when missing, so running it again never changes a key that data
is already sealed under; delete a file (and read docs/operations.md on rotation) to renew it.
The directory is private to you (0700); the files in it are readable (0644) because Docker
Compose bind-mounts them as they are into containers that run as other users.

Writes: the services' keys (API-key pepper, master keys, blind-index key, export-link key,
provider callback secret, one receipt signing key per data owner), the broker and database
passwords with the URLs the services use, RabbitMQ's definitions with the users' password
hashes, MongoDB's replica-set key file, Grafana's admin password, and a self-signed TLS
certificate for the reverse proxy (replace tls.crt and tls.key with your own).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from privacy.export_links import generate_link_key
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.receipts import generate_signing_key

REPO_ROOT = Path(__file__).resolve().parents[1]
SECRETS = REPO_ROOT / "deploy" / "compose" / "secrets"
DEFINITIONS = REPO_ROOT / "deploy" / "compose" / "rabbitmq" / "definitions.json"
DATA_OWNERS = ("accounts", "provisioning", "logs")
RABBITMQ_USERS = {"esim": "rabbitmq_app_password", "admin": "rabbitmq_admin_password"}


def password() -> str:
    """A random password that needs no escaping in a URL."""
    return secrets.token_urlsafe(24)


def rabbitmq_password_hash(plain: str, salt: bytes | None = None) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt + sha256(salt + password))."""
    salt = salt if salt is not None else secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + plain.encode()).digest()).decode()


def self_signed(host: str) -> tuple[str, str]:
    """A self-signed certificate for `host` (one year) and its key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def _webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class SecretsDir:
    """Writes each file once; reads back what is already there."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.created: list[str] = []

    def ensure(self, name: str, make: Callable[[], str]) -> str:
        """The file's content, created with `make()` when the file is missing."""
        path = self.directory / name
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        value = make()
        path.write_text(value + ("" if value.endswith("\n") else "\n"), encoding="utf-8")
        path.chmod(0o644)
        self.created.append(name)
        return value


def rabbitmq_definitions(passwords: dict[str, str]) -> str:
    """The committed definitions with each user's password hash filled in."""
    definitions = json.loads(DEFINITIONS.read_text(encoding="utf-8"))
    for user in definitions["users"]:
        user["password_hash"] = rabbitmq_password_hash(passwords[user["name"]])
        user["hashing_algorithm"] = "rabbit_password_hashing_sha256"
    return json.dumps(definitions, indent=2) + "\n"


def create_all(directory: Path, host: str) -> list[str]:
    """Create every missing secret file; the names of those created."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    files = SecretsDir(directory)
    files.ensure("api_key_pepper", lambda: secrets.token_urlsafe(32))
    files.ensure("master_keys", LocalMasterKeys.generate)
    files.ensure("blind_index_key", BlindIndex.generate_key)
    files.ensure("export_link_key", generate_link_key)
    files.ensure("provider_callback_secret", _webhook_secret)
    for owner in DATA_OWNERS:
        files.ensure(f"receipt_signing_key_{owner}", generate_signing_key)
    broker = {user: files.ensure(name, password) for user, name in RABBITMQ_USERS.items()}
    files.ensure("amqp_url", lambda: f"amqp://esim:{broker['esim']}@rabbitmq:5672/esim")
    files.ensure("rabbitmq_definitions.json", lambda: rabbitmq_definitions(broker))
    files.ensure("mongo_root_password", password)
    app = files.ensure("mongo_app_password", password)
    files.ensure(
        "mongo_url",
        lambda: f"mongodb://esim:{app}@mongo:27017/?replicaSet=rs0&authSource=admin",
    )
    files.ensure("mongo_keyfile", lambda: base64.b64encode(secrets.token_bytes(756)).decode())
    files.ensure("grafana_admin_password", password)
    if not (directory / "tls.crt").exists() or not (directory / "tls.key").exists():
        certificate, key = self_signed(host)
        (directory / "tls.crt").unlink(missing_ok=True)
        (directory / "tls.key").unlink(missing_ok=True)
        files.ensure("tls.crt", lambda: certificate)
        files.ensure("tls.key", lambda: key)
    return files.created


def main(argv: Sequence[str] | None = None) -> int:
    """Create the missing secrets and say which."""
    parser = argparse.ArgumentParser(prog="python deploy/compose_secrets.py")
    parser.add_argument("--dir", type=Path, default=SECRETS, help="default: %(default)s")
    parser.add_argument(
        "--host", default="localhost", help="name in the self-signed certificate (%(default)s)"
    )
    arguments = parser.parse_args(argv)
    created = create_all(arguments.dir, arguments.host)
    kept = "nothing to create" if not created else f"created {', '.join(created)}"
    print(f"compose-secrets: {arguments.dir}: {kept}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
