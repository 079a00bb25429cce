"""Importing a driver list (摸底排查): validate every row, store the valid ones once, report the rest.

A driver is identified by the blind index of his ID number: a re-import or an overlapping list
adds the new list to the driver's provenance instead of creating a second driver. Rows are
written in batches, and the import's progress and report are kept on its own document.

An import is a durable job: its valid rows are stored sealed, a chunk per batch
(`driver_import_rows`), before the import is answered, so whichever replica finds it silent
resumes it from the first chunk not yet written; the sealed rows are deleted when it ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError
from roadbranch_shared.contracts.roster import DriverRegistered, DriverUpdated
from roadbranch_shared.documents import Document
from roadbranch_shared.events import source_of
from roadbranch_shared.outbox import (
    ConcurrencyConflict,
    insert_aggregate,
    insert_aggregates,
    retry_on_conflict,
    stage_events,
    update_aggregate,
)
from roadbranch_shared.owners import new_owner
from roadbranch_shared.pii import (
    IndexPurpose,
    PiiKeys,
    blind_index,
    decrypt,
    encrypt,
    mask_id_number,
    mask_name,
    mask_phone,
)

from roster.adapters.tables import Table
from roster.app.contact_points import contact_point_changed, stored_preferences
from roster.domain.drivers import (
    DriverRow,
    RowProblem,
    RowReason,
    check_row,
    header_map,
    missing_columns,
    name_key,
)

log = logging.getLogger(__name__)

SOURCE = source_of("roster")


@dataclass(frozen=True)
class ImportRequest:
    source: str
    legal_basis: str
    county: str
    filename: str
    started_by: str
    source_name: str = ""


@dataclass
class CheckedTable:
    rows: list[DriverRow]
    problems: list[RowProblem]
    total_rows: int
    blank_rows: int


def check_table(table: Table) -> CheckedTable | list[str]:
    """Every row checked; or the required columns the file lacks."""
    mapping = header_map(table.headings)
    if missing := missing_columns(mapping):
        return missing
    rows: list[DriverRow] = []
    problems: list[RowProblem] = []
    seen: set[str] = set()
    for number, cells in table.rows:
        values = {field: cells[i] if i < len(cells) else "" for i, field in mapping.items()}
        checked = check_row(number, values)
        if isinstance(checked, list):
            problems.extend(checked)
        elif checked.id_number in seen:
            problems.append(RowProblem(number, "id_number", RowReason.DUPLICATE_IN_FILE))
        else:
            seen.add(checked.id_number)
            rows.append(checked)
    return CheckedTable(rows, problems, len(table.rows), table.blank_rows)


class DriverImports:
    """Runs imports against the roster's database; one instance per service process.

    A running import's document carries the process that writes it (`owner`) and a `heartbeat_at`
    it refreshes every `heartbeat_seconds`; an import silent for three heartbeats lost its process,
    and any replica takes it over (a conditional write: one of them) and resumes it from its stored
    rows, never one whose process is alive elsewhere. A writer whose import was taken over (it was
    silent too long, not dead) stops at its next chunk: its progress write finds another owner.
    """

    def __init__(
        self,
        db: AsyncDatabase[Document],
        keys: PiiKeys,
        *,
        batch_size: int = 500,
        on_row: Any = None,
        heartbeat_seconds: float = 10.0,
        owner: str | None = None,
    ) -> None:
        self.db = db
        self.keys = keys
        self.batch_size = batch_size
        self.on_row = on_row  # metrics hook: on_row(result, source, count)
        self.heartbeat_seconds = heartbeat_seconds
        self.owner = owner or new_owner()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, request: ImportRequest, checked: CheckedTable) -> Document:
        """Store the valid rows sealed, record the import with its row problems, and write the rows
        in the background. Once this returns, the import finishes even if this process dies."""
        batch_id = f"imp_{uuid.uuid4().hex[:16]}"
        now = datetime.now(UTC)
        chunks = [checked.rows[i : i + self.batch_size] for i in range(0, len(checked.rows), self.batch_size)]
        if chunks:
            await self.db.driver_import_rows.insert_many(
                [self._sealed_chunk(batch_id, n, chunk, now) for n, chunk in enumerate(chunks)]
            )
        batch = {
            "_id": batch_id,
            "source": request.source,
            "source_name": request.source_name,
            "legal_basis": request.legal_basis,
            "county": request.county,
            "filename": request.filename,
            "started_by": request.started_by,
            "started_at": now,
            "status": "running",
            "owner": self.owner,
            "heartbeat_at": now,
            "chunks": len(chunks),
            "next_chunk": 0,
            "resumed": 0,
            "total_rows": checked.total_rows,
            "blank_rows": checked.blank_rows,
            "valid_rows": len(checked.rows),
            "invalid_rows": len({p.row for p in checked.problems}),
            "processed_rows": 0,
            "registered": 0,
            "updated": 0,
            "unchanged": 0,
            "problems": [p.as_dict() for p in checked.problems],
        }
        await self.db.driver_imports.insert_one(batch)
        if self.on_row is not None:
            self.on_row("invalid", request.source, batch["invalid_rows"])

        async def in_memory(n: int) -> list[DriverRow]:
            return chunks[n]

        self._run(batch, in_memory)
        return batch

    async def wait(self) -> None:
        """Until every running import is written (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def take_over_leftovers(self, now: datetime | None = None) -> dict[str, int]:
        """Take over the imports whose process stopped (running, and silent for three heartbeats)
        and resume each from its first chunk not written. One written before imports stored their
        rows (or whose rows are not all there) cannot be resumed: it is marked `interrupted`;
        importing the file again is safe (dedupe). Sealed rows left by a process that died before
        recording its import are deleted. How many were resumed and how many marked."""
        now = now or datetime.now(UTC)
        silent_since = now - timedelta(seconds=3 * self.heartbeat_seconds)
        silent = {
            "status": "running",
            "$or": [
                {"heartbeat_at": {"$lt": silent_since}},
                {"heartbeat_at": {"$exists": False}, "started_at": {"$lt": silent_since}},
            ],
        }
        resumed = 0
        while True:
            batch = await self.db.driver_imports.find_one_and_update(
                {**silent, "chunks": {"$exists": True}},
                {"$set": {"owner": self.owner, "heartbeat_at": now}, "$inc": {"resumed": 1}},
                return_document=ReturnDocument.AFTER,
            )
            if batch is None:
                break
            stored = await self.db.driver_import_rows.count_documents({"batch_id": batch["_id"]})
            if stored < batch["chunks"]:
                await self._end(batch["_id"], {"status": "interrupted", "finished_at": now})
                continue
            log.warning(
                "an import whose process stopped is resumed",
                extra={"batch_id": batch["_id"], "next_chunk": batch["next_chunk"]},
            )
            self._run(batch, self._stored_chunk(batch["_id"]))
            resumed += 1
        marked = await self.db.driver_imports.update_many(
            {**silent, "chunks": {"$exists": False}},
            {"$set": {"status": "interrupted", "finished_at": now}},
        )
        if marked.modified_count:
            log.warning(
                "imports whose process stopped marked interrupted", extra={"count": marked.modified_count}
            )
        running = await self.db.driver_imports.distinct("_id", {"status": "running"})
        await self.db.driver_import_rows.delete_many(
            {"batch_id": {"$nin": running}, "stored_at": {"$lt": silent_since}}
        )
        return {"resumed": resumed, "interrupted": marked.modified_count}

    def start_housekeeping(self, *first: Callable[[], Awaitable[object]]) -> None:
        """Run the start-up steps `first` (e.g. creating indexes), then take over leftovers, in the
        background, retrying while the database is unreachable, so the service starts (and reports
        itself unready) without its database. The steps must be safe to repeat."""

        async def housekeeping() -> None:
            delay = 0.5
            while True:
                try:
                    for step in first:
                        await step()
                    await self.db.driver_import_rows.create_index("batch_id")
                    await self.take_over_leftovers()
                    return
                except ConnectionFailure:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30)

        self._track(asyncio.create_task(housekeeping(), name="import-housekeeping"))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _sealed_chunk(self, batch_id: str, n: int, rows: Sequence[DriverRow], now: datetime) -> Document:
        plain = json.dumps([dataclasses.astuple(row) for row in rows], ensure_ascii=False)
        return {
            "_id": f"{batch_id}.{n:06d}",
            "batch_id": batch_id,
            "n": n,
            "rows": encrypt(self.keys, plain, aad=f"driver-import-rows:{batch_id}:{n}"),
            "stored_at": now,
        }

    def _stored_chunk(self, batch_id: str) -> Callable[[int], Awaitable[list[DriverRow]]]:
        async def load(n: int) -> list[DriverRow]:
            doc = await self.db.driver_import_rows.find_one({"_id": f"{batch_id}.{n:06d}"})
            if doc is None:
                raise LookupError(f"chunk {n} of import {batch_id} is not stored")
            plain = decrypt(self.keys, doc["rows"], aad=f"driver-import-rows:{batch_id}:{n}")
            return [DriverRow(*fields) for fields in json.loads(plain)]

        return load

    def _run(self, batch: Document, chunk: Callable[[int], Awaitable[list[DriverRow]]]) -> None:
        self._track(asyncio.create_task(self._write(batch, chunk), name=f"import-{batch['_id']}"))

    async def _heartbeat(self, batch_id: str) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                await self.db.driver_imports.update_one(
                    {"_id": batch_id, "status": "running", "owner": self.owner},
                    {"$set": {"heartbeat_at": datetime.now(UTC)}},
                )
            except ConnectionFailure:
                log.warning("an import's heartbeat could not be written", extra={"batch_id": batch_id})

    async def _write(self, batch: Document, chunk: Callable[[int], Awaitable[list[DriverRow]]]) -> None:
        batch_id = batch["_id"]
        heartbeat = asyncio.create_task(self._heartbeat(batch_id), name=f"import-heartbeat-{batch_id}")
        request = ImportRequest(**{f.name: batch.get(f.name, "") for f in dataclasses.fields(ImportRequest)})
        mine = {"_id": batch_id, "status": "running", "owner": self.owner}
        try:
            for n in range(batch["next_chunk"], batch["chunks"]):
                rows = await chunk(n)
                counts = await self._write_chunk(batch_id, request, rows)
                progress = await self.db.driver_imports.update_one(
                    mine,
                    {
                        "$inc": {"processed_rows": len(rows), **counts},
                        "$set": {"next_chunk": n + 1, "heartbeat_at": datetime.now(UTC)},
                    },
                )
                if not progress.matched_count:
                    log.warning("an import was taken over by another process", extra={"batch_id": batch_id})
                    return
            await self._end(batch_id, {"status": "completed", "finished_at": datetime.now(UTC)}, mine)
        except ConnectionFailure:
            # Left running: silent from now on, it is resumed by whichever process looks next.
            log.warning("an import stopped: the database is unreachable", extra={"batch_id": batch_id})
        except Exception as e:
            log.exception("driver import failed", extra={"batch_id": batch_id})
            ended = {"status": "failed", "error": type(e).__name__, "finished_at": datetime.now(UTC)}
            await self._end(batch_id, ended, mine)
        finally:
            heartbeat.cancel()

    async def _end(self, batch_id: str, outcome: Document, condition: Document | None = None) -> None:
        """Record how the import ended and delete its sealed rows, if it is still `condition`'s
        (a process that took it over meanwhile reads them)."""
        ended = await self.db.driver_imports.update_one(condition or {"_id": batch_id}, {"$set": outcome})
        if ended.matched_count:
            await self.db.driver_import_rows.delete_many({"batch_id": batch_id})

    async def _write_chunk(
        self, batch_id: str, request: ImportRequest, chunk: Sequence[DriverRow]
    ) -> dict[str, int]:
        indexes = [blind_index(self.keys, row.id_number, purpose=IndexPurpose.ID_NUMBER) for row in chunk]
        known = await self._known_drivers(indexes)
        fresh = [(row, bi) for row, bi in zip(chunk, indexes, strict=True) if bi not in known]
        claimed = await self._claim(fresh)
        for _, bi in fresh:
            if bi not in claimed:
                known[bi] = (await self.db.driver_keys.find_one({"_id": bi}) or {}).get("driver_id", "")
        now = datetime.now(UTC)
        mine = [(row, claimed[bi]) for row, bi in fresh if bi in claimed]
        counts = {"registered": 0, "updated": 0, "unchanged": 0}
        try:
            await insert_aggregates(
                self.db.drivers, [self._new_driver(r, d, batch_id, request, now) for r, d in mine]
            )
            counts["registered"] = len(mine)
        except BulkWriteError as e:
            # An overlapping import saw our keys and created some of these drivers first: our rows
            # join them (or are created) one by one, so no list's provenance is lost.
            inserted = int(e.details.get("nInserted", 0))
            counts["registered"] = inserted
            for row, driver_id in mine[inserted:]:
                counts[await self._join(driver_id, row, batch_id, request, now)] += 1
        for row, bi in zip(chunk, indexes, strict=True):
            if known.get(bi):
                counts[await self._join(known[bi], row, batch_id, request, now)] += 1
        if self.on_row is not None:
            for result, n in counts.items():
                self.on_row(result, request.source, n)
        return counts

    async def _known_drivers(self, indexes: list[str]) -> dict[str, str]:
        # One lookup by _id each: on FerretDB an `$in` would read the whole collection per batch.
        gate = asyncio.Semaphore(8)

        async def lookup(bi: str) -> tuple[str, Document | None]:
            async with gate:
                return bi, await self.db.driver_keys.find_one({"_id": bi})

        found = await asyncio.gather(*(lookup(bi) for bi in indexes))
        return {bi: doc["driver_id"] for bi, doc in found if doc is not None}

    async def _claim(self, fresh: list[tuple[DriverRow, str]]) -> dict[str, str]:
        """Reserve a driver id per new blind index; a concurrent import may win some of them."""
        if not fresh:
            return {}
        wanted = {bi: f"drv_{uuid.uuid4().hex[:16]}" for _, bi in fresh}
        lost: set[str] = set()
        try:
            await self.db.driver_keys.insert_many(
                [{"_id": bi, "driver_id": driver_id} for bi, driver_id in wanted.items()], ordered=False
            )
        except BulkWriteError as e:
            lost = {err["op"]["_id"] for err in e.details.get("writeErrors", []) if err.get("code") == 11000}
            if len(lost) != len(e.details.get("writeErrors", [])):
                raise
        return {bi: driver_id for bi, driver_id in wanted.items() if bi not in lost}

    def _new_driver(
        self, row: DriverRow, driver_id: str, batch_id: str, request: ImportRequest, now: datetime
    ) -> tuple[Document, list[Any]]:
        doc = {
            "_id": driver_id,
            "county": request.county,
            "status": "active",
            "identity": self._identity(driver_id, row),
            **_details(row),
            "sources": [_provenance(batch_id, request, row, now)],
            "registered_at": now,
            "updated_at": now,
        }
        events = stage_events(
            [
                DriverRegistered(
                    driver_id=driver_id,
                    county=request.county,
                    source=request.source,
                    batch_id=batch_id,
                    registered_at=now,
                ),
                contact_point_changed(self.keys, driver_id, phone=row.phone, at=now),
            ],
            source=SOURCE,
            subject=driver_id,
            from_version=0,
            correlation_id=batch_id,
        )
        return doc, events

    def _identity(self, driver_id: str, row: DriverRow) -> Document:
        return {
            "id_number_index": blind_index(self.keys, row.id_number, purpose=IndexPurpose.ID_NUMBER),
            "id_number": encrypt(self.keys, row.id_number, aad=driver_id),
            "id_number_masked": mask_id_number(row.id_number),
            "name_index": self._name_index(row.name),
            "name": encrypt(self.keys, row.name, aad=driver_id),
            "name_masked": mask_name(row.name),
            "phone_index": blind_index(self.keys, row.phone, purpose=IndexPurpose.PHONE),
            "phone": encrypt(self.keys, row.phone, aad=driver_id),
            "phone_masked": mask_phone(row.phone),
        }

    async def _join(
        self, driver_id: str, row: DriverRow, batch_id: str, request: ImportRequest, now: datetime
    ) -> str:
        """Add this list's row to the driver its blind index names. A key whose driver does not
        exist (its import crashed between the two writes, or is still writing) gets him created
        here, from this row: the next import repairs what a crash left."""

        async def add() -> str:
            doc = await self.db.drivers.find_one({"_id": driver_id})
            if doc is None:
                try:
                    await insert_aggregate(
                        self.db.drivers, *self._new_driver(row, driver_id, batch_id, request, now)
                    )
                except DuplicateKeyError:
                    raise ConcurrencyConflict(
                        "drivers", driver_id, 0
                    ) from None  # created meanwhile: join him
                return "registered"
            if doc.get("status") == "erased":
                return "unchanged"
            sources = doc.get("sources", [])
            if any(s["batch_id"] == batch_id for s in sources):
                # Written by this import before its process stopped (it is being resumed): counted
                # as it was then, since the progress counts of an unfinished chunk are not stored.
                return "registered" if sources[0]["batch_id"] == batch_id else "updated"
            changes = {k: v for k, v in _details(row).items() if v and doc.get(k) != v}
            phone_changed = doc["identity"].get("phone_index") != blind_index(
                self.keys, row.phone, purpose=IndexPurpose.PHONE
            )
            update: dict[str, Any] = {
                "$push": {"sources": _provenance(batch_id, request, row, now)},
                "$set": {**changes, "updated_at": now},
            }
            payloads: list[Any] = [
                DriverUpdated(
                    driver_id=driver_id,
                    batch_id=batch_id,
                    updated_at=now,
                    changed=sorted([*changes, "sources"] + (["phone"] if phone_changed else [])),
                )
            ]
            if phone_changed:
                identity = self._identity(driver_id, row)
                update["$set"].update(
                    {f"identity.{k}": identity[k] for k in ("phone", "phone_index", "phone_masked")}
                )
                choices = stored_preferences(self.keys, driver_id, doc.get("contact"))
                payloads.append(
                    contact_point_changed(self.keys, driver_id, phone=row.phone, at=now, **choices)
                )
            if "name_index" not in doc["identity"]:
                # Imported before names were indexed: index the name he is on record with (a later
                # list does not rename him), so a search by name finds him from now on.
                name = decrypt(self.keys, doc["identity"]["name"], aad=driver_id)
                update["$set"]["identity.name_index"] = self._name_index(name)
            events = stage_events(
                payloads,
                source=SOURCE,
                subject=driver_id,
                from_version=doc["version"],
                correlation_id=batch_id,
            )
            await update_aggregate(
                self.db.drivers, driver_id, expected_version=doc["version"], update=update, events=events
            )
            return "updated"

        return await retry_on_conflict(add)

    def _name_index(self, name: str) -> str:
        return blind_index(self.keys, name_key(name), purpose=IndexPurpose.NAME)


def _details(row: DriverRow) -> dict[str, str]:
    return {
        "household_registration": row.household_registration,
        "location": row.location,
        "plate": row.plate,
        "employer": row.employer,
    }


def _provenance(batch_id: str, request: ImportRequest, row: DriverRow, now: datetime) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "source": request.source,
        "source_name": request.source_name,
        "legal_basis": request.legal_basis,
        "row": row.row,
        "imported_at": now,
    }
