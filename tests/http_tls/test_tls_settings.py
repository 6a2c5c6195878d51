"""TLS settings and the server's SSL context: refused combinations, clear errors, no key bytes."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import ValidationError
from tls_support import TlsFiles

from servicekit.settings import ServiceSettings
from servicekit.tls import TlsConfigError, server_context

PUBLIC_HOSTS = ["0.0.0.0", "::", "10.1.2.3", "api.example.com"]
LOOPBACK_HOSTS = ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST"]


def test_a_certificate_without_its_key_is_refused_naming_both(tls_files: TlsFiles) -> None:
    """A certificate file without a key file is a validation error naming both settings."""
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(tls_cert_file=tls_files.cert_file)
    assert "TLS_CERT_FILE" in str(refused.value)
    assert "TLS_KEY_FILE" in str(refused.value)


def test_a_key_without_its_certificate_is_refused(tls_files: TlsFiles) -> None:
    """A key file without a certificate file is refused too."""
    with pytest.raises(ValidationError, match="TLS_CERT_FILE and TLS_KEY_FILE"):
        ServiceSettings(tls_key_file=tls_files.key_file)


@pytest.mark.parametrize("host", PUBLIC_HOSTS)
def test_plain_http_on_a_public_host_is_refused_with_the_ways_out(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A non-loopback HTTP_HOST without TLS or PLAIN_HTTP_PUBLIC is refused, saying all three
    ways out, and the error quotes no other setting (here a secret)."""
    monkeypatch.setenv("HTTP_HOST", host)
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", "not-to-be-quoted-in-errors")
    with pytest.raises(ValidationError) as refused:
        ServiceSettings()
    message = str(refused.value)
    for way_out in ["TLS_CERT_FILE", "PLAIN_HTTP_PUBLIC", "HTTP_HOST=127.0.0.1"]:
        assert way_out in message
    assert "not-to-be-quoted-in-errors" not in message


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_plain_http_on_loopback_is_allowed(host: str) -> None:
    """Loopback addresses serve plain HTTP for development without asking."""
    settings = ServiceSettings(http_host=host)
    assert settings.tls_cert_file is None
    assert settings.plain_http_public is False


def test_plain_http_public_allows_a_public_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """PLAIN_HTTP_PUBLIC=true lets plain HTTP listen on a public address (behind a proxy)."""
    monkeypatch.setenv("HTTP_HOST", "0.0.0.0")
    monkeypatch.setenv("PLAIN_HTTP_PUBLIC", "true")
    settings = ServiceSettings()
    assert settings.http_host == "0.0.0.0"
    assert settings.plain_http_public is True


def test_a_certificate_allows_a_public_host(
    tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With TLS_CERT_FILE and TLS_KEY_FILE a public HTTP_HOST is allowed."""
    monkeypatch.setenv("HTTP_HOST", "0.0.0.0")
    monkeypatch.setenv("TLS_CERT_FILE", str(tls_files.cert_file))
    monkeypatch.setenv("TLS_KEY_FILE", str(tls_files.key_file))
    settings = ServiceSettings()
    assert settings.tls_cert_file == tls_files.cert_file
    assert settings.tls_key_file == tls_files.key_file


def test_empty_tls_variables_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """TLS_CERT_FILE= and TLS_KEY_FILE= (empty) mean no TLS, not the current directory."""
    monkeypatch.setenv("TLS_CERT_FILE", "")
    monkeypatch.setenv("TLS_KEY_FILE", "")
    settings = ServiceSettings()
    assert settings.tls_cert_file is None
    assert settings.tls_key_file is None


def test_the_server_context_requires_tls_1_2(tls_files: TlsFiles) -> None:
    """A matching certificate and key give a server context refusing anything below TLS 1.2."""
    context = server_context(tls_files.cert_file, tls_files.key_file)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_NONE


def test_a_key_of_another_certificate_is_a_clear_error_without_key_bytes(
    tls_files: TlsFiles,
) -> None:
    """A key that does not match the certificate is refused naming both files, and neither
    the message nor any chained exception carries the key's content."""
    with pytest.raises(TlsConfigError) as refused:
        server_context(tls_files.cert_file, tls_files.foreign_key_file)
    message = str(refused.value)
    assert "does not match" in message
    assert str(tls_files.foreign_key_file) in message
    assert str(tls_files.cert_file) in message
    _assert_no_key_content(refused.value, tls_files.foreign_key_file)


def test_a_missing_file_is_a_clear_error(tls_files: TlsFiles, tmp_path: Path) -> None:
    """A certificate path that does not exist is refused naming the path."""
    missing = tmp_path / "nowhere.crt"
    with pytest.raises(TlsConfigError, match="cannot read TLS certificate file") as refused:
        server_context(missing, tls_files.key_file)
    assert str(missing) in str(refused.value)


def test_a_file_that_is_no_key_is_a_clear_error_without_its_content(tls_files: TlsFiles) -> None:
    """A certificate given as the key file is refused as no PEM private key, without quoting it."""
    with pytest.raises(TlsConfigError, match="holds no usable PEM private key") as refused:
        server_context(tls_files.cert_file, tls_files.cert_file)
    _assert_no_key_content(refused.value, tls_files.cert_file)


def _assert_no_key_content(error: BaseException, key_file: Path) -> None:
    """No line of the PEM body appears in the error or anything chained to it."""
    body_lines = [
        line for line in key_file.read_text().splitlines() if line and not line.startswith("-----")
    ]
    failure: BaseException | None = error
    while failure is not None:
        text = f"{failure!s} {failure!r}"
        assert not any(line in text for line in body_lines)
        context = None if failure.__suppress_context__ else failure.__context__
        failure = failure.__cause__ or context
