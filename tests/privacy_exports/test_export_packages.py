"""Export packages through the real privacy service: parts in, a verified ZIP out."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from exports_support import OWNER, PARTNER, LargeOwner, World, stage_request, zip_entries

from contracts.privacy import RequestType, SubjectRef
from contracts.privacy_exports import (
    ExportChunk,
    ExportLink,
    FetchExportChunk,
    GetExportLink,
)
from privacy import export_store
from servicekit.export_parts import export_bytes
from servicekit.inbox import INBOX_COLLECTION
from support.waiting import eventually


async def _download(world: World, link: ExportLink) -> bytes:
    token = link.url.rsplit("/", 1)[1]
    first = await world.ask(FetchExportChunk(token=token, index=0), ExportChunk)
    chunks = [first] + [
        await world.ask(FetchExportChunk(token=token, index=i), ExportChunk)
        for i in range(1, first.count)
    ]
    return b"".join(base64.b64decode(chunk.data) for chunk in chunks)


async def test_a_large_export_arrives_in_parts_whole_and_verified(world: World) -> None:
    """Alpha's export (many parts) is reassembled, matches its signed digest, and fills the
    package; the parts are dropped once the package holds the data."""
    email = "ada@example.com"
    request_id = await world.access_request(email)
    expected = LargeOwner().export_of(SubjectRef(email=email))
    assert len(export_bytes(expected)) > 5 * 2048
    package = await world.settled(request_id)
    assert package["status"] == "ready", package.get("error")
    link = await world.ask(GetExportLink(request_id=request_id, partner_id=PARTNER), ExportLink)
    data = await _download(world, link)
    assert hashlib.sha256(data).hexdigest() == link.sha256 == package["file"]["sha256"]
    assert len(data) == link.size
    entries = zip_entries(data)
    assert json.loads(entries[f"{OWNER}/notes.json"]) == expected["notes"]
    assert json.loads(entries[f"{OWNER}/profile.json"]) == expected["profile"]
    assert f"{OWNER}/notes.csv" in entries
    assert await world.db[export_store.PARTS].count_documents({"request_id": request_id}) == 0


async def test_a_package_is_stored_in_chunks_outside_the_request(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ZIP lives in chunk documents of `export_files` (never in the request document),
    and a download through the chunks gives it back byte for byte."""
    monkeypatch.setattr(export_store, "CHUNK_BYTES", 1000)
    request_id = await world.access_request("bo@example.com", RequestType.PORTABILITY)
    package = await world.settled(request_id)
    file = package["file"]
    assert file["chunks"] == -(-file["size"] // 1000) > 1
    assert (
        await world.db[export_store.FILES].count_documents({"request_id": request_id})
        == (file["chunks"])
    )
    request = await world.request(request_id)
    assert len(json.dumps(request, default=str)) < file["size"]
    link = await world.ask(GetExportLink(request_id=request_id), ExportLink)
    assert hashlib.sha256(await _download(world, link)).hexdigest() == file["sha256"]


async def _stored(world: World, request_id: str, count: int) -> bool:
    return await world.db[export_store.PARTS].count_documents({"request_id": request_id}) == count


async def test_a_tampered_part_makes_the_package_refuse(world: World) -> None:
    """One altered byte in a part on the bus: the export no longer matches the SHA-256 the
    signed receipt covers, so the package is refused with that reason and no link is given."""
    request_id, parts = await stage_request(world, "cy@example.com")
    victim = parts[len(parts) // 2]
    raw = bytearray(base64.b64decode(victim.data))
    raw[10] ^= 0x01
    tampered = victim.model_copy(update={"data": base64.b64encode(bytes(raw)).decode()})
    for part in parts:
        await world.caller.bus.publish(tampered if part is victim else part)
    await eventually(lambda: _stored(world, request_id, len(parts)), what="parts stored")
    package = await world.build(request_id)
    assert package["status"] == "failed"
    assert "does not match the SHA-256 its signed receipt covers" in package["error"]
    assert OWNER in package["error"]
    assert await world.db[export_store.FILES].count_documents({"request_id": request_id}) == 0
    refused = await world.refusal(GetExportLink(request_id=request_id), ExportLink)
    assert refused.code == "conflict"
    assert "signed receipt" in refused.message


async def test_a_package_waits_for_a_late_part_and_is_built_when_it_arrives(
    world: World,
) -> None:
    """Built while a part is still on the way, the package waits (and has no link); the
    part's arrival builds it; a part repeated on the bus is kept once."""
    request_id, parts = await stage_request(world, "di@example.com")
    *early, late = parts
    for part in early:
        await world.caller.bus.publish(part)
    await eventually(lambda: _stored(world, request_id, len(early)), what="early parts stored")
    repeat = world.caller.bus.outgoing(early[0])
    await world.caller.bus.publish_many([repeat])

    async def repeat_handled() -> bool:
        return await world.db[INBOX_COLLECTION].find_one({"_id": repeat.message_id}) is not None

    await eventually(repeat_handled, what="the repeated part handled")
    assert await _stored(world, request_id, len(early))
    assert (await world.build(request_id))["status"] == "waiting_for_parts"
    assert (await world.refusal(GetExportLink(request_id=request_id), ExportLink)).code == (
        "conflict"
    )
    await world.caller.bus.publish(late)

    async def ready() -> bool:
        package = await world.package(request_id)
        return package is not None and package["status"] == "ready"

    await eventually(ready, what="the package built once the late part arrived")
    link = await world.ask(GetExportLink(request_id=request_id), ExportLink)
    entries = zip_entries(await _download(world, link))
    assert json.loads(entries[f"{OWNER}/notes.json"])[0]["email"] == "di@example.com"


async def test_links_are_only_for_the_requesting_partner(world: World) -> None:
    """Another partner's request is not found, and so is an unknown request; the requesting
    partner and ops get the link."""
    request_id = await world.access_request("ed@example.com")
    await world.settled(request_id)
    other = GetExportLink(request_id=request_id, partner_id="ptn_someone_else")
    assert (await world.refusal(other, ExportLink)).code == "not_found"
    unknown = GetExportLink(request_id="dsr_unknown", partner_id=PARTNER)
    assert (await world.refusal(unknown, ExportLink)).code == "not_found"
    own = await world.ask(GetExportLink(request_id=request_id, partner_id=PARTNER), ExportLink)
    ops = await world.ask(GetExportLink(request_id=request_id), ExportLink)
    assert own.sha256 == ops.sha256


async def test_a_link_expires_and_a_forged_one_is_refused(world: World) -> None:
    """The link works until its expiry (24 h by default), then is `gone`; a token altered by
    one character is `forbidden`."""
    request_id = await world.access_request("fa@example.com")
    await world.settled(request_id)
    now = world.clock()
    world.clock.at = now
    link = await world.ask(GetExportLink(request_id=request_id), ExportLink)
    assert link.expires_at - now <= timedelta(hours=24)
    assert link.expires_at - now > timedelta(hours=23)
    token = link.url.rsplit("/", 1)[1]
    assert (await world.ask(FetchExportChunk(token=token), ExportChunk)).index == 0
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert (await world.refusal(FetchExportChunk(token=forged), ExportChunk)).code == "forbidden"
    world.clock.at = link.expires_at + timedelta(seconds=1)
    expired = await world.refusal(FetchExportChunk(token=token), ExportChunk)
    assert expired.code == "gone"
    assert "expired" in expired.message


async def test_packages_and_parts_are_purged_after_seven_days(world: World) -> None:
    """Seven days after the request closed the sweep deletes its package and file chunks,
    says how many, and the link is gone; before then it keeps them."""
    request_id = await world.access_request("gu@example.com")
    package = await world.settled(request_id)
    stray, parts = await stage_request(world, "ha@example.com")
    for part in parts[:2]:
        await world.caller.bus.publish(part)
    await eventually(lambda: _stored(world, stray, 2), what="stray parts stored")
    closed = (await world.request(request_id))["completion"]["at"]
    before = await export_store.sweep_expired(world.db, closed + timedelta(days=6))
    assert before["export_packages"] == 0
    world.clock.at = closed + timedelta(days=6)
    link = await world.ask(GetExportLink(request_id=request_id), ExportLink)
    assert link.expires_at <= package["expires_at"]
    token = link.url.rsplit("/", 1)[1]
    after = await export_store.sweep_expired(world.db, closed + timedelta(days=8))
    assert after["export_packages"] >= 1
    assert after["export_file_chunks"] >= package["file"]["chunks"]
    assert after["export_parts"] >= 1
    assert await world.package(request_id) is None
    assert await world.db[export_store.FILES].count_documents({"request_id": request_id}) == 0
    assert await world.db[export_store.PARTS].count_documents({"request_id": stray}) == 0
    world.clock.at = closed + timedelta(days=6, hours=1)
    purged = await world.refusal(FetchExportChunk(token=token), ExportChunk)
    assert purged.code == "gone"
    again = await world.refusal(GetExportLink(request_id=request_id), ExportLink)
    assert again.code == "conflict"


async def test_closing_an_access_request_builds_its_package_by_itself(world: World) -> None:
    """No call needed: the request's closing event builds the package."""
    request_id = await world.access_request("ivo@example.com")

    async def ready() -> bool:
        package = await world.package(request_id)
        return package is not None and package["status"] == "ready"

    await eventually(ready, what="the package built on the closing event")
