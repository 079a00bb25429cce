"""Helpers for tests that drive a real roster process: start it, call it, and set up drivers and members."""

from __future__ import annotations

import json
import secrets
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.pii import generate_key, make_synthetic_id_number

ROLES = ("work_group_staff", "org_department", "branch_secretary", "operator", "administrator", "driver")


class Roster:
    """A roster process with one token per role (`driver` maps to `driver_id`, `branch_secretary`
    manages `secretary_scope`), and its own database."""

    def __init__(
        self,
        stack_info: StackInfo,
        log_dir: Path,
        *,
        driver_id: str = "drv_nobody",
        secretary_scope: str | None = None,
        **settings: str,
    ) -> None:
        self.secretary_scope = secretary_scope
        self._driver_id = driver_id
        self.tokens = {role: secrets.token_urlsafe(24) for role in ROLES}
        self.pii = {
            "ROADBRANCH_PII_BLIND_INDEX_KEY": generate_key(),
            "ROADBRANCH_PII_ENCRYPTION_KEY": generate_key(),
        }
        self.database = f"roster_{secrets.token_hex(4)}"
        env = {
            **stack_info.service_env("roster"),
            **self.pii,
            "ROADBRANCH_ROSTER_MONGO_DB": self.database,
            "ROADBRANCH_ROSTER_TOKENS": self._token_table(driver_id),
            **{f"ROADBRANCH_ROSTER_{k.upper()}": v for k, v in settings.items()},
        }
        self.process = ServiceProcess("roster.main:create_app", env=env, log=log_dir / "roster.log")

    def _token_table(self, driver_id: str) -> str:
        table: dict[str, Any] = {}
        for role, token in self.tokens.items():
            principal: dict[str, Any] = {"subject": f"{role}-1", "role": role}
            if role == "driver":
                principal["driver_id"] = driver_id
            if role == "branch_secretary" and self.secretary_scope:
                principal["org_scope"] = self.secretary_scope
            table[token] = principal
        return json.dumps(table)

    def start(self) -> Roster:
        self.process.start()
        return self

    def stop(self) -> None:
        self.process.stop()

    def restart_as_secretary_of(self, org_id: str) -> None:
        """Restart with the `branch_secretary` token managing `org_id` (tokens are read at start)."""
        self.process.stop()
        self.secretary_scope = org_id
        self.process.env["ROADBRANCH_ROSTER_TOKENS"] = self._token_table(self._driver_id)
        self.process.start()

    def restart_as_driver(self, driver_id: str) -> None:
        """Restart with the `driver` token mapped to `driver_id` (the token table is read at start)."""
        self.process.stop()
        self.process.env["ROADBRANCH_ROSTER_TOKENS"] = self._token_table(driver_id)
        self.process.start()

    def call(
        self, method: str, path: str, role: str = "work_group_staff", *, at: str = "", **kwargs: Any
    ) -> httpx.Response:
        """A call with `role`'s token, to this process or (`at`) another replica's address."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        headers.update(kwargs.pop("headers", None) or {})  # e.g. an Idempotency-Key
        return httpx.request(method, (at or self.process.url) + path, headers=headers, timeout=120, **kwargs)

    def import_drivers(
        self, people: list[tuple[str, str, str]], source: str = "individual"
    ) -> dict[str, Any]:
        """Import (name, id number, phone) rows and wait until they are written; the finished import."""
        lines = ["姓名,身份证号,手机号"] + [f"{n},{i},{p}" for n, i, p in people]
        batch = self.call(
            "POST",
            "/v1/driver-imports",
            files={"file": ("d.csv", "\n".join(lines).encode())},
            data={"source": source, "legal_basis": "履行法定职责"},
        ).json()
        deadline = time.monotonic() + 120
        while batch["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            batch = self.call("GET", f"/v1/driver-imports/{batch['batch_id']}").json()
        return dict(batch)

    def phones_of(self, people: list[tuple[str, str, str]]) -> dict[str, str]:
        """Import `people` and map each one's driver id to his phone, in the order of `people` (the
        roster shows phones masked: each is told by its last four digits)."""
        assert self.import_drivers(people)["registered"] == len(people)
        by_tail = {phone[-4:]: phone for _, _, phone in people}
        listed = self.call("GET", "/v1/drivers", params={"limit": 1000}).json()["drivers"]
        found = {d["driver_id"]: by_tail[d["phone"][-4:]] for d in listed if d["phone"][-4:] in by_tail}
        order = [phone for _, _, phone in people]
        return dict(sorted(found.items(), key=lambda item: order.index(item[1])))

    def cross_check(
        self, people: list[tuple[str, str, str]], party_status: str = "正式党员"
    ) -> dict[str, Any]:
        lines = ["姓名,身份证号,所在支部,入党时间,党员状态"]
        lines += [f"{n},{i},县交通运输局机关支部,2008-07-01,{party_status}" for n, i, _ in people]
        response = self.call(
            "POST",
            "/v1/member-checks",
            "org_department",
            files={"file": ("m.csv", "\n".join(lines).encode())},
        )
        return dict(response.json())

    def verify(self, member_id: str, method: str = "field_visit") -> dict[str, Any]:
        self.call(
            "POST", f"/v1/members/{member_id}/attempts", json={"method": method, "outcome": "confirmed"}
        )
        return dict(
            self.call("POST", f"/v1/members/{member_id}/decision", json={"decision": "verified"}).json()
        )


# Every test module shares the session's Kafka, and notify and the briefing read each topic from
# the start: two modules that made the same synthetic person (same phone, same ID number) under two
# driver ids would see each other's messages. So each prefix gets numbers of its own for the session.
_PEOPLE_BY_PREFIX: dict[tuple[str, int], list[tuple[str, str, str]]] = {}
_NEXT_SERIAL: dict[int, int] = {}


def synthetic_people(prefix: str, count: int, year: int) -> list[tuple[str, str, str]]:
    """(name, ID number, phone) of clearly synthetic drivers: area 513436, birth dates in `year`.
    The same prefix gives the same people again (more if `count` grows); another prefix of the same
    year gets other ID numbers and phones, so no two modules share a person."""
    made = _PEOPLE_BY_PREFIX.setdefault((prefix, year), [])
    while len(made) < count:
        serial = _NEXT_SERIAL.get(year, 0)
        if serial >= 900:  # the ID number's sequence code has three digits
            raise ValueError(f"more than 900 synthetic people born in {year}: use another year")
        _NEXT_SERIAL[year] = serial + 1
        i = len(made)
        made.append(
            (
                f"{prefix}{i:03d}",
                make_synthetic_id_number(
                    "513436", date(year, 1 + serial % 12, 1 + serial % 28), 100 + serial
                ),
                f"139{year % 100:02d}{serial:06d}",
            )
        )
    return made[:count]
