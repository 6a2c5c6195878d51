"""Closing a request with its last answer: in one write when privacy saw every other task
answered, and never on a stale sight of the request."""

from __future__ import annotations

from lifecycle_support import World, world

from contracts.privacy import RequestStatus, RerunPrivacyTask, SubjectRef, TaskStatus
from servicekit.settings import ServiceSettings
from support.waiting import eventually


async def test_the_last_answer_closes_the_request_after_its_receipts_and_frees_its_terms(
    base: ServiceSettings,
) -> None:
    """Alpha answers, then beta: the request completes, its audit trail holds both receipts
    before the closing entry, and the same terms open a new request afterwards."""
    async with world(base, fakes={"alpha": None, "beta": None}) as scene:
        subject = SubjectRef(email="closing@example.com")
        view = await scene.submit(subject)
        alpha, beta = scene.fakes["alpha"], scene.fakes["beta"]
        await alpha.received(f"{view.id}.alpha")
        await beta.received(f"{view.id}.beta")
        await alpha.answer(view.id)
        await _task_is(scene, view.id, "alpha", TaskStatus.COMPLETED.value)
        await beta.answer(view.id)
        await scene.reaches(view.id, RequestStatus.COMPLETED.value)
        await scene.audited(view.id, "request_completed")
        kinds = await scene.audit_kinds(view.id)
        assert kinds[-3:] == ["receipt_accepted", "receipt_accepted", "request_completed"]
        closed = await scene.document(view.id)
        assert closed["tasks"]["beta"]["status"] == TaskStatus.COMPLETED.value
        assert "completion" in closed
        assert "retry" not in closed
        again = await scene.submit(subject)
        assert again.id != view.id


async def test_a_task_rerun_after_privacy_last_saw_the_request_keeps_it_open(
    base: ServiceSettings,
) -> None:
    """Alpha fails and is re-run; beta's answer then is not taken as the last one (the
    request stays in progress), and alpha's second run closes it."""
    async with world(base, fakes={"alpha": None, "beta": None}) as scene:
        view = await scene.submit(SubjectRef(email="rerun-close@example.com"))
        alpha, beta = scene.fakes["alpha"], scene.fakes["beta"]
        await alpha.received(f"{view.id}.alpha")
        await alpha.answer(view.id, error="the notes store is down")
        await _task_is(scene, view.id, "alpha", TaskStatus.FAILED.value)
        await scene.ask(RerunPrivacyTask(request_id=view.id, by="ops-anna", service="alpha"))
        await alpha.received(f"{view.id}.alpha.2")
        await beta.answer(view.id)
        await _task_is(scene, view.id, "beta", TaskStatus.COMPLETED.value)
        assert await scene.status(view.id) == RequestStatus.IN_PROGRESS.value
        await alpha.answer(view.id, task_id=f"{view.id}.alpha.2")
        await scene.reaches(view.id, RequestStatus.COMPLETED.value)


async def _task_is(scene: World, request_id: str, service: str, status: str) -> None:
    """Wait until the stored task of `service` is in `status`."""

    async def there() -> bool:
        return bool((await scene.task(request_id, service))["status"] == status)

    await eventually(there, what=f"{service}'s task {status}")
