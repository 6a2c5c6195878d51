"""Ops search of technical logs over the bus: each filter, their combination, newest-first
paging by cursor, sealed fields never opened, and who may search."""

from __future__ import annotations

import pytest
from log_query_support import (
    OPS_USER,
    PLATFORM,
    PRIVACY_OFFICER,
    SUPPORT_USER,
    Logs,
    at,
    owner_of,
    usage_key,
)

from contracts.accounts import Actor
from contracts.log_queries import LogPage, SearchLogs
from servicekit.errors import RemoteCallError
from servicekit.ids import new_id


def search(**filters: object) -> SearchLogs:
    """SearchLogs by an ops user with these filters."""
    return SearchLogs.model_validate({"actor": OPS_USER, **filters})


async def ids_found(logs: Logs, **filters: object) -> list[str]:
    """The ids of the first page of a search."""
    page = await logs.ask(search(**filters), LogPage)
    return [record.id for record in page.data]


async def test_each_filter_finds_only_its_records(logs: Logs) -> None:
    """request_id, correlation_id, service, level and the time window each narrow the search."""
    service, other = new_id("svc"), new_id("svc")
    request, correlation = new_id("req"), new_id("cor")
    first = await logs.add_technical(
        service=service, at=at(2030, 5, 1), request_id=request, correlation_id=correlation
    )
    second = await logs.add_technical(
        service=service, level="error", at=at(2030, 5, 2), correlation_id=correlation
    )
    third = await logs.add_technical(service=other, level="error", at=at(2030, 5, 3))

    assert await ids_found(logs, request_id=request) == [first]
    assert sorted(await ids_found(logs, correlation_id=correlation)) == sorted([first, second])
    assert sorted(await ids_found(logs, service=service)) == sorted([first, second])
    assert await ids_found(logs, service=service, level="error") == [second]
    window = {"at_from": at(2030, 5, 2), "at_to": at(2030, 5, 3)}
    assert await ids_found(logs, service=service, **window) == [second]
    assert await ids_found(logs, service=other, **window) == []
    assert await ids_found(logs, service=other, at_from=at(2030, 5, 3)) == [third]


async def test_pages_run_newest_first_without_repeats_or_gaps(logs: Logs) -> None:
    """Following next_cursor yields every record once, in descending id order."""
    service = new_id("svc")
    stored = [await logs.add_technical(service=service, at=at(2030, 6, 1, n)) for n in range(7)]
    pages = [await logs.ask(search(service=service, limit=3), LogPage)]
    while pages[-1].next_cursor is not None:
        assert len(pages) < 5, "paging does not end"
        pages.append(
            await logs.ask(search(service=service, limit=3, cursor=pages[-1].next_cursor), LogPage)
        )
    seen = [record.id for page in pages for record in page.data]
    assert [len(page.data) for page in pages] == [3, 3, 1]
    assert seen == sorted(stored, reverse=True)


async def test_sealed_personal_fields_are_never_opened(logs: Logs) -> None:
    """A record's IP and email are named in `sealed`, never shown; `fields` are shown."""
    service = new_id("svc")
    await logs.add_technical(
        service=service,
        at=at(2030, 7, 1),
        user_id="usr_1",
        ip="198.51.100.77",
        email="someone@example.com",
        fields={"attempt": 2, "ok": False},
    )
    page = await logs.ask(search(service=service), LogPage)
    [record] = page.data
    assert record.sealed == ["email", "ip"]
    assert record.fields == {"attempt": 2, "ok": False}
    assert record.user_id == "usr_1"
    text = page.model_dump_json()
    assert "198.51.100.77" not in text
    assert "someone@example.com" not in text
    assert "enc1" not in text


@pytest.mark.parametrize("actor", [PLATFORM, OPS_USER, SUPPORT_USER])
async def test_the_platform_and_its_ops_and_support_users_may_search(
    logs: Logs, actor: Actor
) -> None:
    """The platform, ops and support users are answered."""
    service = new_id("svc")
    await logs.add_technical(service=service, at=at(2030, 8, 1))
    query = search(service=service).model_copy(update={"actor": actor})
    assert len((await logs.ask(query, LogPage)).data) == 1


@pytest.mark.parametrize(
    "actor", [usage_key("ptn_a"), owner_of("ptn_a"), PRIVACY_OFFICER], ids=["key", "owner", "dpo"]
)
async def test_partners_and_other_roles_may_not_search(logs: Logs, actor: Actor) -> None:
    """Partners' keys and users, and platform roles other than ops and support, are refused."""
    with pytest.raises(RemoteCallError) as refused:
        await logs.ask(search().model_copy(update={"actor": actor}), LogPage)
    assert refused.value.code == "forbidden"


async def test_a_reversed_window_is_an_invalid_request(logs: Logs) -> None:
    """at_to before at_from is refused."""
    with pytest.raises(RemoteCallError) as refused:
        await logs.ask(search(at_from=at(2030, 5, 2), at_to=at(2030, 5, 1)), LogPage)
    assert refused.value.code == "invalid_request"
