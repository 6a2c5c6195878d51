"""`python -m privacy submit | list | show | rerun` against the running privacy service."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from ctl_support import CLI_TIMEOUT_S, OPERATOR, Stack, ctl_process, ctl_run, submit_erasure

from contracts.privacy import PrivacyRequestView
from privacy.ctl_views import when

FINAL_WATCH_S = "60"


async def test_an_erasure_submitted_on_the_command_line_completes(stack: Stack) -> None:
    """`python -m privacy submit` opens an ops erasure; `show --watch` off a terminal prints
    plain lines, one per change, and ends with the request's final state."""
    submitted = await ctl_process(
        stack.settings, "submit", "--type", "erasure", "--email", "ann@example.com", "--json"
    )
    assert submitted.code == 0, submitted.err
    view = PrivacyRequestView.model_validate(submitted.json())
    assert (view.channel.value, view.type.value) == ("ops", "erasure")
    watched = await ctl_process(
        stack.settings, "show", view.id, "--watch", "--timeout", FINAL_WATCH_S
    )
    assert watched.code == 0, watched.err
    lines = watched.out.splitlines()
    assert "\x1b" not in watched.out
    assert lines[-1].startswith(f"{view.id} completed")
    assert (await stack.request(view.id))["requested_by"] == OPERATOR


async def test_submit_prints_the_request_its_due_date_and_tasks(stack: Stack) -> None:
    """Without --json, submit prints the id, state, due date and a table of the tasks."""
    run = await ctl_run(
        stack.settings, "submit", "--type", "erasure", "--email", "bo@example.com", "--by", "bo"
    )
    assert run.code == 0, run.err
    shown = await ctl_run(stack.settings, "show", _id_in(run.out), "--json")
    view = PrivacyRequestView.model_validate(shown.json())
    assert view.tasks
    assert f"request   {view.id}" in run.out
    assert f"due       {when(view.due_at)}" in run.out
    for task in view.tasks:
        assert any(line.strip().startswith(task.service) for line in run.out.splitlines())


async def test_list_shows_the_request_with_its_due_date(stack: Stack) -> None:
    """A submitted request is listed with its type, channel and due date."""
    view = await submit_erasure(stack.settings, "cy@example.com")
    run = await ctl_run(stack.settings, "list", "--limit", "200")
    assert run.code == 0, run.err
    row = next(line for line in run.out.splitlines() if line.startswith(view["id"]))
    due = when(PrivacyRequestView.model_validate(view).due_at)
    assert ("erasure" in row, "ops" in row, due in row) == (True, True, True)


async def test_list_all_follows_the_cursor(stack: Stack) -> None:
    """`--limit 2` shows one page and says more are left; `--all` pages through every one."""
    ids = {(await submit_erasure(stack.settings, f"page{n}@example.com"))["id"] for n in range(3)}
    first = await ctl_run(stack.settings, "list", "--limit", "2")
    assert "more requests" in first.out
    assert len([line for line in first.out.splitlines() if line.startswith("dsr_")]) == 2
    every = await ctl_run(stack.settings, "list", "--limit", "2", "--all", "--json")
    listed = {view["id"] for view in every.json()["data"]}
    assert ids <= listed
    assert every.json()["next_cursor"] is None


async def test_the_operator_defaults_to_user(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --by, the request records $USER as who asked."""
    monkeypatch.setenv("USER", "carol")
    run = await ctl_run(
        stack.settings, "submit", "--type", "erasure", "--email", "dee@example.com", "--json"
    )
    assert run.code == 0, run.err
    assert (await stack.request(run.json()["id"]))["requested_by"] == "carol"


BAD_INPUT = [
    (["--type", "deletion", "--email", "a@b.example"], "--type: Input should be"),
    (["--type", "erasure"], "a subject needs at least one identifier"),
    (["--type", "erasure", "--email", "not-an-email"], "--email: value is not a valid email"),
    (["--type", "erasure", "--phone", "0151 123"], "--phone: expected an international number"),
    (["--type", "erasure", "--iccid", "1234"], "--iccid: expected an ICCID"),
    (["--type", "erasure", "--ip", "300.1.1.1"], "--ip: value is not a valid IP"),
    (["--type", "rectification", "--email", "a@b.example"], "needs `changes`"),
    (["--type", "rectification", "--email", "a@b.example", "--change", "x"], "FIELD=VALUE"),
]


@pytest.mark.parametrize(("arguments", "message"), BAD_INPUT)
async def test_bad_input_exits_2_with_one_readable_line_and_opens_nothing(
    stack: Stack, arguments: list[str], message: str
) -> None:
    """Bad input: exit 2, one line on stderr saying what is wrong, no request created."""
    before = await stack.request_count()
    run = await ctl_run(stack.settings, "submit", *arguments, "--by", OPERATOR)
    assert (run.code, run.out) == (2, "")
    assert run.err.startswith("privacyctl: ")
    assert message in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert await stack.request_count() == before


async def test_show_of_an_unknown_request_exits_1(stack: Stack) -> None:
    """A request that does not exist: exit 1 and `not found`."""
    run = await ctl_run(stack.settings, "show", "dsr_does_not_exist")
    assert run.code == 1
    assert run.err.startswith("privacyctl: not found")


async def test_rerun_of_a_completed_task_is_refused(stack: Stack) -> None:
    """Re-running a task that completed is refused by the service: exit 1 with its code."""
    view = await submit_erasure(stack.settings, "eli@example.com")
    watched = await ctl_run(stack.settings, "show", view["id"], "--watch", "--json")
    assert watched.code == 0, watched.err
    final = PrivacyRequestView.model_validate_json(watched.out.splitlines()[-1])
    service = final.tasks[0].service
    run = await ctl_run(stack.settings, "rerun", final.id, "--service", service, "--by", "ops")
    assert run.code == 1
    assert "rerun refused (conflict)" in run.err
    assert (await stack.request(final.id))["tasks"][service]["run"] == 1


def _id_in(out: str) -> str:
    return next(word for word in out.split() if word.startswith("dsr_"))


async def test_the_privacyctl_entry_point_runs_the_audit_tool_too(stack: Stack) -> None:
    """`privacyctl verify-audit` (the installed console script) verifies the audit chain."""
    await submit_erasure(stack.settings, "fin@example.com")
    env = {
        **os.environ,
        "AMQP_URL": stack.settings.amqp_url,
        "MONGO_URL": stack.settings.mongo_url,
        "BUS_NAMESPACE": stack.settings.bus_namespace,
        "LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "privacyctl"),
        "verify-audit",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT_S)
    assert process.returncode == 0
    assert json.loads(out)["ok"] is True
