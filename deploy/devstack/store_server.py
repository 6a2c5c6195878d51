"""The embedded MongoDB-wire-protocol server for development and tests.

Two servers can play the part:

- FerretDB v1 with its SQLite backend (preferred), built from the wrapper program in
  `deploy/ferretdb/` into `.data/bin/ferretdb`. The plain
  `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` binary panics at start-up
  (its module archive lacks `build/version/version.txt`), hence the wrapper.
- `nx-27017` (PyPI, installed in the virtualenv), used when asked for or when Go is missing.

Each kind keeps its files in its own subdirectory of the data directory (their on-disk
formats differ), next to its log: `<data_dir>/ferretdb/`, `<data_dir>/ferretdb.log`,
`<data_dir>/nx/`, `<data_dir>/nx.log`, `<data_dir>/nx.pid`.
"""

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, get_args
from urllib.parse import quote

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from .errors import DevstackError
from .net import is_listening
from .output import Say, say

StoreKind = Literal["ferretdb", "nx"]
STORE_KINDS: Final[tuple[StoreKind, ...]] = get_args(StoreKind)
STORE_SERVER_ENV: Final = "STORE_SERVER"

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
FERRETDB_VERSION: Final = "v1.24.2"
FERRETDB_SOURCE_DIR: Final = REPO_ROOT / "deploy" / "ferretdb"
FERRETDB_SOURCES: Final = ("main.go", "go.mod", "go.sum")
FERRETDB_BINARY: Final = REPO_ROOT / ".data" / "bin" / "ferretdb"
# deploy/ferretdb/go.mod says `go 1.24`; Go 1.21+ can fetch a newer toolchain by itself.
GO_REQUIRED: Final = (1, 24)
GO_TOOLCHAIN_SWITCH: Final = (1, 21)
GO_FALLBACK_TOOLCHAIN: Final = "go1.24.3"
GO_INSTALL_HINT: Final = (
    "install Go 1.21 or newer from https://go.dev/dl/ (Debian 12's golang-go is 1.19, too old)"
    f", or run the other embedded server with {STORE_SERVER_ENV}=nx"
)
BUILD_TIMEOUT_S: Final = 900.0
START_TIMEOUT_S: Final = 30.0
STOP_TIMEOUT_S: Final = 10.0
TERM_REPEAT_S: Final = 1.0
LOG_TAIL_LINES: Final = 25


def parse_kind(value: str | None) -> StoreKind | None:
    """Validate a store-server kind from a command line or the environment; "" means automatic."""
    if value is None or value.strip() == "":
        return None
    cleaned = value.strip().lower()
    for kind in STORE_KINDS:
        if cleaned == kind:
            return kind
    raise DevstackError(
        f"unknown store server kind {value!r}: expected one of {', '.join(STORE_KINDS)}"
        f" (or leave {STORE_SERVER_ENV} unset to choose automatically)"
    )


def kind_from_env() -> StoreKind | None:
    """The kind the STORE_SERVER environment variable asks for, None when unset or empty."""
    return parse_kind(os.environ.get(STORE_SERVER_ENV))


def find_go() -> str | None:
    """Path of the `go` command on PATH, if any."""
    return shutil.which("go")


def ferretdb_is_built(
    binary: Path | None = None,
    source_dir: Path | None = None,
    sources: tuple[str, ...] = FERRETDB_SOURCES,
) -> bool:
    """Tell whether the FerretDB binary exists and is newer than every source file."""
    binary = FERRETDB_BINARY if binary is None else binary
    source_dir = FERRETDB_SOURCE_DIR if source_dir is None else source_dir
    if not binary.is_file():
        return False
    built_at = binary.stat().st_mtime
    return all(
        (source_dir / name).stat().st_mtime <= built_at
        for name in sources
        if (source_dir / name).exists()
    )


def choose_kind(kind: StoreKind | None) -> tuple[StoreKind, str]:
    """Resolve the kind to run and a one-line reason for the choice.

    None means FerretDB when Go is on PATH (or an up-to-date binary is already built),
    else nx-27017.
    """
    if kind is not None:
        checked = parse_kind(kind)  # a caller may pass an arbitrary string at run time
        assert checked is not None
        return checked, f"{checked} requested"
    go = find_go()
    if go is not None:
        return "ferretdb", f"automatic: Go found at {go}, so FerretDB {FERRETDB_VERSION}"
    if ferretdb_is_built():
        return "ferretdb", f"automatic: no Go on PATH, but {FERRETDB_BINARY} is built and current"
    return "nx", "automatic: no `go` on PATH to build FerretDB, so nx-27017"


def _go_version(go: str) -> tuple[int, int] | None:
    """(major, minor) of the Go toolchain, None when it cannot be told (e.g. a devel build)."""
    try:
        done = subprocess.run(  # dev tooling: our own argv, no shell  # nosec B603
            [go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"go(\d+)\.(\d+)", done.stdout.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def _run_go_build(go: str, output: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # dev tooling: our own argv, no shell  # nosec B603
            # -buildvcs=false: deploy/ferretdb sits inside this repository's checkout, and VCS
            # stamping fails when git is missing or the checkout belongs to another user.
            [go, "build", "-buildvcs=false", "-o", str(output), "."],
            cwd=FERRETDB_SOURCE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DevstackError(
            f"building FerretDB took longer than {BUILD_TIMEOUT_S:.0f} s and was stopped"
            " (is the Go module proxy reachable? set GOPROXY if you need a mirror)"
        ) from exc
    except OSError as exc:
        raise DevstackError(f"cannot run `{go} build` in {FERRETDB_SOURCE_DIR}: {exc}") from exc


def build_ferretdb(*, force: bool = False, say: Say = say) -> Path:
    """Build `.data/bin/ferretdb` from deploy/ferretdb when it is missing or older than its sources.

    Concurrent callers (make run and make test at once) take turns on a lock file; the binary
    is replaced atomically, so nobody runs a half-written one.
    """
    if not force and ferretdb_is_built():
        return FERRETDB_BINARY
    go = find_go()
    if go is None:
        raise DevstackError(
            f"FerretDB {FERRETDB_VERSION} must be built from {FERRETDB_SOURCE_DIR} and no `go`"
            f" command is on PATH: {GO_INSTALL_HINT}"
        )
    FERRETDB_BINARY.parent.mkdir(parents=True, exist_ok=True)
    lock_path = FERRETDB_BINARY.parent / "ferretdb.build.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not force and ferretdb_is_built():
            return FERRETDB_BINARY  # built by someone else while we waited
        env = dict(os.environ)
        version = _go_version(go)
        toolchain_note = ""
        if version is not None and version < GO_REQUIRED:
            if version < GO_TOOLCHAIN_SWITCH:
                raise DevstackError(
                    f"Go {version[0]}.{version[1]} at {go} is too old to build FerretDB"
                    f" {FERRETDB_VERSION} (it needs {GO_REQUIRED[0]}.{GO_REQUIRED[1]}):"
                    f" {GO_INSTALL_HINT}"
                )
            env["GOTOOLCHAIN"] = GO_FALLBACK_TOOLCHAIN
            toolchain_note = f" with GOTOOLCHAIN={GO_FALLBACK_TOOLCHAIN}"
        if not FERRETDB_BINARY.exists():
            why = "building FerretDB {} (first time, about 1-2 minutes){}..."
        elif force:
            why = "rebuilding FerretDB {} (forced){}..."
        else:
            why = "rebuilding FerretDB {} (deploy/ferretdb changed){}..."
        say(why.format(FERRETDB_VERSION, toolchain_note))
        started = time.monotonic()
        partial = FERRETDB_BINARY.with_name(f"ferretdb.partial-{os.getpid()}")
        try:
            done = _run_go_build(go, partial, env)
            if done.returncode != 0 and "GOTOOLCHAIN" not in toolchain_note:
                output = done.stdout + done.stderr
                if "requires go" in output:
                    say(f"Go at {go} is too old; retrying with GOTOOLCHAIN={GO_FALLBACK_TOOLCHAIN}")
                    env["GOTOOLCHAIN"] = GO_FALLBACK_TOOLCHAIN
                    done = _run_go_build(go, partial, env)
            if done.returncode != 0:
                raise DevstackError(
                    f"`go build` of FerretDB in {FERRETDB_SOURCE_DIR} failed with exit code"
                    f" {done.returncode}:\n{_last_lines(done.stdout + done.stderr)}"
                )
            partial.replace(FERRETDB_BINARY)
        finally:
            partial.unlink(missing_ok=True)
        say(f"built FerretDB in {time.monotonic() - started:.0f} s: {FERRETDB_BINARY}")
    return FERRETDB_BINARY


def _nx_executable() -> str:
    beside_python = Path(sys.executable).parent / "nx-27017"
    if beside_python.is_file():
        return str(beside_python)
    on_path = shutil.which("nx-27017")
    if on_path is not None:
        return on_path
    raise DevstackError(
        f"nx-27017 is not installed next to {sys.executable} nor on PATH: install the dev"
        " dependencies (`.venv/bin/pip install -e '.[dev]'`, which pins nx-27017==0.8.1)"
    )


def _last_lines(text: str, count: int = LOG_TAIL_LINES) -> str:
    lines = text.rstrip().splitlines()[-count:]
    return "\n".join(f"    {line}" for line in lines) if lines else "    (no output)"


def _log_tail(path: Path, count: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 64 * 1024))
            text = log.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"    (cannot read {path}: {exc})"
    return _last_lines(text, count)


_URL_OPTIONS: dict[StoreKind, str] = {
    # FerretDB 1.x applies concurrent updates of one document from different connections
    # without isolation (decision 0002): one connection per client keeps them atomic.
    "ferretdb": "?maxPoolSize=1",
    "nx": "",
}


@dataclass(eq=False)
class StoreServer:
    """A running embedded store server; `stop()` ends it (also on leaving a `with` block)."""

    kind: StoreKind
    url: str
    reason: str
    host: str
    port: int
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    started_in: float = 0.0
    term_signals_sent: int = 0

    def describe(self) -> str:
        """One line: which server, where, and why this kind."""
        return f"{self.kind} at {self.url} ({self.reason})"

    def is_running(self) -> bool:
        """Tell whether the server process is still alive."""
        return self.process.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Terminate the server, repeating SIGTERM for up to `timeout` seconds, then kill it.

        Idempotent. SIGTERM is repeated because nx-27017 0.8.1 raises SystemExit from its
        signal handler wherever the interpreter happens to be; about one stop in forty it lands
        in a place that swallows it (a `__del__`) or wedges the event loop, and a second
        SIGTERM then ends the process. Both servers keep their data in SQLite, which survives
        the final SIGKILL if it ever comes to that.
        """
        if self.process.poll() is not None:
            return
        deadline = time.monotonic() + timeout
        while True:
            self.process.terminate()
            self.term_signals_sent += 1
            remaining = deadline - time.monotonic()
            try:
                self.process.wait(timeout=max(0.0, min(TERM_REPEAT_S, remaining)))
                return
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    break
        self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT_S)

    def log_tail(self, count: int = LOG_TAIL_LINES) -> str:
        """The last lines of the server's log, indented."""
        return _log_tail(self.log_path, count)

    def __enter__(self) -> "StoreServer":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _command(kind: StoreKind, host: str, port: int, data_dir: Path, say: Say) -> list[str]:
    files = data_dir / kind
    files.mkdir(parents=True, exist_ok=True)
    if kind == "ferretdb":
        binary = build_ferretdb(say=say)
        # FerretDB wants a directory URL that ends with "/" for an existing directory.
        return [
            str(binary),
            "--listen-addr",
            f"{_bracketed(host)}:{port}",
            "--sqlite-url",
            f"file:{quote(files.as_posix())}/",
        ]
    return [
        _nx_executable(),
        "--host",
        host,
        "-p",
        str(port),
        "--data-dir",
        str(files),
        # In the foreground nx-27017 logs every record both to stderr (captured in
        # <data_dir>/nx.log, with any traceback) and to --log-file: drop the duplicate.
        "--log-file",
        os.devnull,
        # Its default pid file is shared (/tmp/nx_27017.pid): a second server would refuse to
        # start while the first runs.
        "--pid-file",
        str(data_dir / f"{kind}.pid"),
    ]


def _wait_until_ready(server: StoreServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    client: MongoClient[dict[str, Any]] = MongoClient(
        server.url,
        directConnection=True,
        serverSelectionTimeoutMS=300,
        connectTimeoutMS=300,
        socketTimeoutMS=2000,
    )
    try:
        while True:
            code = server.process.poll()
            if code is not None:
                raise DevstackError(
                    f"{server.kind} exited with code {code} before answering ping on"
                    f" {server.host}:{server.port}; last lines of {server.log_path}:\n"
                    f"{server.log_tail()}"
                )
            with contextlib.suppress(PyMongoError):
                client.admin.command("ping")
                if server.process.poll() is None:
                    return
                continue  # something else answered on that port and ours died: report it
            if time.monotonic() >= deadline:
                raise DevstackError(
                    f"{server.kind} did not answer ping at {server.url} within {timeout:.0f} s;"
                    f" last lines of {server.log_path}:\n{server.log_tail()}"
                )
            time.sleep(0.1)
    finally:
        client.close()


def start_store_server(
    kind: StoreKind | None,
    data_dir: Path,
    port: int,
    *,
    host: str = "127.0.0.1",
    timeout: float = START_TIMEOUT_S,
    say: Say = say,
) -> StoreServer:
    """Start an embedded store server on host:port and return once it answers `ping`.

    `kind` None picks FerretDB when Go is available, else nx-27017 (see `choose_kind`).
    FerretDB is built first when needed (`say` reports it). Raises DevstackError, naming the
    missing part, when the server cannot be built, cannot start or does not answer within
    `timeout` seconds (the server is stopped then).
    """
    chosen, reason = choose_kind(kind)
    if is_listening(host, port):
        raise DevstackError(
            f"port {port} on {host} is already in use (another store server, e.g. from"
            " `make run`?): stop that process or choose another port"
        )
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = _command(chosen, host, port, data_dir, say)
    log_path = data_dir / f"{chosen}.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        try:
            process = subprocess.Popen(  # dev tooling: our own argv, no shell  # nosec B603
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir
            )
        except OSError as exc:
            raise DevstackError(f"cannot run {argv[0]} to start {chosen}: {exc}") from exc
    server = StoreServer(
        kind=chosen,
        url=f"mongodb://{_bracketed(host)}:{port}/{_URL_OPTIONS[chosen]}",
        reason=reason,
        host=host,
        port=port,
        data_dir=data_dir,
        log_path=log_path,
        process=process,
    )
    try:
        _wait_until_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    server.started_in = time.monotonic() - started
    return server
