"""Group commit: store calls of concurrent handlers sent together (inserts, reads, deletes).

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

LIMIT = 256
"""Most documents one grouped command carries."""

UPDATE_LIMIT = 64
"""Most statements one grouped update command carries: FerretDB 1.24 never answers an update
command of 100 statements or more (decision 0002)."""

DUPLICATE_KEY = 11000

Collection = AsyncCollection[dict[str, Any]]
Doc = dict[str, Any]
T = TypeVar("T")
R = TypeVar("R")


class Group(Generic[T, R]):
    """Group commit: calls made while one is at the store go together in the next command.

    A call made while none is at the store runs at once, in the caller's own task (no hop:
    one request alone never waits). Calls made meanwhile wait; when it returns they go
    together, `limit` at a time, in a task of their own, each batch first lingering up to
    `linger` seconds for more unless it is full (a latency trade: under load a call waits up
    to that much more, for fewer round trips). Each caller gets its own result or its own
    exception, only after the command that carried it finished, so nothing is reported done
    before it is.
    """

    def __init__(
        self,
        run: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        limit: int = LIMIT,
        *,
        linger: float = 0.0,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        self._run = run
        self._limit = limit
        self._linger = linger
        self._observe = observe
        self._busy = False
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._full: asyncio.Future[None] | None = None
        self._drainer: asyncio.Task[None] | None = None

    async def call(self, item: T) -> R:
        """Run `item`, alone or in the next batch; its result."""
        if self._busy:
            future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
            self._waiting.append((item, future))
            full = self._full
            if len(self._waiting) >= self._limit and full is not None and not full.done():
                full.set_result(None)
            return await future
        self._busy = True
        try:
            (result,) = await self._run_batch([item])
        finally:
            self._hand_over()
        if isinstance(result, Exception):
            raise result
        return result

    async def _run_batch(self, items: list[T]) -> Sequence[R | Exception]:
        if self._observe is not None:
            self._observe(len(items))
        return await self._run(items)

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
                await self._linger_for_more()
                batch, self._waiting = self._waiting[: self._limit], self._waiting[self._limit :]
                try:
                    results = await self._run_batch([item for item, _ in batch])
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
            self._full = None
            for _, future in [*batch, *self._waiting]:
                if not future.done():
                    future.cancel()
            self._waiting.clear()

    async def _linger_for_more(self) -> None:
        """Wait up to `linger` seconds, or until a full batch is waiting."""
        if not self._linger or len(self._waiting) >= self._limit:
            return
        self._full = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self._linger):
                await self._full
        except TimeoutError:
            pass
        finally:
            self._full = None


class GroupedInserts:
    """Inserts into one collection, written together with one unordered `insert_many`."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        self._batcher: Group[dict[str, Any], bool] = Group(self._insert_many, LIMIT)

    async def insert(self, document: dict[str, Any]) -> bool:
        """Insert `document`; False when its `_id` is stored already (nothing written)."""
        return await self._batcher.call(document)

    async def _insert_many(self, documents: list[dict[str, Any]]) -> list[bool | Exception]:
        return await insert_unordered(self.collection, documents)


async def insert_unordered(
    collection: Collection, documents: list[dict[str, Any]]
) -> list[bool | Exception]:
    """Insert unordered; per document True (written now), False (its `_id` was stored
    already: a redelivery, not a failure) or the error that kept it out."""
    if not documents:
        return []
    try:
        await collection.insert_many(documents, ordered=False)
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
        return own_copies([[found[i] for i in each if i in found] for each in asked])


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
        return own_copies(
            [[document for document, values in held if values & wanted] for wanted in asked]
        )


class GroupedDeletes:
    """Deletes by one field of one collection: the documents whose field holds one of the
    given values, with one `delete_many({field: {$in: values}})` for every caller waiting.

    The store answers a grouped delete with one count for all callers, so none learns its
    own: a caller that reports what it removed counts the records it found and asked to
    delete (each is gone once the call returns, whoever removed it)."""

    def __init__(self, collection: Collection, field: str = "_id") -> None:
        self.collection = collection
        self.field = field
        self._batcher: Group[frozenset[Any], None] = Group(self._delete_many, LIMIT)

    async def delete_in(self, values: Iterable[Any]) -> None:
        """Delete the documents whose field holds one of `values` (nothing for no values)."""
        wanted = frozenset(values)
        if wanted:
            await self._batcher.call(wanted)

    async def _delete_many(self, asked: list[frozenset[Any]]) -> list[None]:
        union = sorted(frozenset[Any]().union(*asked), key=repr)
        await self.collection.delete_many({self.field: {"$in": union}})
        return [None] * len(asked)


def own_copies(answers: list[list[Doc]]) -> list[list[Doc]]:
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


_SHARED: dict[tuple[str, int, str, str], tuple[asyncio.AbstractEventLoop, Any]] = {}


def inserts_into(collection: Collection) -> GroupedInserts:
    """This process's grouped inserts into `collection`, on the running event loop (for code
    that is handed a database rather than holding one object per collection)."""
    found: GroupedInserts = per_process("insert", collection, lambda: GroupedInserts(collection))
    return found


def lookups_in(collection: Collection, field: str) -> GroupedLookups:
    """This process's grouped lookups by `field` in `collection`, on the running event loop."""
    found: GroupedLookups = per_process(
        f"lookup:{field}", collection, lambda: GroupedLookups(collection, field)
    )
    return found


def deletes_from(collection: Collection, field: str = "_id") -> GroupedDeletes:
    """This process's grouped deletes by `field` from `collection`, on the running event
    loop."""
    found: GroupedDeletes = per_process(
        f"delete:{field}", collection, lambda: GroupedDeletes(collection, field)
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


def per_process(kind: str, collection: Collection, make: Callable[[], Any]) -> Any:
    """The one object of this `kind` for `collection` in this process, on the running event
    loop (made by `make` on first use), so that every caller's calls are grouped together."""
    loop = asyncio.get_running_loop()
    database = collection.database
    slot = (kind, id(database.client), database.name, collection.name)
    held = _SHARED.get(slot)
    if held is None or held[0] is not loop:
        held = _SHARED[slot] = (loop, make())
    return held[1]
