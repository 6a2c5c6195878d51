"""The secrets sentinel: a pytest plugin that fails the run when a secret reaches a log.

It watches, for the whole session:
- every structlog record of the test process, as rendered: a processor placed last in every
  structlog configuration (the defaults, `servicekit.logging.configure_logging`, any test's own)
  sees exactly the text the logger writes;
- every test phase's captured stdout, stderr and log records (the standard library's records,
  prints, anything a test process writes);
- every `*.log` file under the session's temporary directory: the output of the services run
  as processes (e2e, browser, SMTP sinks, the provider simulator), read at the end;
- every test namespace's database, read raw just before it is dropped (`drop_database` of the
  async client is wrapped, so `support.services.remove_namespace` and every fixture that drops
  databases itself are covered; see `support.raw_documents`).

Findings are kept (kind and place, never the secret), reported at the end of the run, and turn
its exit status into a failure. The summary line always says how much was checked, so a
sentinel that saw nothing shows it; `tests/sentinel` proves it catches planted secrets.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from support.raw_documents import ALLOWED_SEEN, ScanCount, scan_database
from support.secret_shapes import KNOWN, secret_kinds

TESTS = Path(__file__).resolve().parents[1]
SHOWN_FINDINGS = 60
"""Findings listed in the report; the rest are counted."""
_SERVICE = re.compile(r"\"service\": \"([\w.-]{1,60})\"")
_EVENT = re.compile(r"\"event\": \"([\w.:-]{1,80})\"")


@dataclass
class Sentinel:
    """What the session has checked, and what it found."""

    findings: list[str] = field(default_factory=list)
    records: int = 0
    sections: int = 0
    log_files: int = 0
    documents: ScanCount = field(default_factory=ScanCount)
    current: str = "(outside any test)"
    capture_off: bool = False
    report: Path | None = None
    """Where every finding is written (the terminal shows the first ones)."""
    seconds: float = 0.0
    """Time spent checking (the sentinel's whole cost to the run)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def found(self, kinds: list[str], where: str) -> None:
        """Record findings of `kinds` at `where`."""
        with self._lock:
            self.findings.extend(f"{kind} in {where}" for kind in kinds)

    def summary(self) -> str:
        """One line: how much was checked, and how many findings."""
        checked = (
            f"{self.records} structlog records, {self.sections} test phases' captured output,"
            f" {self.log_files} process log files, {self.documents.databases} test databases"
            f" ({self.documents.documents} raw documents)"
            f" checked for {len(KNOWN)} known secrets and every secret shape"
            f" in {self.seconds:.1f} s"
        )
        if self.capture_off:
            checked += " (capture disabled: captured output not checked)"
        return f"{checked}: {len(self.findings) or 'no'} finding(s)"


SENTINEL = Sentinel()


def check_output(_logger: Any, _method: str, rendered: Any) -> Any:
    """structlog processor, always last: check the record as it is written, unchanged."""
    started = time.perf_counter()
    text = rendered.decode(errors="replace") if isinstance(rendered, bytes) else str(rendered)
    SENTINEL.records += 1
    kinds = secret_kinds(text)
    if kinds:
        SENTINEL.found(kinds, f"a structlog record during {SENTINEL.current}{_about(text)}")
    SENTINEL.seconds += time.perf_counter() - started
    return rendered


def _about(text: str) -> str:
    """The record's service and event, when they are plain names and hold no secret."""
    parts = [
        f"{name} {match.group(1)}"
        for name, pattern in (("service", _SERVICE), ("event", _EVENT))
        if (match := pattern.search(text)) and not secret_kinds(match.group(1))
    ]
    return f" ({', '.join(parts)})" if parts else ""


_configure = structlog.configure
_reset_defaults = structlog.reset_defaults


def _keep_last() -> None:
    processors = [p for p in structlog.get_config()["processors"] if p is not check_output]
    _configure(processors=[*processors, check_output])


def _configure_watched(*args: Any, **kwargs: Any) -> None:
    _configure(*args, **kwargs)
    _keep_last()


def _reset_watched() -> None:
    _reset_defaults()
    _keep_last()


def watch_structlog() -> None:
    """Put `check_output` last in the current and every later structlog configuration."""
    structlog.configure = _configure_watched
    structlog.reset_defaults = _reset_watched
    _keep_last()


_drop_database = AsyncMongoClient.drop_database


async def _drop_database_watched(
    self: AsyncMongoClient[Any], name_or_database: Any, *args: Any, **kwargs: Any
) -> None:
    name = name_or_database if isinstance(name_or_database, str) else name_or_database.name
    try:
        await check_database(self[name])
    finally:
        await _drop_database(self, name_or_database, *args, **kwargs)


async def check_database(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Check a test namespace's database before it is dropped (`support.raw_documents`); one
    that cannot be read is a finding, not a silent pass."""
    started = time.perf_counter()
    try:
        findings = await scan_database(db, SENTINEL.documents)
    except Exception as failure:
        SENTINEL.found(["unreadable database"], f"{db.name} ({type(failure).__name__})")
        return
    finally:
        SENTINEL.seconds += time.perf_counter() - started
    for finding in findings:
        SENTINEL.found([finding.kind], f"{finding.place()} (during {SENTINEL.current})")


def watch_drops() -> None:
    """Read every test namespace's database before it is dropped, whoever drops it."""
    AsyncMongoClient.drop_database = _drop_database_watched  # type: ignore[method-assign]


def check_text(text: str, where: str) -> None:
    """Check captured or written output, naming the lines that hold a secret."""
    started = time.perf_counter()
    try:
        if secret_kinds(text):
            _check_lines(text, where)
    finally:
        SENTINEL.seconds += time.perf_counter() - started


def _check_lines(text: str, where: str) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        kinds = secret_kinds(line)
        if kinds:
            SENTINEL.found(kinds, f"{where}, line {number}")


def check_log_files(root: Path) -> None:
    """Check every `*.log` file under `root` (the session's temporary directory)."""
    for path in sorted(root.rglob("*.log")):
        SENTINEL.log_files += 1
        check_text(path.read_text(errors="replace"), f"log file {path}")


def remember_constants(modules: Mapping[str, Any]) -> None:
    """Remember the test modules' password and secret constants as known secrets."""
    for name, module in list(modules.items()):
        where = getattr(module, "__file__", None) or ""
        if where.startswith(str(TESTS)) and not name.startswith("support.secret"):
            KNOWN.add_named(vars(module), name)


def remember_fixture_secrets(value: object, fixture: str) -> None:
    """Remember the secrets of a fixture's environment (a mapping, or an object's `env`)."""
    env = value if isinstance(value, Mapping) else getattr(value, "env", None)
    if isinstance(env, Mapping):
        KNOWN.add_named(env, f"fixture {fixture}")


def pytest_configure(config: pytest.Config) -> None:
    """Start watching structlog before any test module configures it."""
    SENTINEL.capture_off = config.getoption("capture", "fd") == "no"
    watch_structlog()
    watch_drops()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Learn the password constants of the collected test modules."""
    remember_constants(sys.modules)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """Learn the secrets of fixtures' environments (the e2e platform's demo password...)."""
    value = yield
    remember_fixture_secrets(value, fixturedef.argname)
    return value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """Name the running test in findings."""
    SENTINEL.current = item.nodeid
    try:
        return (yield)
    finally:
        SENTINEL.current = "(between tests)"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Check what this phase of the test captured."""
    SENTINEL.sections += 1
    for title, content in report.sections:
        if title.startswith("Captured") and title.endswith(f" {report.when}"):
            check_text(content, f"{title.lower()} of {report.nodeid}")


@pytest.fixture(scope="session", autouse=True)
def _process_log_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the very end, check the output of every process the tests ran."""
    SENTINEL.report = tmp_path_factory.getbasetemp() / "secrets-sentinel.txt"
    yield
    check_log_files(tmp_path_factory.getbasetemp())


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run when the sentinel found anything."""
    passing = (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    if SENTINEL.findings and session.exitstatus in passing:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report what was checked, and every finding (kind and place, never the secret)."""
    write = terminalreporter.write_line
    for rule, seen in ALLOWED_SEEN.items():
        if rule.defect:
            where = f"{rule.service} {rule.collection}.{rule.path}"
            write(f"secrets sentinel: known defect let through {seen} time(s) at {where}")
    if not SENTINEL.findings:
        write(f"secrets sentinel: {SENTINEL.summary()}")
        return
    terminalreporter.section("secrets sentinel: secrets or personal data found", red=True)
    unique = list(dict.fromkeys(SENTINEL.findings))
    for finding in unique[:SHOWN_FINDINGS]:
        write(f"- {finding}")
    if len(unique) > SHOWN_FINDINGS:
        write(f"... and {len(unique) - SHOWN_FINDINGS} more")
    if SENTINEL.report is not None:
        SENTINEL.report.write_text("".join(f"{finding}\n" for finding in unique))
        write(f"secrets sentinel: every finding is listed in {SENTINEL.report}")
    write(f"secrets sentinel: {SENTINEL.summary()}")
