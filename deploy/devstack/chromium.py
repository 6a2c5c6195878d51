"""The system Chromium for browser tests: use the one installed, else install Debian's package.

Playwright drives this browser through `executable_path`; Playwright's own browser downloads
(`playwright install`) are never used. Installing needs root on Debian or Ubuntu with apt-get
(`apt-get install -y chromium`); anywhere else a missing browser is an error saying what to
install.
"""

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .commands import run_logged
from .errors import DevstackError
from .output import Say, say

CHROMIUM_PATH_ENV: Final = "CHROMIUM_PATH"
PROGRAMS: Final = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FIXED_PATHS: Final = (
    "/usr/bin/chromium",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
)
PACKAGE: Final = "chromium"
VERSION_TIMEOUT_S: Final = 30.0
UPDATE_TIMEOUT_S: Final = 300.0
INSTALL_TIMEOUT_S: Final = 900.0
APT_LOCK_TIMEOUT_S: Final = 300
"""How long apt-get waits for another apt-get or dpkg (another install) to release its lock."""
MISSING_LISTS: Final = (
    "Unable to locate package",
    "has no installation candidate",
    "Failed to fetch",
)
"""What apt-get says when its package lists are missing or stale: `apt-get update` helps."""
INSTALL_HINT: Final = (
    "install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`; macOS:"
    f" `brew install --cask chromium`), or set {CHROMIUM_PATH_ENV} to a Chromium or Google"
    " Chrome executable"
)


@dataclass(frozen=True)
class Chromium:
    """A Chromium that runs: where it is, what it says its version is, how it got there."""

    path: str
    version: str
    installed_in: float | None = None
    """Seconds the apt-get install took, when this run installed it."""

    def describe(self) -> str:
        """One line for a report: the version, the path and whether it was installed now."""
        how = (
            f"installed (apt-get install {PACKAGE}) in {self.installed_in:.0f} s"
            if self.installed_in is not None
            else "already installed"
        )
        return f"{self.version} at {self.path} ({how})"


def find_chromium() -> str | None:
    """The path of the first Chromium or Chrome found: $CHROMIUM_PATH, PATH, known places.

    Raises DevstackError when $CHROMIUM_PATH names something that is not an executable.
    """
    configured = os.environ.get(CHROMIUM_PATH_ENV)
    if configured:
        if not (Path(configured).is_file() and os.access(configured, os.X_OK)):
            raise DevstackError(
                f"{CHROMIUM_PATH_ENV}={configured} is not an executable file: point it at a"
                " Chromium or Google Chrome executable, or unset it"
            )
        return configured
    for program in PROGRAMS:
        found = shutil.which(program)
        if found is not None:
            return found
    for candidate in FIXED_PATHS:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _run(argv: list[str], timeout: float) -> tuple[int, str]:
    """Run a command without questions from apt; its exit code and output."""
    return run_logged(argv, timeout, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines()[-lines:]) or "    (none)"


def chromium_version(path: str) -> str:
    """What `path --version` prints, e.g. "Chromium 131.0.6778.85 built on Debian ...".

    Raises DevstackError when it does not run: a wrapper without its browser (Ubuntu's
    `chromium-browser` without snap) is found on PATH but cannot be driven.
    """
    code, text = _run([path, "--version"], VERSION_TIMEOUT_S)
    if code != 0 or not text:
        raise DevstackError(
            f"{path} was found but `{path} --version` failed (exit code {code}); its output:\n"
            f"{_tail(text)}\n{INSTALL_HINT}"
        )
    return text.splitlines()[-1].strip()


def _apt_get(*arguments: str) -> list[str]:
    return ["apt-get", "-o", f"DPkg::Lock::Timeout={APT_LOCK_TIMEOUT_S}", *arguments]


def _failed(argv: list[str], code: int, text: str) -> DevstackError:
    return DevstackError(
        f"`{' '.join(argv)}` failed (exit code {code}); output ends with:\n{_tail(text)}\n"
        f"{INSTALL_HINT}"
    )


def install_with_apt(say: Say = say) -> float:
    """`apt-get install -y chromium`, after `apt-get update` when the lists lack the package.

    Returns the seconds it took. Raises DevstackError with apt-get's last lines on failure.
    """
    say(f"Chromium is not installed; installing the Debian package {PACKAGE} with apt-get...")
    started = time.monotonic()
    install = _apt_get("install", "-y", PACKAGE)
    say(f"running: {' '.join(install)}")
    code, text = _run(install, INSTALL_TIMEOUT_S)
    if code != 0 and any(marker in text for marker in MISSING_LISTS):
        update = _apt_get("update")
        say(f"apt-get's package lists lack {PACKAGE}; running: {' '.join(update)}")
        update_code, update_text = _run(update, UPDATE_TIMEOUT_S)
        if update_code != 0:
            raise _failed(update, update_code, update_text)
        say(f"running: {' '.join(install)}")
        code, text = _run(install, INSTALL_TIMEOUT_S)
    if code != 0:
        raise _failed(install, code, text)
    return time.monotonic() - started


def _can_install() -> str | None:
    """None when this machine can install the package; else why not."""
    if not Path("/etc/debian_version").exists():
        return "this is not Debian or Ubuntu"
    if os.geteuid() != 0:
        return "installing needs root"
    if shutil.which("apt-get") is None:
        return "apt-get is missing"
    return None


def ensure_chromium(*, say: Say = say) -> Chromium:
    """A Chromium that runs: the one installed, else Debian's package installed with apt-get.

    Looks at $CHROMIUM_PATH, then `chromium`, `chromium-browser`, `google-chrome` on PATH,
    then /usr/bin/chromium. A missing browser is installed only as root on Debian/Ubuntu.
    Every wait is bounded. Raises DevstackError saying what to install otherwise.
    """
    path = find_chromium()
    if path is not None:
        return Chromium(path, chromium_version(path))
    cannot = _can_install()
    if cannot is not None:
        raise DevstackError(
            f"no Chromium found (looked for {', '.join(PROGRAMS)} on PATH and"
            f" {', '.join(FIXED_PATHS)}) and devstack cannot install it: {cannot}. {INSTALL_HINT}"
        )
    took = install_with_apt(say)
    path = find_chromium()
    if path is None:
        raise DevstackError(
            f"apt-get installed {PACKAGE} but no {' or '.join(PROGRAMS)} was found on PATH"
            f" nor at {FIXED_PATHS[0]}"
        )
    return Chromium(path, chromium_version(path), installed_in=took)
