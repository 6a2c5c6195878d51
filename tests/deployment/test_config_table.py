"""docs/configuration.md is generated from the settings classes, and the deployment files set
only real settings."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from deploy_modules import REPO, load

config_table = load("config_table")
deployment_env = load("deployment_env")
TABLE = REPO / "docs" / "configuration.md"


def documented_names() -> set[str]:
    """The variables the checked-in table has a row for."""
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", TABLE.read_text(encoding="utf-8"), re.M))


def test_every_field_of_every_settings_class_has_a_row() -> None:
    """Each variable any service's settings class reads is a row of docs/configuration.md."""
    rows = documented_names()
    for classes in config_table.SERVICES.values():
        for settings_class in classes:
            for name, info in settings_class.model_fields.items():
                for variable in config_table.env_names(settings_class, name, info):
                    assert variable in rows, f"{variable} ({settings_class.__name__}) missing"


def test_the_table_is_current_and_every_row_has_a_meaning() -> None:
    """The checked-in table is exactly what the classes generate, with no empty meaning."""
    settings = config_table.collect()
    assert config_table.undocumented(settings) == []
    assert TABLE.read_text(encoding="utf-8") == config_table.render(settings), (
        "docs/configuration.md is stale: run `python deploy/config_table.py`"
    )


def test_names_of_prefixed_and_aliased_settings() -> None:
    """Prefixes and aliases give the real variable names (SMTP_FROM, PROVIDERSIM_PORT)."""
    names = config_table.known_names()
    assert {"SMTP_FROM", "SMTP_HOST", "PROVIDERSIM_PORT", "PROVIDER_CALLBACK_SECRET"} <= names
    assert "SENDER" not in names
    assert "SMTP_SENDER" not in names


def test_deployment_files_set_only_real_settings() -> None:
    """docker-compose.yml and the manifests give the platform no variable it does not read."""
    assert deployment_env.unknown_settings(REPO, config_table.known_names()) == []
    found = deployment_env.compose_names(REPO / "docker-compose.yml")
    assert "MASTER_KEYS" in found["docker-compose.yml: accounts"]
    manifests = deployment_env.kubernetes_names(REPO / "deploy" / "kubernetes")
    assert "API_KEY_PEPPER" in manifests["deploy/kubernetes/base/accounts.yaml: accounts"]


def test_a_misspelt_setting_is_caught(tmp_path: Path) -> None:
    """A typo in the compose file's env or in a mounted secret's name is reported."""
    shutil.copytree(REPO / "deploy" / "kubernetes", tmp_path / "deploy" / "kubernetes")
    compose = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    compose = compose.replace("LOGS_TTL_INDEXES:", "LOG_TTL_INDEXES:", 1)
    compose = compose.replace("target: receipt_signing_key\n", "target: receipt_key\n", 1)
    (tmp_path / "docker-compose.yml").write_text(compose, encoding="utf-8")
    problems = deployment_env.unknown_settings(tmp_path, config_table.known_names())
    assert any("LOG_TTL_INDEXES" in problem for problem in problems)
    assert any("RECEIPT_KEY" in problem for problem in problems)


def test_check_mode_fails_on_a_stale_table(tmp_path: Path) -> None:
    """`config_table.py --check` exits 1 and names the fix when the table differs."""
    stale = tmp_path / "configuration.md"
    stale.write_text(TABLE.read_text(encoding="utf-8").replace("| `AMQP_URL` |", "| `AMQP` |"))
    script = str(REPO / "deploy" / "config_table.py")
    failed = subprocess.run(
        [sys.executable, script, "--check", "--output", str(stale)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failed.returncode == 1
    assert "python deploy/config_table.py" in failed.stderr
