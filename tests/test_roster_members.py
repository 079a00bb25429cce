"""Cross-check and verification through a real roster process, read by a consumer in another process."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.pii import IndexPurpose, PiiKeys, blind_index, generate_key, make_synthetic_id_number
from roadbranch_shared.testing import eventually
from roadbranch_shared.topics import ensure_topics

pytestmark = pytest.mark.integration

APPS = Path(__file__).resolve().parent / "apps"
TOKENS = {role: secrets.token_urlsafe(24) for role in ("staff", "org", "driver")}
PII = {"ROADBRANCH_PII_BLIND_INDEX_KEY": generate_key(), "ROADBRANCH_PII_ENCRYPTION_KEY": generate_key()}
DRIVERS = [
    (f"核实司机{i}", make_synthetic_id_number("513436", date(1971, 2, 1 + i), 700 + i), f"1390001{i:04d}")
    for i in range(5)
]
STRANGERS = [make_synthetic_id_number("513436", date(1972, 3, 1 + i), 600 + i) for i in range(2)]


def token_table(driver_id: str = "drv_nobody") -> str:
    return json.dumps(
        {
            TOKENS["staff"]: {"subject": "staff-1", "role": "work_group_staff"},
            TOKENS["org"]: {"subject": "org-1", "role": "org_department"},
            TOKENS["driver"]: {"subject": "driver-1", "role": "driver", "driver_id": driver_id},
        }
    )


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    env = {
        **stack_info.service_env("roster"),
        **PII,
        "ROADBRANCH_ROSTER_TOKENS": token_table(),
        "ROADBRANCH_ROSTER_MONGO_DB": f"roster_{secrets.token_hex(4)}",
    }
    proc = ServiceProcess(
        "roster.main:create_app", env=env, log=tmp_path_factory.mktemp("roster") / "roster.log"
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def watcher(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    asyncio.run(ensure_topics(stack_info.kafka_bootstrap))
    env = {
        **stack_info.service_env("memberwatch"),
        "ROADBRANCH_MEMBERWATCH_MONGO_DB": f"watch_{secrets.token_hex(4)}",
    }
    proc = ServiceProcess(
        "member_watch:app", app_dir=APPS, env=env, log=tmp_path_factory.mktemp("watch") / "watch.log"
    )
    proc.start()
    yield proc
    proc.stop()


def call(proc: ServiceProcess, method: str, path: str, role: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, proc.url + path, headers={"Authorization": f"Bearer {TOKENS[role]}"}, timeout=60, **kwargs
    )


def import_drivers(roster: ServiceProcess) -> None:
    lines = ["姓名,身份证号,手机号"] + [f"{n},{i},{p}" for n, i, p in DRIVERS]
    batch = call(
        roster,
        "POST",
        "/v1/driver-imports",
        "staff",
        files={"file": ("d.csv", "\n".join(lines).encode())},
        data={"source": "individual", "legal_basis": "履行法定职责"},
    ).json()
    deadline = time.monotonic() + 60
    while batch["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        batch = call(roster, "GET", f"/v1/driver-imports/{batch['batch_id']}", "staff").json()
    assert batch["registered"] == len(DRIVERS)


def member_file(rows: list[str]) -> bytes:
    return "\n".join(["姓名,身份证号,所在支部,入党时间,党员状态", *rows]).encode("utf-8-sig")


@pytest.fixture(scope="module")
async def roster_db(stack_info: StackInfo, roster: ServiceProcess) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
    yield client[roster.env["ROADBRANCH_ROSTER_MONGO_DB"]]
    await client.close()


async def test_cross_check_opens_cases_for_matches_only_and_keeps_no_unmatched_record(
    roster: ServiceProcess, roster_db: Any
) -> None:
    import_drivers(roster)
    rows = [f"{n},{i},县交通运输局机关支部,2008-07-01,正式党员" for n, i, _ in DRIVERS[:3]]
    rows += [f"外人{k},{idn},某支部,2010-01-01,正式党员" for k, idn in enumerate(STRANGERS)]
    rows += ["没号码,,某支部,,正式党员"]
    summary = call(
        roster, "POST", "/v1/member-checks", "org", files={"file": ("m.csv", member_file(rows))}
    ).json()
    assert (
        summary["records"],
        summary["invalid_records"],
        summary["candidates_found"],
        summary["new_cases"],
        summary["unmatched_records"],
        summary["drivers_checked"],
    ) == (6, 1, 3, 3, 2, 5)
    assert summary["problems"] == [
        {"row": 7, "field": "id_number", "reason": "required", "message": "必填项为空"}
    ]

    keys = PiiKeys.from_env(environ=PII)
    unmatched = {blind_index(keys, idn, purpose=IndexPurpose.ID_NUMBER) for idn in STRANGERS}
    for name in await roster_db.list_collection_names():
        async for doc in roster_db[name].find({}):
            text = json.dumps(doc, default=str)
            assert not any(bi in text for bi in unmatched), f"an unmatched member record was kept in {name}"

    again = call(
        roster, "POST", "/v1/member-checks", "org", files={"file": ("m.csv", member_file(rows))}
    ).json()
    assert (again["candidates_found"], again["new_cases"]) == (3, 0), "a second check joins the open cases"

    # Another county's organisation department checks against its own county's drivers only.
    elsewhere = call(
        roster,
        "POST",
        "/v1/member-checks",
        "org",
        files={"file": ("m.csv", member_file(rows))},
        data={"county": "zhaojue"},
    ).json()
    assert (elsewhere["drivers_checked"], elsewhere["candidates_found"], elsewhere["unmatched_records"]) == (
        0,
        0,
        5,
    )
    assert elsewhere["county"] == "zhaojue"


async def test_verification_ends_by_decision_and_another_process_sees_it(
    roster: ServiceProcess, roster_db: Any, watcher: ServiceProcess, stack_info: StackInfo
) -> None:
    cases = {c["driver_id"]: c["_id"] async for c in roster_db.members.find({})}
    assert len(cases) == 3
    verified_id, rejected_id, open_id = sorted(cases.values())

    unreachable = call(
        roster,
        "POST",
        f"/v1/members/{verified_id}/attempts",
        "staff",
        json={"method": "phone_call", "outcome": "unreachable", "notes": "未接通"},
    )
    assert unreachable.status_code == 200
    too_early = call(
        roster, "POST", f"/v1/members/{verified_id}/decision", "staff", json={"decision": "verified"}
    )
    assert too_early.status_code == 409
    assert too_early.json()["error"]["reason"] == "no_confirming_attempt"
    call(
        roster,
        "POST",
        f"/v1/members/{verified_id}/attempts",
        "staff",
        json={"method": "field_visit", "outcome": "confirmed", "notes": "本人确认"},
    )
    done = call(
        roster, "POST", f"/v1/members/{verified_id}/decision", "staff", json={"decision": "verified"}
    ).json()
    assert done["status"] == "verified"
    assert [a["method"] for a in done["attempts"]] == ["phone_call", "field_visit"]

    call(
        roster,
        "POST",
        f"/v1/members/{rejected_id}/attempts",
        "staff",
        json={"method": "data_comparison", "outcome": "not_a_member"},
    )
    call(
        roster,
        "POST",
        f"/v1/members/{rejected_id}/decision",
        "staff",
        json={"decision": "rejected", "reason": "同名不同人"},
    )
    closed = call(
        roster,
        "POST",
        f"/v1/members/{rejected_id}/attempts",
        "staff",
        json={"method": "phone_call", "outcome": "confirmed"},
    )
    assert closed.status_code == 409

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
    view = client[watcher.env["ROADBRANCH_MEMBERWATCH_MONGO_DB"]].members
    try:

        async def statuses() -> dict[str, str] | None:
            found = {d["_id"]: d["status"] async for d in view.find({})}
            wanted = {verified_id: "verified", rejected_id: "rejected", open_id: "candidate"}
            # Other tests' members are on the same topic too: look at ours.
            ours = {k: found.get(k) for k in wanted}
            return ours if ours == wanted else None

        await eventually(statuses, message="the member events in the watching process")
        assert (await view.find_one({"_id": verified_id}))["method"] == "field_visit"
    finally:
        await client.close()


def test_only_the_organisation_department_uploads_member_records(roster: ServiceProcess) -> None:
    for role in ("staff", "driver"):
        refused = call(roster, "POST", "/v1/member-checks", role, files={"file": ("m.csv", member_file([]))})
        assert refused.status_code == 403
    bad = call(
        roster,
        "POST",
        "/v1/members/mem_x/attempts",
        "staff",
        json={"method": "telepathy", "outcome": "maybe"},
    )
    assert bad.status_code == 422
    assert {f["field"] for f in bad.json()["error"]["fields"]} == {"method", "outcome"}


async def test_a_driver_declares_himself_and_a_case_opens(roster: ServiceProcess, roster_db: Any) -> None:
    declared_id = None
    async for doc in roster_db.drivers.find({}):
        if not await roster_db.members.find_one({"driver_id": doc["_id"]}):
            declared_id = doc["_id"]
            break
    assert declared_id is not None
    roster.stop()
    roster.env["ROADBRANCH_ROSTER_TOKENS"] = token_table(declared_id)
    roster.start()
    first = call(roster, "POST", "/v1/members/self-declaration", "driver")
    assert first.status_code == 201
    assert (first.json()["origin"], first.json()["status"]) == ("self_declared", "candidate")
    again = call(roster, "POST", "/v1/members/self-declaration", "driver")
    assert again.json()["member_id"] == first.json()["member_id"], "one case per driver"
