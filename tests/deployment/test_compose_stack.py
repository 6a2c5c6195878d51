"""docker-compose.yml and what it mounts: one image for every service, secrets only from files,
the generated secrets load as settings, and monitoring that reads real metric names."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_modules import REPO, load
from prometheus_client import REGISTRY

import gateway.requestlog
import logs.late_records
import privacy.watch
import provisioning.webhook_delivery
import servicekit.metrics
from accounts.settings import AccountsSettings
from servicekit.settings import SECRETS_DIR_ENV

compose_secrets = load("compose_secrets")
config_table = load("config_table")
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
PLATFORM = ("accounts", "provisioning", "logs", "privacy", "gateway")
METRIC_MODULES = (servicekit.metrics, gateway.requestlog, logs.late_records, privacy.watch)
RABBITMQ_METRICS = {
    "rabbitmq_queue_messages_ready",
    "rabbitmq_queue_messages",
    "rabbitmq_queue_consumers",
}
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The secrets deploy/compose_secrets.py creates, in a directory of the test's own."""
    directory = tmp_path_factory.mktemp("compose-secrets")
    compose_secrets.create_all(directory, "esim.test")
    return directory


def test_every_service_runs_from_the_one_image_as_python_m() -> None:
    """Each platform service is `python -m <service>` of the same image, read-only, replicated."""
    for name in PLATFORM:
        service = COMPOSE["services"][name]
        assert service["image"] == COMPOSE["services"]["gateway"]["image"]
        assert service["command"] == ["python", "-m", name]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert service["deploy"]["replicas"] >= 2
    assert "ports" not in COMPOSE["services"]["gateway"], "only the TLS proxy is public"


def test_secrets_come_only_from_git_ignored_files() -> None:
    """No secret setting is in an `environment:`, and every secret file is git-ignored."""
    secret_settings = {name for name, s in config_table.collect().items() if s.secret}
    for name in PLATFORM:
        environment = COMPOSE["services"][name]["environment"]
        assert environment["SECRETS_DIR"] == "/run/secrets"
        assert not secret_settings & set(environment), name
    for secret in COMPOSE["secrets"].values():
        path = Path(secret["file"])
        assert path.parent == Path("deploy/compose/secrets"), path
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=REPO, check=False)
        assert ignored.returncode == 0, f"{path} is not git-ignored"


def test_the_generator_writes_every_secret_the_compose_file_mounts(generated: Path) -> None:
    """Every `secrets:` file exists after one run, the certificate matches its key, the key
    file suits mongod, and a second run keeps every value."""
    for secret in COMPOSE["secrets"].values():
        assert (generated / Path(secret["file"]).name).is_file(), secret["file"]
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(generated / "tls.crt", generated / "tls.key")  # a matching pair
    keyfile = (generated / "mongo_keyfile").read_text().strip()
    assert 6 <= len(keyfile) <= 1024, "mongod accepts key files of 6 to 1024 characters"
    before = {path.name: path.read_text() for path in generated.iterdir()}
    assert compose_secrets.create_all(generated, "esim.test") == []
    assert {path.name: path.read_text() for path in generated.iterdir()} == before


def _mounted_for(service: str, generated: Path, target_dir: Path) -> Path:
    """The /run/secrets a service's container sees, built from the compose file."""
    target_dir.mkdir()
    for secret in COMPOSE["services"][service]["secrets"]:
        source = secret if isinstance(secret, str) else secret["source"]
        target = secret if isinstance(secret, str) else secret["target"]
        file_name = Path(COMPOSE["secrets"][source]["file"]).name
        shutil.copy(generated / file_name, target_dir / target)
    return target_dir


def test_accounts_starts_from_what_compose_mounts(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """accounts' settings load from its mounted secrets: keys, and URLs with auth and rs0."""
    for name in (
        "API_KEY_PEPPER",
        "MASTER_KEYS",
        "MASTER_KEYS_FILE",
        "BLIND_INDEX_KEY",
        "RECEIPT_SIGNING_KEY",
        "AMQP_URL",
        "MONGO_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(SECRETS_DIR_ENV, str(_mounted_for("accounts", generated, tmp_path / "s")))
    settings = AccountsSettings()
    assert settings.receipt_signing_key is not None
    assert settings.make_master_keys().current_version == "v1"
    assert re.fullmatch(
        r"mongodb://esim:[^@]+@mongo:27017/\?replicaSet=rs0&authSource=admin", settings.mongo_url
    )
    assert re.fullmatch(r"amqp://esim:[^@]+@rabbitmq:5672/esim", settings.amqp_url)


def test_rabbitmq_definitions(generated: Path) -> None:
    """Vhost, quorum-queue policies with delivery limits; password hashes only when generated."""
    template = json.loads((REPO / "deploy/compose/rabbitmq/definitions.json").read_text())
    assert [vhost["name"] for vhost in template["vhosts"]] == ["esim"]
    assert all("password_hash" not in user for user in template["users"])
    for policies in (template["policies"], template["operator_policies"]):
        assert all(
            p["apply-to"] == "quorum_queues" and "delivery-limit" in p["definition"]
            for p in policies
        )
    written = json.loads((generated / "rabbitmq_definitions.json").read_text())
    app_user = next(user for user in written["users"] if user["name"] == "esim")
    salted = base64.b64decode(app_user["password_hash"])
    password = (generated / "rabbitmq_app_password").read_text().strip()
    assert salted[4:] == hashlib.sha256(salted[:4] + password.encode()).digest()


def metric_names(expr: str) -> set[str]:
    """The metric names in a PromQL expression: the identifiers that are not functions,
    aggregation keywords, label names or values."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\b(by|without) \([^)]*\)|\"[^\"]*\"", " ", expr)
    return set(re.findall(r"\b([a-z_][a-z0-9_]*)\b(?!\s*\()", bare))


def _exposed_metric_names() -> set[str]:
    assert METRIC_MODULES
    assert provisioning.webhook_delivery
    names = {metric.name for metric in REGISTRY.collect()}
    return names | {name + suffix for name in names for suffix in SUFFIXES}


def test_dashboards_query_metrics_the_services_expose() -> None:
    """Every metric a Grafana panel queries is one the services or RabbitMQ really expose."""
    exposed = _exposed_metric_names() | RABBITMQ_METRICS
    dashboards = sorted((REPO / "deploy/compose/grafana/dashboards").glob("*.json"))
    assert len(dashboards) >= 3
    queried: set[str] = set()
    for path in dashboards:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == "prometheus"
            for target in panel["targets"]:
                queried |= metric_names(target["expr"])
    assert queried - exposed == set()
    assert {
        "outbox_backlog_documents",
        "privacy_requests_open",
        "webhook_deliveries_total",
        "rabbitmq_queue_messages_ready",
        "http_request_seconds_bucket",
    } <= queried


def test_prometheus_scrapes_every_service_and_the_broker() -> None:
    """Each platform service's replicas and RabbitMQ's metrics endpoint are scraped."""
    config = yaml.safe_load((REPO / "deploy/compose/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs["esim"]["dns_sd_configs"][0]["names"]) == set(PLATFORM)
    assert jobs["rabbitmq"]["static_configs"][0]["targets"] == ["rabbitmq:15692"]
    conf = (REPO / "deploy/compose/rabbitmq/rabbitmq.conf").read_text()
    assert "prometheus.return_per_object_metrics = true" in conf
    plugins = (REPO / "deploy/compose/rabbitmq/enabled_plugins").read_text()
    assert "rabbitmq_prometheus" in plugins
