"""TLS for a service's HTTP server: the server-side SSL context built from PEM files.

Errors name the files and what is wrong with them, never their content: a key file's bytes
are a secret, so no parser's message (or exception chain) about them is passed on.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

LOOPBACK_NAMES = frozenset({"localhost"})


class TlsConfigError(ValueError):
    """The configured certificate or key cannot serve TLS (the message names the file)."""


def is_loopback_host(host: str) -> bool:
    """Whether a listening address only reaches this machine (127.x, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def optional_server_context(cert_file: Path | None, key_file: Path | None) -> ssl.SSLContext | None:
    """The server's SSL context when a certificate and key are configured, else None."""
    if cert_file is None or key_file is None:
        return None
    return server_context(cert_file, key_file)


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server-side SSL context (TLS 1.2 or later) presenting the certificate (chain) in
    `cert_file` with the unencrypted private key in `key_file`, both PEM.

    Raises TlsConfigError when a file is missing or unreadable, is not PEM of its kind, or
    the key does not belong to the certificate.
    """
    certificate_key = _certificate_public_key(cert_file)
    key = _private_key_public_key(key_file)
    if _spki(certificate_key) != _spki(key):
        raise TlsConfigError(f"TLS key file {key_file} does not match certificate {cert_file}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file, password=_no_password)
    except (OSError, ssl.SSLError) as failure:
        reason = getattr(failure, "reason", None) or type(failure).__name__
        raise TlsConfigError(
            f"cannot load TLS certificate {cert_file} with key {key_file}: {reason}"
        ) from None
    return context


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as failure:
        raise TlsConfigError(
            f"cannot read {what} {path}: {failure.strerror or type(failure).__name__}"
        ) from None


def _certificate_public_key(cert_file: Path) -> PublicKeyTypes:
    pem = _read(cert_file, "TLS certificate file")
    try:
        chain = x509.load_pem_x509_certificates(pem)
    except ValueError:
        chain = []
    if not chain:
        raise TlsConfigError(f"TLS certificate file {cert_file} holds no PEM certificate")
    return chain[0].public_key()


def _private_key_public_key(key_file: Path) -> PublicKeyTypes:
    pem = _read(key_file, "TLS key file")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise TlsConfigError(
            f"TLS key file {key_file} is encrypted: give an unencrypted PEM key"
            " (and protect the file with its permissions)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsConfigError(f"TLS key file {key_file} holds no usable PEM private key") from None
    return key.public_key()


def _spki(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _no_password() -> bytes:
    # Never let OpenSSL prompt on the terminal; encrypted keys are refused before this.
    raise TlsConfigError("encrypted TLS keys are not supported")
