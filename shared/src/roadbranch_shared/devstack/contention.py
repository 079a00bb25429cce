"""Lost updates with writers in several processes: whether a MongoDB-wire server is atomic.

`contend(uri, processes=4, updates=250)` starts `processes` Python processes (this module, with
`--worker`), each with its own client, and lets them go at once on ONE document. Each makes
`updates` changes, one after another, by reading the document and writing at the version it read:

- `update_aggregate` (the default): the outbox's own write (`roadbranch_shared.outbox`), setting
  `total` to what it read plus one and appending one event numbered at the next version; on a
  `ConcurrencyConflict` it reads again and retries until its change is applied;
- `update_one`: the bare conditional write `update_one({_id, version}, {$set: total, version})`.

On an atomic server (MongoDB, mongo-java-server) each applied change is one step: `lost` is 0, the
version and the total equal the changes applied, and the events' `seq` run 1, 2, … without a gap or a
repeat. FerretDB 1.24 runs a filtered update as query-then-update, so two writers in two processes
can both "apply" from the same read: the total falls behind (`lost`) and versions repeat. Within one
process `update_if` serialises its writers with a lock, which is why FerretDB needs one process per
service (docs/adr/0002-ferretdb-as-the-dev-server-one-process-per-service.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from pymongo import AsyncMongoClient

from roadbranch_shared.documents import Document
from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.outbox import ConcurrencyConflict, stage_events, update_aggregate
from roadbranch_shared.topics import Topic

MODES = ("update_aggregate", "update_one")
CONTENTION = Topic("devstack.contention.v1", 1, key="document id")
SOURCE = "/roadbranch/devstack/contention"
DOCUMENT = "contended"
WRITER_DEADLINE_S = 600.0  # for each line a writer owes: "ready", then its report


@event_type("devstack.contention.counted.v1", topic=CONTENTION)
class Counted(EventPayload):
    total: int


@dataclass(frozen=True)
class Outcome:
    """What the writers saw and what the document holds afterwards."""

    mode: str
    processes: int
    updates_per_process: int
    applied: int  # changes the writers were told were applied
    conflicts: int  # writes refused because the version had moved on (then retried)
    version: int
    total: int
    events: int  # outbox entries on the document (update_aggregate only)
    repeated_seqs: int  # seq numbers that appear more than once in the outbox
    seconds: float  # from "go" to the last writer's end

    @property
    def lost(self) -> int:
        """Applied changes the document does not show."""
        return self.applied - self.total

    @property
    def consecutive(self) -> bool:
        """Every applied change is one version step, and (update_aggregate) one event per version."""
        steps = self.version == self.total == self.applied
        if self.mode == "update_one":
            return steps
        return steps and self.events == self.version and self.repeated_seqs == 0

    def figures(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "lost": self.lost,
            "lost_percent": round(100 * self.lost / self.applied, 1) if self.applied else 0.0,
            "consecutive": self.consecutive,
            "changes_per_s": round(self.applied / self.seconds, 1) if self.seconds > 0 else None,
        }


async def contend(
    uri: str,
    *,
    processes: int = 4,
    updates: int = 250,
    mode: str = "update_aggregate",
    database: str | None = None,
) -> Outcome:
    """Run the writers against one fresh document on `uri` and report what happened (see the module)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    db_name = database or f"contention_{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri, tz_aware=True)
    try:
        collection = client[db_name]["documents"]
        await collection.insert_one({"_id": DOCUMENT, "total": 0, "version": 0, "outbox": []})
        workers = [await _start_worker(uri, db_name, updates, mode) for _ in range(processes)]
        try:
            for worker in workers:  # every writer is connected and has read once: let them go together
                await _expect_line(worker, "ready")
            started = time.perf_counter()
            for worker in workers:
                assert worker.stdin is not None
                worker.stdin.write(b"go\n")
                await worker.stdin.drain()
            reports = [json.loads(await _expect_line(worker, "{")) for worker in workers]
            seconds = time.perf_counter() - started
            for worker in workers:
                await worker.wait()
        finally:
            for worker in workers:
                if worker.returncode is None:
                    worker.kill()
                    await worker.wait()
        document = await collection.find_one({"_id": DOCUMENT})
        assert document is not None
        seqs = Counter(json.loads(e["body"])["seq"] for e in document.get("outbox", []))
        return Outcome(
            mode=mode,
            processes=processes,
            updates_per_process=updates,
            applied=sum(r["applied"] for r in reports),
            conflicts=sum(r["conflicts"] for r in reports),
            version=document["version"],
            total=document["total"],
            events=sum(seqs.values()),
            repeated_seqs=sum(1 for n in seqs.values() if n > 1),
            seconds=round(seconds, 3),
        )
    finally:
        if database is None:
            await client.drop_database(db_name)
        await client.close()


async def _start_worker(uri: str, database: str, updates: int, mode: str) -> asyncio.subprocess.Process:
    args = ["--worker", uri, database, str(updates), mode]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def _expect_line(worker: asyncio.subprocess.Process, starts: str) -> str:
    assert worker.stdout is not None
    async with asyncio.timeout(WRITER_DEADLINE_S):
        line = (await worker.stdout.readline()).decode()
    if not line.startswith(starts):
        await worker.wait()
        raise RuntimeError(f"a writer exited ({worker.returncode}) instead of answering {starts!r}")
    return line


async def _work(uri: str, database: str, updates: int, mode: str) -> dict[str, int]:
    """One writer: connect, read once, say ready, wait for go, then make `updates` changes."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(uri, tz_aware=True)
    collection = client[database]["documents"]
    try:
        await collection.find_one({"_id": DOCUMENT}, {"outbox": 0})
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        applied = conflicts = 0
        while applied < updates:
            read = await collection.find_one({"_id": DOCUMENT}, {"outbox": 0})
            assert read is not None
            version, total = read["version"], read["total"] + 1
            if mode == "update_one":
                done = await collection.update_one(
                    {"_id": DOCUMENT, "version": version}, {"$set": {"total": total, "version": version + 1}}
                )
                ok = done.matched_count == 1
            else:
                events = stage_events(
                    [Counted(total=total)], source=SOURCE, subject=DOCUMENT, from_version=version
                )
                try:
                    await update_aggregate(
                        collection,
                        DOCUMENT,
                        expected_version=version,
                        update={"$set": {"total": total}},
                        events=events,
                    )
                    ok = True
                except ConcurrencyConflict:
                    ok = False
            applied, conflicts = applied + ok, conflicts + (not ok)
        return {"applied": applied, "conflicts": conflicts}
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m roadbranch_shared.devstack.contention")
    parser.add_argument("uri", help="a MongoDB-wire server, e.g. mongodb://127.0.0.1:27017/")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--updates", type=int, default=250, help="changes each process makes")
    parser.add_argument("--mode", choices=MODES, default="update_aggregate")
    args = parser.parse_args(argv)
    outcome = asyncio.run(contend(args.uri, processes=args.processes, updates=args.updates, mode=args.mode))
    print(json.dumps(outcome.figures(), indent=2))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        uri, database, updates, mode = sys.argv[2:6]
        print(json.dumps(asyncio.run(_work(uri, database, int(updates), mode))), flush=True)
        sys.exit(0)
    sys.exit(main())
