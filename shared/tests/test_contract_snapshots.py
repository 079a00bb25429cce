"""breaking_changes on hand-made payload models: each breaking edit is caught, naming the field."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field
from roadbranch_shared.contract_snapshots import (
    breaking_changes,
    compare,
    current_schemas,
    main,
    snapshot,
)

TYPE = "roadbranch.roster.member.verified.v1"
TOPIC = "roster.member.v1"


def diff(old: type[BaseModel], new: type[BaseModel], *, new_topic: str = TOPIC) -> list[str]:
    return breaking_changes(snapshot(TYPE, TOPIC, old), snapshot(TYPE, new_topic, new))


class Verified(BaseModel):
    member_id: str
    method: str
    present: int
    verified_at: datetime
    branch_id: str | None = None


def test_an_unchanged_model_breaks_nothing() -> None:
    assert diff(Verified, Verified) == []


def test_removed_field() -> None:
    class Without(BaseModel):
        member_id: str
        present: int
        verified_at: datetime
        branch_id: str | None = None

    assert diff(Verified, Without) == [f"{TYPE}: field 'method' was removed"]


def test_renamed_field_is_a_removal_plus_a_new_required_field() -> None:
    class Renamed(BaseModel):
        member_id: str
        verification_method: str
        present: int
        verified_at: datetime
        branch_id: str | None = None

    problems = diff(Verified, Renamed)
    assert problems == [
        f"{TYPE}: field 'method' was removed (renamed to 'verification_method'?)",
        f"{TYPE}: field 'verification_method' was added as required: events already in the log lack it",
    ]


def test_retyped_str_to_int() -> None:
    class Retyped(BaseModel):
        member_id: str
        method: int
        present: int
        verified_at: datetime
        branch_id: str | None = None

    assert diff(Verified, Retyped) == [f"{TYPE}: field 'method' changed type from string to integer"]


def test_retyped_inside_an_optional_and_a_changed_format() -> None:
    class Retyped(BaseModel):
        member_id: str
        method: str
        present: int
        verified_at: date
        branch_id: int | None = None

    assert diff(Verified, Retyped) == [
        f"{TYPE}: field 'verified_at' changed type from string(date-time) to string(date)",
        f"{TYPE}: field 'branch_id' changed type from null | string to integer | null",
    ]


def test_optional_field_that_became_required() -> None:
    class Required(BaseModel):
        member_id: str
        method: str
        present: int
        verified_at: datetime
        branch_id: str | None

    assert diff(Verified, Required) == [
        f"{TYPE}: field 'branch_id' became required: events already in the log may lack it"
    ]


def test_new_required_field() -> None:
    class Grown(Verified):
        county: str

    assert diff(Verified, Grown) == [
        f"{TYPE}: field 'county' was added as required: events already in the log lack it"
    ]


def test_new_optional_field_is_fine_but_makes_the_snapshot_stale() -> None:
    class Grown(Verified):
        county: str | None = None

    assert diff(Verified, Grown) == []
    result = compare({TYPE: snapshot(TYPE, TOPIC, Verified)}, {TYPE: snapshot(TYPE, TOPIC, Grown)})
    assert result.breaking == []
    assert result.stale == [f"{TYPE}: schema changed"]


class Truck(BaseModel):
    plate_region: str
    axles: int


class WithTruck(BaseModel):
    member_id: str
    truck: Truck | None = None
    trucks: list[Truck] = []


def test_nested_model_field_retyped() -> None:
    class Truck(BaseModel):  # same class name, as after an edit of the model
        plate_region: str
        axles: str

    class Edited(BaseModel):
        member_id: str
        truck: Truck | None = None
        trucks: list[Truck] = []

    assert diff(WithTruck, Edited) == [
        f"{TYPE}: field 'truck.axles' changed type from integer to string",
        f"{TYPE}: field 'trucks[].axles' changed type from integer to string",
    ]


def test_nested_model_renamed_class_with_the_same_shape_is_fine() -> None:
    class Lorry(BaseModel):
        plate_region: str
        axles: int

    class Edited(BaseModel):
        member_id: str
        truck: Lorry | None = None
        trucks: list[Lorry] = []

    assert diff(WithTruck, Edited) == []


def test_nested_model_replaced_by_another_type() -> None:
    class Edited(BaseModel):
        member_id: str
        truck: str | None = None
        trucks: list[Truck] = []

    assert diff(WithTruck, Edited) == [
        f"{TYPE}: field 'truck' changed type from Truck | null to null | string"
    ]


class Method(StrEnum):
    PAPERS = "papers"
    BRANCH_LETTER = "branch_letter"
    INTERVIEW = "interview"


class WithEnum(BaseModel):
    method: Method
    channel: Literal["sms", "app", "call"]


def test_enum_narrowed() -> None:
    class Method(StrEnum):
        PAPERS = "papers"
        BRANCH_LETTER = "branch_letter"

    class Narrowed(BaseModel):
        method: Method
        channel: Literal["sms", "app"]

    assert diff(WithEnum, Narrowed) == [
        f"{TYPE}: field 'method' no longer allows the values \"interview\"",
        f"{TYPE}: field 'channel' no longer allows the values \"call\"",
    ]


def test_free_string_restricted_to_constants() -> None:
    class Restricted(BaseModel):
        member_id: str
        method: Literal["papers"]
        present: int
        verified_at: datetime
        branch_id: str | None = None

    assert diff(Verified, Restricted) == [f"{TYPE}: field 'method' was restricted to the values \"papers\""]


def test_closed_enum_widened_breaks_consumers_holding_the_old_enum() -> None:
    class Widened(BaseModel):
        method: Method
        channel: Literal["sms", "app", "call", "wechat"]

    assert diff(WithEnum, Widened) == [
        f"{TYPE}: field 'channel' is a closed enum that now also allows \"wechat\""
    ]


def test_topic_moved() -> None:
    assert diff(Verified, Verified, new_topic="roster.driver.v1") == [
        f"{TYPE}: topic moved from 'roster.member.v1' to 'roster.driver.v1': "
        "consumers of the old topic stop receiving it"
    ]


def test_additional_properties_tightened() -> None:
    class Strict(Verified):
        model_config = ConfigDict(extra="forbid")

    assert diff(Verified, Strict) == [f"{TYPE}: the payload no longer allows additional properties"]


def test_constraint_tightened_and_loosened() -> None:
    class Bounded(BaseModel):
        code: str = Field(max_length=10)

    class Tighter(BaseModel):
        code: str = Field(max_length=8)

    class Looser(BaseModel):
        code: str = Field(max_length=12)

    assert diff(Bounded, Tighter) == [f"{TYPE}: field 'code' was tightened: maxLength 10 -> 8"]
    assert diff(Bounded, Looser) == []


class Org(BaseModel):
    org_id: str
    parent: Org | None = None


class WithOrg(BaseModel):
    org: Org


def test_recursive_models_are_compared_once() -> None:
    class Org(BaseModel):
        org_id: int
        parent: Org | None = None

    class Edited(BaseModel):
        org: Org

    assert diff(WithOrg, Edited) == [
        f"{TYPE}: field 'org.org_id' changed type from string to integer",
    ]


def test_a_removed_event_type_is_breaking() -> None:
    result = compare({TYPE: snapshot(TYPE, TOPIC, Verified)}, {})
    assert result.breaking == [
        f"{TYPE}: event type was removed; a type is retired only by publishing a new version alongside it"
    ]


def test_only_project_event_types_are_snapshotted() -> None:
    names = current_schemas()
    assert names
    assert all(name.startswith("roadbranch.") for name in names)


def test_write_refuses_a_breaking_change_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["write", "--dir", str(tmp_path)]) == 0
    assert main(["check", "--dir", str(tmp_path)]) == 0
    path = tmp_path / f"{TYPE}.json"
    committed = json.loads(path.read_text(encoding="utf-8"))
    committed["schema"]["properties"]["legacy_code"] = {"type": "string"}
    edited = json.dumps(committed)
    path.write_text(edited, encoding="utf-8")
    capsys.readouterr()

    assert main(["write", "--dir", str(tmp_path)]) == 1
    assert f"{TYPE}: field 'legacy_code' was removed" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == edited

    assert main(["write", "--dir", str(tmp_path), "--allow-breaking"]) == 0
    assert "legacy_code" not in path.read_text(encoding="utf-8")
    assert main(["check", "--dir", str(tmp_path)]) == 0


def test_check_asks_for_a_refresh_when_only_additions_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["write", "--dir", str(tmp_path)]) == 0
    (tmp_path / f"{TYPE}.json").unlink()
    capsys.readouterr()

    assert main(["check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "snapshot out of date (non-breaking additions): run `make contracts`" in err
    assert f"{TYPE}: no snapshot yet" in err
