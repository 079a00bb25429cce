"""Helpers for tests that drive a real activities process: start it with one token per staff role
(and one per driver), call it, wait for its roster view, and move its clock."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.polling import wait_until

STAFF_ROLES = ("work_group_staff", "org_department", "branch_secretary", "instructor", "operator")
VENUE = "venue_activity_room"  # the activity room at the highway maintenance centre


class Activities:
    """An activities process with its own database and consumer group (so it reads every roster
    event from the start), the clock under the operator's control, and tokens:

    - one per staff role; `branch_secretary` is scoped to `secretary_scope`, `instructor` to `venue`;
    - one per driver id in `driver_ids` (call with `driver=<id>`);
    - one per instructor subject in `instructor_ids`, with no venue on the token: only the venue
      directory stations them anywhere (call with `instructor=<subject>`).
    """

    def __init__(
        self,
        stack_info: StackInfo,
        log_dir: Path,
        *,
        secretary_scope: str | None = None,
        venue: str = VENUE,
        driver_ids: Iterable[str] = (),
        instructor_ids: Iterable[str] = (),
        **settings: str,
    ) -> None:
        self.venue = venue
        self.tokens = {role: secrets.token_urlsafe(24) for role in STAFF_ROLES}
        self.driver_tokens = {d: secrets.token_urlsafe(24) for d in driver_ids}
        self.instructor_tokens = {i: secrets.token_urlsafe(24) for i in instructor_ids}
        self.database = f"activities_{secrets.token_hex(4)}"
        self.secretary_scope = secretary_scope
        self.consumer_group = f"activities-{secrets.token_hex(4)}"
        env = {
            **stack_info.service_env("activities"),
            "ROADBRANCH_ACTIVITIES_MONGO_DB": self.database,
            "ROADBRANCH_ACTIVITIES_CONSUMER_GROUP": self.consumer_group,
            "ROADBRANCH_ACTIVITIES_CLOCK_CONTROL": "true",
            "ROADBRANCH_ACTIVITIES_FIGURES_INTERVAL_SECONDS": "1",
            "ROADBRANCH_ACTIVITIES_RELAY_IDLE_INTERVAL": "0.2",
            **{f"ROADBRANCH_ACTIVITIES_{k.upper()}": v for k, v in settings.items()},
        }
        self.process = ServiceProcess("activities.main:create_app", env=env, log=log_dir / "activities.log")
        self._write_tokens()

    def _write_tokens(self) -> None:
        table: dict[str, Any] = {}
        for role, token in self.tokens.items():
            principal: dict[str, Any] = {"subject": f"{role}-1", "role": role}
            if role == "branch_secretary":
                principal["org_scope"] = self.secretary_scope
            if role == "instructor":
                principal["org_scope"] = self.venue
            table[token] = principal
        for driver_id, token in self.driver_tokens.items():
            table[token] = {"subject": f"driver-{driver_id}", "role": "driver", "driver_id": driver_id}
        for subject, token in self.instructor_tokens.items():
            table[token] = {"subject": subject, "role": "instructor"}
        self.process.env["ROADBRANCH_ACTIVITIES_TOKENS"] = json.dumps(table)

    def start(self) -> Activities:
        self.process.start()
        return self

    def stop(self) -> None:
        self.process.stop()

    def restart(self, *, secretary_scope: str | None = None, driver_ids: Iterable[str] = ()) -> None:
        """Restart with another secretary scope or more drivers (the token table is read at start)."""
        self.process.stop()
        if secretary_scope is not None:
            self.secretary_scope = secretary_scope
        for d in driver_ids:
            self.driver_tokens.setdefault(d, secrets.token_urlsafe(24))
        self._write_tokens()
        self.process.start()

    def call(
        self,
        method: str,
        path: str,
        role: str = "work_group_staff",
        *,
        driver: str | None = None,
        instructor: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        if instructor:
            token = self.instructor_tokens[instructor]
        else:
            token = self.driver_tokens[driver] if driver else self.tokens[role]
        headers = {"Authorization": f"Bearer {token}", **(kwargs.pop("headers", None) or {})}
        return httpx.request(method, self.process.url + path, headers=headers, timeout=60, **kwargs)

    def ok(self, method: str, path: str, role: str = "work_group_staff", **kwargs: Any) -> dict[str, Any]:
        """Call and insist on a 2xx answer; the body."""
        response = self.call(method, path, role, **kwargs)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return dict(response.json())

    def wait_for(self, check: Callable[[], Any], message: str, timeout: float = 60) -> Any:
        return wait_until(check, message, timeout=timeout)

    def organisation(self, org_id: str) -> dict[str, Any] | None:
        response = self.call("GET", f"/v1/organisations/{org_id}")
        return dict(response.json()) if response.status_code == 200 else None

    def wait_for_members(self, org_id: str, driver_ids: Iterable[str]) -> dict[str, Any]:
        """Wait until the roster events made exactly these drivers the organisation's members."""
        wanted = sorted(driver_ids)

        def seen() -> dict[str, Any] | None:
            org = self.organisation(org_id)
            return org if org and org["member_driver_ids"] == wanted else None

        return dict(self.wait_for(seen, f"members {wanted} of {org_id}"))

    def wait_for_seats(self, org_id: str, count: int) -> dict[str, Any]:
        def seen() -> dict[str, Any] | None:
            org = self.organisation(org_id)
            return org if org and len(org["seats"]) >= count else None

        return dict(self.wait_for(seen, f"{count} seats of {org_id}"))

    def schedule(self, organisation_id: str, kind: str, starts_at: datetime, **fields: Any) -> dict[str, Any]:
        role = fields.pop("role", "work_group_staff")
        body = {
            "organisation_id": organisation_id,
            "kind": kind,
            "topic": fields.pop("topic", "学习贯彻党的二十届三中全会精神"),
            "starts_at": starts_at.isoformat(),
            "venue_kind": fields.pop("venue_kind", "activity_room"),
            "venue_name": fields.pop("venue_name", "公路养护中心党员活动室"),
            "mode": fields.pop("mode", "hybrid"),
            **fields,
        }
        return self.ok("POST", "/v1/meetings", role, json=body)

    def register_venue(
        self,
        name: str = "公路养护中心党员货车司机活动室",
        venue_kind: str = "activity_room",
        instructor_ids: Iterable[str] = (),
        venue_id: str | None = None,
        role: str = "work_group_staff",
    ) -> dict[str, Any]:
        """A venue of the directory with the instructors stationed there (the pilot's activity room at
        the highway maintenance centre by default); the venue as the service answers."""
        body: dict[str, Any] = {
            "name": name,
            "venue_kind": venue_kind,
            "instructor_ids": list(instructor_ids),
        }
        if venue_id is not None:
            body["venue_id"] = venue_id
        return self.ok("POST", "/v1/venues", role, json=body)

    def set_clock(self, now: datetime | None) -> None:
        self.ok("PUT", "/v1/ops/clock", "operator", json={"now": now.isoformat() if now else None})

    def scan(self) -> list[dict[str, Any]]:
        return list(self.ok("POST", "/v1/ops/compliance-scan", "operator")["raised"])


TERM = {"term_start": "2025-01-01", "term_end": "2029-12-31"}


def verified_members(roster: Any, prefix: str, count: int, year: int) -> list[tuple[str, str]]:
    """Import `count` synthetic drivers into a real roster, cross-check and verify them all; their
    (member id, driver id), in member id order. Earlier candidates of the roster are left alone."""
    from roster_support import synthetic_people

    before = {
        c["member_id"]
        for c in roster.call("GET", "/v1/members?status=candidate&limit=1000").json()["members"]
    }
    people = synthetic_people(prefix, count, year)
    roster.import_drivers(people)
    roster.cross_check(people)
    cases = roster.call("GET", "/v1/members?status=candidate&limit=1000").json()["members"]
    fresh = sorted((c["member_id"], c["driver_id"]) for c in cases if c["member_id"] not in before)
    assert len(fresh) == count, fresh
    for member_id, _ in fresh:
        assert roster.verify(member_id)["status"] == "verified"
    return fresh


def organisation(roster: Any, kind: str, name: str, parent_id: str | None = None) -> str:
    response = roster.call(
        "POST", "/v1/organisations", json={"kind": kind, "name": name, "parent_id": parent_id}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["organisation_id"])


def seat(roster: Any, org_id: str, role: str, person_id: str) -> None:
    response = roster.call(
        "POST", f"/v1/organisations/{org_id}/seats", json={"role": role, "person_id": person_id, **TERM}
    )
    assert response.status_code == 201, response.text


def assign(roster: Any, member_id: str, branch_id: str, group_id: str | None = None) -> None:
    response = roster.call(
        "POST", f"/v1/members/{member_id}/assignment", json={"branch_id": branch_id, "group_id": group_id}
    )
    assert response.status_code == 200, response.text


async def published(
    bootstrap: str, topic: str, event_type: str, subject: str | None = None
) -> list[dict[str, Any]]:
    """The events of one type on a topic (optionally of one aggregate), decoded, in offset order."""
    from roadbranch_shared.testing import read_topic

    records = await read_topic(bootstrap, topic)
    events = [json.loads(r.value) for r in records if r.value is not None]
    return [e for e in events if e.get("type") == event_type and (subject is None or e["subject"] == subject)]


def build_pilot(roster: Any, prefix: str, year: int = 1978) -> dict[str, Any]:
    """The pilot's tree in a real roster: the industry committee (7 staff seats, `staff-c0` its
    secretary), the mobile branch with a party group, five verified member drivers assigned to the
    branch (the first two also to the group), each holding a branch committee seat (the first is the
    branch secretary). Returns the organisation ids, `members` (member id, driver id) and `drivers`."""
    members = verified_members(roster, prefix, 5, year)
    committee = organisation(roster, "industry_committee", "县道路货运行业党委")
    branch = organisation(roster, "branch", "流动党员党支部", committee)
    group = organisation(roster, "party_group", "第一党小组", branch)
    for i, role in enumerate(["secretary", "deputy_secretary", "deputy_secretary", *["member"] * 4]):
        seat(roster, committee, role, f"staff-c{i}")
    drivers = [d for _, d in members]
    for driver, role in zip(
        drivers, ["secretary", "deputy_secretary", "member", "member", "member"], strict=True
    ):
        seat(roster, branch, role, driver)
    for i, (member_id, _) in enumerate(members):
        assign(roster, member_id, branch, group if i < 2 else None)
    return {"committee": committee, "branch": branch, "group": group, "members": members, "drivers": drivers}


def start_for_pilot(
    stack_info: StackInfo,
    log_dir: Path,
    pilot: dict[str, Any],
    instructor_ids: Iterable[str] = (),
    **settings: str,
) -> Activities:
    """An activities process for `build_pilot`'s tree (secretary of the branch, a token per driver
    and per instructor subject in `instructor_ids`), started and caught up with the roster's events."""
    running = Activities(
        stack_info,
        log_dir,
        secretary_scope=pilot["branch"],
        driver_ids=pilot["drivers"],
        instructor_ids=instructor_ids,
        **settings,
    ).start()
    running.wait_for_members(pilot["branch"], pilot["drivers"])
    running.wait_for_seats(pilot["committee"], 7)
    running.wait_for_seats(pilot["branch"], 5)
    return running


def pilot_fixtures(
    name: str, year: int, instructor_ids: Iterable[str] = (), county: str | None = None
) -> tuple[Any, Any, Any]:
    """Module-scoped fixtures `roster`, `pilot` and `activities` for a test module: a real roster with
    `build_pilot`'s tree, and an activities process caught up with it. Assign them at module level:
    `roster, pilot, activities = pilot_fixtures("learning", 1979)`. With `county`, both serve that
    county (the roster files its drivers there), so county-wide figures hold this module's only."""
    in_county = {"default_county": county} if county else {}
    import pytest
    from roster_support import Roster

    @pytest.fixture(scope="module", name="roster")
    def roster_fixture(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
        running = Roster(stack_info, tmp_path_factory.mktemp(f"{name}-roster"), **in_county).start()
        yield running
        running.stop()

    @pytest.fixture(scope="module", name="pilot")
    def pilot_fixture(roster: Roster) -> dict[str, Any]:
        return build_pilot(roster, f"{name}党员", year)

    @pytest.fixture(scope="module", name="activities")
    def activities_fixture(
        stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory, pilot: dict[str, Any]
    ) -> Iterator[Activities]:
        running = start_for_pilot(
            stack_info,
            tmp_path_factory.mktemp(name),
            pilot,
            instructor_ids,
            **({"county": county} if county else {}),
        )
        yield running
        running.stop()

    return roster_fixture, pilot_fixture, activities_fixture
