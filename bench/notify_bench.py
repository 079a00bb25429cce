"""Notify figures: one meeting reminder fanned out to 10,000 drivers through a local SMS provider.

Run from the repo root:

    uv run python bench/notify_bench.py                      # 10000 recipients
    uv run python bench/notify_bench.py --recipients 2000

It starts its own Kafka and FerretDB in a temporary folder, creates the project topics, starts a local
SMS provider (the tests' server: HTTP, idempotency keys honoured) in this process and the notify
service (`notify.main:create_app`) in its own process, with the controllable clock on and no quiet hours:

- `contacts`: N ContactPointChanged events published on roster.contact.v1; the time until notify's
  view holds all N (contact points/s).
- `invitation`: a MeetingScheduled inviting all N (offset: one reminder an hour before); the time from
  publishing it until the provider took N messages (`provider_s`) and until notify marked all N sent
  (`marked_s`). The invitation is itself a fan-out of N.
- `reminder`: the clock is set to the reminder's time; the same two times for the reminder's N
  messages. `deliveries_per_s` is N / `marked_s`.
- `delivery_events`: deliveries marked sent, and how many of their DeliverySent events were still in
  outboxes (not yet on Kafka) when the reminder's last message was marked — the relay's backlog.

`cpu_seconds` are the CPU seconds notify, FerretDB and Kafka used in the step; `notify_rss_mb` the
notify process's resident memory at the end and its peak (VmHWM). Prints ONE JSON document on stdout
(progress on stderr) and stops every process it started, also on errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "apps"))

from harness import bench_stack, print_report, run_main
from notify_support import SMS_API_KEY, EventPublisher, SmsProviderServer
from procstat import CpuMeter
from pymongo import AsyncMongoClient
from roadbranch_shared.contracts.activities import MeetingScheduled
from roadbranch_shared.contracts.roster import ContactPointChanged
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.pii import generate_key
from stats import progress, rate

NOTIFY_DB = "notify_bench"
OPERATOR = secrets.token_urlsafe(24)


def start_notify(
    info: StackInfo, sms: SmsProviderServer, log: Path, args: argparse.Namespace
) -> ServiceProcess:
    env = {
        **info.service_env("notify"),
        "ROADBRANCH_NOTIFY_MONGO_DB": NOTIFY_DB,
        "ROADBRANCH_PII_BLIND_INDEX_KEY": generate_key(),
        "ROADBRANCH_PII_ENCRYPTION_KEY": generate_key(),
        "ROADBRANCH_NOTIFY_TOKENS": json.dumps({OPERATOR: {"subject": "bench", "role": "operator"}}),
        "ROADBRANCH_NOTIFY_CONTROLLABLE_CLOCK": "true",
        "ROADBRANCH_NOTIFY_QUIET_START": "00:00",
        "ROADBRANCH_NOTIFY_QUIET_END": "00:00",  # no quiet hours: the figures are the sends'
        "ROADBRANCH_NOTIFY_DAILY_CAP": "100",
        "ROADBRANCH_NOTIFY_REMINDER_OFFSETS_MINUTES": "[60]",
        "ROADBRANCH_NOTIFY_BATCH_SIZE": str(args.batch_size),
        "ROADBRANCH_NOTIFY_SEND_CONCURRENCY": str(args.concurrency),
        "ROADBRANCH_NOTIFY_FANOUT_BATCH_SIZE": "500",
        "ROADBRANCH_NOTIFY_WORKER_INTERVAL_SECONDS": "0.2",
        "ROADBRANCH_NOTIFY_SMS_URL": sms.url,
        "ROADBRANCH_NOTIFY_SMS_API_KEY": SMS_API_KEY,
        "ROADBRANCH_NOTIFY_LOG_LEVEL": "WARNING",
    }
    return ServiceProcess("notify.main:create_app", env=env, log=log).start()


def rss_mb(pid: int) -> dict[str, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return {
        "now": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
        "peak": round(int(fields["VmHWM"].split()[0]) / 1024, 1),
    }


async def wait_for(check: Callable[[], Awaitable[bool]], what: str, give_up_after: float = 1800) -> float:
    """Poll until `check` holds; seconds waited."""
    start = time.perf_counter()
    last = start
    while not await check():
        now = time.perf_counter()
        if now - start > give_up_after:
            raise TimeoutError(f"{what} did not happen in {give_up_after:.0f}s")
        if now - last > 10:
            last = now
            progress(f"waiting for {what} ({now - start:.0f}s)")
        await asyncio.sleep(0.1)
    return time.perf_counter() - start


async def run_reminder(
    info: StackInfo, notify: ServiceProcess, sms: SmsProviderServer, cpu: CpuMeter, n: int
) -> Any:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(info.mongo_uri, tz_aware=True)
    db = client[NOTIFY_DB]
    drivers = [f"drv_bench_{i:06d}" for i in range(n)]
    report: dict[str, Any] = {}
    try:
        async with EventPublisher(info.kafka_bootstrap, source="/bench") as events:
            progress(f"contacts: publishing {n} contact points")
            cpu.start()
            start = time.perf_counter()
            await events.publish_many(
                [
                    (ContactPointChanged(driver_id=d, phone=f"139{i:08d}", changed_at=datetime.now(UTC)), d)
                    for i, d in enumerate(drivers)
                ]
            )

            async def all_known() -> bool:
                return await db.contacts.count_documents({}) >= n

            await wait_for(all_known, "notify's view to hold every contact point")
            took = time.perf_counter() - start
            report["contacts"] = {
                "seconds": round(took, 1),
                "per_s": rate(n, took),
                "cpu_seconds": cpu.stop(),
            }
            progress(f"contacts: {report['contacts']}")

            clock = datetime.now(UTC).replace(microsecond=0)
            set_clock(notify, clock)
            starts = clock + timedelta(hours=3)
            progress(f"invitation: one meeting, {n} invitees")
            meeting = MeetingScheduled(
                meeting_id="mtg-bench",
                organisation_id="org-bench",
                kind="party_lesson",
                title="学习贯彻党的二十届四中全会精神",
                starts_at=starts,
                venue_kind="online",
                mode="online",
                invitee_driver_ids=drivers,
                scheduled_at=clock,
            )
            cpu.start()
            start = time.perf_counter()
            await events.publish(meeting, "mtg-bench")
            report["invitation"] = await wave(db, sms, "meeting_scheduled", n, start, cpu)
            progress(f"invitation: {report['invitation']}")

            progress("reminder: the clock moves to an hour before the meeting")
            cpu.start()
            start = time.perf_counter()
            set_clock(notify, starts - timedelta(minutes=60) + timedelta(seconds=1))
            report["reminder"] = await wave(db, sms, "meeting_reminder", n, start, cpu, already=n)
            progress(f"reminder: {report['reminder']}")

            # The relay publishes DeliverySent after the fact; how far it got is reported, not awaited.
            report["delivery_events"] = {
                "written": await db.deliveries.count_documents({"status": "sent"}),
                "still_in_outboxes": await db.outbox_pending_deliveries.count_documents({}),
            }
    finally:
        await client.close()
    return report


async def wave(
    db: Any, sms: SmsProviderServer, template: str, n: int, start: float, cpu: CpuMeter, already: int = 0
) -> dict[str, Any]:
    async def provider_took() -> bool:
        return len(sms.sent) >= already + n

    await wait_for(provider_took, f"the provider to take {n} {template}")
    provider_s = time.perf_counter() - start

    async def all_marked() -> bool:
        return await db.deliveries.count_documents({"template": template, "status": "sent"}) >= n

    await wait_for(all_marked, f"notify to mark {n} {template} sent")
    marked_s = time.perf_counter() - start
    return {
        "provider_s": round(provider_s, 1),
        "marked_s": round(marked_s, 1),
        "deliveries_per_s": rate(n, marked_s),
        "cpu_seconds": cpu.stop(),
    }


def set_clock(notify: ServiceProcess, moment: datetime) -> None:
    answer = httpx.put(
        notify.url + "/v1/ops/clock",
        json={"now": moment.isoformat()},
        headers={"Authorization": f"Bearer {OPERATOR}"},
        timeout=30,
    )
    answer.raise_for_status()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/notify_bench.py", description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000, help="drivers the reminder goes to")
    parser.add_argument("--batch-size", type=int, default=500, help="due messages per dispatcher pass")
    parser.add_argument("--concurrency", type=int, default=64, help="sends in flight at once")
    parser.add_argument("--keep", action="store_true", help="keep the run folder (servers' data and logs)")
    args = parser.parse_args(argv)
    if not 1 <= args.recipients <= 40_000:
        raise SystemExit("--recipients must be between 1 and 40000 (one meeting event must fit in 1 MB)")

    started = time.perf_counter()
    with bench_stack("roadbranch-notify-bench-", keep=args.keep) as run:
        info = run.info
        sms = run.started(SmsProviderServer(honour_keys=True))
        sms.start()
        progress("starting the notify service")
        notify = run.started(start_notify(info, sms, run.folder / "notify.log", args))
        assert notify.proc is not None
        pid = notify.proc.pid
        cpu = CpuMeter({"notify": pid, "ferretdb": info.ferretdb_pid, "kafka": info.kafka_pid})
        figures = asyncio.run(run_reminder(info, notify, sms, cpu, args.recipients))
        report = {
            "recipients": args.recipients,
            "batch_size": args.batch_size,
            "send_concurrency": args.concurrency,
            **figures,
            "provider_requests": sms.requests,
            "provider_messages": len(sms.sent),
            "notify_rss_mb": rss_mb(pid),
            "total_wall_seconds": round(time.perf_counter() - started, 1),
        }
    print_report(report)
    return 0


if __name__ == "__main__":
    run_main(main)
