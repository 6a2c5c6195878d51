"""How devstack finds or installs the system Chromium: the installed one is used as it is; a
missing one is installed with apt-get only as root on Debian/Ubuntu (with `apt-get update` first
when the lists lack the package); every failure says what to do."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from devstack import chromium as setup
from devstack.chromium import CHROMIUM_PATH_ENV, Chromium, ensure_chromium
from devstack.errors import DevstackError
from devstack.output import quiet

APT_NO_LISTS = "E: Unable to locate package chromium"


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_installed_chromium_is_used_as_it_is(chromium: Chromium) -> None:
    """The system Chromium (installed by now) is found again, with its version, not installed."""
    found = ensure_chromium(say=quiet)
    assert found.path == chromium.path
    assert found.installed_in is None
    assert os.access(found.path, os.X_OK)
    assert found.version.split()[0] in {"Chromium", "Google"}, found.version
    assert "already installed" in found.describe()


def test_chromium_path_must_be_an_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$CHROMIUM_PATH naming a file that cannot run is an error naming the variable."""
    not_executable = tmp_path / "chromium"
    not_executable.write_text("")
    monkeypatch.setenv(CHROMIUM_PATH_ENV, str(not_executable))
    with pytest.raises(DevstackError, match=f"{CHROMIUM_PATH_ENV}=.* is not an executable"):
        ensure_chromium(say=quiet)


def test_browser_that_does_not_run_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A found browser whose `--version` fails (a wrapper without its snap) is an error."""
    wrapper = _script(tmp_path / "chromium-browser", "echo 'please install the snap' >&2; exit 1")
    monkeypatch.setenv(CHROMIUM_PATH_ENV, str(wrapper))
    with pytest.raises(DevstackError, match=r"(?s)--version` failed .*please install the snap"):
        ensure_chromium(say=quiet)


def test_given_chromium_path_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$CHROMIUM_PATH wins over PATH; the version is what the browser prints."""
    browser = _script(tmp_path / "chrome", "echo 'Google Chrome 150.0.1.2'")
    monkeypatch.setenv(CHROMIUM_PATH_ENV, str(browser))
    assert ensure_chromium(say=quiet) == Chromium(str(browser), "Google Chrome 150.0.1.2")


def test_missing_chromium_without_root_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No browser and no root: an error naming the package to install, and nothing run."""
    monkeypatch.setattr(setup, "find_chromium", lambda: None)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(setup, "_run", _must_not_run)
    with pytest.raises(DevstackError, match=r"(?s)needs root.*apt-get install chromium"):
        ensure_chromium(say=quiet)


def _must_not_run(argv: list[str], timeout: float) -> tuple[int, str]:
    raise AssertionError(f"ran {argv}")


def test_install_updates_the_lists_when_they_lack_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An install failing for want of package lists runs `apt-get update`, then installs."""
    ran: list[list[str]] = []
    answers = [(100, APT_NO_LISTS), (0, "Reading package lists..."), (0, "Setting up chromium")]

    def run(argv: list[str], timeout: float) -> tuple[int, str]:
        ran.append(argv)
        return answers.pop(0)

    monkeypatch.setattr(setup, "_run", run)
    setup.install_with_apt(quiet)
    assert [argv[3:] for argv in ran] == [
        ["install", "-y", "chromium"],
        ["update"],
        ["install", "-y", "chromium"],
    ]
    assert all(argv[:3] == ["apt-get", "-o", "DPkg::Lock::Timeout=300"] for argv in ran)


def test_failed_install_reports_apt_gets_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any other apt-get failure is reported with its last lines; no update is tried."""
    ran: list[list[str]] = []

    def run(argv: list[str], timeout: float) -> tuple[int, str]:
        ran.append(argv)
        return 100, "E: Sub-process /usr/bin/dpkg returned an error code (1)"

    monkeypatch.setattr(setup, "_run", run)
    with pytest.raises(DevstackError, match=r"(?s)exit code 100.*dpkg returned an error code"):
        setup.install_with_apt(quiet)
    assert len(ran) == 1
