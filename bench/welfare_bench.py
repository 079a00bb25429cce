"""Welfare figures under contention: concurrent check-ins at one station, concurrent visits on one campaign.

Run from the repo root:

    uv run python bench/welfare_bench.py                       # 200 check-ins for 50 beds, 200 visits
    uv run python bench/welfare_bench.py --requests 400 --beds 100

It starts its own Kafka and FerretDB in a temporary folder and the welfare service in its own process,
then fires `--requests` check-ins at once at one station with `--beds` beds, and `--requests` visits at
once at one campaign whose stock covers a quarter of them. Every write to the one station (or campaign)
document retries on its version, so these are the worst case: one hot document. Reports per step the
wall time, answers by status, latency percentiles (ms) and the final occupancy / stock, which must
equal the beds / never go below zero. Prints ONE JSON document on stdout (progress on stderr) and stops
every process it started, also on errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from harness import bench_stack, print_report, run_main
from roadbranch_shared.contracts.roster import DriverRegistered
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.events import encode_envelope, kafka_headers, new_event
from stats import latency_summary, progress, rate

TOKEN = secrets.token_urlsafe(24)


def start_welfare(info: StackInfo, log: Path) -> ServiceProcess:
    env = {
        **info.service_env("welfare"),
        "ROADBRANCH_WELFARE_MONGO_DB": "welfare_bench",
        "ROADBRANCH_WELFARE_TOKENS": json.dumps({TOKEN: {"subject": "bench", "role": "welfare_officer"}}),
    }
    process = ServiceProcess("welfare.main:create_app", env=env, log=log)
    process.start()
    return process


async def burst(client: httpx.AsyncClient, path: str, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    latencies: list[float] = []

    async def one(body: dict[str, Any]) -> int:
        t0 = time.perf_counter()
        answer = await client.post(path, json=body)
        latencies.append((time.perf_counter() - t0) * 1000)
        return answer.status_code

    started = time.perf_counter()
    codes = await asyncio.gather(*(one(b) for b in bodies))
    wall = time.perf_counter() - started
    return {
        "requests": len(bodies),
        "wall_seconds": round(wall, 2),
        "requests_per_second": rate(len(bodies), wall),
        "answers": dict(sorted(Counter(str(c) for c in codes).items())),
        "latency_ms": latency_summary(latencies),
    }


async def register_drivers(bootstrap: str, url: str, driver_ids: list[str]) -> None:
    """Welfare serves only drivers the roster registered: publish their `driver.registered` as the
    roster does, and wait until welfare knows the last of them."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        now = datetime.now(UTC)
        for driver_id in driver_ids:
            payload = DriverRegistered(
                driver_id=driver_id, county="bench", source="individual", registered_at=now
            )
            envelope = new_event(payload, source="/bench", subject=driver_id, seq=1)
            await producer.send(
                payload.topic.name,
                encode_envelope(envelope),
                key=driver_id.encode(),
                headers=[(k, v.encode()) for k, v in kafka_headers(envelope).items()],
            )
        await producer.flush()
    finally:
        await producer.stop()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=url, headers=headers) as client:
        deadline = time.monotonic() + 300
        while (await client.get(f"/v1/drivers/{driver_ids[-1]}")).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("welfare did not learn the bench's drivers in 5 minutes")
            await asyncio.sleep(0.2)


async def measure(bootstrap: str, url: str, requests: int, beds: int) -> dict[str, Any]:
    await register_drivers(
        bootstrap, url, [f"drv_b{i}" for i in range(requests)] + [f"drv_v{i}" for i in range(requests)]
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600) as client:
        station = (
            await client.post(
                "/v1/stations",
                json={
                    "name": "压测驿站",
                    "latitude": 28.3,
                    "longitude": 103.1,
                    "hours": {"open_all_day": True},
                    "amenities": {"beds": beds},
                },
            )
        ).json()["station_id"]
        progress(f"{requests} concurrent check-ins for {beds} beds")
        check_ins = await burst(
            client, f"/v1/stations/{station}/check-ins", [{"driver_id": f"drv_b{i}"} for i in range(requests)]
        )
        check_ins["occupied_after"] = (await client.get(f"/v1/stations/{station}")).json()["occupied"]
        campaign = (
            await client.post(
                "/v1/campaigns",
                json={
                    "kind": "warmth",
                    "title": "压测",
                    "organiser_id": "o",
                    "starts_on": "2026-07-01",
                    "ends_on": "2026-07-02",
                },
            )
        ).json()["campaign_id"]
        stock = requests // 4 * 2
        await client.post(f"/v1/campaigns/{campaign}/stock", json={"item": "gloves", "quantity": stock})
        progress(f"{requests} concurrent visits issuing 2 gloves each from {stock}")
        bodies = [
            {"driver_id": f"drv_v{i}", "visitor_ids": ["b"], "items": {"gloves": 2}} for i in range(requests)
        ]
        visits = await burst(client, f"/v1/campaigns/{campaign}/visits", bodies)
        visits["gloves_on_hand_after"] = (await client.get(f"/v1/campaigns/{campaign}")).json()["stock"][
            "gloves"
        ]["on_hand"]
    return {"check_ins": check_ins, "visits": visits}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/welfare_bench.py", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="concurrent requests per step (200)")
    parser.add_argument("--beds", type=int, default=50, help="beds of the station (50)")
    args = parser.parse_args(argv)
    with bench_stack("roadbranch-welfare-bench-") as run:
        welfare = run.started(start_welfare(run.info, run.folder / "welfare.log"))
        report = {
            "requests": args.requests,
            "beds": args.beds,
            **asyncio.run(measure(run.info.kafka_bootstrap, welfare.url, args.requests, args.beds)),
        }
    print_report(report)
    return 0


if __name__ == "__main__":
    run_main(main)
