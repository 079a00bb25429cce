"""Finding a driver, the import template and the register export, through a real roster process."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.pii import IndexPurpose, PiiKeys, blind_index, make_synthetic_id_number
from roadbranch_shared.testing import eventually
from roster_support import Roster, synthetic_people

pytestmark = pytest.mark.integration

A, B, C, D, GONE = synthetic_people("查找司机", 5, 1986)
# D has A's name (a namesake); A and C drive the same truck (川W7Q301); D has no plate.
D = (A[0], D[1], D[2])
PLATES = {A: "川W7Q301", B: "川W7Q302", C: "川W7Q301", D: "", GONE: "川W7Q309"}
FORMULA = '=HYPERLINK("http://example.invalid","点此核对")'
EMPLOYERS = {B: FORMULA}
PEOPLE = (A, B, C, D, GONE)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
    running = Roster(stack_info, tmp_path_factory.mktemp("roster")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
async def db(stack_info: StackInfo, roster: Roster) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
    yield client[roster.database]
    await client.close()


def upload(roster: Roster, filename: str, content: bytes) -> dict[str, Any]:
    """Import a file as staff and wait until it is written; the finished import."""
    response = roster.call(
        "POST",
        "/v1/driver-imports",
        files={"file": (filename, content)},
        data={"source": "freight_company", "legal_basis": "履行法定职责", "source_name": "美姑货运公司"},
    )
    assert response.status_code == 202, response.text
    batch = response.json()
    deadline = time.monotonic() + 120
    while batch["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        batch = roster.call("GET", f"/v1/driver-imports/{batch['batch_id']}").json()
    return dict(batch)


def driver_list(people: tuple[tuple[str, str, str], ...]) -> bytes:
    out = io.StringIO(newline="")
    rows = csv.writer(out)
    rows.writerow(["姓名", "身份证号", "手机号", "车牌号", "所在企业或平台"])
    for person in people:
        rows.writerow([*person, PLATES[person], EMPLOYERS.get(person, "美姑货运公司")])
    return out.getvalue().encode()


@pytest.fixture(scope="module")
async def driver_ids(roster: Roster, db: Any) -> dict[tuple[str, str, str], str]:
    """Each person's driver id, found through the import's own key (not through the search)."""
    assert upload(roster, "drivers.csv", driver_list(PEOPLE))["registered"] == 5
    keys = PiiKeys.from_env(environ=roster.pii)
    ids = {}
    for person in PEOPLE:
        key = await db.driver_keys.find_one(
            {"_id": blind_index(keys, person[1], purpose=IndexPurpose.ID_NUMBER)}
        )
        ids[person] = key["driver_id"]
    erased = roster.call(
        "POST",
        f"/v1/drivers/{ids[GONE]}/erasure",
        json={"reason": "本人申请删除", "request_reference": "S-1"},
    )
    assert erased.status_code == 200, erased.text
    return ids


def search(roster: Roster, by: str, value: str, role: str = "work_group_staff") -> Any:
    return roster.call("POST", "/v1/driver-searches", role, json={"by": by, "value": value})


def found(roster: Roster, by: str, value: str) -> set[str]:
    response = search(roster, by, value)
    assert response.status_code == 200, response.text
    return {d["driver_id"] for d in response.json()["drivers"]}


@pytest.mark.parametrize(
    ("by", "typed", "expected", "near_miss"),
    [
        # Near misses no synthetic person has: a 137 number, a birthday on the 31st, a shorter name.
        ("phone", f"+86 {A[2][:3]}-{A[2][3:7]}-{A[2][7:]}", (A,), "137" + A[2][3:]),
        ("id_number", f" {A[1].lower()} ", (A,), make_synthetic_id_number("513436", date(1986, 12, 31), 999)),
        ("name", f"{A[0][:2]} {A[0][2:]}", (A, D), A[0][:-1]),
        ("plate", "川w 7q301", (A, C), "川W7Q303"),
    ],
    ids=["phone", "id_number", "name", "plate"],  # not the values: no ID numbers in test reports
)
def test_a_search_finds_exactly_the_matching_drivers_and_nothing_for_a_near_miss(
    roster: Roster,
    driver_ids: dict[tuple[str, str, str], str],
    by: str,
    typed: str,
    expected: tuple[tuple[str, str, str], ...],
    near_miss: str,
) -> None:
    assert found(roster, by, typed) == {driver_ids[p] for p in expected}
    assert found(roster, by, near_miss) == set()


def test_an_erased_driver_is_not_found(roster: Roster, driver_ids: dict[tuple[str, str, str], str]) -> None:
    assert found(roster, "plate", PLATES[GONE]) == set()
    assert found(roster, "phone", GONE[2]) == set()


def test_an_answer_shows_personal_data_masked_and_the_member_case(
    roster: Roster, driver_ids: dict[tuple[str, str, str], str]
) -> None:
    assert roster.cross_check([A])["candidates_found"] == 1
    response = search(roster, "plate", PLATES[A], "org_department")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["truncated"] is False
    drivers = {d["driver_id"]: d for d in answer["drivers"]}
    assert drivers[driver_ids[A]]["member"]["status"] == "candidate"
    assert drivers[driver_ids[C]]["member"] is None
    shown = drivers[driver_ids[A]]
    assert (shown["plate"], shown["employer"]) == (PLATES[A], "美姑货运公司")
    assert "*" in shown["name"]
    assert shown["id_number"] == A[1][:4] + "*" * 10 + A[1][-4:]
    assert shown["phone"] == A[2][:3] + "****" + A[2][-4:]
    for name, id_number, phone in PEOPLE:
        assert name not in response.text
        assert id_number not in response.text
        assert phone not in response.text


@pytest.mark.parametrize(
    ("by", "value", "field", "reason"),
    [
        ("phone", "1390000", "value", "format"),
        ("phone", "  ", "value", "required"),
        ("id_number", A[1][:-1] + ("1" if A[1][-1] != "1" else "2"), "value", "check_digit"),
        ("plate", "W7Q301", "value", "plate_format"),
        ("name", " ", "value", "required"),
        ("email", "x@example.invalid", "by", "unknown_key"),
    ],
    ids=[
        "short-phone",
        "blank-phone",
        "id-check-digit",
        "plate-without-province",
        "blank-name",
        "unknown-key",
    ],
)
def test_a_value_that_cannot_be_searched_is_refused_naming_the_field(
    roster: Roster, by: str, value: str, field: str, reason: str
) -> None:
    response = search(roster, by, value)
    assert response.status_code == 422, response.text
    [problem] = response.json()["error"]["fields"]
    assert (problem["field"], problem["reason"]) == (field, reason)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["message"]), "the reason is given in Chinese"
    if value.strip():
        assert value not in response.text, "the refused value is not echoed"


@pytest.mark.parametrize("role", ["driver", "branch_secretary"])
def test_only_staff_who_read_the_roster_may_search(roster: Roster, role: str) -> None:
    assert search(roster, "phone", A[2], role).status_code == 403
    assert search(roster, "phone", A[2], "operator").status_code == 200


async def test_every_search_is_audited_once_without_the_searched_value(
    roster: Roster, driver_ids: dict[tuple[str, str, str], str], db: Any
) -> None:
    before = await db.audit_log.count_documents({"action": "search_driver"})
    typed = f"{B[2][:3]} {B[2][3:7]} {B[2][7:]}"
    assert found(roster, "phone", typed) == {driver_ids[B]}
    assert found(roster, "id_number", C[1]) == {driver_ids[C]}
    assert found(roster, "name", "无此人") == set()
    records = [r async for r in db.audit_log.find({"action": "search_driver"}, sort=[("at", 1), ("_id", 1)])]
    assert len(records) == before + 3
    phone_search = records[before]
    assert {k: phone_search[k] for k in ("by", "subject", "role", "count")} == {
        "by": "phone",
        "subject": "work_group_staff-1",
        "role": "work_group_staff",
        "count": 1,
    }
    assert phone_search["at"]
    assert [(r["by"], r["count"]) for r in records[before + 1 :]] == [("id_number", 1), ("name", 0)]
    text = json.dumps(records, default=str, ensure_ascii=False)
    assert B[2] not in text
    assert typed not in text
    assert C[1] not in text
    assert "无此人" not in text


async def test_the_search_keys_are_indexed(roster: Roster, db: Any) -> None:
    wanted = {"identity.phone_index", "identity.id_number_index", "identity.name_index", "plate"}

    async def all_indexed() -> bool:
        indexes = (await db.drivers.index_information()).values()
        return wanted <= {field for index in indexes for field, _ in index["key"]}

    await eventually(all_indexed, message="indexes on the search keys (created at start-up)")


async def test_a_driver_imported_before_names_were_indexed_is_found_by_name_after_a_reimport(
    roster: Roster, driver_ids: dict[tuple[str, str, str], str], db: Any
) -> None:
    await db.drivers.update_one({"_id": driver_ids[B]}, {"$unset": {"identity.name_index": ""}})
    assert found(roster, "name", B[0]) == set(), "an unindexed name is not found"
    assert found(roster, "phone", B[2]) == {driver_ids[B]}, "his phone still is"
    assert upload(roster, "again.csv", driver_list((B,)))["updated"] == 1
    assert found(roster, "name", B[0]) == {driver_ids[B]}


def test_the_csv_template_has_the_headings_the_import_reads_and_comes_back_as_an_import(
    roster: Roster,
) -> None:
    response = roster.call("GET", "/v1/driver-imports/template", params={"format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert f"filename*=UTF-8''{quote('司机摸底名单模板.csv')}" in response.headers["content-disposition"]
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith("\ufeff".encode()), "a BOM, so Excel reads the Chinese headings"
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines == ["姓名,身份证号,手机号,户籍,工作或居住地,车牌号,所在企业或平台"], "headings only"
    two = synthetic_people("模板司机", 2, 1986)
    filled = "\r\n".join([lines[0], *(f"{n},{i},{p},四川省美姑县,美姑县城,,美姑货运公司" for n, i, p in two)])
    batch = upload(roster, "filled.csv", ("\ufeff" + filled).encode())
    assert (batch["status"], batch["registered"], batch["problems"]) == ("completed", 2, [])


def test_the_xlsx_template_keeps_id_numbers_as_text_and_comes_back_as_an_import(roster: Roster) -> None:
    response = roster.call("GET", "/v1/driver-imports/template", params={"format": "xlsx"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert f"filename*=UTF-8''{quote('司机摸底名单模板.xlsx')}" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert rows == [["姓名", "身份证号", "手机号", "户籍", "工作或居住地", "车牌号", "所在企业或平台"]]
    assert sheet.column_dimensions["B"].number_format == "@", "Excel keeps all 18 digits of an ID number"
    for name, id_number, phone in synthetic_people("模板表格", 2, 1986):
        sheet.append([name, id_number, phone, "四川省美姑县", "", "川W8K201", ""])
    filled = io.BytesIO()
    book.save(filled)
    batch = upload(roster, "filled.xlsx", filled.getvalue())
    assert (batch["status"], batch["registered"], batch["problems"]) == ("completed", 2, [])


def test_templates_are_for_the_staff_who_import(roster: Roster) -> None:
    assert roster.call("GET", "/v1/driver-imports/template", "driver").status_code == 403
    assert roster.call("GET", "/v1/driver-imports/template", params={"format": "pdf"}).status_code == 422


async def test_the_register_lists_every_active_driver_masked_with_the_member_status_and_is_audited(
    roster: Roster, driver_ids: dict[tuple[str, str, str], str], db: Any
) -> None:
    assert roster.cross_check([A, C])["candidates_found"] == 2
    for role in ("operator", "driver"):
        assert roster.call("GET", "/v1/drivers/register.xlsx", role).status_code == 403
    response = roster.call("GET", "/v1/drivers/register.xlsx", "org_department")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert f"filename*=UTF-8''{quote('司机登记册.xlsx')}" in response.headers["content-disposition"]

    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    active = await db.drivers.count_documents({"status": "active"})
    assert len(rows) == 1 + active
    heading = rows[0]
    assert heading[:5] == ["司机编号", "所在县", "姓名", "身份证号", "手机号"]
    by_id = {row[0]: dict(zip(heading, row, strict=True)) for row in rows[1:]}
    assert driver_ids[GONE] not in by_id, "an erased driver is not on the register"
    a = by_id[driver_ids[A]]
    assert (a["身份证号"], a["手机号"]) == (A[1][:4] + "*" * 10 + A[1][-4:], A[2][:3] + "****" + A[2][-4:])
    assert a["车牌号"] == PLATES[A]
    assert "美姑货运公司" in a["名单来源"]
    assert a["党员核实状态"] == "待核实"
    assert by_id[driver_ids[C]]["党员核实状态"] == "待核实"
    assert by_id[driver_ids[D]]["党员核实状态"] in ("", None), "no case, no status"
    cells = [str(v) for row in rows for v in row if v is not None]
    for name, id_number, phone in PEOPLE:
        assert not any(name in v or id_number in v or phone in v for v in cells)
    employer = next(
        c
        for row in sheet.iter_rows(min_row=2)
        if row[0].value == driver_ids[B]
        for c in row
        if c.value == FORMULA
    )
    assert employer.data_type == "s", "an imported '=...' is text in the register, never a formula"

    [record] = [r async for r in db.audit_log.find({"action": "export_register"})]
    assert (record["subject"], record["role"], record["count"]) == (
        "org_department-1",
        "org_department",
        active,
    )
