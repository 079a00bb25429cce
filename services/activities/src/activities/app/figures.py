"""The figures of the learning work (meetings held by kind, attendance and make-up, read rates, quiz
pass rates, compliance), recounted from the documents now and then and exposed as Prometheus gauges:
recounting keeps them right across restarts and several processes, unlike in-process counters."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document

from activities.app.compliance import Compliance
from activities.domain.meetings import Status, figures

PREFIX = "roadbranch_activities_"


class LearningFigures:
    def __init__(
        self, db: AsyncDatabase[Document], compliance: Compliance, registry: CollectorRegistry
    ) -> None:
        self.db = db
        self.compliance = compliance
        self.meetings_held = Gauge(
            PREFIX + "meetings_held", "Meetings held, by kind", ["kind"], registry=registry
        )
        self.attendance_rate = Gauge(
            PREFIX + "attendance_rate",
            "Invitees present (on site or online) over invitees, of held meetings, by kind",
            ["kind"],
            registry=registry,
        )
        self.makeups = Gauge(
            PREFIX + "makeups_completed",
            "Absent or on-leave invitees who made the meeting up (补学), by kind",
            ["kind"],
            registry=registry,
        )
        self.read_rate = Gauge(
            PREFIX + "read_rate",
            "Drivers who opened pushed content over its audience, by category",
            ["category"],
            registry=registry,
        )
        self.quiz_pass_rate = Gauge(
            PREFIX + "quiz_pass_rate", "Passed attempts over attempts, all quizzes", registry=registry
        )
        self.compliance_met = Gauge(
            PREFIX + "compliance_met",
            "1 if the organisation has held the meetings its policy requires in the current period",
            ["organisation_id", "requirement", "period"],
            registry=registry,
        )

    async def summary(self, start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
        """The figures of held meetings (held in [start, end)), content and quizzes, for the API and
        the gauges."""
        kinds: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
        lessons_by_host: dict[str, int] = defaultdict(int)
        fields = {
            "kind": 1,
            "held_at": 1,
            "invitees": 1,
            "attendance": 1,
            "host_id": 1,
            "oath_renewal": 1,
            "venue_kind": 1,
        }
        async for m in self.db.meetings.find({"status": Status.HELD}, fields):
            if (start and m["held_at"] < start) or (end and m["held_at"] >= end):
                continue
            f = figures(m["invitees"], m.get("attendance") or {})
            k = kinds[m["kind"]]
            k["held"] += 1
            k["invited"] += f.invited
            k["present_on_site"] += f.present_on_site
            k["present_online"] += f.present_online
            k["on_leave"] += f.on_leave
            k["absent"] += f.absent
            k["made_up"] += f.made_up
            k["with_oath_renewal"] += bool(m.get("oath_renewal"))
            k[f"at_{m['venue_kind']}"] += 1
            if m["kind"] == "party_lesson" and m.get("host_id"):
                lessons_by_host[m["host_id"]] += 1
        for k in kinds.values():
            present = k["present_on_site"] + k["present_online"]
            k["attendance_rate"] = present / k["invited"] if k["invited"] else None
            k["attendance_rate_with_makeup"] = (
                (present + k["made_up"]) / k["invited"] if k["invited"] else None
            )
        reads: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        async for c in self.db.contents.find(
            {}, {"category": 1, "audience": 1, "reads": 1, "published_at": 1}
        ):
            if (start and c["published_at"] < start) or (end and c["published_at"] >= end):
                continue
            r = reads[c["category"]]
            r["items"] += 1
            r["audience"] += len(c["audience"])
            r["opened"] += sum(p in c["reads"] for p in c["audience"])
        attempts = passes = 0
        async for q in self.db.quiz_attempts.find({}):
            for tries in (q.get("people") or {}).values():
                attempts += len(tries)
                passes += sum(t["passed"] for t in tries)
        return {
            "meetings": {kind: dict(v) for kind, v in kinds.items()},
            "party_lessons_by_lecturer": dict(lessons_by_host),
            "content": {
                cat: {**v, "read_rate": v["opened"] / v["audience"] if v["audience"] else None}
                for cat, v in reads.items()
            },
            "quizzes": {
                "attempts": attempts,
                "passed": passes,
                "pass_rate": passes / attempts if attempts else None,
            },
        }

    async def refresh(self) -> None:
        summary = await self.summary()
        for kind, k in summary["meetings"].items():
            self.meetings_held.labels(kind).set(k["held"])
            self.makeups.labels(kind).set(k["made_up"])
            if k["attendance_rate"] is not None:
                self.attendance_rate.labels(kind).set(k["attendance_rate"])
        for category, c in summary["content"].items():
            if c["read_rate"] is not None:
                self.read_rate.labels(category).set(c["read_rate"])
        if summary["quizzes"]["pass_rate"] is not None:
            self.quiz_pass_rate.set(summary["quizzes"]["pass_rate"])
        self.compliance_met.clear()  # a closed period's series goes, the new period's comes
        for org_id, standing in await self.compliance.figures():
            self.compliance_met.labels(org_id, standing.requirement, standing.period.label).set(
                int(standing.met)
            )
