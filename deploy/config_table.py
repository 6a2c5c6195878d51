"""Write docs/configuration.md from the settings classes, or check that it is current.

    python deploy/config_table.py            # regenerate docs/configuration.md
    python deploy/config_table.py --check    # exit 1 when the file is stale, or when
                                             # docker-compose.yml or a Kubernetes manifest
                                             # sets a variable no service reads

Every row is one environment variable, read from the pydantic-settings classes the services
instantiate (their field names, prefixes and aliases), so a new setting appears here by
running the script, and a setting without a description fails the check.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

from accounts.settings import AccountsSettings
from gateway.settings import GatewaySettings
from logs.settings import LogsSettings
from privacy.settings import PrivacySettings
from providersim.settings import SimulatorSettings
from provisioning.settings import ProvisioningSettings
from servicekit.mail import MailSettings
from servicekit.settings import SECRETS_DIR_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]
OUTPUT = REPO_ROOT / "docs" / "configuration.md"

SERVICES: dict[str, tuple[type[BaseSettings], ...]] = {
    "accounts": (AccountsSettings, MailSettings),
    "provisioning": (ProvisioningSettings,),
    "logs": (LogsSettings,),
    "privacy": (PrivacySettings, MailSettings),
    "gateway": (GatewaySettings,),
    "providersim": (SimulatorSettings,),
}
"""The settings classes each service's process instantiates (`python -m <service>`)."""

MEANINGS: dict[str, str] = {
    "AMQP_URL": "RabbitMQ (`amqps://` for TLS; the vhost is the URL's path, e.g. `/esim`).",
    "MONGO_URL": "The store; each service uses its own database. Production: a replica set"
    " with authentication, e.g. `mongodb://user:pw@host/?replicaSet=rs0&authSource=admin`"
    " (`&tls=true` for TLS), without `maxPoolSize=1`.",
    "BUS_NAMESPACE": "Prefix of every exchange, queue and database name.",
    "HTTP_HOST": "Address the HTTP listener binds to.",
    "HTTP_PORT": "Port of the HTTP listener (0 picks a free one).",
    "LOG_LEVEL": "Least level logged.",
    "LOG_FORMAT": "`json`, `console`, or `auto` (console on a TTY, JSON otherwise).",
    "PREFETCH": "Unacknowledged messages per consumer.",
    "OUTBOX_POLL_SECONDS": "How often the outbox relay looks for missed work.",
    "QUERY_TIMEOUT_SECONDS": "Request/reply timeout.",
    "API_KEY_PEPPER": "Server-side secret of the API-key HMAC.",
    "DEMO_API_KEY": "`seed-demo` only: the demo partner's API key.",
    "SESSION_TTL_MINUTES": "Lifetime of a dashboard session.",
    "LOGIN_FAILURE_WINDOW_MINUTES": "Window in which failed logins are counted.",
    "LOGIN_LOCKOUT_MINUTES": "How long a locked-out login stays locked.",
    "MASTER_KEYS": "`v1:<base64 of 32 bytes>[,v2:...]`: the keys that wrap every subject's"
    " data key, the last one current.",
    "MASTER_KEYS_FILE": "A file holding MASTER_KEYS (entries by comma or by line); wins over"
    " MASTER_KEYS.",
    "BLIND_INDEX_KEY": "Base64 of at least 32 random bytes: the HMAC key of blind indexes, one"
    " for the whole platform.",
    "MAX_BODY_BYTES": "Largest accepted request body.",
    "PROVIDERSIM_HOST": "Simulator: address to bind (also read from HTTP_HOST).",
    "PROVIDERSIM_SMDP_ADDRESS": "Simulator: SM-DP+ address in the activation codes.",
    "PROVIDERSIM_CALLBACK_URL": "Simulator: where it posts its signed callbacks.",
    "PROVIDERSIM_CALLBACK_TIMEOUT_SECONDS": "Simulator: upper bound of one callback.",
    "PROVIDER_CALLBACK_URL": "Simulator: same as PROVIDERSIM_CALLBACK_URL.",
    "SMTP_HOST": "SMTP server host.",
    "SMTP_PORT": "SMTP server port.",
    "SMTP_USERNAME": "SMTP login.",
    "SMTP_PASSWORD": "SMTP password.",  # B105: a description, not a password  # nosec
    "SMTP_TIMEOUT_SECONDS": "Upper bound of one SMTP conversation.",
    "PROVIDERSIM_LATENCY_MIN_MS": "Simulator: least added latency of an answer.",
    "PROVIDERSIM_LATENCY_MAX_MS": "Simulator: most added latency of an answer.",
    "PROVIDERSIM_POOL_SIZE": "Simulator: ICCIDs in its pool.",
}
"""Meanings of the settings whose field carries no description."""

EXTRA_ROWS: dict[str, tuple[str, str, str]] = {
    SECRETS_DIR_ENV: (
        "all but providersim",
        "path",
        "A directory of secret files, one per setting named in lower case (e.g."
        " `/run/secrets/master_keys`); the environment wins over a file. Unset: no files.",
    ),
    "DEMO_PASSWORD": (
        "accounts",
        "secret",
        "`seed-demo` only: the demo owner's dashboard password.",
    ),
}
"""Variables read outside the settings classes: (read by, type, meaning)."""


@dataclass
class Setting:
    """One environment variable and what reads it."""

    name: str
    kind: str
    secret: bool
    meaning: str
    defaults: dict[str, str] = field(default_factory=dict)
    readers: str = ""
    """Who reads it, when not worked out from `defaults`."""


def env_names(settings_class: type[BaseSettings], name: str, info: FieldInfo) -> list[str]:
    """The environment variables a field is read from, upper case."""
    alias = info.validation_alias or info.alias
    if isinstance(alias, AliasChoices):
        return [str(choice).upper() for choice in alias.choices]
    if isinstance(alias, str):
        return [alias.upper()]
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    return [(prefix + name).upper()]


def _kind(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Literal:
        return " \\| ".join(f"`{value}`" for value in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType) and len(arguments) == 1:
        return _kind(arguments[0])
    if origin is list:
        return f"JSON list of {_kind(arguments[0])}"
    if annotation is SecretStr:
        return "secret"
    if annotation is Path:
        return "path"
    return getattr(annotation, "__name__", str(annotation)).lower()


def _default(info: FieldInfo) -> str:
    if info.default is PydanticUndefined:
        return "required" if info.default_factory is None else "(computed)"
    value = info.default
    if isinstance(value, SecretStr):
        value = value.get_secret_value() or None
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return json.dumps([getattr(item, "value", item) for item in value])
    return str(value)


def _meaning(name: str, info: FieldInfo) -> str:
    if name in MEANINGS:
        return MEANINGS[name]
    text = (info.description or "").strip()
    for prefix in (f"{name}: ", f"{name}.", name):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
            break
    return text[:1].upper() + text[1:]


def collect() -> dict[str, Setting]:
    """Every variable the services read, by name."""
    settings: dict[str, Setting] = {}
    for service, classes in SERVICES.items():
        for settings_class in classes:
            for field_name, info in settings_class.model_fields.items():
                for name in env_names(settings_class, field_name, info):
                    setting = settings.get(name)
                    if setting is None:
                        setting = settings[name] = Setting(
                            name=name,
                            kind=_kind(info.annotation),
                            secret=_kind(info.annotation) == "secret",
                            meaning=_meaning(name, info),
                        )
                    setting.meaning = setting.meaning or _meaning(name, info)
                    setting.defaults.setdefault(service, _default(info))
    for name, (readers, kind, meaning) in EXTRA_ROWS.items():
        settings[name] = Setting(name, kind, kind == "secret", meaning, {}, readers)
    return settings


def _readers(setting: Setting) -> str:
    if setting.readers:
        return setting.readers
    if len(setting.defaults) == len(SERVICES):
        return "all"
    if set(SERVICES) - set(setting.defaults) == {"providersim"}:
        return "all but providersim"
    return ", ".join(setting.defaults)


def _defaults_cell(defaults: dict[str, str]) -> str:
    values = set(defaults.values()) or {"unset"}
    if len(values) == 1:
        return f"`{values.pop()}`"
    by_value: dict[str, list[str]] = {}
    for service, value in defaults.items():
        by_value.setdefault(value, []).append(service)
    return "; ".join(f"{', '.join(names)}: `{value}`" for value, names in by_value.items())


def _rows(settings: dict[str, Setting]) -> Iterator[str]:
    for setting in sorted(settings.values(), key=lambda s: s.name):
        services = _readers(setting)
        secret = "yes" if setting.secret else ""
        meaning = setting.meaning.replace("|", "\\|").replace("\n", " ")
        default = _defaults_cell(setting.defaults)
        cells = [f"`{setting.name}`", services, setting.kind, default, secret, meaning]
        yield "| " + " | ".join(cells) + " |"


def render(settings: dict[str, Setting] | None = None) -> str:
    """The whole of docs/configuration.md."""
    lines = [
        "# Configuration",
        "",
        "<!-- Generated by `python deploy/config_table.py` from the services' settings classes."
        " Do not edit by hand: `make check` fails when this file is stale. -->",
        "",
        "Every service reads environment variables (pydantic-settings; names are"
        " case-insensitive). With `SECRETS_DIR` set, any setting but `SMTP_*` and"
        " `PROVIDERSIM_*` may also come from a file of that directory named after it in lower"
        " case (`/run/secrets/api_key_pepper`); the environment wins. Lists are JSON."
        " *secret*: never logged, never quoted in errors. How to run the platform in"
        " production: [operations.md](operations.md).",
        "",
        "| variable | read by | type | default | secret | meaning |",
        "|---|---|---|---|---|---|",
        *_rows(settings if settings is not None else collect()),
        "",
    ]
    return "\n".join(lines)


def undocumented(settings: dict[str, Setting]) -> list[str]:
    """Variables whose field has no description and MEANINGS has none either."""
    return sorted(name for name, setting in settings.items() if not setting.meaning)


def known_names() -> set[str]:
    """Every variable some service reads."""
    return set(collect())


def _check(output: Path) -> int:
    from deployment_env import unknown_settings  # a sibling module of this script

    problems: list[str] = []
    settings = collect()
    problems += [
        f"{name} has no description: add one to its field" for name in undocumented(settings)
    ]
    expected = render(settings)
    current = output.read_text(encoding="utf-8") if output.exists() else ""
    if current != expected:
        diff = difflib.unified_diff(
            current.splitlines(), expected.splitlines(), str(output), "generated", lineterm=""
        )
        print("\n".join(list(diff)[:60]), file=sys.stderr)
        problems.append(f"{output} is stale: run `python deploy/config_table.py`")
    problems += unknown_settings(REPO_ROOT, known_names())
    for problem in problems:
        print(f"config-table: {problem}", file=sys.stderr)
    if not problems:
        print(f"config-table: {output.relative_to(REPO_ROOT)} is current; every env name is real")
    return 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the table, or check it (and the env names of the deployment files)."""
    parser = argparse.ArgumentParser(prog="python deploy/config_table.py")
    parser.add_argument("--check", action="store_true", help="exit 1 when stale")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    arguments = parser.parse_args(argv)
    if arguments.check:
        return _check(arguments.output)
    arguments.output.write_text(render(), encoding="utf-8")
    print(f"config-table: wrote {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
