"""Restarts: a data owner down during the fan-out, the privacy service restarted mid-request."""

from __future__ import annotations

from lifecycle_support import privacy_settings, world

from contracts.privacy import RequestStatus, SubjectRef, TaskStatus
from servicekit.settings import ServiceSettings
from support.waiting import eventually


async def test_a_data_owner_down_during_the_fanout_answers_once_it_is_back(
    base: ServiceSettings,
) -> None:
    """Logs is stopped when the request fans out: accounts and provisioning answer, the request
    stays in progress; once logs starts again it answers from its queue and the request
    completes."""
    async with world(base, owners=True) as scene:
        await scene.stage.stop(scene.owners["logs"])
        view = await scene.submit(SubjectRef(email="down@example.com"))
        assert sorted(task.service for task in view.tasks) == ["accounts", "logs", "provisioning"]

        async def others_answered() -> bool:
            tasks = (await scene.document(view.id))["tasks"]
            return all(tasks[s]["status"] == "completed" for s in ("accounts", "provisioning"))

        await eventually(others_answered, what="accounts and provisioning answered")
        request = await scene.document(view.id)
        assert request["status"] == RequestStatus.IN_PROGRESS.value
        assert request["tasks"]["logs"]["status"] == TaskStatus.IN_PROGRESS.value
        await scene.stage.start(scene.builders["logs"]())
        await scene.reaches(view.id, RequestStatus.COMPLETED.value)
        assert (await scene.task(view.id, "logs"))["attempts"] == 1


async def test_a_result_sent_while_privacy_is_down_is_taken_after_its_restart(
    base: ServiceSettings,
) -> None:
    """Privacy stops with alpha's task open; alpha answers meanwhile; a new privacy process on
    the same namespace takes the answer from its queue and completes the request."""
    settings = privacy_settings(base)
    async with world(base, fakes={"alpha": None}, settings=settings) as scene:
        view = await scene.submit(SubjectRef(email="restart@example.com"))
        alpha = scene.fakes["alpha"]
        await alpha.received(f"{view.id}.alpha")
        await scene.stage.stop(scene.privacy)
        await alpha.answer(view.id, f"{view.id}.alpha")
        await scene.restart_privacy(settings)
        await scene.reaches(view.id, RequestStatus.COMPLETED.value)
        assert (await scene.task(view.id, "alpha"))["attempts"] == 1


async def test_a_restarted_privacy_service_resends_what_is_still_unanswered(
    base: ServiceSettings,
) -> None:
    """An unanswered task survives a restart of privacy: the new process's sweeper sends it
    again from the state in the database."""
    sleepy = privacy_settings(
        base, privacy_task_retry_seconds=[0.5, 30], privacy_task_sweep_seconds=3600
    )
    async with world(base, fakes={"alpha": None}, settings=sleepy) as scene:
        view = await scene.submit(SubjectRef(email="resend@example.com"))
        task_id = f"{view.id}.alpha"
        alpha = scene.fakes["alpha"]
        await alpha.received(task_id)
        await scene.stage.stop(scene.privacy)
        assert (await scene.task(view.id, "alpha"))["attempts"] == 1
        awake = privacy_settings(
            base, privacy_task_retry_seconds=[0.5, 30], privacy_task_sweep_seconds=0.1
        )
        await scene.restart_privacy(awake)

        async def sent_again() -> bool:
            return int((await scene.task(view.id, "alpha"))["attempts"]) >= 2

        # Alpha may also get the first send twice: the old process can stop between
        # publishing it and clearing it from its outbox, and delivery is at least once.
        await eventually(sent_again, what="the task sent a second time")
        await alpha.received(task_id, times=2)
        task = await scene.task(view.id, "alpha")
        assert (task["attempts"], task["status"]) == (2, TaskStatus.IN_PROGRESS.value)
        await scene.audited(view.id, "task_resent")
