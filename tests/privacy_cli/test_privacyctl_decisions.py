"""`python -m privacy approve | reject | cancel | extend | list --overdue` on requests that
await approval (erasures need it in this module's privacy service)."""

from __future__ import annotations

from typing import Any

from ctl_support import Stack, ctl_run, submit_erasure

from contracts.privacy import PrivacyRequestView
from privacy import audit, lifecycle


async def _awaiting(stack: Stack, email: str) -> dict[str, Any]:
    view = await submit_erasure(stack.settings, email)
    assert view["status"] == "awaiting_approval"
    return view


async def _decided_by(stack: Stack, request_id: str) -> set[str]:
    entries = stack.db[audit.AUDIT].find({"request_id": request_id})
    return {entry["detail"].get("by", "") async for entry in entries}


async def test_an_approved_request_runs_to_completion(approving: Stack) -> None:
    """Approve starts the fan-out, records who approved, and the request completes."""
    view = await _awaiting(approving, "fay@example.com")
    run = await ctl_run(approving.settings, "approve", view["id"], "--by", "alice", "--json")
    assert run.code == 0, run.err
    assert run.json()["status"] in ("in_progress", "completed")
    watched = await ctl_run(approving.settings, "show", view["id"], "--watch")
    assert watched.code == 0, watched.err
    assert watched.out.splitlines()[-1].startswith(f"{view['id']} completed")
    assert "alice" in await _decided_by(approving, view["id"])


async def test_a_rejected_request_shows_its_reason(approving: Stack) -> None:
    """Reject closes the request with the reason, printed with its state."""
    view = await _awaiting(approving, "gus@example.com")
    run = await ctl_run(
        approving.settings, "reject", view["id"], "--reason", "not the subject", "--by", "bea"
    )
    assert run.code == 0, run.err
    assert "state     rejected (not the subject)" in run.out
    assert "bea" in await _decided_by(approving, view["id"])


async def test_a_cancelled_request_cannot_be_approved(approving: Stack) -> None:
    """Cancel withdraws the request; approving it afterwards is refused with exit 1."""
    view = await _awaiting(approving, "hal@example.com")
    run = await ctl_run(
        approving.settings, "cancel", view["id"], "--reason", "asked twice", "--by", "cid"
    )
    assert run.code == 0, run.err
    assert "state     cancelled (asked twice)" in run.out
    refused = await ctl_run(approving.settings, "approve", view["id"], "--by", "cid")
    assert refused.code == 1
    assert refused.err.startswith("privacyctl: approve refused (")


async def test_extend_moves_the_deadline_up_to_two_months_in_all(approving: Stack) -> None:
    """Two months' extension moves the due date; a third month is refused with exit 1, and
    `--months 3` is bad usage (exit 2)."""
    view = PrivacyRequestView.model_validate(await _awaiting(approving, "ida@example.com"))
    run = await ctl_run(
        approving.settings,
        "extend",
        view.id,
        "--months",
        "2",
        "--reason",
        "complex",
        "--by",
        "x",
        "--json",
    )
    assert run.code == 0, run.err
    extended = PrivacyRequestView.model_validate(run.json())
    assert extended.due_at == lifecycle.due_at(extended.created_at, 2)
    assert [(e.months, e.reason) for e in extended.extensions] == [(2, "complex")]
    again = await ctl_run(
        approving.settings, "extend", view.id, "--months", "1", "--reason", "more", "--by", "x"
    )
    assert again.code == 1
    assert "extend refused (invalid_request)" in again.err
    too_far = await ctl_run(
        approving.settings, "extend", view.id, "--months", "3", "--reason", "more", "--by", "x"
    )
    assert too_far.code == 2


async def test_list_marks_requests_due_soon_and_filters_by_deadline(approving: Stack) -> None:
    """An open request due within the due-soon window is marked; --overdue leaves it out,
    --due-within includes it once the window reaches its due date."""
    view = await _awaiting(approving, "jo@example.com")
    listed = await ctl_run(approving.settings, "list", "--status", "awaiting_approval")
    row = next(line for line in listed.out.splitlines() if line.startswith(view["id"]))
    assert "due soon" in row
    overdue = await ctl_run(approving.settings, "list", "--overdue", "--json")
    assert view["id"] not in {v["id"] for v in overdue.json()["data"]}
    near = await ctl_run(approving.settings, "list", "--due-within", "1", "--json")
    far = await ctl_run(approving.settings, "list", "--due-within", "40", "--json")
    assert view["id"] not in {v["id"] for v in near.json()["data"]}
    assert view["id"] in {v["id"] for v in far.json()["data"]}
