"""`make demo`: start the local Kafka and FerretDB, the services as processes, show they are healthy, stop.

The pilot itself (issue: briefing and the demo) will be played here through the services' HTTP APIs;
for now the demo proves the stack and every service skeleton come up, answer and shut down cleanly.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
from pathlib import Path

import httpx
from roadbranch_shared.devstack import Stack
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.pii import generate_key
from roadbranch_shared.topics import PROJECT_TOPICS, ensure_topics

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("roster", "activities", "welfare", "notify", "briefing")


def step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main() -> int:
    run_dir = ROOT / "runs" / time.strftime("demo-%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True)
    step(f"run folder: {run_dir.relative_to(ROOT)} (data and logs of this run)")
    step("preparing Kafka 4.4 (Maven Central) and FerretDB 1.24 (Go build) — cached after the first run")
    stack = Stack(run_dir / "stack")
    info = stack.up()
    processes: list[ServiceProcess] = []
    try:
        step(f"Kafka on {info.kafka_bootstrap}, FerretDB on {info.mongo_uri}")
        created = asyncio.run(ensure_topics(info.kafka_bootstrap))
        step(f"topics: {len(PROJECT_TOPICS)} project topics and their dead letters, {len(created)} created")
        operator_token = secrets.token_urlsafe(24)
        tokens = json.dumps({operator_token: {"subject": "demo-operator", "role": "operator"}})
        pii = {f"ROADBRANCH_PII_{k}": generate_key() for k in ("BLIND_INDEX_KEY", "ENCRYPTION_KEY")}
        for name in SERVICES:
            env = {**info.service_env(name), f"ROADBRANCH_{name.upper()}_TOKENS": tokens, **pii}
            proc = ServiceProcess(f"{name}.main:app", env=env, log=run_dir / f"{name}.log")
            step(f"starting {name} ...")
            processes.append(proc.start())
        print()
        print(f"{'service':<12}{'ready':<8}{'kafka':<8}{'database':<10}{'metrics':<9}{'whoami':<10}url")
        healthy = True
        for name, proc in zip(SERVICES, processes, strict=True):
            ready = httpx.get(f"{proc.url}/health/ready", timeout=5)
            checks = ready.json()["checks"]
            metrics = httpx.get(f"{proc.url}/metrics", timeout=5)
            whoami = httpx.get(f"{proc.url}/v1/whoami", headers={"Authorization": f"Bearer {operator_token}"})
            ok = ready.status_code == 200 and metrics.status_code == 200 and whoami.status_code == 200
            healthy &= ok
            role = whoami.json().get("role", whoami.status_code)
            print(
                f"{name:<12}{ready.status_code:<8}{_yn(checks['kafka']):<8}{_yn(checks['database']):<10}"
                f"{metrics.status_code:<9}{role!s:<10}{proc.url}/docs"
            )
        print()
        step("API docs: <url>/docs on each service; metrics: <url>/metrics")
        step(
            "all services healthy" if healthy else "a service is NOT healthy: see the logs in the run folder"
        )
        return 0 if healthy else 1
    finally:
        for proc in processes:
            proc.stop()
        stack.down()
        step("stopped every service, Kafka and FerretDB")


def _yn(value: bool) -> str:
    return "yes" if value else "NO"


if __name__ == "__main__":
    sys.exit(main())
