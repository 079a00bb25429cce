"""Activities figures: the roster view fed from Kafka, and a meeting as large as a county's branch.

Run from the repo root:

    uv run python bench/activities_bench.py                  # 2000 member drivers
    uv run python bench/activities_bench.py --members 500

It starts its own Kafka and FerretDB in a temporary folder, creates the project topics, starts the
activities service (`activities.main:create_app`) in its own process, and then:

- `projection`: publishes a committee, a branch and, for N members, `member.verified` and
  `member.assigned` (2N events) onto the roster topics with the real broker, and times until the
  service's view lists all N members of the branch (polled every 0.5 s): events/s.
- `meeting`: schedules a party lesson for the branch (N invitees resolved from the view), records
  everyone's attendance in requests of 500, and holds it; the wall time of each step.

Prints ONE JSON document on stdout (progress on stderr) and stops every process it started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from harness import bench_stack, print_report, run_main
from roadbranch_shared.contracts.roster import MemberAssignedToBranch, MemberVerified, OrganisationCreated
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.events import EventPayload, encode_envelope, kafka_headers, new_event
from stats import progress, rate

TOKEN = secrets.token_urlsafe(24)
COMMITTEE, BRANCH = "org_bench_committee", "org_bench_branch"


async def publish_roster(bootstrap: str, members: int) -> None:
    now = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()

    async def send(payload: EventPayload, subject: str, seq: int) -> None:
        event = new_event(payload, source="/bench/roster", subject=subject, seq=seq)
        headers = [(k, v.encode()) for k, v in kafka_headers(event).items()]
        await producer.send(payload.topic.name, encode_envelope(event), key=subject.encode(), headers=headers)

    try:
        await send(
            OrganisationCreated(
                organisation_id=COMMITTEE, kind="industry_committee", name="行业党委", created_at=now
            ),
            COMMITTEE,
            1,
        )
        await send(
            OrganisationCreated(
                organisation_id=BRANCH,
                kind="branch",
                name="流动党员党支部",
                parent_id=COMMITTEE,
                created_at=now,
            ),
            BRANCH,
            1,
        )
        for i in range(members):
            member_id, driver_id = f"mem_bench{i:06d}", f"drv_bench{i:06d}"
            await send(
                MemberVerified(member_id=member_id, driver_id=driver_id, method="bench", verified_at=now),
                member_id,
                2,
            )
            await send(
                MemberAssignedToBranch(
                    member_id=member_id, driver_id=driver_id, branch_id=BRANCH, assigned_at=now
                ),
                member_id,
                3,
            )
        await producer.flush()
    finally:
        await producer.stop()


def start_activities(info: StackInfo, log: Path) -> ServiceProcess:
    env = {
        **info.service_env("activities"),
        "ROADBRANCH_ACTIVITIES_TOKENS": json.dumps(
            {TOKEN: {"subject": "bench-staff", "role": "work_group_staff"}}
        ),
        "ROADBRANCH_ACTIVITIES_MONGO_DB": "activities_bench",
        "ROADBRANCH_ACTIVITIES_FIGURES_INTERVAL_SECONDS": "3600",
    }
    return ServiceProcess("activities.main:create_app", env=env, log=log).start()


def projection(client: httpx.Client, info: StackInfo, members: int) -> dict[str, Any]:
    progress(f"projection: publishing {2 * members + 2} roster events")
    start = time.perf_counter()
    asyncio.run(publish_roster(info.kafka_bootstrap, members))
    published_s = time.perf_counter() - start
    seen = 0
    while seen < members:
        time.sleep(0.5)
        answer = client.get(f"/v1/organisations/{BRANCH}")
        seen = len(answer.json().get("member_driver_ids", [])) if answer.status_code == 200 else 0
    applied_s = time.perf_counter() - start
    progress(f"projection: {members} members in the view after {applied_s:.1f}s")
    return {
        "events": 2 * members + 2,
        "publish_seconds": round(published_s, 2),
        "until_view_seconds": round(applied_s, 2),
        "events_per_second": rate(2 * members + 2, applied_s),
    }


def meeting(client: httpx.Client, members: int) -> dict[str, Any]:
    body = {
        "organisation_id": BRANCH,
        "kind": "party_lesson",
        "topic": "基准测试党课",
        "starts_at": datetime(2026, 11, 10, 9, tzinfo=UTC).isoformat(),
        "venue_kind": "activity_room",
        "mode": "hybrid",
    }
    start = time.perf_counter()
    scheduled = client.post("/v1/meetings", json=body)
    schedule_s = time.perf_counter() - start
    scheduled.raise_for_status()
    meeting_id, invitees = scheduled.json()["meeting_id"], scheduled.json()["invitees"]
    progress(f"meeting: scheduled with {len(invitees)} invitees in {schedule_s:.2f}s; recording attendance")
    start = time.perf_counter()
    for k in range(0, len(invitees), 500):
        records = [
            {"person_id": p, "status": ("on_site", "online")[j % 2]}
            for j, p in enumerate(invitees[k : k + 500])
        ]
        client.put(f"/v1/meetings/{meeting_id}/attendance", json={"records": records}).raise_for_status()
    record_s = time.perf_counter() - start
    start = time.perf_counter()
    held = client.post(f"/v1/meetings/{meeting_id}/hold", json={"summary": "基准测试"})
    hold_s = time.perf_counter() - start
    held.raise_for_status()
    return {
        "invitees": len(invitees),
        "schedule_seconds": round(schedule_s, 2),
        "attendance_seconds": round(record_s, 2),
        "attendance_records_per_second": rate(len(invitees), record_s),
        "hold_seconds": round(hold_s, 2),
        "present": held.json()["figures"]["present"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="activities_bench")
    parser.add_argument("--members", type=int, default=2000)
    args = parser.parse_args(argv)
    with bench_stack("roadbranch-activities-bench-") as run:
        service = run.started(start_activities(run.info, run.folder / "activities.log"))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=service.url, headers=headers, timeout=600) as client:
            figures = {
                "members": args.members,
                "date": date.today().isoformat(),
                "projection": projection(client, run.info, args.members),
                "meeting": meeting(client, args.members),
            }
    print_report(figures)
    return 0


if __name__ == "__main__":
    run_main(main)
