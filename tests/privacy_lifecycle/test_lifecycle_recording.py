"""Recording results that arrive together: one write and one read for them all, and each
result still learns whether it was recorded as its task's answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from privacy import results, store
from servicekit.grouped import UPDATE_LIMIT
from servicekit.settings import ServiceSettings
from support.commands import Commands, watched_client
from support.privacy_owners import task_result

Doc = dict[str, Any]


@pytest.fixture
async def requests_db(base: ServiceSettings) -> AsyncIterator[tuple[Any, Commands]]:
    """Privacy's database in the test's namespace, and the commands its client sends."""
    async with watched_client(base.mongo_url) as (client, commands):
        yield client[base.database_name("privacy")], commands


def open_request(request_id: str, status: str = "in_progress") -> Doc:
    """A request with open tasks for alpha and beta (their first runs)."""
    tasks = {
        service: {"task_id": f"{request_id}.{service}", "status": "in_progress"}
        for service in ("alpha", "beta")
    }
    return {"_id": request_id, "status": status, "tasks": tasks}


async def test_results_arriving_together_are_recorded_by_one_write_each_learning_its_own(
    requests_db: tuple[Any, Commands],
) -> None:
    """Answers recorded at once, two of them about the same request, one for a task run that
    is not the request's and one for a cancelled request, take one update and one read after
    the first: the answers of current tasks are recorded and returned with the request as
    written, the others change nothing and return None."""
    db, commands = requests_db
    ids = [f"dsr_rec{i}" for i in range(4)]
    cancelled = "dsr_rec_cancelled"
    await db[store.REQUESTS].insert_many(
        [open_request(i) for i in ids] + [open_request(cancelled, "cancelled")]
    )
    commands.clear()
    answers = [
        task_result(ids[0], "alpha"),
        task_result(ids[1], "alpha"),
        task_result(ids[1], "beta"),
        task_result(ids[2], "alpha", task_id=f"{ids[2]}.alpha.2"),  # not the current run
        task_result(ids[3], "beta", error="the notes store is down"),
        task_result(cancelled, "alpha"),
    ]
    recorded = await asyncio.gather(
        *(results.record(db, answer, f"rcp_{n}") for n, answer in enumerate(answers))
    )

    assert [document is not None for document in recorded] == [True, True, True, False, True, False]
    assert recorded[2] is not None
    assert recorded[1] is not recorded[2]
    assert recorded[2]["tasks"]["beta"]["receipt"] == "rcp_2"
    assert commands.names.count("update") + commands.names.count("findAndModify") <= 2
    stored = {document["_id"]: document async for document in db[store.REQUESTS].find({})}
    assert stored[ids[1]]["tasks"]["alpha"]["status"] == "completed"
    assert stored[ids[1]]["tasks"]["beta"]["receipt"] == "rcp_2"
    assert stored[ids[2]]["tasks"]["alpha"]["status"] == "in_progress"
    assert stored[ids[3]]["tasks"]["beta"]["status"] == "failed"
    assert stored[ids[3]]["tasks"]["beta"]["error"] == "the notes store is down"
    assert stored[cancelled]["tasks"]["alpha"]["status"] == "in_progress"


async def test_a_result_alone_is_recorded_at_once_and_returns_the_request(
    requests_db: tuple[Any, Commands],
) -> None:
    """A lone answer is one conditional write that returns the request as recorded; the
    same answer for a task run that is not current returns None."""
    db, commands = requests_db
    await db[store.REQUESTS].insert_one(open_request("dsr_alone"))
    commands.clear()
    recorded = await results.record(db, task_result("dsr_alone", "alpha"), "rcp_alone")
    assert recorded is not None
    assert recorded["tasks"]["alpha"]["receipt"] == "rcp_alone"
    assert commands.names == ["findAndModify"]
    stale = task_result("dsr_alone", "beta", task_id="dsr_alone.beta.0")
    assert await results.record(db, stale, "rcp_stale") is None


@pytest.mark.timeout(60)
async def test_many_results_arriving_together_are_all_recorded(
    requests_db: tuple[Any, Commands],
) -> None:
    """300 answers at once (a large burst) are all recorded, in updates of at most
    `UPDATE_LIMIT` statements each: FerretDB 1.24 never answers an update command of 100
    statements or more."""
    db, commands = requests_db
    ids = [f"dsr_many{i}" for i in range(300)]
    await db[store.REQUESTS].insert_many([open_request(i) for i in ids])
    recorded = await asyncio.gather(
        *(results.record(db, task_result(i, "alpha"), f"rcp_{i}") for i in ids)
    )
    assert all(document is not None for document in recorded)
    stored = [document async for document in db[store.REQUESTS].find({})]
    assert {d["tasks"]["alpha"]["receipt"] for d in stored} == {f"rcp_{i}" for i in ids}
    assert max(commands.statements("update")) <= UPDATE_LIMIT
