"""Store calls of concurrent handlers written together: inserts and reads by `_id`.

In a burst every handler of a service makes the same few calls (keep a receipt, remember an
erasure, look up a task's receipt), each its own round trip and its own command for the store
server to parse, lock and answer. These share one: a lone call goes at once; calls made while
one is at the store wait for it and go together in the next (`Group`). Each caller gets its
own answer only after the command that carried it finished, so nothing is reported written
before it is.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, WriteError

from servicekit.inbox import DUPLICATE_KEY

LIMIT = 256
"""Most documents one grouped command carries."""

Collection = AsyncCollection[dict[str, Any]]
Doc = dict[str, Any]
T = TypeVar("T")
R = TypeVar("R")


class Group(Generic[T, R]):
    """Group commit: a call made while none is at the store runs at once, in the caller's own
    task (no hop, no linger: one request alone never waits); calls made while one is at the
    store wait, and when it returns they go together, `limit` at a time, in a task of their
    own. Each caller gets its own result or its own exception."""

    def __init__(self, run: Callable[[list[T]], Awaitable[Sequence[R | Exception]]], limit: int):
        self._run = run
        self._limit = limit
        self._busy = False
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def call(self, item: T) -> R:
        """Run `item`, alone or in the next batch; its result."""
        if self._busy:
            future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
            self._waiting.append((item, future))
            return await future
        self._busy = True
        try:
            (result,) = await self._run([item])
        finally:
            self._hand_over()
        if isinstance(result, Exception):
            raise result
        return result

    def _hand_over(self) -> None:
        if self._waiting:
            # Held by the loop until done; the task answers every caller waiting.
            self._drainer = asyncio.create_task(self._drain())
        else:
            self._busy = False

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self._limit], self._waiting[self._limit :]
                try:
                    results: Sequence[R | Exception] = await self._run([i for i, _ in batch])
                except Exception as failure:
                    results = [failure] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._busy = False
            for _, future in [*batch, *self._waiting]:
                if not future.done():
                    future.cancel()
            self._waiting.clear()


class GroupedInserts:
    """Inserts into one collection, written together with one unordered `insert_many`."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        self._batcher: Group[dict[str, Any], bool] = Group(self._insert_many, LIMIT)

    async def insert(self, document: dict[str, Any]) -> bool:
        """Insert `document`; False when its `_id` is stored already (nothing written)."""
        return await self._batcher.call(document)

    async def _insert_many(self, documents: list[dict[str, Any]]) -> list[bool | Exception]:
        if len(documents) == 1:
            return [await _insert_one(self.collection, documents[0])]
        try:
            await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as failure:
            if failure.details.get("writeConcernErrors"):
                raise
            results: list[bool | Exception] = [True] * len(documents)
            for error in failure.details.get("writeErrors", []):
                code = error.get("code")
                results[error["index"]] = (
                    False
                    if code == DUPLICATE_KEY
                    else WriteError(error.get("errmsg", "write failed"), code, error)
                )
            return results
        return [True] * len(documents)


async def _insert_one(collection: Collection, document: dict[str, Any]) -> bool:
    try:
        await collection.insert_one(document)
    except WriteError as failure:
        if failure.code == DUPLICATE_KEY:
            return False
        raise
    return True


class GroupedFinds:
    """Reads of whole documents by `_id` from one collection, with one `$in` query."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        self._batcher: Group[list[Any], list[dict[str, Any]]] = Group(self._find_many, LIMIT)

    async def find(self, document_id: Any) -> dict[str, Any] | None:
        """The document with this `_id`, or None."""
        found = await self._batcher.call([document_id])
        return found[0] if found else None

    async def find_all(self, ids: list[Any]) -> list[dict[str, Any]]:
        """The documents with these `_id`s that exist, in the order of `ids`, each once."""
        return await self._batcher.call(list(dict.fromkeys(ids))) if ids else []

    async def _find_many(self, asked: list[list[Any]]) -> list[list[dict[str, Any]]]:
        ids = list(dict.fromkeys(document_id for each in asked for document_id in each))
        if len(ids) == 1:
            document = await self.collection.find_one({"_id": ids[0]})
            found = {} if document is None else {ids[0]: document}
        else:
            cursor = self.collection.find({"_id": {"$in": ids}})
            found = {document["_id"]: document async for document in cursor}
        return _own_copies([[found[i] for i in each if i in found] for each in asked])


class GroupedLookups:
    """Reads by one indexed field of one collection: the documents whose field holds one of
    the given values (a scalar equal to one, or an array containing one, as a store filter
    `{field: {$in: values}}` matches), with one `$in` query for every caller waiting. Each
    caller gets exactly the documents its own filter would have found."""

    def __init__(self, collection: Collection, field: str) -> None:
        self.collection = collection
        self.field = field
        self._batcher: Group[frozenset[Any], list[dict[str, Any]]] = Group(self._find_many, LIMIT)

    async def find_in(self, values: Iterable[Any]) -> list[dict[str, Any]]:
        """The documents whose field holds one of `values` (none for no values)."""
        wanted = frozenset(values)
        return await self._batcher.call(wanted) if wanted else []

    async def _find_many(self, asked: list[frozenset[Any]]) -> list[list[dict[str, Any]]]:
        # Always `$in`, also for one value: nx-27017 matches membership in an indexed array
        # only that way (decision 0002).
        union = sorted(frozenset[Any]().union(*asked), key=repr)
        cursor = self.collection.find({self.field: {"$in": union}})
        found = [document async for document in cursor]
        held = [(document, values_at(document, self.field)) for document in found]
        return _own_copies(
            [[document for document, values in held if values & wanted] for wanted in asked]
        )


def _own_copies(answers: list[list[Doc]]) -> list[list[Doc]]:
    """The answers with no document object shared between two callers: a caller may change
    what it was given (open sealed fields in place) without another seeing it."""
    given: set[int] = set()
    owned = []
    for answer in answers:
        mine = []
        for document in answer:
            mine.append(copy.deepcopy(document) if id(document) in given else document)
            given.add(id(document))
        owned.append(mine)
    return owned


def values_at(document: Mapping[str, Any], path: str) -> set[Any]:
    """The values a store filter on `path` compares with: the field's value, or each element
    of an array on the way (as `{path: {$in: [...]}}` matches)."""
    current: list[Any] = [document]
    for name in path.split("."):
        following: list[Any] = []
        for value in current:
            if isinstance(value, Mapping) and name in value:
                following.append(value[name])
            elif isinstance(value, list):
                following += [
                    item[name] for item in value if isinstance(item, Mapping) and name in item
                ]
        current = following
    flat: set[Any] = set()
    for value in current:
        if isinstance(value, list):
            flat.update(item for item in value if not isinstance(item, (dict, list)))
        elif not isinstance(value, dict):
            flat.add(value)
    return flat


_SHARED: dict[tuple[str, int, str, str, str], tuple[asyncio.AbstractEventLoop, Any]] = {}


def inserts_into(collection: Collection) -> GroupedInserts:
    """This process's grouped inserts into `collection`, on the running event loop (for code
    that is handed a database rather than holding one object per collection)."""
    found: GroupedInserts = _shared("insert", collection, "", lambda: GroupedInserts(collection))
    return found


def lookups_in(collection: Collection, field: str) -> GroupedLookups:
    """This process's grouped lookups by `field` in `collection`, on the running event loop."""
    found: GroupedLookups = _shared(
        "lookup", collection, field, lambda: GroupedLookups(collection, field)
    )
    return found


async def grouped_lookup(collection: Collection, criterion: Mapping[str, Any]) -> list[Doc]:
    """The documents matching a one-field criterion, `{field: value}` or `{field: {"$in":
    values}}`, through that field's `lookups_in`; any other criterion is read on its own."""
    if len(criterion) == 1:
        ((field, condition),) = criterion.items()
        if not isinstance(condition, Mapping):
            return await lookups_in(collection, field).find_in([condition])
        if set(condition) == {"$in"}:
            return await lookups_in(collection, field).find_in(condition["$in"])
    return [document async for document in collection.find(dict(criterion))]


def _shared(kind: str, collection: Collection, field: str, make: Callable[[], Any]) -> Any:
    loop = asyncio.get_running_loop()
    database = collection.database
    slot = (kind, id(database.client), database.name, collection.name, field)
    held = _SHARED.get(slot)
    if held is None or held[0] is not loop:
        held = _SHARED[slot] = (loop, make())
    return held[1]
