"""Building FerretDB: too-old Go falls back to GOTOOLCHAIN, failures say what to install or fix.

A fake `go` script stands in for the toolchain, so these run in milliseconds and never touch
the real `.data/bin/ferretdb`.
"""

import os
import stat
from pathlib import Path

import devstack.store_server as store_server
import pytest
from devstack.errors import DevstackError
from devstack.output import quiet
from devstack.store_server import GO_FALLBACK_TOOLCHAIN, build_ferretdb

FAKE_GO = """#!/bin/sh
if [ "$1" = env ]; then echo "$FAKE_GOVERSION"; exit 0; fi
if [ "$1" = build ]; then
  echo "GOTOOLCHAIN=${GOTOOLCHAIN:-}" >> "$FAKE_GO_CALLS"
  if [ -n "$FAKE_BUILD_ERROR" ]; then echo "$FAKE_BUILD_ERROR" >&2; exit 1; fi
  if [ -z "${GOTOOLCHAIN:-}" ] && [ "$FAKE_NEEDS_TOOLCHAIN" = 1 ]; then
    echo "go: go.mod requires go >= 1.24 (running go 1.22.0; GOTOOLCHAIN=local)" >&2
    exit 1
  fi
  while [ $# -gt 0 ]; do
    if [ "$1" = -o ]; then printf 'fake ferretdb' > "$2"; fi
    shift
  done
  exit 0
fi
exit 2
"""


@pytest.fixture
def fake_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake `go` first on PATH, fake sources and binary path in tmp_path; returns its call log."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    go = bin_dir / "go"
    go.write_text(FAKE_GO)
    go.chmod(go.stat().st_mode | stat.S_IXUSR)
    source_dir = tmp_path / "src"
    source_dir.mkdir()
    for name in store_server.FERRETDB_SOURCES:
        (source_dir / name).write_text("source")
    calls = tmp_path / "go-calls.log"
    calls.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GO_CALLS", str(calls))
    monkeypatch.setenv("FAKE_GOVERSION", "go1.26.0")
    monkeypatch.setenv("FAKE_NEEDS_TOOLCHAIN", "0")
    monkeypatch.setenv("FAKE_BUILD_ERROR", "")
    monkeypatch.delenv("GOTOOLCHAIN", raising=False)
    monkeypatch.setattr(store_server, "FERRETDB_SOURCE_DIR", source_dir)
    monkeypatch.setattr(store_server, "FERRETDB_BINARY", tmp_path / "bin" / "ferretdb")
    return calls


def _built() -> Path:
    return store_server.FERRETDB_BINARY


def test_current_go_builds_once_and_then_reuses_the_binary(fake_go: Path) -> None:
    """With a current Go the binary is built once; a second call finds it up to date."""
    messages: list[str] = []
    assert build_ferretdb(say=messages.append) == _built()
    assert build_ferretdb(say=messages.append) == _built()
    assert _built().read_text() == "fake ferretdb"
    assert fake_go.read_text().splitlines() == ["GOTOOLCHAIN="]
    assert messages[0].startswith("building FerretDB v1.24.2 (first time")
    assert [p.name for p in _built().parent.iterdir() if "partial" in p.name] == []


def test_go_known_to_be_too_old_builds_with_the_fallback_toolchain(
    fake_go: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Go 1.21-1.23 builds directly with GOTOOLCHAIN set to the fallback toolchain."""
    monkeypatch.setenv("FAKE_GOVERSION", "go1.22.5")
    messages: list[str] = []
    build_ferretdb(say=messages.append)
    assert fake_go.read_text().splitlines() == [f"GOTOOLCHAIN={GO_FALLBACK_TOOLCHAIN}"]
    assert f"GOTOOLCHAIN={GO_FALLBACK_TOOLCHAIN}" in messages[0]


def test_a_build_refused_for_go_version_is_retried_with_the_fallback_toolchain(
    fake_go: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When Go's version cannot be told and the build says it needs newer Go, it is retried."""
    monkeypatch.setenv("FAKE_GOVERSION", "devel +abcdef")
    monkeypatch.setenv("FAKE_NEEDS_TOOLCHAIN", "1")
    build_ferretdb(say=quiet)
    assert fake_go.read_text().splitlines() == [
        "GOTOOLCHAIN=",
        f"GOTOOLCHAIN={GO_FALLBACK_TOOLCHAIN}",
    ]
    assert _built().is_file()


def test_go_too_old_to_switch_toolchains_is_refused_with_what_to_install(
    fake_go: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Go older than 1.21 cannot fetch a toolchain: the error says to install Go or use nx."""
    monkeypatch.setenv("FAKE_GOVERSION", "go1.19.8")
    with pytest.raises(DevstackError, match=r"Go 1\.19 .* too old.*go\.dev/dl.*STORE_SERVER=nx"):
        build_ferretdb(say=quiet)
    assert fake_go.read_text() == ""


def test_a_failing_build_reports_the_compiler_output_and_leaves_no_binary(
    fake_go: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed `go build` raises with its output and leaves neither binary nor partial file."""
    monkeypatch.setenv("FAKE_BUILD_ERROR", "main.go:12: undefined: ferretdb.Nope")
    with pytest.raises(
        DevstackError, match=r"(?s)go build.*exit code 1.*undefined: ferretdb\.Nope"
    ):
        build_ferretdb(say=quiet)
    assert not _built().exists()
    assert [p.name for p in _built().parent.iterdir() if "partial" in p.name] == []


def test_no_go_and_no_binary_is_refused_with_what_to_install(
    fake_go: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without Go and without a built binary, the error names Go and the nx alternative."""
    monkeypatch.setattr(store_server, "find_go", lambda: None)
    with pytest.raises(DevstackError, match=r"no `go` command is on PATH.*go\.dev/dl.*nx"):
        build_ferretdb(say=quiet)


def test_sources_newer_than_the_binary_trigger_a_rebuild(fake_go: Path) -> None:
    """Editing deploy/ferretdb (a source newer than the binary) makes the next call rebuild."""
    build_ferretdb(say=quiet)
    built_at = _built().stat().st_mtime
    os.utime(store_server.FERRETDB_SOURCE_DIR / "main.go", (built_at + 10, built_at + 10))
    messages: list[str] = []
    build_ferretdb(say=messages.append)
    assert len(fake_go.read_text().splitlines()) == 2
    assert "deploy/ferretdb changed" in messages[0]
