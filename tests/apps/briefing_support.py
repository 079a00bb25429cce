"""Helpers for tests that run a real briefing process and feed it events with the real broker."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.events import Envelope, EventPayload, encode_envelope, kafka_headers, new_event
from roadbranch_shared.metrics import BackboneMetrics
from roadbranch_shared.service import make_broker
from roadbranch_shared.settings import ServiceSettings

ROLES = ("work_group_staff", "org_department", "operator", "driver")


class Briefing:
    """A briefing process for one county, with its own database and consumer group."""

    def __init__(self, stack_info: StackInfo, log_dir: Path, county: str, **settings: str) -> None:
        self.tokens = {role: secrets.token_urlsafe(24) for role in ROLES}
        table: dict[str, Any] = {}
        for role, token in self.tokens.items():
            principal: dict[str, Any] = {"subject": f"{role}-1", "role": role}
            if role == "driver":
                principal["driver_id"] = "drv_nobody"
            table[token] = principal
        suffix = secrets.token_hex(4)
        env = {
            **stack_info.service_env("briefing"),
            "ROADBRANCH_BRIEFING_MONGO_DB": f"briefing_{suffix}",
            "ROADBRANCH_BRIEFING_CONSUMER_GROUP": f"briefing-{suffix}",
            "ROADBRANCH_BRIEFING_COUNTY": county,
            "ROADBRANCH_BRIEFING_FIGURES_INTERVAL_SECONDS": "0.5",
            "ROADBRANCH_BRIEFING_DLQ_BASE_DELAY": "0.05",
            "ROADBRANCH_BRIEFING_TOKENS": json.dumps(table),
            **{f"ROADBRANCH_BRIEFING_{k.upper()}": v for k, v in settings.items()},
        }
        self.group_id = env["ROADBRANCH_BRIEFING_CONSUMER_GROUP"]
        self.process = ServiceProcess("briefing.main:create_app", env=env, log=log_dir / "briefing.log")

    def start(self) -> Briefing:
        self.process.start()
        return self

    def stop(self) -> None:
        self.process.stop()

    def call(self, method: str, path: str, role: str = "work_group_staff", **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.request(method, self.process.url + path, headers=headers, timeout=60, **kwargs)

    def figures(self, period: str = "all") -> dict[str, Any]:
        response = self.call("GET", "/v1/figures", params={"period": period})
        response.raise_for_status()
        return dict(response.json())


class EventSource:
    """Publishes events as the owning service's relay would: the envelope, keyed by the aggregate id,
    with the CloudEvents headers. For events of services a test does not run."""

    def __init__(self, stack_info: StackInfo) -> None:
        self.broker, _ = make_broker(
            "test-source", ServiceSettings(kafka_bootstrap=stack_info.kafka_bootstrap), BackboneMetrics()
        )
        self.versions: dict[str, int] = {}

    async def __aenter__(self) -> EventSource:
        await self.broker.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.broker.stop()

    async def emit(self, subject: str, payload: EventPayload) -> Envelope:
        """The next event of the aggregate `subject`."""
        self.versions[subject] = self.versions.get(subject, 0) + 1
        envelope = new_event(payload, source="/tests/source", subject=subject, seq=self.versions[subject])
        await self.publish(envelope, payload)
        return envelope

    async def publish(self, envelope: Envelope, payload: EventPayload) -> None:
        """Publish `envelope` (again, for a redelivery)."""
        await self.broker.publish(
            encode_envelope(envelope),
            topic=payload.topic.name,
            key=envelope.subject.encode(),
            headers=kafka_headers(envelope),
        )

    async def raw(self, topic: str, key: str, body: bytes) -> None:
        await self.broker.publish(body, topic=topic, key=key.encode())
