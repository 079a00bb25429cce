"""Helpers for tests that drive a real welfare process: start it, call it as any role, work needs,
stations and campaigns through its HTTP API (for the welfare tests, notify and the pilot demo)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pilot import SEED_STATION
from roadbranch_shared.contracts.roster import DriverRegistered
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.services import ServiceProcess, run_aside
from roadbranch_shared.polling import wait_until

ROLES = ("welfare_officer", "work_group_staff", "station_staff", "org_department", "operator")


class Welfare:
    """A welfare process with one token per role, one per driver (`driver:<driver_id>`), its own
    database and consumer group, and the operators' clock enabled. `station_staff` acts for
    `station_scope`."""

    def __init__(
        self,
        stack_info: StackInfo,
        log_dir: Path,
        *,
        drivers: Iterable[str] = (),
        station_scope: str = "stn_test",
        **settings: str,
    ) -> None:
        self.tokens = {role: secrets.token_urlsafe(24) for role in ROLES}
        self.drivers = list(drivers)
        self.tokens.update({f"driver:{d}": secrets.token_urlsafe(24) for d in self.drivers})
        self.kafka_bootstrap = stack_info.kafka_bootstrap
        self.registered: set[str] = set()
        self.station_scope = station_scope
        self.database = f"welfare_{secrets.token_hex(4)}"
        env = {
            **stack_info.service_env("welfare"),
            "ROADBRANCH_WELFARE_MONGO_DB": self.database,
            "ROADBRANCH_WELFARE_CONSUMER_GROUP": f"welfare-{secrets.token_hex(4)}",
            "ROADBRANCH_WELFARE_TOKENS": self._token_table(),
            "ROADBRANCH_WELFARE_CLOCK_CONTROL": "true",
            "ROADBRANCH_WELFARE_ESCALATION_SCAN_SECONDS": "0.3",
            "ROADBRANCH_WELFARE_FIGURES_INTERVAL_SECONDS": "0.3",
            **{f"ROADBRANCH_WELFARE_{k.upper()}": v for k, v in settings.items()},
        }
        self.process = ServiceProcess("welfare.main:create_app", env=env, log=log_dir / "welfare.log")

    def _token_table(self) -> str:
        table: dict[str, Any] = {}
        for role, token in self.tokens.items():
            if role.startswith("driver:"):
                driver_id = role.removeprefix("driver:")
                table[token] = {"subject": f"driver-{driver_id}", "role": "driver", "driver_id": driver_id}
            else:
                principal: dict[str, Any] = {"subject": f"{role}-1", "role": role}
                if role == "station_staff":
                    principal["org_scope"] = self.station_scope
                table[token] = principal
        return json.dumps(table)

    def start(self) -> Welfare:
        self.process.start()
        self.register(*self.drivers)
        return self

    def register(self, *driver_ids: str, county: str = "county-welfare-tests") -> None:
        """Tell welfare about drivers as the roster does (`driver.registered` on roster.driver.v1) and
        wait until it knows them: welfare serves only drivers the roster registered. The helpers
        below register the drivers they act for, so a test's drivers are always real ones."""
        unseen = [d for d in dict.fromkeys(driver_ids) if d not in self.registered]
        self.registered.update(d for d in unseen if self.knows(d))  # e.g. from a real roster
        new = [d for d in unseen if d not in self.registered]
        if not new:
            return
        from notify_support import EventPublisher

        async def publish() -> None:
            async with EventPublisher(self.kafka_bootstrap, source="/roster") as publisher:
                now = datetime.now(UTC)
                for d in new:
                    event = DriverRegistered(
                        driver_id=d,
                        county=county,
                        source="individual",
                        batch_id="imp_tests",
                        registered_at=now,
                    )
                    await publisher.publish(event, d)

        run_aside(publish())
        for d in new:
            self.wait_for(lambda d=d: self.knows(d), message=f"welfare to know {d}")
        self.registered.update(new)

    def stop(self) -> None:
        self.process.stop()

    def restart_with_drivers(self, drivers: Iterable[str]) -> None:
        """Restart with tokens for more drivers (the token table is read at start); data and
        consumer group stay."""
        self.process.stop()
        self.tokens.update(
            {f"driver:{d}": secrets.token_urlsafe(24) for d in drivers if f"driver:{d}" not in self.tokens}
        )
        self.process.env["ROADBRANCH_WELFARE_TOKENS"] = self._token_table()
        self.process.start()

    def knows(self, driver_id: str, **expected: bool) -> bool:
        """True once welfare's roster view has the driver with `expected` (e.g. member=True)."""
        response = self.call("GET", f"/v1/drivers/{driver_id}", "work_group_staff")
        return response.status_code == 200 and all(response.json()[k] == v for k, v in expected.items())

    def call(self, method: str, path: str, role: str = "welfare_officer", **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        headers.update(kwargs.pop("headers", None) or {})  # e.g. an Idempotency-Key
        return httpx.request(method, self.process.url + path, headers=headers, timeout=120, **kwargs)

    def ok(self, method: str, path: str, role: str = "welfare_officer", **kwargs: Any) -> dict[str, Any]:
        """Call and insist on a 2xx answer (the body in the failure message)."""
        response = self.call(method, path, role, **kwargs)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return dict(response.json())

    # --- the clock ---------------------------------------------------------------------------------

    def advance_clock(self, seconds: float) -> None:
        self.ok("PUT", "/v1/ops/clock", "operator", json={"advance_seconds": seconds})

    # --- needs -------------------------------------------------------------------------------------

    def file_need(
        self,
        driver_id: str,
        category: str,
        urgency: str = "normal",
        description: str = "需要帮助",
        **extra: Any,
    ) -> dict[str, Any]:
        """Staff file a need on the driver's behalf (from a call or a visit)."""
        self.register(driver_id)
        body = {"driver_id": driver_id, "category": category, "urgency": urgency, "description": description}
        return self.ok("POST", "/v1/needs", json={**body, **extra})

    def solve_need(
        self, need_id: str, summary: str = "已现场解决", handler_id: str = "welfare_officer-1"
    ) -> dict[str, Any]:
        """Match to the category's first resource, assign and resolve."""
        resources = self.ok("GET", f"/v1/needs/{need_id}/suggestions")["resources"]
        if resources:
            self.ok(
                "POST", f"/v1/needs/{need_id}/match", json={"resource_ids": [resources[0]["resource_id"]]}
            )
        self.ok("POST", f"/v1/needs/{need_id}/assign", json={"handler_id": handler_id})
        return self.ok("POST", f"/v1/needs/{need_id}/resolve", json={"summary": summary})

    # --- stations ----------------------------------------------------------------------------------

    def open_station(self, station_id: str | None = None, **details: Any) -> dict[str, Any]:
        """A station like the briefing's at 峨曲古乡公路养护站 unless `details` say otherwise."""
        body: dict[str, Any] = {**SEED_STATION, **details}
        if station_id:
            body["station_id"] = station_id
        return self.ok("POST", "/v1/stations", json=body)

    def check_in(self, station_id: str, driver_id: str, role: str = "welfare_officer") -> httpx.Response:
        self.register(driver_id)
        return self.call("POST", f"/v1/stations/{station_id}/check-ins", role, json={"driver_id": driver_id})

    # --- campaigns ---------------------------------------------------------------------------------

    def start_campaign(self, kind: str, title: str, **extra: Any) -> dict[str, Any]:
        body = {
            "kind": kind,
            "title": title,
            "organiser_id": "org_work_group",
            "starts_on": "2026-07-01",
            "ends_on": "2026-07-31",
            **extra,
        }
        return self.ok("POST", "/v1/campaigns", json=body)

    def receive(self, campaign_id: str, item: str, quantity: int, label: str = "") -> dict[str, Any]:
        body = {"item": item, "quantity": quantity, "label": label}
        return self.ok("POST", f"/v1/campaigns/{campaign_id}/stock", json=body)

    def visit(
        self,
        campaign_id: str,
        driver_id: str,
        items: dict[str, int],
        solved_need_ids: list[str] | None = None,
        words: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Record a visit; `words` is the driver's own words ({"text", "consent"}), if any."""
        self.register(driver_id)
        body: dict[str, Any] = {
            "driver_id": driver_id,
            "visitor_ids": ["welfare_officer-1"],
            "items": items,
            "solved_need_ids": solved_need_ids or [],
        }
        if words is not None:
            body["words"] = words
        return self.call("POST", f"/v1/campaigns/{campaign_id}/visits", json=body)

    def play_care_campaigns(
        self, drivers: list[str], *, items: int, problems: Mapping[str, str] | None = None
    ) -> list[str]:
        """The pilot's three care campaigns (送温暖、送健康、送服务), each visiting a third of `drivers`
        in order and handing out one kind of item, `items` in all spread evenly over the visits. Each
        driver in `problems` (driver id -> need category) has a need filed, solved and linked to his
        visit. Every campaign is closed; returns their ids."""
        problems = problems or {}
        plan = [
            ("warmth", "送温暖", "gloves", "手套"),
            ("health", "送健康", "heatstroke_relief", "防暑降温用品"),
            ("service", "送服务", "epidemic_supplies", "防疫物资"),
        ]
        size, rest = divmod(len(drivers), len(plan))
        bounds = [0]
        for i in range(len(plan)):
            bounds.append(bounds[-1] + size + (1 if i < rest else 0))
        each, extra = divmod(items, max(len(drivers), 1))
        quantities = [each + (1 if n < extra else 0) for n in range(len(drivers))]
        campaign_ids = []
        for (kind, title, item, label), start, end in zip(plan, bounds, bounds[1:], strict=False):
            campaign_id = self.start_campaign(kind, title)["campaign_id"]
            self.receive(campaign_id, item, max(sum(quantities[start:end]), 1), label)
            for n in range(start, end):
                driver_id = drivers[n]
                solved = []
                if driver_id in problems:
                    need = self.file_need(driver_id, problems[driver_id], description="走访中现场提出")
                    self.solve_need(need["need_id"], "现场帮助办理")
                    solved = [need["need_id"]]
                answer = self.visit(
                    campaign_id, driver_id, {item: quantities[n]} if quantities[n] else {}, solved
                )
                assert answer.status_code == 201, answer.text
            self.ok("POST", f"/v1/campaigns/{campaign_id}/close")
            campaign_ids.append(campaign_id)
        return campaign_ids

    def wait_for(self, check: Callable[[], Any], *, timeout: float = 60, message: str = "condition") -> Any:
        """Poll `check` (a blocking call) until it is truthy; for scripts without an event loop."""
        return wait_until(check, message, timeout=timeout)
