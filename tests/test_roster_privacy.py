"""Erasure on request and audited unmasked reads, through a real roster process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.pii import PiiDecryptError, PiiKeys, open_contact_point
from roadbranch_shared.testing import eventually, read_topic
from roadbranch_shared.topics import ROSTER_CONTACT, ROSTER_DRIVER
from roster.app import privacy as privacy_module
from roster.app.privacy import Privacy
from roster_support import Roster, synthetic_people

pytestmark = pytest.mark.integration

PEOPLE = synthetic_people("隐私司机", 3, 1974)


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
    running = Roster(stack_info, tmp_path_factory.mktemp("roster"), figures_interval_seconds="0.3").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
async def db(stack_info: StackInfo, roster: Roster) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
    yield client[roster.database]
    await client.close()


@pytest.fixture(scope="module")
def driver_ids(roster: Roster) -> list[str]:
    assert roster.import_drivers(PEOPLE)["registered"] == 3
    listed = roster.call("GET", "/v1/drivers").json()["drivers"]
    return [d["driver_id"] for d in listed]


def test_only_the_organisation_department_reads_a_full_identity_and_each_read_is_audited(
    roster: Roster, driver_ids: list[str]
) -> None:
    path = f"/v1/drivers/{driver_ids[0]}/identity"
    assert roster.call("GET", path, params={"purpose": "核实身份"}).status_code == 403
    assert roster.call("GET", path, "org_department").status_code == 422, "a read must state its purpose"
    shown = roster.call("GET", path, "org_department", params={"purpose": "核实身份"}).json()
    assert (shown["name"], shown["id_number"], shown["phone"]) in PEOPLE


async def test_the_audit_log_names_who_read_what_and_why_without_the_data(
    roster: Roster, driver_ids: list[str], db: Any
) -> None:
    roster.call(
        "GET", f"/v1/drivers/{driver_ids[1]}/identity", "org_department", params={"purpose": "组织关系转接"}
    )
    entries = [e async for e in db.audit_log.find({"driver_id": driver_ids[1]})]
    assert [(e["subject"], e["purpose"], e["action"]) for e in entries] == [
        ("org_department-1", "组织关系转接", "read_identity")
    ]
    text = json.dumps(entries, default=str)
    assert not any(idn in text or phone in text or name in text for name, idn, phone in PEOPLE)


async def test_erasure_removes_personal_data_keeps_a_marker_and_tombstones_the_contact(
    roster: Roster, driver_ids: list[str], db: Any, stack_info: StackInfo
) -> None:
    target = driver_ids[2]
    roster.cross_check([p for p in PEOPLE if p[1] in _id_numbers_of(roster, [target])] or PEOPLE[2:3])
    erased = roster.call(
        "POST",
        f"/v1/drivers/{target}/erasure",
        json={"reason": "本人申请删除", "request_reference": "PIPL-2026-001"},
    )
    assert erased.status_code == 200, erased.text
    assert erased.json()["status"] == "erased"
    assert roster.call("GET", f"/v1/drivers/{target}").status_code == 404
    doc = await db.drivers.find_one({"_id": target})
    assert "identity" not in doc
    assert "plate" not in doc
    assert doc["erasure"]["request_reference"] == "PIPL-2026-001"
    assert await db.driver_keys.count_documents({"driver_id": target}) == 0
    again = roster.call(
        "POST", f"/v1/drivers/{target}/erasure", json={"reason": "重复申请", "request_reference": "x"}
    )
    assert again.status_code == 200, "erasing twice is harmless"

    async def contact_records() -> list[Any]:
        found = [
            r
            for r in await read_topic(stack_info.kafka_bootstrap, ROSTER_CONTACT.name)
            if r.key == target.encode()
        ]
        return found if found and found[-1].value is None else []

    records = await eventually(contact_records, message="a tombstone for the erased driver's contact point")
    assert records[-1].value is None

    async def erased_event() -> list[Any]:
        events = [
            json.loads(r.value)
            for r in await read_topic(stack_info.kafka_bootstrap, ROSTER_DRIVER.name)
            if r.key == target.encode()
        ]
        return [e for e in events if e["type"] == "roadbranch.roster.driver.erased.v1"]

    await eventually(erased_event, message="the driver-erased event")


def test_the_figures_count_drivers_by_source(roster: Roster, driver_ids: list[str]) -> None:
    import time

    deadline = time.monotonic() + 30
    line = 'roadbranch_roster_drivers{source="individual"}'
    while time.monotonic() < deadline:
        metrics = roster.call("GET", "/metrics", "").text
        values = [ln.split()[-1] for ln in metrics.splitlines() if ln.startswith(line)]
        if values and float(values[0]) >= 2:
            return
        time.sleep(0.3)
    raise AssertionError(f"{line} never reached 2")


def test_no_raw_personal_data_in_the_roster_logs(roster: Roster, driver_ids: list[str]) -> None:
    logs = roster.process.logs()
    for name, idn, phone in PEOPLE:
        assert idn not in logs
        assert phone not in logs
        assert name not in logs


def _id_numbers_of(roster: Roster, driver_ids: list[str]) -> list[str]:
    return [
        roster.call("GET", f"/v1/drivers/{d}/identity", "org_department", params={"purpose": "测试"}).json()[
            "id_number"
        ]
        for d in driver_ids
    ]


async def test_a_driver_sets_his_own_contact_preferences_for_the_notifier(
    roster: Roster, driver_ids: list[str], stack_info: StackInfo
) -> None:
    own = driver_ids[0]
    roster.restart_as_driver(own)
    body = {"preferred_channel": "wechat", "wechat_id": "lazhe_trucker"}
    assert (
        roster.call(
            "PUT", f"/v1/drivers/{driver_ids[1]}/contact-preferences", "driver", json=body
        ).status_code
        == 403
    )
    missing = roster.call(
        "PUT", f"/v1/drivers/{own}/contact-preferences", "driver", json={"preferred_channel": "wechat"}
    )
    assert missing.json()["error"]["fields"][0]["field"] == "wechat_id"
    done = roster.call("PUT", f"/v1/drivers/{own}/contact-preferences", "driver", json=body)
    assert done.status_code == 200, done.text
    assert done.json()["wechat_id"] != "lazhe_trucker", "the answer shows the WeChat id masked"

    async def published() -> list[dict[str, Any]]:
        found = [
            json.loads(r.value)
            for r in await read_topic(stack_info.kafka_bootstrap, ROSTER_CONTACT.name)
            if r.key == own.encode() and r.value is not None
        ]
        return [e for e in found if e["data"].get("wechat_id_sealed")]

    [event] = await eventually(published, message="the new contact point on roster.contact.v1")
    assert event["data"]["preferred_channel"] == "wechat"
    assert event["data"]["wechat_id"] is None, "the WeChat id travels sealed only"
    keys = PiiKeys.from_env(environ=roster.process.env)
    assert open_contact_point(keys, own, "wechat_id", event["data"]["wechat_id_sealed"]) == "lazhe_trucker"
    with pytest.raises(PiiDecryptError):  # bound to its driver and field: not movable to another
        open_contact_point(keys, own, "phone", event["data"]["wechat_id_sealed"])


class Crash(BaseException):
    """The process dying at this point: nothing after it runs."""


async def test_an_erasure_retried_after_a_crash_leaves_nothing_to_recognise_him_by(
    roster: Roster, driver_ids: list[str], db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = synthetic_people("抹除中断", 1, 1974)
    before = set(driver_ids) | {d["driver_id"] for d in roster.call("GET", "/v1/drivers").json()["drivers"]}
    assert roster.import_drivers(person)["registered"] == 1
    [target] = [
        d["driver_id"]
        for d in roster.call("GET", "/v1/drivers").json()["drivers"]
        if d["driver_id"] not in before
    ]
    body = {"preferred_channel": "wechat", "wechat_id": "wx_erase_me"}
    assert roster.call("PUT", f"/v1/drivers/{target}/contact-preferences", json=body).status_code == 200

    real_update = privacy_module.update_aggregate

    async def update_then_crash(*args: Any, **kwargs: Any) -> int:
        await real_update(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(privacy_module, "update_aggregate", update_then_crash)
    privacy = Privacy(db, PiiKeys.from_env(environ=roster.pii))
    with pytest.raises(Crash):
        await privacy.erase(target, by="staff-2", reason="本人申请删除", request_reference="PIPL-2026-009")
    monkeypatch.undo()

    retried = roster.call(
        "POST",
        f"/v1/drivers/{target}/erasure",
        json={"reason": "本人申请删除", "request_reference": "PIPL-2026-009"},
    )
    assert retried.status_code == 200, retried.text
    doc = await db.drivers.find_one({"_id": target})
    assert doc["status"] == "erased"
    assert not {"identity", "contact", "plate", "household_registration"} & doc.keys()
    assert "wx_erase_me" not in json.dumps(doc, default=str)
    assert await db.driver_keys.count_documents({"driver_id": target}) == 0
    check = roster.cross_check(person)
    assert (check["candidates_found"], check["unmatched_records"]) == (0, 1), (
        "the cross-check cannot find him"
    )


def test_scans_run_as_of_now_only_unless_the_clock_may_be_moved(roster: Roster) -> None:
    """This roster runs without clock control, as in production: a scan dated 2596 is refused."""
    for scan in ("/v1/ops/scans/lost-contact", "/v1/ops/scans/pairing-overdue"):
        future = roster.call("POST", scan, params={"as_of": "2596-01-01T00:00:00Z"})
        assert future.status_code == 403, future.text
        assert future.json()["error"]["field"] == "as_of"
        assert "clock_control" in future.json()["error"]["message"]
        now = roster.call("POST", scan)
        assert now.status_code == 200, now.text
    numeric = roster.call("POST", "/v1/ops/scans/lost-contact", params={"as_of": "-152"})
    assert (numeric.status_code, numeric.json()["error"]["fields"][0]["field"]) == (422, "query.as_of")


def test_a_control_character_in_a_name_is_refused_naming_the_field(roster: Roster) -> None:
    bell = roster.call(
        "POST", "/v1/organisations", json={"kind": "industry_committee", "name": "县交通\x07行业党委"}
    )
    assert bell.status_code == 422
    assert bell.json()["error"]["fields"][0] == {
        "field": "body.name",
        "reason": "control_characters",
        "message": "名称中不能有换行、制表符或其他控制字符。",
    }
    plain = roster.call(
        "POST", "/v1/organisations", json={"kind": "industry_committee", "name": "县交通运输行业党委"}
    )
    assert plain.status_code == 201, plain.text
