"""Answers a data owner gives: a failure, and an access request's export."""

from __future__ import annotations

import json

from lifecycle_support import world

from contracts.privacy import PrivacyAction, RequestStatus, RequestType, SubjectRef, TaskStatus
from servicekit.receipts import export_digest
from servicekit.settings import ServiceSettings


async def test_a_failed_answer_closes_the_request_with_exceptions(base: ServiceSettings) -> None:
    """Alpha answers its erase task with a signed failure and beta with success: alpha's task
    is failed with the error, beta's completed, and the request completed with exceptions."""
    async with world(base, fakes={"alpha": None, "beta": None}) as scene:
        view = await scene.submit(SubjectRef(email="failing@example.com"))
        alpha, beta = scene.fakes["alpha"], scene.fakes["beta"]
        await alpha.received(f"{view.id}.alpha")
        await beta.received(f"{view.id}.beta")
        await alpha.answer(view.id, error="the notes store is down")
        await beta.answer(view.id)
        await scene.reaches(view.id, RequestStatus.COMPLETED_WITH_EXCEPTIONS.value)
        failed = await scene.task(view.id, "alpha")
        assert (failed["status"], failed["error"]) == (
            TaskStatus.FAILED.value,
            "the notes store is down",
        )
        assert failed["outcomes"] == []
        assert (await scene.task(view.id, "beta"))["status"] == TaskStatus.COMPLETED.value


async def test_an_exported_answer_completes_the_access_request(base: ServiceSettings) -> None:
    """Alpha answers an access request's task with its signed export: the request completes
    with alpha's outcome and its accepted receipt covers the export's digest."""
    async with world(base, fakes={"alpha": None}) as scene:
        subject = SubjectRef(email="reader@example.com")
        view = await scene.submit(subject, RequestType.ACCESS)
        task_id = f"{view.id}.alpha"
        alpha = scene.fakes["alpha"]
        await alpha.received(task_id)
        export = {"notes": [{"text": "a note about the reader", "email": subject.email}]}
        answer = {"action": PrivacyAction.EXPORT, "export": export}
        await alpha.answer(view.id, **answer)
        await scene.reaches(view.id, RequestStatus.COMPLETED.value)
        task = await scene.task(view.id, "alpha")
        outcomes = [(o["category"], o["disposition"]) for o in task["outcomes"]]
        assert outcomes == [("notes", "exported")]
        receipt = await scene.db["receipts"].find_one({"_id": task["receipt"]})
        assert receipt is not None
        assert receipt["verdict"] == "accepted"
        signed = json.loads(receipt["signed"])
        assert signed["export_sha256"] == export_digest(alpha.result(view.id, **answer))
