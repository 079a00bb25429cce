"""FerretDB and mongo-java-server side by side: the same operations' rates; updates lost with 4 processes.

Run from the repo root (`make bench-mongo`):

    uv run --frozen python bench/mongo_servers_bench.py
    uv run --frozen python bench/mongo_servers_bench.py --documents 2000 --updates 50   # a quick run

It starts the dev stack's FerretDB 1.24 (patched build, SQLite) and then mongo-java-server 1.47
(in-memory backend) in a fresh temporary folder, one at a time so they never compete for the CPU,
and on each:

- `insert_many`: `--documents` aggregate-shaped documents in batches of 1,000 (as `ferretdb_bench`);
- `sequential_calls_on_that_collection`: on that collection, one call after another for a few seconds
  each, `find_one_by_id`, `update_one_by_id`, `update_one_by_id_and_version` (the filtered write of
  optimistic concurrency) and `relay_outbox_query_idle` (the relay's full outbox scan);
- `server_rss_mb`: the server process's resident memory with those documents loaded (now and peak);
- `lost_updates`: `roadbranch_shared.devstack.contention` with `--processes` writer processes making
  `--updates` changes each on one document, through the outbox's `update_aggregate` and through a
  bare `update_one({_id, version})`: changes the writers were told were applied that the document
  does not show (`lost`), and whether the versions ran on without a gap or a repeat (`consecutive`).

`server_cpu_s` are the server's CPU seconds in that step. Prints ONE JSON document on stdout (progress on
stderr), writes it to `bench/results/mongo-servers-<timestamp>.json`, and stops every process it started.
No figure here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ferretdb_bench import insert_aggregates, single_document_calls, timed
from harness import run_folder, run_main, save_report
from procstat import CpuMeter
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack.contention import MODES, contend
from roadbranch_shared.devstack.ferretdb import FERRETDB_VERSION, FerretDBServer
from roadbranch_shared.devstack.mongojava import DEFAULT_HEAP, MONGO_JAVA_SERVER_VERSION, MongoJavaServer
from roadbranch_shared.devstack.stack import start_on_free_ports
from roadbranch_shared.documents import Document
from stats import progress, rate

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
Server = FerretDBServer | MongoJavaServer


def rss_mb(pid: int | None) -> dict[str, float] | None:
    if pid is None:
        return None
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return {
        "now": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
        "peak": round(int(fields["VmHWM"].split()[0]) / 1024, 1),
    }


async def operations(server: Server, name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The single-document operations of ferretdb_bench, on this server."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(server.uri, tz_aware=True, appname="bench")
    cpu = CpuMeter({"server": server.pid})
    try:
        collection = client["bench_servers"]["members"]
        await collection.drop()
        now = datetime.now(UTC)
        progress(f"{name}: insert_many of {args.documents} documents in batches of 1000")
        cpu.start()
        insert_s = await insert_aggregates(collection, args.documents, 1000, now)
        insert_cpu = cpu.stop()["server"]
        figures: dict[str, Any] = {}
        for label, call, order in single_document_calls(collection, args.documents, 1000, now):
            cpu.start()
            figures[label] = await timed(label, call, order, args.call_seconds, bench=name)
            figures[label]["server_cpu_s"] = cpu.stop()["server"]
        memory = rss_mb(server.pid)
        await collection.drop()
    finally:
        await client.close()
    return {
        "insert_many": {
            "seconds": round(insert_s, 3),
            "docs_per_s": rate(args.documents, insert_s),
            "server_cpu_s": insert_cpu,
        },
        "sequential_calls_on_that_collection": figures,
        "server_rss_mb": memory,
    }


async def lost_updates(server: Server, name: str, args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for mode in MODES:
        progress(f"{name}: {args.processes} processes x {args.updates} changes on one document ({mode})")
        outcome = await contend(server.uri, processes=args.processes, updates=args.updates, mode=mode)
        figures[mode] = outcome.figures()
        progress(f"{name}: {mode}: {outcome.lost} of {outcome.applied} lost, {outcome.conflicts} conflicts")
    return figures


async def measure(server: Server, name: str, args: argparse.Namespace) -> dict[str, Any]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(server.uri)
    try:
        build = await client.admin.command("buildInfo")
    finally:
        await client.close()
    return {
        "reports_version": build.get("version"),
        "ferretdb_version": build.get("ferretdbVersion"),
        **await operations(server, name, args),
        "lost_updates": await lost_updates(server, name, args),
    }


def side_by_side(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per operation, each server's rate and mongo-java-server's as a multiple of FerretDB's."""
    ferret, java = results["ferretdb"], results["mongo_java_server"]
    rows: dict[str, Any] = {
        "insert_many_docs_per_s": (ferret["insert_many"]["docs_per_s"], java["insert_many"]["docs_per_s"])
    }
    for op, figures in ferret["sequential_calls_on_that_collection"].items():
        rows[f"{op}_per_s"] = (figures["per_s"], java["sequential_calls_on_that_collection"][op]["per_s"])
    table: dict[str, Any] = {
        op: {"ferretdb": f, "mongo_java_server": j, "times": round(j / f, 1) if f and j else None}
        for op, (f, j) in rows.items()
    }
    for mode in MODES:
        table[f"lost_updates_{mode}"] = {
            name: f"{r['lost_updates'][mode]['lost']} of {r['lost_updates'][mode]['applied']}"
            for name, r in results.items()
        }
    return table


def run_on(server: Server, name: str, args: argparse.Namespace) -> dict[str, Any]:
    progress(f"starting {name}")
    start_on_free_ports(server)
    try:
        return asyncio.run(measure(server, name, args))
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/mongo_servers_bench.py", description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=10_000, help="documents inserted (10000)")
    parser.add_argument("--call-seconds", type=float, default=4.0, help="time budget of each call kind (4)")
    parser.add_argument("--processes", type=int, default=4, help="writer processes on one document (4)")
    parser.add_argument("--updates", type=int, default=250, help="changes each writer makes (250)")
    parser.add_argument("--keep", action="store_true", help="keep the run folder (servers' data and logs)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    with run_folder("roadbranch-mongo-bench-", keep=args.keep) as run_dir:
        results = {
            "ferretdb": run_on(FerretDBServer(run_dir / "ferretdb"), "ferretdb", args),
            "mongo_java_server": run_on(MongoJavaServer(run_dir / "mongojava"), "mongo_java_server", args),
        }
        report = {
            "machine": {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "cpus_usable": len(os.sched_getaffinity(0)),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "ferretdb": FERRETDB_VERSION,
                "mongo_java_server": MONGO_JAVA_SERVER_VERSION,
                "mongo_java_server_heap": DEFAULT_HEAP,
            },
            "parameters": vars(args),
            "side_by_side": side_by_side(results),
            **results,
            "total_wall_seconds": round(time.perf_counter() - started, 1),
        }
    save_report(report, "mongo-servers-")
    return 0


if __name__ == "__main__":
    run_main(main)
