"""Decisions of ops: approval before the fan-out, rejection, and the deadline's extensions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lifecycle_support import MovableClock, World, privacy_settings, world

from contracts.privacy import (
    ApprovePrivacyRequest,
    CancelPrivacyRequest,
    ExtendPrivacyDeadline,
    PrivacyRequestView,
    RejectPrivacyRequest,
    RequestStatus,
    SubjectRef,
)
from privacy import lifecycle, watch
from privacy.requests import Desk
from privacy.settings import PrivacySettings
from servicekit.errors import RemoteCallError
from servicekit.settings import ServiceSettings


async def test_approval_holds_the_fanout_and_rejection_sends_nothing(
    base: ServiceSettings,
) -> None:
    """With erasure needing approval a request waits without tasks; approved, it fans out and
    completes; another rejected keeps its reason, never reaches a service and cannot be
    approved after."""
    settings = privacy_settings(base, privacy_approval_required=["erasure"])
    async with world(base, fakes={"alpha": None}, settings=settings) as scene:
        kept = await scene.submit(SubjectRef(email="kept@example.com"))
        refused = await scene.submit(SubjectRef(email="refused@example.com"))
        for view in (kept, refused):
            assert (view.status, view.tasks) == (RequestStatus.AWAITING_APPROVAL, [])
        reason = "the subject's identity could not be confirmed"
        rejected = await scene.ask(
            RejectPrivacyRequest(request_id=refused.id, by="dpo-maria", reason=reason)
        )
        assert (rejected.status, rejected.status_reason) == (RequestStatus.REJECTED, reason)
        approved = await scene.ask(ApprovePrivacyRequest(request_id=kept.id, by="dpo-maria"))
        assert approved.status is RequestStatus.IN_PROGRESS
        assert [task.service for task in approved.tasks] == ["alpha"]
        alpha = scene.fakes["alpha"]
        await alpha.received(f"{kept.id}.alpha")
        await alpha.answer(kept.id, f"{kept.id}.alpha")
        await scene.reaches(kept.id, RequestStatus.COMPLETED.value)
        assert {command.request_id for command in alpha.commands} == {kept.id}
        assert "task_sent" not in await scene.audit_kinds(refused.id)
        with pytest.raises(RemoteCallError) as late:
            await scene.ask(ApprovePrivacyRequest(request_id=refused.id, by="dpo-maria"))
        assert late.value.code == "conflict"
        assert await scene.status(refused.id) == RequestStatus.REJECTED.value


CREATED = datetime(2027, 1, 31, 9, 30, tzinfo=UTC)
FIRST_DUE = datetime(2027, 2, 28, 9, 30, tzinfo=UTC)
REASON = "the subject's data is spread over many archives"


async def _extend(scene: World, request_id: str, months: int) -> PrivacyRequestView:
    query = ExtendPrivacyDeadline(
        request_id=request_id, by="dpo-maria", months=months, reason=REASON
    )
    view: PrivacyRequestView = await scene.ask(query)
    return view


async def _cancel(scene: World, request_id: str) -> None:
    await scene.ask(CancelPrivacyRequest(request_id=request_id, by="dpo-maria", reason="withdrawn"))


def _quiet(base: ServiceSettings) -> PrivacySettings:
    """No sweep after the first: a clock moved by weeks does not send tasks again."""
    return privacy_settings(base, privacy_task_sweep_seconds=3600)


async def test_the_deadline_extends_by_two_months_at_most(base: ServiceSettings) -> None:
    """Two one-month extensions move the deadline to three months after receipt, each recorded
    with reason and author; a third month is refused, and so is extending a closed request."""
    clock = MovableClock(CREATED)
    async with world(base, fakes={"alpha": None}, settings=_quiet(base), clock=clock) as scene:
        view = await scene.submit(SubjectRef(email="slow@example.com"))
        assert (view.created_at, view.due_at) == (CREATED, FIRST_DUE)
        clock.now = CREATED + timedelta(days=1)
        once = await _extend(scene, view.id, 1)
        assert once.due_at == datetime(2027, 3, 31, 9, 30, tzinfo=UTC)
        clock.now = CREATED + timedelta(days=2)
        twice = await _extend(scene, view.id, 1)
        assert twice.due_at == datetime(2027, 4, 30, 9, 30, tzinfo=UTC)
        assert [(e.months, e.reason, e.by, e.at) for e in twice.extensions] == [
            (1, REASON, "dpo-maria", CREATED + timedelta(days=1)),
            (1, REASON, "dpo-maria", CREATED + timedelta(days=2)),
        ]
        assert (await scene.audit_kinds(view.id)).count("deadline_extended") == 2
        with pytest.raises(RemoteCallError) as third:
            await _extend(scene, view.id, 1)
        assert third.value.code == "invalid_request"
        assert (await scene.document(view.id))["deadline"]["extended_months"] == 2
        other = await scene.submit(SubjectRef(email="closed@example.com"))
        await _cancel(scene, other.id)
        with pytest.raises(RemoteCallError) as closed:
            await _extend(scene, other.id, 1)
        assert closed.value.code == "conflict"
        assert (await scene.document(other.id))["extensions"] == []


async def test_two_equal_extensions_in_the_same_instant_are_both_listed(
    base: ServiceSettings,
) -> None:
    """Two one-month extensions with the same reason at the same instant are two entries."""
    clock = MovableClock(CREATED)
    async with world(base, fakes={"alpha": None}, settings=_quiet(base), clock=clock) as scene:
        view = await scene.submit(SubjectRef(email="twins@example.com"))
        await _extend(scene, view.id, 1)
        twice = await _extend(scene, view.id, 1)
        assert twice.due_at == datetime(2027, 4, 30, 9, 30, tzinfo=UTC)
        assert len(twice.extensions) == 2


async def test_due_soon_and_overdue_follow_the_clock(base: ServiceSettings) -> None:
    """Five days before its deadline an open request counts as due soon, a day after as
    overdue, and once closed as neither."""
    clock = MovableClock(CREATED)
    async with world(base, fakes={"alpha": None}, settings=_quiet(base), clock=clock) as scene:
        view = await scene.submit(SubjectRef(email="watch@example.com"))
        desk = Desk(db=scene.db, bus=scene.desk.bus, settings=_quiet(base), clock=clock)
        figures = await watch.deadline_figures(desk)
        assert (figures.due_soon, figures.overdue) == (0, 0)
        assert figures.by_status["in_progress"] == 1
        clock.now = FIRST_DUE - timedelta(days=5)
        figures = await watch.deadline_figures(desk)
        assert (figures.due_soon, figures.overdue) == (1, 0)
        clock.now = FIRST_DUE + timedelta(days=1)
        figures = await watch.deadline_figures(desk)
        assert (figures.due_soon, figures.overdue) == (0, 1)
        await _cancel(scene, view.id)
        figures = await watch.deadline_figures(desk)
        assert (figures.due_soon, figures.overdue) == (0, 0)
        assert sum(figures.by_status.values()) == 0


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2027, 1, 31, 8, tzinfo=UTC), 1, datetime(2027, 2, 28, 8, tzinfo=UTC)),
        (datetime(2028, 1, 31, 8, tzinfo=UTC), 1, datetime(2028, 2, 29, 8, tzinfo=UTC)),
        (datetime(2026, 12, 31, 8, tzinfo=UTC), 1, datetime(2027, 1, 31, 8, tzinfo=UTC)),
        (datetime(2026, 11, 30, 8, tzinfo=UTC), 3, datetime(2027, 2, 28, 8, tzinfo=UTC)),
        (datetime(2026, 3, 15, 8, tzinfo=UTC), 12, datetime(2027, 3, 15, 8, tzinfo=UTC)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_last_of_a_shorter_month(
    start: datetime, months: int, expected: datetime
) -> None:
    """Adding calendar months keeps day and time, or falls on the last day of a shorter month."""
    assert lifecycle.add_months(start, months) == expected
