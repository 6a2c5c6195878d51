"""How the command line shows requests: deadline marks, plain lines of changes, the watch."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from rich.console import Console

from contracts.privacy import (
    CategoryOutcome,
    Disposition,
    PrivacyAction,
    PrivacyRequestView,
    PrivacyTaskView,
    RequestChannel,
    RequestStatus,
    RequestType,
    TaskStatus,
)
from privacy.ctl_client import watch
from privacy.ctl_output import Output
from privacy.ctl_views import DUE_SOON, OVERDUE, changed_lines, deadline_mark

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WATCH_BOUND_S = 10.0


def _task(status: TaskStatus = TaskStatus.IN_PROGRESS) -> PrivacyTaskView:
    done = status is TaskStatus.COMPLETED
    return PrivacyTaskView(
        service="accounts",
        task_id="dsr_1.accounts",
        action=PrivacyAction.ERASE,
        status=status,
        attempts=1,
        run=1,
        outcomes=[CategoryOutcome(category="people", records=1, disposition=Disposition.DELETED)]
        if done
        else [],
    )


def _view(
    status: RequestStatus = RequestStatus.IN_PROGRESS,
    task: TaskStatus = TaskStatus.IN_PROGRESS,
    due_at: datetime = T0 + timedelta(days=30),
) -> PrivacyRequestView:
    return PrivacyRequestView(
        id="dsr_1",
        type=RequestType.ERASURE,
        channel=RequestChannel.OPS,
        status=status,
        created_at=T0,
        due_at=due_at,
        tasks=[_task(task)],
    )


def test_open_requests_past_or_near_their_deadline_are_marked() -> None:
    """An open request past its due date is OVERDUE, within the window due soon; a closed
    one is not marked."""
    past, near, far = T0 - timedelta(days=1), T0 + timedelta(days=3), T0 + timedelta(days=30)
    marks = [
        deadline_mark(_view(due_at=past), T0, 7),
        deadline_mark(_view(due_at=near), T0, 7),
        deadline_mark(_view(due_at=far), T0, 7),
        deadline_mark(_view(RequestStatus.COMPLETED, due_at=past), T0, 7),
    ]
    assert marks == [OVERDUE, DUE_SOON, "", ""]


def test_plain_lines_show_only_what_changed_and_end_with_the_request() -> None:
    """The first look prints every task then the request; an unchanged look prints nothing;
    a task completing prints its line (with its outcomes) and then the request's state."""
    running = _view()
    done = _view(RequestStatus.COMPLETED, TaskStatus.COMPLETED)
    first = changed_lines(None, running)
    assert first[-1] == "dsr_1 in_progress tasks 0/1"
    assert changed_lines(running, running) == []
    last = changed_lines(running, done)
    assert last == [
        "  accounts completed run 1 attempt 1 - people deleted 1",
        "dsr_1 completed tasks 1/1",
    ]


def _looks(*views: PrivacyRequestView) -> Callable[[], Awaitable[PrivacyRequestView]]:
    remaining = list(views)

    async def fetch() -> PrivacyRequestView:
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return fetch


def _terminal() -> tuple[Output, io.StringIO, io.StringIO]:
    out, errors = io.StringIO(), io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    return Output(console, errors, json=False, due_soon_days=7, clock=lambda: T0), out, errors


async def test_watch_on_a_terminal_redraws_until_the_final_state() -> None:
    """On a terminal the watch redraws in place and stops (exit 0) at the final state."""
    output, out, _ = _terminal()
    fetch = _looks(_view(), _view(RequestStatus.COMPLETED, TaskStatus.COMPLETED))
    code = await asyncio.wait_for(watch(fetch, output, timeout=WATCH_BOUND_S), WATCH_BOUND_S)
    assert code == 0
    assert "\x1b[" in out.getvalue()
    assert "completed" in out.getvalue()


async def test_watch_gives_up_after_its_timeout() -> None:
    """A request that stays open: the watch stops after --timeout with exit 1 and says so."""
    output, _, errors = _terminal()
    code = await asyncio.wait_for(watch(_looks(_view()), output, timeout=0.3), WATCH_BOUND_S)
    assert code == 1
    assert errors.getvalue() == "privacyctl: dsr_1 is still in_progress after 0.3 s\n"
