"""Unanswered tasks: sent again, given up, re-run by ops, answered late, or cancelled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lifecycle_support import MovableClock, World, privacy_settings, world

from contracts.privacy import (
    CancelPrivacyRequest,
    PrivacyRequestView,
    RequestStatus,
    RerunPrivacyTask,
    SubjectRef,
    TaskStatus,
)
from privacy import fanout
from privacy.requests import Desk
from privacy.settings import PrivacySettings
from servicekit.errors import RemoteCallError
from servicekit.settings import ServiceSettings
from support.privacy_owners import DATA_OWNERS
from support.waiting import eventually


def _impatient(base: ServiceSettings, *waits: float) -> PrivacySettings:
    """Privacy giving a task up after two sends."""
    return privacy_settings(
        base, privacy_task_retry_seconds=list(waits), privacy_task_sweep_seconds=0.1
    )


async def _attempts(scene: World, request_id: str, service: str) -> int:
    return int((await scene.task(request_id, service))["attempts"])


async def _give_up_on_alpha(scene: World, email: str) -> PrivacyRequestView:
    """Submit an erasure; alpha stays silent until privacy gives its task up."""
    view = await scene.submit(SubjectRef(email=email))
    task_id = f"{view.id}.alpha"
    alpha = scene.fakes["alpha"]

    async def resent() -> bool:
        return alpha.deliveries(task_id) == 2 and await _attempts(scene, view.id, "alpha") == 2

    await eventually(resent, what="alpha's task sent a second time")
    assert "no answer" in (await scene.task(view.id, "alpha"))["last_error"]

    async def given_up() -> bool:
        return bool((await scene.task(view.id, "alpha"))["status"] == TaskStatus.FAILED.value)

    await eventually(given_up, what="alpha's task given up")
    return view


async def test_a_silent_service_is_asked_again_then_given_up(base: ServiceSettings) -> None:
    """A silent service's task is sent again with the same task id, then given up (audited);
    the real owners' tasks complete meanwhile and the request ends with exceptions."""
    async with world(
        base, owners=True, fakes={"alpha": None}, settings=_impatient(base, 2.0, 0.5)
    ) as (scene):
        view = await _give_up_on_alpha(scene, "silent@example.com")
        await scene.reaches(view.id, RequestStatus.COMPLETED_WITH_EXCEPTIONS.value)
        await scene.audited(view.id, "request_completed_with_exceptions")
        request = await scene.document(view.id)
        alpha = request["tasks"]["alpha"]
        assert alpha["attempts"] == 2
        assert alpha["error"] == "the service did not answer"
        assert alpha["last_error"] == "no answer after 2 attempts"
        assert scene.fakes["alpha"].deliveries(f"{view.id}.alpha") == 2
        for owner in DATA_OWNERS:
            assert request["tasks"][owner]["status"] == TaskStatus.COMPLETED.value
        entries = await scene.audit(view.id)
        kinds = [entry["kind"] for entry in entries]
        assert kinds.count("task_resent") == 1
        assert kinds.count("task_gave_up") == 1
        assert kinds[-1] == "request_completed_with_exceptions"
        gave_up = kinds.index("task_gave_up")
        accepted = [
            e["detail"]["service"] for e in entries[:gave_up] if e["kind"] == "receipt_accepted"
        ]
        assert sorted(accepted) == sorted(DATA_OWNERS), (
            "the owners' answers were held back by alpha"
        )


async def test_ops_rerun_sends_only_the_failed_task_again(base: ServiceSettings) -> None:
    """Re-running the given-up task sends run 2 under a new task id, the request is in progress
    again and completes on its answer; the other tasks are not sent again; a completed task
    cannot be re-run."""
    async with world(
        base, owners=True, fakes={"alpha": None}, settings=_impatient(base, 2.0, 0.5)
    ) as (scene):
        view = await _give_up_on_alpha(scene, "rerun@example.com")
        await scene.reaches(view.id, RequestStatus.COMPLETED_WITH_EXCEPTIONS.value)
        before = await scene.document(view.id)
        rerun = await scene.ask(
            RerunPrivacyTask(request_id=view.id, by="ops-anna", service="alpha")
        )
        assert rerun.status is RequestStatus.IN_PROGRESS
        [task] = [task for task in rerun.tasks if task.service == "alpha"]
        assert (task.task_id, task.run, task.attempts) == (f"{view.id}.alpha.2", 2, 1)
        assert task.status is TaskStatus.IN_PROGRESS
        alpha = scene.fakes["alpha"]

        async def arrived() -> bool:
            return alpha.deliveries(f"{view.id}.alpha.2") == 1

        await eventually(arrived, what="run 2 at alpha")
        await alpha.answer(view.id, f"{view.id}.alpha.2")
        await scene.reaches(view.id, RequestStatus.COMPLETED.value)
        await scene.audited(view.id, "request_completed")
        after = await scene.document(view.id)
        for owner in DATA_OWNERS:
            assert after["tasks"][owner] == before["tasks"][owner], f"{owner} was touched"
        entries = await scene.audit(view.id)
        kinds = [entry["kind"] for entry in entries]
        assert kinds.count("task_rerun") == 1
        since_rerun = entries[kinds.index("task_rerun") :]
        sent = {e["detail"]["service"] for e in since_rerun if e["kind"].startswith("task_")}
        assert sent <= {"alpha"}, "a task other than alpha's was sent after the re-run"
        with pytest.raises(RemoteCallError) as refused:
            await scene.ask(RerunPrivacyTask(request_id=view.id, by="ops-anna", service="logs"))
        assert refused.value.code == "conflict"


async def test_a_late_answer_to_a_given_up_task_still_counts(base: ServiceSettings) -> None:
    """Alpha answers its original task id after privacy gave it up: the answer is recorded and
    the request goes from failed to completed."""
    async with world(base, fakes={"alpha": None}, settings=_impatient(base, 0.3, 0.3)) as scene:
        view = await _give_up_on_alpha(scene, "late@example.com")
        await scene.reaches(view.id, RequestStatus.FAILED.value)
        await scene.audited(view.id, "request_failed")
        await scene.fakes["alpha"].answer(view.id, f"{view.id}.alpha")
        await scene.reaches(view.id, RequestStatus.COMPLETED.value)
        await scene.audited(view.id, "request_completed")
        task = await scene.task(view.id, "alpha")
        assert task["status"] == TaskStatus.COMPLETED.value
        assert task["receipt"].startswith(f"{view.id}.alpha/")
        kinds = await scene.audit_kinds(view.id)
        assert kinds.index("request_failed") < kinds.index("request_completed")


async def test_a_cancelled_request_is_never_sent_again(base: ServiceSettings) -> None:
    """Cancelling an in-progress request cancels its open task, which is not resent after its
    wait (while another request's task is), and a late answer leaves it cancelled."""
    async with world(base, fakes={"alpha": None}, settings=_impatient(base, 0.5, 0.5)) as scene:
        view = await scene.submit(SubjectRef(email="cancel@example.com"))
        cancel = CancelPrivacyRequest(request_id=view.id, by="ops-anna", reason="withdrawn")
        cancelled = await scene.ask(cancel)
        assert cancelled.status is RequestStatus.CANCELLED
        assert cancelled.status_reason == "withdrawn"
        assert [task.status for task in cancelled.tasks] == [TaskStatus.CANCELLED]
        later = await scene.submit(SubjectRef(email="later@example.com"))

        async def later_resent() -> bool:
            return await _attempts(scene, later.id, "alpha") >= 2

        await eventually(later_resent, what="the later request's task resent")
        task = await scene.task(view.id, "alpha")
        assert (task["status"], task["attempts"]) == (TaskStatus.CANCELLED.value, 1)
        assert scene.fakes["alpha"].deliveries(f"{view.id}.alpha") == 1
        assert "task_resent" not in await scene.audit_kinds(view.id)
        await scene.fakes["alpha"].answer(view.id, f"{view.id}.alpha")

        async def receipt_kept() -> bool:
            return await scene.db["receipts"].count_documents({"request_id": view.id}) == 1

        await eventually(receipt_kept, what="the late receipt kept")
        assert await scene.status(view.id) == RequestStatus.CANCELLED.value


async def test_a_sweep_does_not_undo_a_result_recorded_while_it_ran(base: ServiceSettings) -> None:
    """Beta's result is recorded between the sweeper's read of the request and its write for
    alpha's resend: beta's task stays completed."""
    sleepy = privacy_settings(
        base, privacy_task_retry_seconds=[30, 30], privacy_task_sweep_seconds=3600
    )
    async with world(base, fakes={"alpha": None, "beta": None}, settings=sleepy) as scene:
        view = await scene.submit(SubjectRef(email="race@example.com"))
        read_by_the_sweeper = await scene.document(view.id)
        await scene.fakes["beta"].received(f"{view.id}.beta")
        await scene.fakes["beta"].answer(view.id, f"{view.id}.beta")

        async def beta_recorded() -> bool:
            task = await scene.task(view.id, "beta")
            return bool(task["status"] == TaskStatus.COMPLETED.value)

        await eventually(beta_recorded, what="beta's result recorded")
        later = read_by_the_sweeper["tasks"]["alpha"]["next_attempt_at"] + timedelta(seconds=1)
        desk = Desk(db=scene.db, bus=scene.privacy.bus, settings=sleepy, clock=MovableClock(later))
        await fanout._retry_request(desk, read_by_the_sweeper, later)
        assert (await scene.task(view.id, "beta"))["status"] == TaskStatus.COMPLETED.value
        assert await fanout.sweep_once(desk) >= 1
        assert (await scene.task(view.id, "alpha"))["attempts"] == 2
        assert (await scene.task(view.id, "beta"))["status"] == TaskStatus.COMPLETED.value
