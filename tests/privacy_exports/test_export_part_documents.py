"""Export parts as outbox documents of their own (written before the result), and the privacy
side taking parts in any order, before or after the result, and parts cut anew."""

from __future__ import annotations

from typing import Any

from exports_support import OWNER, PART_BYTES, LargeOwner, World, stage_request

from contracts.privacy import SubjectRef
from contracts.privacy_exports import PrivacyExportPart
from privacy import export_store
from servicekit.export_parts import ExportInParts, split_export, write_parts
from servicekit.messages import Outgoing
from servicekit.outbox import OUTBOX, PENDING
from support.waiting import eventually


def _cut(email: str, task_id: str = "dsr_parts.alpha") -> ExportInParts:
    export = LargeOwner().export_of(SubjectRef(email=email))
    return split_export(
        request_id="dsr_parts", task_id=task_id, service=OWNER, export=export, part_bytes=PART_BYTES
    )


async def test_parts_are_written_once_each_and_a_changed_export_replaces_unsent_ones(
    world: World,
) -> None:
    """Each part is one outbox document keyed by task and index; writing the same export
    again (a re-run after a crash) adds nothing; an export cut anew from changed data
    replaces the parts still unsent, so only parts of the new export go out."""
    collection = world.owner.db["parts_under_test"]  # no relay watches it

    def outgoing(part: PrivacyExportPart) -> Outgoing:
        return world.owner.bus.outgoing(part)

    first = _cut("ek@example.com")
    assert await write_parts(collection, first, outgoing) == first.count
    assert await write_parts(collection, first, outgoing) == 0
    documents = await collection.find({}).sort("index", 1).to_list()
    assert [d["_id"] for d in documents] == [f"dsr_parts.alpha/{i}" for i in range(first.count)]
    assert all(d[PENDING] == 1 and len(d[OUTBOX]) == 1 for d in documents)

    changed = _cut("el@example.com")
    assert changed.sha256 != first.sha256
    assert await write_parts(collection, changed, outgoing) == changed.count
    kept = await collection.find({}).to_list()
    assert {d["export_sha256"] for d in kept} == {changed.sha256}
    sent = [PrivacyExportPart.model_validate_json(d[OUTBOX][0]["body"]) for d in kept]
    assert sorted(sent, key=lambda p: p.index) == changed.parts


async def _package_status(world: World, request_id: str, status: str) -> dict[str, Any] | None:
    package = await world.package(request_id)
    return package if package is not None and package["status"] == status else None


async def test_a_result_before_any_part_waits_and_parts_in_reverse_order_build_it(
    world: World,
) -> None:
    """The result (the accepted receipt) is in and the request closed before any part: the
    package waits; the parts arriving last-first build it."""
    request_id, parts = await stage_request(world, "fa@example.com")
    assert (await world.build(request_id))["status"] == "waiting_for_parts"
    for part in reversed(parts):
        await world.caller.bus.publish(part)
    ready = await eventually(
        lambda: _package_status(world, request_id, "ready"), what="the package built"
    )
    assert ready["file"]["size"] > 0


async def test_parts_cut_anew_replace_stale_ones_and_the_refused_package_is_built(
    world: World,
) -> None:
    """Parts of an earlier cut (an export changed before a crashed run was answered again)
    make the package refuse; the parts of the signed export, arriving later, replace them
    and the package is built after all."""
    request_id, parts = await stage_request(world, "ga@example.com")
    task_id = parts[0].task_id
    stale = split_export(
        request_id=request_id,
        task_id=task_id,
        service=OWNER,
        export=LargeOwner().export_of(SubjectRef(email="gb@example.com")),
        part_bytes=PART_BYTES,
    )
    assert stale.count == len(parts)
    for part in stale.parts:
        await world.caller.bus.publish(part)

    async def stored() -> bool:
        parts_kept = world.db[export_store.PARTS]
        return await parts_kept.count_documents({"task_id": task_id}) == len(parts)

    await eventually(stored, what="stale parts stored")
    assert (await world.build(request_id))["status"] == "failed"
    for part in parts:
        await world.caller.bus.publish(part)
    await eventually(lambda: _package_status(world, request_id, "ready"), what="rebuilt")
