"""Arrival of a request: its first states, its tasks by identifier kind, its deadline."""

from __future__ import annotations

from datetime import timedelta

from lifecycle_support import World, world

from contracts.privacy import IdentifierKind, RequestStatus, SubjectRef
from privacy import lifecycle
from servicekit.settings import ServiceSettings
from support.waiting import eventually

ICCID = "8944500102030405067"


async def _status_changes(scene: World, request_id: str) -> list[tuple[str, str]]:
    return [
        (entry["detail"]["from"], entry["detail"]["to"])
        for entry in await scene.audit(request_id)
        if entry["kind"] == "status_changed"
    ]


async def test_a_partner_request_is_verified_and_fans_out_by_identifier_kind(
    base: ServiceSettings,
) -> None:
    """A partner's request passes received, verified, in_progress (audited); only services that
    hold one of the subject's identifier kinds (or announced none) get a task; due in a month."""
    fakes: dict[str, list[IdentifierKind] | None] = {"alpha": None, "beta": ["iccid"]}
    async with world(base, fakes=fakes) as scene:
        by_email = await scene.submit(SubjectRef(email="eve@example.com"))
        by_iccid = await scene.submit(SubjectRef(iccid=ICCID))
        assert by_email.status is RequestStatus.IN_PROGRESS
        assert [task.service for task in by_email.tasks] == ["alpha"]
        assert [task.service for task in by_iccid.tasks] == ["alpha", "beta"]
        for view in (by_email, by_iccid):
            assert await _status_changes(scene, view.id) == [
                ("received", "verified"),
                ("verified", "in_progress"),
            ]
            assert view.due_at == lifecycle.add_months(view.created_at, 1)
            assert timedelta(days=28) <= view.due_at - view.created_at <= timedelta(days=31)
        beta = scene.fakes["beta"]
        await eventually(lambda: _arrived(scene, "alpha", 2), what="alpha's two commands")
        await eventually(lambda: _arrived(scene, "beta", 1), what="beta's command")
        assert [command.request_id for command in beta.commands] == [by_iccid.id]
        sent = [e for e in await scene.audit(by_iccid.id) if e["kind"] == "task_sent"]
        assert sorted(entry["detail"]["service"] for entry in sent) == ["alpha", "beta"]


async def _arrived(scene: World, fake: str, count: int) -> bool:
    return len(scene.fakes[fake].commands) >= count


async def test_a_subject_no_service_can_find_completes_at_once(base: ServiceSettings) -> None:
    """Every service finds data by ICCID only: a request by email completes on arrival with no
    task, and nothing is sent."""
    async with world(base, fakes={"alpha": ["iccid"], "beta": ["iccid"]}) as scene:
        view = await scene.submit(SubjectRef(email="nobody@example.com"))
        assert view.status is RequestStatus.COMPLETED
        assert view.tasks == []
        assert view.completed_at is not None
        kinds = await scene.audit_kinds(view.id)
        assert kinds[-1] == "request_completed"
        assert "task_sent" not in kinds
        control = await scene.submit(SubjectRef(iccid=ICCID))
        await eventually(lambda: _arrived(scene, "beta", 1), what="the ICCID request's command")
        commands = scene.fakes["alpha"].commands + scene.fakes["beta"].commands
        assert {command.request_id for command in commands} == {control.id}
