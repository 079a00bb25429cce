"""`make bench`: the event backbone's figures on a real local Kafka 4.4 and FerretDB 1.24.

Run from the repo root:

    uv run --frozen python bench/run.py            # the default run (about 2-3 minutes on 2 cores)
    uv run --frozen python bench/run.py --quick    # a small smoke run (under 40 seconds)
    uv run --frozen python bench/run.py --only backbone --events 5000 --aggregates 100

It starts its own Kafka and FerretDB in a fresh temporary run folder (removed afterwards unless
`--keep` or a failure), prints ONE JSON document on stdout (progress lines go to stderr), writes the
same document to `bench/results/<timestamp>.json`, and stops every process it started, also on
Ctrl-C, SIGTERM or an error. Rates are per second of wall time; `cpu_seconds` are the CPU seconds
each process (FerretDB, Kafka, the sink service, this bench) used in that step, which shows who the
bottleneck was (2 cores give at most 2 CPU seconds per wall second). What each figure means:

- `broker_ceiling`: Kafka's own Java perf tools, the ceiling no Python client will beat.
  `produce` is ProducerPerformance (acks=all, idempotent, unthrottled, 6 partitions): records/s,
  MB/s and each record's send-to-ack latency (high because unthrottled records queue in the client).
  `consume` is ConsumerPerformance reading them back with a fresh group.
- `aiokafka_raw`: the plain Python client, without FastStream or our code. `produce` sends every
  record and gathers the acks at the end; `produce_awaited_each` awaits each ack before the next
  send, as the outbox relay does within one aggregate; `consume` reads all back (auto-commit, timed
  from `start()`); `consume_commit_each` commits after every record, as FastStream's
  `AckPolicy.ACK` (our consumer setting) does: the ceiling of one subscriber.
- `ferretdb_bulk_insert`: `insert_many` of aggregate-shaped documents in batches; then, on that
  collection, calls made one after another for a few seconds each: `find_one_by_id`,
  `update_one_by_id`, `update_one_by_id_and_version` (a filter with a condition, as in optimistic
  concurrency) and `relay_outbox_query_idle` (the `outbox.0` query a full outbox scan makes).
  `sqlite_id_lookup` shows SQLite's plan for a lookup by `_id` as upstream FerretDB 1.24.2 writes
  it (`SCAN`: every row read) and as the devstack's patched build writes it (`SEARCH ... USING
  INDEX`); see `roadbranch_shared.devstack.ferretdb.ID_LOOKUP_PATCH`. Filters other than exactly
  `{_id}` still scan the collection, which is why the backbone uses `update_if`.
- `backbone`: the whole path with acks=all. Commands in this process write events through the
  outbox (`insert_aggregate`/`update_aggregate` + `stage_events`, one event per write, round robin
  over the aggregates, `writers` writes at a time), an `OutboxRelay` in this process publishes them,
  and `bench/apps/sink.py` (a `Service` with an `EventSubscription` and `apply_once`, in its own
  process) applies each and stores the latency from the envelope's `time` to its apply.
  `stages_alone`: the outbox writes with no relay (`outbox_write`), then a relay draining them to a
  topic nobody reads (`relay_drain`), each stage without the others competing for FerretDB.
  `saturated`: writers as fast as they can; `end_to_end` is events applied / seconds from the
  first write to the last apply, `outbox_write` the write rate while relay and sink compete,
  `relay_published_all_after_s` when the relay had published everything; its latency is mostly
  queueing. `paced`: writes at `paced_fraction` of the saturated end-to-end rate, so its
  `latency_ms` (p50/p95/p99/max) is the latency at a sustainable load. Each phase uses fresh
  aggregates and deletes them afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from backbone_bench import backbone, start_sink
from ferretdb_bench import ferretdb_bulk_insert
from harness import bench_stack, run_main, save_report
from kafka_bench import aiokafka_raw, broker_ceiling
from pymongo import MongoClient
from roadbranch_shared.devstack import Stack, StackInfo
from roadbranch_shared.devstack.ferretdb import FERRETDB_VERSION
from roadbranch_shared.devstack.kafka import KAFKA_VERSION, java_cmd, kafka_lib
from roadbranch_shared.devstack.services import ServiceProcess
from stats import progress

BENCHMARKS = ("broker_ceiling", "aiokafka_raw", "ferretdb_bulk_insert", "backbone")


@dataclass
class Parameters:
    record_size: int = 512
    ceiling_records: int = 200_000
    raw_records: int = 50_000
    raw_awaited: int = 2_000
    raw_commit_each: int = 2_000
    documents: int = 10_000
    insert_batch: int = 1_000
    calls: int = 1_000
    call_seconds: float = 4.0
    events: int = 1_500
    aggregates: int = 30
    writers: int = 16
    alone_per_aggregate: int = 10
    paced_seconds: float = 10.0
    paced_fraction: float = 0.5


QUICK = Parameters(
    ceiling_records=10_000,
    raw_records=5_000,
    raw_awaited=200,
    raw_commit_each=500,
    documents=1_000,
    calls=200,
    call_seconds=0.75,
    events=200,
    aggregates=20,
    alone_per_aggregate=5,
    paced_seconds=2.0,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run (about half a minute)")
    parser.add_argument("--events", type=int, help="backbone: events end to end (default 5000)")
    parser.add_argument("--aggregates", type=int, help="backbone: aggregates the events spread over (100)")
    parser.add_argument("--writers", type=int, help="backbone: concurrent command writes (16)")
    parser.add_argument("--records", type=int, help="aiokafka_raw: records produced and consumed (50000)")
    parser.add_argument("--ceiling-records", type=int, help="broker_ceiling: records (200000)")
    parser.add_argument("--documents", type=int, help="ferretdb_bulk_insert: documents (20000)")
    parser.add_argument(
        "--only", choices=BENCHMARKS, action="append", help="run only this benchmark (repeatable)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run folder (servers' data and logs)")
    return parser.parse_args(argv)


def parameters(args: argparse.Namespace) -> Parameters:
    params = QUICK if args.quick else Parameters()
    overrides = {
        "events": args.events,
        "aggregates": args.aggregates,
        "writers": args.writers,
        "raw_records": args.records,
        "ceiling_records": args.ceiling_records,
        "documents": args.documents,
    }
    for name, value in overrides.items():
        if value is not None:
            if value < 1:
                raise SystemExit(f"--{name.replace('_', '-')} must be at least 1, not {value}")
            setattr(params, name, value)
    if params.events < params.aggregates:
        raise SystemExit(f"--events ({params.events}) must be at least --aggregates ({params.aggregates})")
    return params


def machine(info: StackInfo) -> dict[str, Any]:
    java_exe = java_cmd(kafka_lib(), "-version")[0]
    java = subprocess.run([java_exe, "-version"], capture_output=True, text=True, check=False)
    jars = [p.name for p in kafka_lib().glob("kafka-clients-*.jar")]
    client: MongoClient[dict[str, Any]] = MongoClient(info.mongo_uri)
    try:
        build = client.admin.command("buildInfo")
    finally:
        client.close()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "java": (java.stderr or java.stdout).splitlines()[0] if (java.stderr or java.stdout) else None,
        "kafka": KAFKA_VERSION,
        "kafka_clients_jar": jars[0] if jars else None,
        "ferretdb": FERRETDB_VERSION,
        "ferretdb_wire_version": build.get("version"),
        "libraries": _library_versions(),
    }


def _library_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("aiokafka", "faststream", "pymongo", "pydantic")}


async def run_benchmarks(
    selected: tuple[str, ...], params: Parameters, stack: Stack, sink: ServiceProcess | None
) -> dict[str, Any]:
    info = stack.info()
    results: dict[str, Any] = {}
    for name in selected:
        started = time.perf_counter()
        progress(f"--- {name}")
        if name == "broker_ceiling":
            results[name] = await broker_ceiling(
                info.kafka_bootstrap, records=params.ceiling_records, record_size=params.record_size
            )
        elif name == "aiokafka_raw":
            results[name] = await aiokafka_raw(
                info.kafka_bootstrap,
                records=params.raw_records,
                record_size=params.record_size,
                awaited=params.raw_awaited,
                commit_each=params.raw_commit_each,
            )
        elif name == "ferretdb_bulk_insert":
            results[name] = await ferretdb_bulk_insert(
                info.mongo_uri,
                info.ferretdb_pid,
                stack.ferretdb.folder / "data",
                documents=params.documents,
                batch=params.insert_batch,
                calls=params.calls,
                budget_s=params.call_seconds,
            )
        elif name == "backbone":
            assert sink is not None
            results[name] = await backbone(
                info,
                sink,
                events=params.events,
                aggregates=params.aggregates,
                writers=params.writers,
                alone_per_aggregate=params.alone_per_aggregate,
                paced_seconds=params.paced_seconds,
                paced_fraction=params.paced_fraction,
            )
        results[name]["wall_seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    params = parameters(args)
    selected = tuple(b for b in BENCHMARKS if not args.only or b in args.only)
    started = time.perf_counter()
    progress(f"Kafka {KAFKA_VERSION} and FerretDB {FERRETDB_VERSION}")
    with bench_stack("roadbranch-bench-", keep=args.keep) as run:
        sink: ServiceProcess | None = None
        if "backbone" in selected:
            progress("starting the sink service (bench/apps/sink.py) in its own process")
            sink = run.started(start_sink(run.info, run.folder / "sink.log"))
        results = asyncio.run(run_benchmarks(selected, params, run.stack, sink))
        report = {
            "machine": machine(run.info),
            "parameters": {"quick": args.quick, "benchmarks": list(selected), **asdict(params)},
            **results,
            "total_wall_seconds": round(time.perf_counter() - started, 1),
        }
    save_report(report)
    return 0


if __name__ == "__main__":
    run_main(main)
