"""Fixtures of the TLS tests: a self-signed certificate for 127.0.0.1 and localhost, made at
test time, with its key and a key that belongs to another certificate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tls_support import TlsFiles, key_pem, self_signed_certificate


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    """A fresh self-signed certificate, its key, and a foreign key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = self_signed_certificate(key, datetime.now(UTC))
    files = TlsFiles(
        cert_file=tmp_path / "server.crt",
        key_file=tmp_path / "server.key",
        foreign_key_file=tmp_path / "foreign.key",
    )
    files.cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(key_pem(key))
    files.foreign_key_file.write_bytes(key_pem(ec.generate_private_key(ec.SECP256R1())))
    return files
