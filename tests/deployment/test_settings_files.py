"""Settings read from secret files under SECRETS_DIR (Docker secrets, Kubernetes volumes)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from accounts.settings import AccountsSettings
from servicekit.crypto import BlindIndex, LocalMasterKeys
from servicekit.receipts import generate_signing_key
from servicekit.settings import SECRETS_DIR_ENV, ServiceSettings

SECRET_NAMES = ("API_KEY_PEPPER", "MASTER_KEYS", "MASTER_KEYS_FILE", "BLIND_INDEX_KEY")


@pytest.fixture
def secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory of secret files, named by SECRETS_DIR; no competing environment."""
    for name in (*SECRET_NAMES, "RECEIPT_SIGNING_KEY", "AMQP_URL", "MONGO_URL", SECRETS_DIR_ENV):
        monkeypatch.delenv(name, raising=False)
    files = {
        "api_key_pepper": "pepper-from-a-file",
        "master_keys": LocalMasterKeys.generate(),
        "blind_index_key": BlindIndex.generate_key(),
        "receipt_signing_key": generate_signing_key(),
        "amqp_url": "amqp://esim:pw@rabbitmq:5672/esim",
    }
    for name, value in files.items():
        (tmp_path / name).write_text(value + "\n", encoding="utf-8")
    monkeypatch.setenv(SECRETS_DIR_ENV, str(tmp_path))
    return tmp_path


def test_every_secret_comes_from_its_file(secrets_dir: Path) -> None:
    """With SECRETS_DIR set, accounts reads its pepper, keys and broker URL from the files."""
    settings = AccountsSettings()
    assert settings.api_key_pepper.get_secret_value() == "pepper-from-a-file"
    master = (secrets_dir / "master_keys").read_text().strip()
    assert settings.master_keys.get_secret_value() == master
    assert settings.receipt_signing_key is not None
    assert settings.amqp_url == "amqp://esim:pw@rabbitmq:5672/esim"


def test_environment_wins_over_a_file(secrets_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable in the environment takes precedence over the file of the same setting."""
    monkeypatch.setenv("AMQP_URL", "amqp://other:pw@elsewhere:5672/esim")
    assert ServiceSettings().amqp_url == "amqp://other:pw@elsewhere:5672/esim"


def test_no_directory_no_files(secrets_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SECRETS_DIR the files are not read, and nothing warns about a missing directory."""
    monkeypatch.delenv(SECRETS_DIR_ENV)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        settings = ServiceSettings()
    assert settings.amqp_url == "amqp://guest:guest@127.0.0.1:5672/"
    with pytest.raises(ValueError, match="api_key_pepper"):
        AccountsSettings()


def test_a_bad_secret_file_is_named_not_quoted(secrets_dir: Path) -> None:
    """A malformed key from a file fails with the setting's name and never its value."""
    (secrets_dir / "blind_index_key").write_text("not-base64-SECRETVALUE\n")
    with pytest.raises(ValueError, match="BLIND_INDEX_KEY") as failure:
        AccountsSettings()
    assert "SECRETVALUE" not in str(failure.value)
