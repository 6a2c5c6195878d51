"""The sentinel in a real pytest run: planted secrets fail the run, named by kind and place
and never printed; a clean run passes and says how much it checked."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from support.processes import REPO, Run, run_module

# Built from parts so that this module holds no secret-shaped constant of its own.
API_KEY = "esk_" + "test_" + "Zx9" * 16
LPA = "LPA:1" + "$smdp.example.net$" + "7F3A9C21B0D4E5F6A7B8C9D0"
WEBHOOK_SECRET = "wh" + "sec_" + "c2VjcmV0LXNpZ25pbmcta2V5"
BEARER = "Bearer " + "Q" * 24

PLANTING_TESTS = f'''
import logging

import structlog


def test_plants_secrets_in_every_output(tmp_path):
    """A structlog record, a print, a standard-library record and a process log file."""
    structlog.get_logger("planted").info("key_used", note="key {API_KEY}")
    print("scanned {LPA}")
    logging.getLogger("planted").warning("header %s", "{BEARER}")
    (tmp_path / "service.log").write_text("started\\nsecret {WEBHOOK_SECRET}\\n")
'''

CLEAN_TESTS = '''
import structlog


def test_logs_nothing_secret():
    """An ordinary record."""
    structlog.get_logger("clean").info("order_completed", order_id="ord_1")
'''


async def _inner_run(tmp_path: Path, tests: str, *options: str) -> Run:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ("support.sentinel",)\n')
    (tmp_path / "test_inner.py").write_text(tests)
    env = {
        "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), *sys.path]),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # the inner tests need no plugin: a fast start
    }
    argv = ("-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path), *options, str(tmp_path))
    return await run_module("pytest", argv, env, timeout=60)


async def test_planted_secrets_fail_the_run_and_are_never_printed(tmp_path: Path) -> None:
    """Secrets in a structlog record, captured stdout, a standard-library record and a log
    file fail a run whose test passed, each named with its place; no secret is printed."""
    run = await _inner_run(tmp_path, PLANTING_TESTS)
    output = run.out + run.err
    assert run.code == 1, output
    assert "1 passed" in output
    assert "secrets sentinel: secrets or personal data found" in output
    test_id = "test_inner.py::test_plants_secrets_in_every_output"
    assert f"api key in a structlog record during {test_id}" in output
    assert f"LPA activation string in captured stdout call of {test_id}" in output
    assert f"Authorization header value in captured log call of {test_id}" in output
    assert "webhook secret in log file " in output
    assert "service.log, line 2" in output
    for secret in (API_KEY, LPA, WEBHOOK_SECRET, BEARER, "7F3A9C21B0D4E5F6A7B8C9D0"):
        assert secret not in output


async def test_with_capture_off_the_structlog_records_are_still_checked(tmp_path: Path) -> None:
    """With `-s` nothing is captured, yet a secret in a structlog record still fails the run,
    and the summary says the captured output was not checked."""
    run = await _inner_run(tmp_path, PLANTING_TESTS, "-s")
    output = run.out + run.err
    assert run.code == 1, output
    assert "api key in a structlog record during" in output
    assert "capture disabled: captured output not checked" in output


async def test_a_clean_run_passes_and_says_what_it_checked(tmp_path: Path) -> None:
    """A run without secrets passes; its summary counts the records and phases it checked."""
    run = await _inner_run(tmp_path, CLEAN_TESTS)
    output = run.out + run.err
    assert run.code == 0, output
    assert "secrets sentinel: 1 structlog records, 3 test phases' captured output" in output
    assert "no finding(s)" in output
