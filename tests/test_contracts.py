"""Committed event snapshots and AsyncAPI documents match the code; `check` catches a break."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from roadbranch_shared.asyncapi_docs import discover
from roadbranch_shared.contract_snapshots import compare, current_schemas, load_snapshots

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = ROOT / "contracts" / "events"


def run_module(
    module: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_committed_snapshots_have_no_breaking_change() -> None:
    result = compare(load_snapshots(SNAPSHOTS), current_schemas())
    assert result.breaking == [], "breaking changes:\n" + "\n".join(result.breaking)


def test_every_event_type_has_a_current_snapshot() -> None:
    result = compare(load_snapshots(SNAPSHOTS), current_schemas())
    assert result.stale == [], "run `make contracts`:\n" + "\n".join(result.stale)


def test_committed_asyncapi_documents_equal_fresh_ones_wherever_kafka_is() -> None:
    services = discover(ROOT)
    assert {s.name for s in services} >= {"roster", "activities", "welfare", "notify"}
    # The documented host must not depend on the environment the check runs in.
    env = dict(os.environ)
    for service in services:
        env[f"ROADBRANCH_{service.package.upper()}_KAFKA_BOOTSTRAP"] = "elsewhere.example:19092"

    checked = run_module("roadbranch_shared.asyncapi_docs", "check", env=env)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    for service in services:
        document = json.loads(service.document.read_text(encoding="utf-8"))
        assert {s["host"] for s in document["servers"].values()} == {"kafka:9092"}


def test_committed_openapi_documents_equal_fresh_ones() -> None:
    """The web client's types are generated from these files: a stale one would type the old API."""
    checked = run_module("roadbranch_shared.openapi_docs", "check", env=dict(os.environ))

    assert checked.returncode == 0, checked.stdout + checked.stderr
    for service in discover(ROOT):
        document = json.loads((ROOT / "web/api/openapi" / f"{service.name}.json").read_text(encoding="utf-8"))
        assert document["openapi"].startswith("3."), service.name
        assert document["paths"], service.name


def test_check_reports_a_field_removed_from_a_committed_event(tmp_path: Path) -> None:
    snapshots = tmp_path / "events"
    shutil.copytree(SNAPSHOTS, snapshots)
    event = "roadbranch.roster.member.verified.v1"
    path = snapshots / f"{event}.json"
    committed = json.loads(path.read_text(encoding="utf-8"))
    # As if the committed contract had a field the current model no longer has.
    committed["schema"]["properties"]["legacy_code"] = {"title": "Legacy Code", "type": "string"}
    committed["schema"]["required"].append("legacy_code")
    path.write_text(json.dumps(committed, indent=2), encoding="utf-8")

    checked = run_module("roadbranch_shared.contract_snapshots", "check", "--dir", str(snapshots))

    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"{event}: field 'legacy_code' was removed" in checked.stderr
