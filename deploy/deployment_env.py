"""The settings that docker-compose.yml and the Kubernetes manifests give the platform's image.

Used by `deploy/config_table.py --check` and tests/deployment: every variable set on a
container of the platform's image, every secret file mounted into one, and every key of the
platform's ConfigMaps must be a setting some service reads, so a typo fails the check instead
of being silently ignored at run time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

IMAGE_MARK = "esim-platform"
"""Part of the platform image's name, in compose and in the manifests."""
PLATFORM_CONFIG_MAPS = ("esim-config",)
NOT_SETTINGS = frozenset({"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PATH", "PYTHONPATH"})
"""Variables for Python itself, not for the services."""
FILE_SECRETS_DIR = "/run/secrets/"


def _env_names(environment: Any) -> Iterator[str]:
    if isinstance(environment, dict):
        yield from (str(name) for name in environment)
    elif isinstance(environment, list):
        yield from (str(item).split("=", 1)[0] for item in environment)


def _secret_files(secrets: Any) -> Iterator[str]:
    for secret in secrets or []:
        target = secret.get("target", secret.get("source")) if isinstance(secret, dict) else secret
        name = str(target)
        if name.startswith(FILE_SECRETS_DIR):
            name = name[len(FILE_SECRETS_DIR) :]
        if "/" not in name:
            yield name


def compose_names(compose_file: Path) -> dict[str, set[str]]:
    """Setting names given to each platform service of a compose file (env and secret files)."""
    document = yaml.safe_load(compose_file.read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {}
    for name, service in (document.get("services") or {}).items():
        if IMAGE_MARK not in str(service.get("image", "")):
            continue
        names = set(_env_names(service.get("environment")))
        names |= {file.upper() for file in _secret_files(service.get("secrets"))}
        found[f"docker-compose.yml: {name}"] = names
    return found


def _manifests(directory: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(directory.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict):
                yield path, document


def _containers(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = document.get("spec", {}).get("template", {}).get("spec", {})
    yield from spec.get("containers", [])
    yield from spec.get("initContainers", [])


def _projected_secret_files(document: dict[str, Any]) -> Iterator[str]:
    volumes = document.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", [])
    for volume in volumes:
        for source in volume.get("projected", {}).get("sources", []):
            for item in source.get("secret", {}).get("items", []):
                yield str(item["path"])


def kubernetes_names(directory: Path) -> dict[str, set[str]]:
    """Setting names in the manifests: platform containers' env and secret files, and the
    platform ConfigMaps' keys."""
    found: dict[str, set[str]] = {}
    for path, document in _manifests(directory):
        where = f"{path.relative_to(directory.parents[1])}: {document['metadata']['name']}"
        if document.get("kind") == "ConfigMap":
            if document["metadata"]["name"] in PLATFORM_CONFIG_MAPS:
                found[where] = set(document.get("data", {}))
            continue
        for container in _containers(document):
            if IMAGE_MARK in str(container.get("image", "")):
                names = {str(item["name"]) for item in container.get("env", [])}
                names |= {file.upper() for file in _projected_secret_files(document)}
                found.setdefault(where, set()).update(names)
    return found


def unknown_settings(repo_root: Path, known: set[str]) -> list[str]:
    """One line per variable given to the platform that no service reads."""
    given = compose_names(repo_root / "docker-compose.yml")
    given |= kubernetes_names(repo_root / "deploy" / "kubernetes")
    return [
        f"{where} sets {name}, which no service reads"
        for where, names in sorted(given.items())
        for name in sorted(names - known - NOT_SETTINGS)
    ]
