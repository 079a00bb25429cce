"""Roster figures: a driver-list import and a member cross-check through a real roster process.

Run from the repo root:

    uv run python bench/roster_bench.py                                 # 100000 drivers, 100000 members
    uv run python bench/roster_bench.py --drivers 10000 --members 10000

It starts its own Kafka and FerretDB in a temporary folder, creates the project topics, starts the
roster service (`roster.main:create_app`) in its own process, and then:

- `driver_import`: uploads N synthetic drivers as one CSV to `POST /v1/driver-imports`.
  `http_accept` is the request (read, parse, validate, record the import): rows/s over its wall time.
  `background_write` is the rows the service registered / seconds from the answer until the import
  showed `completed` (polled every 0.5 s), with the rate over each tenth of the rows.
- `member_check`: uploads M member records to `POST /v1/member-checks` (answered synchronously);
  `match_fraction` of them are ID numbers of imported drivers, the rest new ones.
- `ferretdb_raw_insert`: `insert_many` of N driver-shaped documents (a dozen strings) in batches of
  1000 straight into FerretDB, the ceiling the import's writes compare with.

`cpu_seconds` are the CPU seconds the roster process, FerretDB and Kafka used in each step. Prints ONE
JSON document on stdout (progress on stderr) and stops every process it started, also on errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from harness import bench_stack, print_report, run_main
from procstat import CpuMeter
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.pii import generate_key, make_synthetic_id_number
from stats import progress, rate

AREA = "990000"  # not a real area code: the numbers can never be a real person's
DRIVER_BIRTHS = date(1960, 1, 1)
MEMBER_BIRTHS = date(1995, 1, 1)  # new member numbers: born after every driver, so never a driver
MATCH_FRACTION = 9 / 64
ROSTER_DB = "roster_bench"
TOKENS = {"staff": secrets.token_urlsafe(24), "org": secrets.token_urlsafe(24)}
SOURCES = ("freight_company", "freight_platform", "individual")


def id_number(births: date, i: int) -> str:
    """The i-th synthetic ID number: 1000 serials per birth date, one more day per thousand."""
    return make_synthetic_id_number(AREA, births + timedelta(days=i // 1000), i % 1000)


def driver_csv(n: int) -> bytes:
    lines = ["姓名,身份证号,手机号,户籍,工作或居住地,车牌号,所在企业或平台"]
    lines += [
        f"司机{i:06d},{id_number(DRIVER_BIRTHS, i)},139{i:08d},四川省美姑县,美姑县城,"
        f"川W{i % 100000:05d},合成货运公司{i % 50:02d}"
        for i in range(n)
    ]
    return "\n".join(lines).encode("utf-8-sig")


def member_csv(m: int, drivers: int) -> tuple[bytes, int]:
    """M records; 9 of every 64 (MATCH_FRACTION, as in the pilot) are an imported driver's number."""
    lines = ["姓名,身份证号,所在支部,入党时间,党员状态"]
    matched = 0
    for j in range(m):
        k = j // 64 * 9 + j % 64  # 9 of every 64 records: drivers 0, 1, 2, ... in turn
        if j % 64 < 9 and k < drivers:
            idn = id_number(DRIVER_BIRTHS, k)
            matched += 1
        else:
            idn = id_number(MEMBER_BIRTHS, j)
        lines.append(f"党员{j:06d},{idn},合成支部{j % 30:02d},2008-07-01,正式党员")
    return "\n".join(lines).encode("utf-8-sig"), matched


def token_table() -> str:
    return json.dumps(
        {
            TOKENS["staff"]: {"subject": "bench-staff", "role": "work_group_staff"},
            TOKENS["org"]: {"subject": "bench-org", "role": "org_department"},
        }
    )


def headers(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def start_roster(info: StackInfo, log: Path) -> ServiceProcess:
    env = {
        **info.service_env("roster"),
        "ROADBRANCH_PII_BLIND_INDEX_KEY": generate_key(),
        "ROADBRANCH_PII_ENCRYPTION_KEY": generate_key(),
        "ROADBRANCH_ROSTER_TOKENS": token_table(),
        "ROADBRANCH_ROSTER_MONGO_DB": ROSTER_DB,
        "ROADBRANCH_ROSTER_IMPORT_BATCH_SIZE": "1000",
    }
    return ServiceProcess("roster.main:create_app", env=env, log=log).start()


def driver_import(client: httpx.Client, cpu: CpuMeter, n: int) -> dict[str, Any]:
    content = driver_csv(n)
    progress(f"driver_import: uploading {n} drivers ({len(content) / 1e6:.1f} MB CSV)")
    cpu.start()
    start = time.perf_counter()
    answer = client.post(
        "/v1/driver-imports",
        headers=headers("staff"),
        files={"file": ("drivers.csv", content, "text/csv")},
        data={"source": SOURCES[0], "legal_basis": "履行法定职责（基准测试）", "source_name": "合成数据"},
    )
    accept_s = time.perf_counter() - start
    accept_cpu = cpu.stop()
    if answer.status_code != 202:
        raise RuntimeError(f"import answered {answer.status_code}: {answer.text[:500]}")
    batch = answer.json()
    progress(f"driver_import: accepted in {accept_s:.1f}s ({batch['valid_rows']} valid rows); writing")
    cpu.start()
    write_start = time.perf_counter()
    samples: list[tuple[float, int]] = [(0.0, 0)]
    last_report = write_start
    while batch["status"] == "running":
        time.sleep(0.5)
        batch = client.get(f"/v1/driver-imports/{batch['batch_id']}", headers=headers("staff")).json()
        now = time.perf_counter()
        samples.append((now - write_start, batch["processed_rows"]))
        if now - last_report > 10:
            last_report = now
            progress(f"driver_import: {batch['processed_rows']}/{batch['valid_rows']} rows written")
    write_s = time.perf_counter() - write_start
    write_cpu = cpu.stop()
    if batch["status"] != "completed":
        raise RuntimeError(f"import ended {batch['status']}: {batch.get('error')}")
    progress(f"driver_import: {batch['registered']} registered in {write_s:.1f}s")
    return {
        "rows": n,
        "csv_bytes": len(content),
        "http_accept": {
            "seconds": round(accept_s, 3),
            "rows_per_s": rate(n, accept_s),
            "cpu_seconds": accept_cpu,
        },
        "background_write": {
            "seconds": round(write_s, 3),
            "registered": batch["registered"],
            "rows_per_s": rate(batch["registered"], write_s),
            "server_seconds": round(
                (
                    datetime.fromisoformat(batch["finished_at"]) - datetime.fromisoformat(batch["started_at"])
                ).total_seconds(),
                3,
            ),
            "rows_per_s_by_tenth": by_tenth(samples, batch["valid_rows"]),
            "cpu_seconds": write_cpu,
        },
        "report": {k: batch[k] for k in ("total_rows", "valid_rows", "invalid_rows", "updated", "unchanged")},
        "problems": batch["problems"][:5],
    }


def by_tenth(samples: list[tuple[float, int]], total: int) -> list[float | None]:
    """The write rate over each tenth of the rows (from the polled progress): does it slow down?"""
    rates: list[float | None] = []
    for k in range(1, 11):
        lo, hi = total * (k - 1) / 10, total * k / 10
        t0 = next((t for t, done in samples if done >= lo), None)
        t1 = next((t for t, done in samples if done >= hi), None)
        rates.append(rate(int(hi - lo), t1 - t0) if t0 is not None and t1 is not None else None)
    return rates


def member_check(client: httpx.Client, cpu: CpuMeter, m: int, drivers: int) -> dict[str, Any]:
    content, matched = member_csv(m, drivers)
    progress(f"member_check: {m} member records, {matched} of them imported drivers")
    cpu.start()
    start = time.perf_counter()
    answer = client.post(
        "/v1/member-checks", headers=headers("org"), files={"file": ("members.csv", content, "text/csv")}
    )
    seconds = time.perf_counter() - start
    used = cpu.stop()
    if answer.status_code != 200:
        raise RuntimeError(f"member check answered {answer.status_code}: {answer.text[:500]}")
    summary = answer.json()
    progress(f"member_check: answered in {seconds:.1f}s: {summary['candidates_found']} candidates")
    return {
        "records": m,
        "match_fraction": round(MATCH_FRACTION, 4),
        "expected_matches": matched,
        "seconds": round(seconds, 3),
        "records_per_s": rate(m, seconds),
        "cpu_seconds": used,
        **{
            k: summary[k]
            for k in (
                "invalid_records",
                "drivers_checked",
                "candidates_found",
                "new_cases",
                "unmatched_records",
            )
        },
    }


def driver_document(i: int) -> dict[str, str]:
    return {
        "_id": f"drv_{i:016x}",
        "county": "meigu",
        "status": "active",
        "id_number_index": secrets.token_hex(16),
        "id_number": secrets.token_hex(40),
        "id_number_masked": "990000********1234",
        "name": secrets.token_hex(24),
        "name_masked": "司*",
        "phone_index": secrets.token_hex(16),
        "phone": secrets.token_hex(24),
        "phone_masked": "139****0001",
        "household_registration": "四川省美姑县",
        "location": "美姑县城",
        "plate": f"川W{i % 100000:05d}",
        "employer": f"合成货运公司{i % 50:02d}",
    }


async def ferretdb_raw_insert(mongo_uri: str, cpu: CpuMeter, n: int, batch: int = 1000) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, appname="roster-bench")
    try:
        collection = client["bench_roster_raw"]["drivers"]
        await collection.drop()
        progress(f"ferretdb_raw_insert: insert_many of {n} driver-shaped documents, batches of {batch}")
        cpu.start()
        start = time.perf_counter()
        for first in range(0, n, batch):
            await collection.insert_many(
                [driver_document(i) for i in range(first, min(first + batch, n))], ordered=False
            )
        seconds = time.perf_counter() - start
        used = cpu.stop()
        count = await collection.count_documents({})
        await collection.drop()
        outbox = client[ROSTER_DB]["outbox_pending"]
        pending = await outbox.count_documents({})
    finally:
        await client.close()
    if count != n:
        raise RuntimeError(f"inserted {n} documents, found {count}")
    progress(f"ferretdb_raw_insert: {n} documents in {seconds:.1f}s")
    return {
        "documents": n,
        "batch": batch,
        "seconds": round(seconds, 3),
        "docs_per_s": rate(n, seconds),
        "cpu_seconds": used,
        "roster_outbox_pending_after": pending,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/roster_bench.py", description=__doc__.split("\n")[0])
    parser.add_argument("--drivers", type=int, default=100_000, help="drivers imported (100000)")
    parser.add_argument("--members", type=int, default=100_000, help="member records checked (100000)")
    parser.add_argument("--keep", action="store_true", help="keep the run folder (servers' data and logs)")
    args = parser.parse_args(argv)
    if args.drivers < 1 or args.members < 1:
        raise SystemExit("--drivers and --members must be at least 1")
    if max(args.drivers, args.members) > 200_000:
        raise SystemExit("at most 200000 rows per file (the roster's own limit)")

    started = time.perf_counter()
    with bench_stack("roadbranch-roster-bench-", keep=args.keep) as run:
        info = run.info
        progress("starting the roster service")
        roster = run.started(start_roster(info, run.folder / "roster.log"))
        assert roster.proc is not None
        cpu = CpuMeter({"roster": roster.proc.pid, "ferretdb": info.ferretdb_pid, "kafka": info.kafka_pid})
        with httpx.Client(base_url=roster.url, timeout=httpx.Timeout(1800, connect=10)) as client:
            imported = driver_import(client, cpu, args.drivers)
            checked = member_check(client, cpu, args.members, args.drivers)
        raw = asyncio.run(ferretdb_raw_insert(info.mongo_uri, cpu, args.drivers))
        report = {
            "drivers": args.drivers,
            "members": args.members,
            "import_batch_size": 1000,
            "driver_import": imported,
            "member_check": checked,
            "ferretdb_raw_insert": raw,
            "total_wall_seconds": round(time.perf_counter() - started, 1),
        }
    print_report(report)
    return 0


if __name__ == "__main__":
    run_main(main)
