"""Driver-list imports through a real roster process: CSV and XLSX, bad rows, re-imports, the CLI."""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.pii import (
    IndexPurpose,
    PiiKeys,
    blind_index,
    generate_key,
    make_synthetic_id_number,
    open_contact_point,
)
from roadbranch_shared.testing import eventually, read_topic
from roadbranch_shared.topics import ROSTER_CONTACT, ROSTER_DRIVER
from roster.app import imports as imports_module
from roster.app.imports import CheckedTable, DriverImports, ImportRequest
from roster.domain.drivers import DriverRow

pytestmark = pytest.mark.integration

STAFF = secrets.token_urlsafe(24)
DRIVER = secrets.token_urlsafe(24)
LEGAL_BASIS = "《个人信息保护法》第十三条第一款第三项：履行法定职责"
# Area 513436 (美姑县) and birth dates far from any real person's: clearly synthetic test data.
PEOPLE = [
    (f"测试司机{i:02d}", make_synthetic_id_number("513436", date(1970, 1, 1 + i), 900 + i), f"1390000{i:04d}")
    for i in range(12)
]


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    tokens = {
        STAFF: {"subject": "staff-1", "role": "work_group_staff", "org_scope": "meigu"},
        DRIVER: {"subject": "drv-x", "role": "driver", "driver_id": "drv-x"},
    }
    env = {
        **stack_info.service_env("roster"),
        "ROADBRANCH_ROSTER_MONGO_DB": f"roster_{secrets.token_hex(4)}",
        "ROADBRANCH_ROSTER_TOKENS": json.dumps(tokens),
        "ROADBRANCH_ROSTER_IMPORT_BATCH_SIZE": "4",  # several batches even for a small file
        "ROADBRANCH_PII_BLIND_INDEX_KEY": generate_key(),
        "ROADBRANCH_PII_ENCRYPTION_KEY": generate_key(),
    }
    proc = ServiceProcess(
        "roster.main:create_app", env=env, log=tmp_path_factory.mktemp("roster") / "roster.log"
    )
    proc.start()
    yield proc
    proc.stop()


def csv_file(rows: list[tuple[str, str, str]], extra: list[str] | None = None) -> bytes:
    lines = ["姓名,身份证号,手机号,户籍,车牌号,所在企业或平台"]
    lines += [f"{name},{idn},{phone},四川省美姑县,川W{idn[-5:-1]}8,美姑货运公司" for name, idn, phone in rows]
    lines += extra or []
    return "\n".join(lines).encode("utf-8-sig")


def upload(
    roster: ServiceProcess, name: str, content: bytes, source: str = "freight_company", token: str = STAFF
) -> httpx.Response:
    return httpx.post(
        f"{roster.url}/v1/driver-imports",
        headers={"Authorization": f"Bearer {token}"} if token else {},
        files={"file": (name, content)},
        data={"source": source, "legal_basis": LEGAL_BASIS, "source_name": "美姑货运公司"},
        timeout=60,
    )


def finished(roster: ServiceProcess, batch_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        batch = httpx.get(
            f"{roster.url}/v1/driver-imports/{batch_id}", headers={"Authorization": f"Bearer {STAFF}"}
        ).json()
        if batch["status"] != "running":
            return dict(batch)
        time.sleep(0.2)
    raise AssertionError(f"import {batch_id} did not finish")


def test_csv_import_stores_good_rows_reports_bad_rows_and_publishes_events(
    roster: ServiceProcess, stack_info: StackInfo
) -> None:
    bad_check = PEOPLE[0][1][:-1] + ("1" if PEOPLE[0][1][-1] != "1" else "2")
    content = csv_file(PEOPLE[:5], extra=[f"坏行一,{bad_check},13900009999,,,", ",,12345,,,"])
    response = upload(roster, "company.csv", content)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert response.headers["Location"] == f"/v1/driver-imports/{accepted['batch_id']}"
    assert (accepted["total_rows"], accepted["valid_rows"], accepted["invalid_rows"]) == (7, 5, 2)
    problems = {(p["row"], p["field"], p["reason"]) for p in accepted["problems"]}
    assert problems == {
        (7, "id_number", "check_digit"),
        (8, "name", "required"),
        (8, "id_number", "required"),
        (8, "phone", "format"),
    }
    batch = finished(roster, accepted["batch_id"])
    assert (batch["status"], batch["registered"], batch["processed_rows"]) == ("completed", 5, 5)

    registered = asyncio.run(_events_of_batch(stack_info, ROSTER_DRIVER.name, accepted["batch_id"], 5))
    assert len(registered) == 5
    assert {e["type"] for e in registered} == {"roadbranch.roster.driver.registered.v1"}
    driver_id = registered[0]["data"]["driver_id"]
    record = httpx.get(
        f"{roster.url}/v1/drivers/{driver_id}", headers={"Authorization": f"Bearer {STAFF}"}
    ).json()
    assert "*" in record["id_number"]
    assert "*" in record["phone"]
    assert "*" in record["name"]
    assert record["sources"][0]["legal_basis"] == LEGAL_BASIS
    contacts = asyncio.run(_events_of_batch(stack_info, ROSTER_CONTACT.name, accepted["batch_id"], 5))
    assert all(c["data"]["phone"] is None for c in contacts), "no phone in clear, even on the contact topic"
    keys = PiiKeys.from_env(environ=roster.env)  # what notify holds: the stack's shared contact key
    opened = {
        open_contact_point(keys, c["data"]["driver_id"], "phone", c["data"]["phone_sealed"]) for c in contacts
    }
    assert opened == {p[2] for p in PEOPLE[:5]}


def test_xlsx_import_and_an_overlapping_reimport_create_no_duplicates(roster: ServiceProcess) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "身份证号", "手机号", "户籍"])
    for name, idn, phone in PEOPLE[5:9]:
        sheet.append([name, idn, int(phone), "四川省美姑县"])
    buffer = io.BytesIO()
    book.save(buffer)
    first = finished(
        roster, upload(roster, "platform.xlsx", buffer.getvalue(), "freight_platform").json()["batch_id"]
    )
    assert (first["registered"], first["updated"]) == (4, 0)

    # The individual drivers' list overlaps the platform's list in two drivers and brings one new.
    overlap = csv_file([*PEOPLE[7:9], PEOPLE[9]])
    second = finished(roster, upload(roster, "individual.csv", overlap, "individual").json()["batch_id"])
    assert (second["registered"], second["updated"], second["unchanged"]) == (1, 2, 0)
    again = finished(roster, upload(roster, "individual.csv", overlap, "individual").json()["batch_id"])
    assert (again["registered"], again["updated"]) == (0, 3), "the same file again adds only provenance"


def test_import_needs_a_staff_token(roster: ServiceProcess) -> None:
    assert upload(roster, "x.csv", csv_file(PEOPLE[:1]), token="").status_code == 401
    refused = upload(roster, "x.csv", csv_file(PEOPLE[:1]), token=DRIVER)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_a_file_without_an_id_number_column_or_of_another_type_is_refused(roster: ServiceProcess) -> None:
    missing = upload(roster, "x.csv", "姓名,手机号\n张三,13912345678".encode())
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["reason"] == "missing_column"
    other = upload(roster, "x.pdf", b"%PDF-1.4")
    assert other.json()["error"]["fields"][0] == {
        "field": "file",
        "reason": "unsupported_type",
        "message": "只支持 CSV 或 XLSX 文件",
    }


def test_cli_imports_a_file_and_prints_the_report(roster: ServiceProcess, tmp_path: Path) -> None:
    path = tmp_path / "company2.csv"
    path.write_bytes(csv_file(PEOPLE[10:12], extra=["无号,,13900000000,,,"]))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "roster",
            "import-drivers",
            str(path),
            "--source",
            "freight_company",
            "--legal-basis",
            LEGAL_BASIS,
            "--url",
            roster.url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ROADBRANCH_TOKEN": STAFF},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "row 4\tid_number\trequired" in done.stdout
    assert "completed; rows 3, registered 2" in done.stdout


def test_no_raw_id_number_or_phone_in_logs_or_general_topics(
    roster: ServiceProcess, stack_info: StackInfo
) -> None:
    logs = roster.logs()
    topics = asyncio.run(_all_records(stack_info))
    for name, idn, phone in PEOPLE:
        assert idn not in logs
        assert phone not in logs
        assert name not in logs
        for topic, blob in topics:
            assert idn not in blob, f"an ID number on {topic}"
            assert name not in blob, f"a name on {topic}"
            assert phone not in blob, f"a phone number on {topic}"  # roster.contact.v1 carries it sealed


async def _events_of_batch(
    stack_info: StackInfo, topic: str, batch_id: str, count: int
) -> list[dict[str, Any]]:
    async def events() -> list[dict[str, Any]]:
        records = await read_topic(stack_info.kafka_bootstrap, topic)
        # A compacted topic also holds tombstones (an erased driver's contact point): no event.
        found = [json.loads(r.value) for r in records if r.value is not None]
        mine = [e for e in found if e["correlationid"] == batch_id]
        return mine if len(mine) >= count else []

    return await eventually(events, message=f"events of import {batch_id} on {topic}")


async def _all_records(stack_info: StackInfo) -> list[tuple[str, str]]:
    from roadbranch_shared.testing import list_topics

    out = []
    for topic in await list_topics(stack_info.kafka_bootstrap):
        for r in await read_topic(stack_info.kafka_bootstrap, topic):
            parts = [r.key or b"", r.value or b"", *(v for _, v in r.headers)]
            out.append((topic, b" ".join(parts).decode(errors="replace")))
    return out


# ---- the two writes of a new driver (key, then driver) with a crash or another import in between


class Crash(BaseException):
    """The process dying at this point: nothing after it runs, no handler records it."""


def _in_process_importer(roster: ServiceProcess, stack_info: StackInfo) -> tuple[DriverImports, Any, PiiKeys]:
    """A second writer on the module roster's own database, with its keys (as a second process)."""
    keys = PiiKeys.from_env(environ=roster.env)
    db = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)[roster.env["ROADBRANCH_ROSTER_MONGO_DB"]]
    return DriverImports(db, keys), db, keys


def _one_row(person: tuple[str, str, str]) -> CheckedTable:
    name, idn, phone = person
    return CheckedTable(
        rows=[DriverRow(row=2, name=name, id_number=idn, phone=phone)],
        problems=[],
        total_rows=1,
        blank_rows=0,
    )


def _request(source_name: str) -> ImportRequest:
    return ImportRequest(
        source="freight_company",
        legal_basis=LEGAL_BASIS,
        county="meigu",
        filename="list.csv",
        started_by="staff-2",
        source_name=source_name,
    )


async def _driver_of(db: Any, keys: PiiKeys, id_number: str) -> str:
    key = await eventually(
        lambda: db.driver_keys.find_one(
            {"_id": blind_index(keys, id_number, purpose=IndexPurpose.ID_NUMBER)}
        ),
        message="the driver's key",
    )
    return str(key["driver_id"])


async def test_a_key_left_by_a_crash_between_the_two_writes_is_repaired_by_the_next_import(
    roster: ServiceProcess, stack_info: StackInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = ("崩溃司机", make_synthetic_id_number("513436", date(1971, 3, 4), 951), "13900005951")
    importer, db, keys = _in_process_importer(roster, stack_info)

    async def crash(*_: Any, **__: Any) -> None:
        raise Crash

    monkeypatch.setattr(imports_module, "insert_aggregates", crash)
    crashed = await importer.start(_request("崩溃的名单"), _one_row(person))
    [writer] = [t for t in asyncio.all_tasks() if t.get_name() == f"import-{crashed['_id']}"]
    with pytest.raises(Crash):
        await writer
    driver_id = await _driver_of(db, keys, person[1])
    assert await db.drivers.find_one({"_id": driver_id}) is None, "the crash left a key and no driver"

    batch = finished(roster, upload(roster, "again.csv", csv_file([person])).json()["batch_id"])
    assert (batch["registered"], batch["unchanged"]) == (1, 0)
    async with httpx.AsyncClient() as client:
        driver = await client.get(
            f"{roster.url}/v1/drivers/{driver_id}", headers={"Authorization": f"Bearer {STAFF}"}
        )
    assert driver.status_code == 200
    assert [s["batch_id"] for s in driver.json()["sources"]] == [batch["batch_id"]]

    async def registered() -> list[dict[str, Any]]:
        records = await read_topic(stack_info.kafka_bootstrap, ROSTER_DRIVER.name)
        return [json.loads(r.value) for r in records if r.key == driver_id.encode()]

    [event] = await eventually(registered, message="driver.registered of the repaired driver")
    assert event["type"] == "roadbranch.roster.driver.registered.v1"


async def test_two_overlapping_imports_of_a_new_driver_keep_both_lists(
    roster: ServiceProcess, stack_info: StackInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = ("重叠司机", make_synthetic_id_number("513436", date(1971, 5, 6), 952), "13900005952")
    importer, db, keys = _in_process_importer(roster, stack_info)
    between = asyncio.Event()
    real_insert = imports_module.insert_aggregates

    async def slow_insert(*args: Any, **kwargs: Any) -> None:
        await between.wait()  # the first import has claimed the key and not yet written the driver
        await real_insert(*args, **kwargs)

    monkeypatch.setattr(imports_module, "insert_aggregates", slow_insert)
    first = await importer.start(_request("货运公司名单"), _one_row(person))
    driver_id = await _driver_of(db, keys, person[1])

    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(
            f"{roster.url}/v1/driver-imports",
            headers={"Authorization": f"Bearer {STAFF}"},
            files={"file": ("platform.csv", csv_file([person]))},
            data={"source": "freight_platform", "legal_basis": LEGAL_BASIS, "source_name": "平台名单"},
        )
        second_id = answer.json()["batch_id"]

        async def second_done() -> dict[str, Any] | None:
            batch = (
                await client.get(
                    f"{roster.url}/v1/driver-imports/{second_id}",
                    headers={"Authorization": f"Bearer {STAFF}"},
                )
            ).json()
            return batch if batch["status"] != "running" else None

        second = await eventually(second_done, message="the second import")
        between.set()
        await importer.wait()
        driver = await client.get(
            f"{roster.url}/v1/drivers/{driver_id}", headers={"Authorization": f"Bearer {STAFF}"}
        )

    first_after = await db.driver_imports.find_one({"_id": first["_id"]})
    assert (second["status"], second["registered"]) == ("completed", 1)
    assert (first_after["status"], first_after["updated"]) == ("completed", 1)
    assert {s["batch_id"] for s in driver.json()["sources"]} == {first["_id"], second_id}
    index = blind_index(keys, person[1], purpose=IndexPurpose.ID_NUMBER)
    assert await db.drivers.count_documents({"identity.id_number_index": index}) == 1


class _DiesAfterItsWrites(DriverImports):
    """A writer whose process stops after writing a chunk's drivers and before recording its
    progress: its task hangs there until the test cancels it, as if killed."""

    async def _write_chunk(self, *args: Any, **kwargs: Any) -> dict[str, int]:
        await super()._write_chunk(*args, **kwargs)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_live_import_is_left_alone_and_one_whose_process_stopped_is_resumed_by_another(
    roster: ServiceProcess, stack_info: StackInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another replica's check (here a second importer on the same database) leaves an import whose
    process is alive alone, however long it runs; takes over one silent for three heartbeats and
    writes the rest of its stored rows, counting the chunk its process wrote without recording it as
    that process would have; and marks `interrupted` one that cannot be resumed (from before
    imports stored their rows, or whose rows are gone)."""
    person = ("心跳司机", make_synthetic_id_number("513436", date(1972, 7, 8), 953), "13900005953")
    orphan = ("续导司机", make_synthetic_id_number("513436", date(1972, 8, 9), 954), "13900005954")
    keys = PiiKeys.from_env(environ=roster.env)
    # A database of its own: no other test's import is there to be taken over.
    db = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)[f"roster_resume_{secrets.token_hex(4)}"]
    running_here, other_replica = (DriverImports(db, keys, heartbeat_seconds=0.2) for _ in range(2))
    dying = _DiesAfterItsWrites(db, keys, heartbeat_seconds=0.2)

    dead = await dying.start(_request("进程停了的导入"), _one_row(orphan))
    driver_id = await _driver_of(db, keys, orphan[1])
    await eventually(lambda: db.drivers.find_one({"_id": driver_id}), message="the chunk's driver written")
    for task in list(dying._tasks):
        task.cancel()
    await dying.wait()
    assert await db.driver_import_rows.count_documents({"batch_id": dead["_id"]}) == 1, "its rows stored"

    release = asyncio.Event()
    real_insert = imports_module.insert_aggregates

    async def held_insert(*args: Any, **kwargs: Any) -> None:
        await release.wait()
        await real_insert(*args, **kwargs)

    monkeypatch.setattr(imports_module, "insert_aggregates", held_insert)
    live = await running_here.start(_request("长时间导入"), _one_row(person))
    assert live["owner"] == running_here.owner
    assert live["owner"] != other_replica.owner

    async def beaten() -> dict[str, Any] | None:
        found = await db.driver_imports.find_one({"_id": live["_id"]})
        return (
            found if found and found["heartbeat_at"] > live["heartbeat_at"] + timedelta(seconds=0.6) else None
        )

    await eventually(beaten, message="the running import's heartbeat, three beats on")
    monkeypatch.setattr(imports_module, "insert_aggregates", real_insert)
    now = datetime.now(UTC)
    silent = {**live, "_id": "imp_silent", "heartbeat_at": now - timedelta(seconds=5)}  # rows not stored
    before_rows_were_stored = {
        k: v
        for k, v in {**live, "_id": "imp_old"}.items()
        if k not in ("owner", "heartbeat_at", "chunks", "next_chunk", "resumed")
    }
    before_rows_were_stored["started_at"] = now - timedelta(hours=1)
    finished = {**silent, "_id": "imp_done", "status": "completed"}
    await db.driver_imports.insert_many([silent, before_rows_were_stored, finished])
    taken = await other_replica.take_over_leftovers()
    assert taken == {"resumed": 1, "interrupted": 1}, "the dead one resumed; the one before stored rows"
    await other_replica.wait()
    statuses = {
        d["_id"]: d["status"]
        async for d in db.driver_imports.find(
            {"_id": {"$in": [live["_id"], dead["_id"], "imp_silent", "imp_old", "imp_done"]}}
        )
    }
    assert statuses == {
        live["_id"]: "running",
        dead["_id"]: "completed",
        "imp_silent": "interrupted",
        "imp_old": "interrupted",
        "imp_done": "completed",
    }
    resumed = await db.driver_imports.find_one({"_id": dead["_id"]})
    assert (resumed["owner"], resumed["resumed"]) == (other_replica.owner, 1)
    assert (resumed["processed_rows"], resumed["registered"], resumed["unchanged"]) == (1, 1, 0)
    driver = await db.drivers.find_one({"_id": driver_id})
    assert [s["batch_id"] for s in driver["sources"]] == [dead["_id"]], "its row on the driver once"
    assert await db.driver_import_rows.count_documents({"batch_id": dead["_id"]}) == 0, "sealed rows deleted"

    release.set()
    await running_here.wait()
    done = await db.driver_imports.find_one({"_id": live["_id"]})
    assert (done["status"], done["registered"]) == ("completed", 1)
    assert await db.driver_import_rows.count_documents({"batch_id": live["_id"]}) == 0
