"""Log records of OTHER subjects, bulk-inserted into the logs service's store, so that erasing
one subject faces a big collection.

The documents are the ones the logs service stores: technical records built by
`logs.handlers.technical_documents` from `TechnicalRecord`s, sealed by its `LogWriter` with
the service's own keys (the subjects' keys land in its keyring, the blind indexes are the
service's), then written with unordered `insert_many` in big batches, straight into its
`technical_logs` collection, whose indexes the service created. The subjects are many (users
of many partners, with many distinct emails and IP addresses), so the blind-index lookups of
an erasure meet a collection with many values, not a few repeated ones.

Sealing runs at under a thousand records a second on a loaded two-core machine (20 minutes
for a million), so only the first `SEALED_POOL` records are sealed one by one; every later one
is a copy of a pooled record under a new id, with the blind indexes of a fresh email and IP
address drawn like the others (the service's own HMAC). Its sealed fields are its pool
record's: nobody reads another subject's records in the benchmark, and what an erasure pays
for is the size of the collection and of its indexes, which the copies give in full.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta
from typing import Any

from bench_orders_load import say
from platform_procs import LocalPlatform
from pymongo import AsyncMongoClient
from pymongo.errors import AutoReconnect, _OperationCancelled

from contracts.logs import TechnicalRecord, TechnicalRecordsShipped
from logs import store as logs_store
from logs.handlers import LogWriter, record_id, technical_documents
from servicekit.clock import utcnow
from servicekit.grouped import insert_unordered
from servicekit.ids import new_id
from servicekit.keyring import EncryptionSettings
from servicekit.vault import Vault

BATCH = 1_000
"""Documents per `insert_many`."""
SEALED_POOL = 2_000
"""Records sealed one by one; the rest are copies of these with fresh blind indexes."""
PROGRESS_EVERY = 100_000
INSERT_ATTEMPTS = 5
RETRY_PAUSE_S = 2.0
PARTNERS = 200
USERS = 1_000
EMAILS = 200_000
ADDRESSES = 20_000
EVENTS = ("dashboard_sign_in", "api_key_used", "order_viewed", "webhook_delivered", "export")
Doc = dict[str, Any]


def other_records(count: int, rng: random.Random) -> list[TechnicalRecord]:
    """Technical records of other people: a user of a partner, an email and an address."""
    now = utcnow()
    records = []
    for _ in range(count):
        user = rng.randrange(USERS)
        records.append(
            TechnicalRecord(
                at=now - timedelta(seconds=rng.randrange(30 * 86_400)),
                service="accounts",
                level="info",
                event=rng.choice(EVENTS),
                partner_id=f"ptn_other{user % PARTNERS:04d}",
                user_id=f"usr_other{user:05d}",
                email=f"other{rng.randrange(EMAILS):06d}@people.example",
                ip=f"203.0.{rng.randrange(ADDRESSES) // 250}.{rng.randrange(250) + 1}",
                user_agent="Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) dashboard/2.1",
            )
        )
    return records


class OtherLogs:
    """Fills the logs service's `technical_logs` with other subjects' records."""

    def __init__(self, platform: LocalPlatform, seed: int) -> None:
        self.client: AsyncMongoClient[Doc] = AsyncMongoClient(platform.mongo_url)
        self.db = self.client[f"{platform.namespace}_logs"]
        encryption = EncryptionSettings.model_validate(
            {
                "master_keys_file": None,
                "master_keys": platform.env["MASTER_KEYS"],
                "blind_index_key": platform.env["BLIND_INDEX_KEY"],
            }
        )
        self.vault = Vault.from_settings(self.db, encryption)
        self.writer = LogWriter(self.db, self.vault)
        self.rng = random.Random(seed)
        self.inserted = 0
        self.pool: list[Doc] = []

    async def close(self) -> None:
        """Close the store client."""
        await self.client.close()

    async def stored(self) -> int:
        """Records in the logs service's store (both collections). By the collections' sizes:
        `count_documents` reads a whole collection on nx-27017 (decision 0002), 4 s at
        100 thousand records."""
        return sum(
            [await self.db[name].estimated_document_count() for name in logs_store.INDEXES],
        )

    async def fill_to(self, total: int) -> int:
        """Insert other subjects' records until the store holds at least `total` log records;
        how many it holds then. The next batch is sealed while the store inserts the last
        one (sealing is this process's work, inserting the server's)."""
        missing = total - await self.stored()
        started, last_said = time.perf_counter(), self.inserted
        inserting: asyncio.Task[None] | None = None
        try:
            while missing > 0:
                documents = await self._sealed_batch(min(BATCH, missing))
                if inserting is not None:
                    await inserting
                inserting = asyncio.create_task(self._insert(documents))
                self.inserted += len(documents)
                missing -= len(documents)
                if self.inserted - last_said >= PROGRESS_EVERY or missing <= 0:
                    rate = (self.inserted - last_said) / max(time.perf_counter() - started, 1e-9)
                    say(f"  other subjects' log records: {self.inserted} sealed, {rate:.0f}/s")
                    started, last_said = time.perf_counter(), self.inserted
            if inserting is not None:
                await inserting
        finally:
            if inserting is not None and not inserting.done():
                inserting.cancel()
        return await self.stored()

    async def _insert(self, documents: list[Doc]) -> None:
        """One unordered insert, tried again when the connection drops: an embedded server
        busy with a big insert can miss the client's heartbeat, and the client then cancels
        what is in flight. Ids already stored are skipped (`insert_unordered`)."""
        for attempt in range(1, INSERT_ATTEMPTS + 1):
            try:
                stored = await insert_unordered(self.db[logs_store.TECHNICAL], documents)
            except (AutoReconnect, _OperationCancelled) as failure:
                if attempt == INSERT_ATTEMPTS:
                    raise
                say(f"  insert interrupted ({failure!r}); trying the batch again")
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            failed = next((outcome for outcome in stored if isinstance(outcome, Exception)), None)
            if failed is not None:
                raise failed
            return

    async def _sealed_batch(self, size: int) -> list[Doc]:
        """Sealed records while the pool fills, then copies of pooled ones."""
        if len(self.pool) >= SEALED_POOL:
            return self._copied_batch(size)
        batch = TechnicalRecordsShipped.model_construct(records=other_records(size, self.rng))
        documents = technical_documents(batch, new_id("msg"))
        await self.writer.seal(documents)
        self.pool += [dict(document) for document in documents]
        return documents

    def _copied_batch(self, size: int) -> list[Doc]:
        """Copies of pooled records, each with a new id and a fresh email's and IP address's
        blind index (as `other_records` draws them)."""
        message_id = new_id("msg")
        documents = []
        for position in range(size):
            email = f"other{self.rng.randrange(EMAILS):06d}@people.example"
            ip = f"203.0.{self.rng.randrange(ADDRESSES) // 250}.{self.rng.randrange(250) + 1}"
            documents.append(
                self.rng.choice(self.pool)
                | {
                    "_id": record_id(message_id, position),
                    "email_bidx": self.vault.index("email", email),
                    "ip_bidx": self.vault.index("ip", ip),
                }
            )
        return documents
