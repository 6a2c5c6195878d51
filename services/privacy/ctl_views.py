"""How `privacyctl` shows requests: tables for people, plain lines off a terminal.

Pure functions of the service's views and the current time; `privacy.ctl` prints them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from contracts.privacy import (
    OPEN_STATUSES,
    PrivacyRequestView,
    PrivacyTaskView,
    TaskStatus,
)

DUE_SOON = "due soon"
OVERDUE = "OVERDUE"


def when(moment: datetime | None) -> str:
    """A time in UTC to the second, or a dash."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def deadline_mark(view: PrivacyRequestView, now: datetime, due_soon_days: int) -> str:
    """OVERDUE or `due soon` for an open request near or past its deadline; empty otherwise."""
    if view.status not in OPEN_STATUSES:
        return ""
    if view.due_at <= now:
        return OVERDUE
    if view.due_at <= now + timedelta(days=due_soon_days):
        return DUE_SOON
    return ""


def due_cell(view: PrivacyRequestView, now: datetime, due_soon_days: int) -> str:
    """The deadline, with its mark when there is one."""
    mark = deadline_mark(view, now, due_soon_days)
    return f"{when(view.due_at)} {mark}".rstrip()


def task_progress(view: PrivacyRequestView) -> str:
    """Completed tasks out of all, and how many failed."""
    done = sum(task.status is TaskStatus.COMPLETED for task in view.tasks)
    failed = sum(task.status is TaskStatus.FAILED for task in view.tasks)
    progress = f"{done}/{len(view.tasks)}"
    return f"{progress} ({failed} failed)" if failed else progress


def outcomes_summary(task: PrivacyTaskView) -> str:
    """What the service did, per category: `contact_people deleted 2; orders retained 3`."""
    return "; ".join(
        f"{outcome.category} {outcome.disposition.value} {outcome.records}"
        for outcome in task.outcomes
    )


def task_error(task: PrivacyTaskView) -> str:
    """The task's error, or the last error of an attempt that is retried."""
    return task.error or task.last_error or ""


def _table(*columns: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _row(table: Table, *cells: str) -> None:
    """Cells as plain text: a `[` in an error message is not markup."""
    table.add_row(*(Text(cell) for cell in cells))


def requests_table(views: Sequence[PrivacyRequestView], now: datetime, due_soon_days: int) -> Table:
    """The `list` table: one request a row."""
    table = _table("id", "type", "channel", "state", "created", "due", "tasks done")
    for view in views:
        _row(
            table,
            view.id,
            view.type.value,
            view.channel.value,
            view.status.value,
            when(view.created_at),
            due_cell(view, now, due_soon_days),
            task_progress(view),
        )
    return table


def tasks_table(view: PrivacyRequestView) -> Table:
    """The `show` table: one service's task a row."""
    table = _table("service", "state", "attempts", "run", "last error", "next attempt", "outcomes")
    for task in view.tasks:
        _row(
            table,
            task.service,
            task.status.value,
            str(task.attempts),
            str(task.run),
            task_error(task),
            when(task.next_attempt_at),
            outcomes_summary(task),
        )
    return table


def request_header(view: PrivacyRequestView, now: datetime, due_soon_days: int) -> Text:
    """The request's own lines above its tasks."""
    lines = [
        f"request   {view.id}",
        f"type      {view.type.value} (channel {view.channel.value})",
        f"state     {view.status.value}"
        + (f" ({view.status_reason})" if view.status_reason else ""),
        f"created   {when(view.created_at)}",
        f"due       {due_cell(view, now, due_soon_days)}",
    ]
    lines += [
        f"extended  +{ext.months} month(s) by {ext.by} at {when(ext.at)}: {ext.reason}"
        for ext in view.extensions
    ]
    if view.completed_at is not None:
        lines.append(f"closed    {when(view.completed_at)}")
    lines.append(f"tasks     {task_progress(view)}")
    return Text("\n".join(lines))


def request_detail(view: PrivacyRequestView, now: datetime, due_soon_days: int) -> RenderableType:
    """The request and its tasks, as `show` prints them."""
    if not view.tasks:
        return request_header(view, now, due_soon_days)
    return Group(request_header(view, now, due_soon_days), Text(""), tasks_table(view))


def request_line(view: PrivacyRequestView) -> str:
    """The request's state in one plain line."""
    reason = f" ({view.status_reason})" if view.status_reason else ""
    return f"{view.id} {view.status.value}{reason} tasks {task_progress(view)}"


def task_line(task: PrivacyTaskView) -> str:
    """One task's state in one plain line."""
    parts = [f"  {task.service} {task.status.value} run {task.run} attempt {task.attempts}"]
    if task_error(task):
        parts.append(f"error: {task_error(task)}")
    if task.outcomes:
        parts.append(outcomes_summary(task))
    return " - ".join(parts)


def changed_lines(previous: PrivacyRequestView | None, current: PrivacyRequestView) -> list[str]:
    """Plain lines for what changed since the last look: the tasks first, then the request,
    so the last line printed is always the request's state."""
    before = {task.service: task_line(task) for task in previous.tasks} if previous else {}
    lines = [task_line(t) for t in current.tasks if before.get(t.service) != task_line(t)]
    if previous is None or lines or request_line(previous) != request_line(current):
        lines.append(request_line(current))
    return lines
