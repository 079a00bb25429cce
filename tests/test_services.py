"""Every service process on the real stack: health, metrics, and the API's authentication and roles."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.process import free_port
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.pii import generate_key

pytestmark = pytest.mark.integration

SERVICES = ("roster", "activities", "welfare", "notify", "identity")
TOKENS = {role: secrets.token_urlsafe(24) for role in ("operator", "driver", "work_group_staff")}


def token_table() -> str:
    return json.dumps(
        {
            TOKENS["operator"]: {"subject": "ops-1", "role": "operator"},
            TOKENS["driver"]: {"subject": "drv-1", "role": "driver", "driver_id": "drv-1"},
            TOKENS["work_group_staff"]: {
                "subject": "staff-1",
                "role": "work_group_staff",
                "org_scope": "county",
            },
        }
    )


def service_env(stack_info: StackInfo, name: str, **overrides: str) -> dict[str, str]:
    prefix = f"ROADBRANCH_{name.upper()}_"
    return {
        **stack_info.service_env(name),
        f"{prefix}TOKENS": token_table(),
        "ROADBRANCH_PII_BLIND_INDEX_KEY": generate_key(),
        "ROADBRANCH_PII_ENCRYPTION_KEY": generate_key(),
        **{prefix + k: v for k, v in overrides.items()},
    }


@pytest.fixture(scope="module")
def services(
    stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ServiceProcess]]:
    logs = tmp_path_factory.mktemp("services")
    running: dict[str, ServiceProcess] = {}
    try:
        for name in SERVICES:
            proc = ServiceProcess(
                f"{name}.main:create_app", env=service_env(stack_info, name), log=logs / f"{name}.log"
            )
            running[name] = proc.spawn()
        for proc in running.values():  # spawned together, then awaited: their starts overlap
            proc.wait_ready()
        yield running
    finally:
        for proc in running.values():
            proc.stop()


def get(proc: ServiceProcess, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(proc.url + path, headers=headers, timeout=5)


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_live_and_ready_with_kafka_and_database(
    services: dict[str, ServiceProcess], name: str
) -> None:
    assert get(services[name], "/health/live").json() == {"status": "ok", "service": name}
    ready = get(services[name], "/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "kafka": True}


@pytest.mark.parametrize("name", SERVICES)
def test_service_exports_backbone_metrics(services: dict[str, ServiceProcess], name: str) -> None:
    text = get(services[name], "/metrics").text
    for metric in (
        "roadbranch_outbox_pending_events",
        "roadbranch_outbox_oldest_pending_age_seconds",
        "roadbranch_dead_letters_total",
    ):
        assert f"# TYPE {metric.removesuffix('_total')}" in text, f"{name} does not export {metric}"


@pytest.mark.parametrize("name", SERVICES)
def test_api_without_a_token_is_401_with_a_clear_json_error(
    services: dict[str, ServiceProcess], name: str
) -> None:
    response = get(services[name], "/v1/whoami")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "unauthenticated"
    assert error["field"] == "Authorization"
    assert error["message"]


def test_unknown_token_is_401(services: dict[str, ServiceProcess]) -> None:
    response = get(services["roster"], "/v1/whoami", token=secrets.token_urlsafe(24))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_token_maps_to_its_principal(services: dict[str, ServiceProcess]) -> None:
    me = get(services["welfare"], "/v1/whoami", token=TOKENS["work_group_staff"]).json()
    assert me == {"subject": "staff-1", "role": "work_group_staff", "org_scope": "county", "driver_id": None}


@pytest.mark.parametrize("name", SERVICES)
def test_wrong_role_is_403_naming_the_roles_allowed(services: dict[str, ServiceProcess], name: str) -> None:
    response = get(services[name], "/v1/ops/outbox", token=TOKENS["driver"])
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert set(error["required_roles"]) == {"operator", "work_group_staff"}


def test_operator_sees_the_outbox_backlog(services: dict[str, ServiceProcess]) -> None:
    response = get(services["roster"], "/v1/ops/outbox", token=TOKENS["operator"])
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert body["service"] == "roster"
    assert set(body["pending"]) == {"drivers", "members", "organisations", "pairings"}


def test_ready_is_503_when_the_database_is_unreachable(stack_info: StackInfo, tmp_path: Any) -> None:
    nowhere = f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=500"
    proc = ServiceProcess(
        "roster.main:create_app",
        env=service_env(stack_info, "roster", MONGO_URI=nowhere),
        log=tmp_path / "roster.log",
    )
    proc.start(wait_for="/health/live")
    try:
        ready = get(proc, "/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": False, "kafka": True}
    finally:
        proc.stop()


def test_a_wrong_method_lists_every_method_of_the_path(services: dict[str, ServiceProcess]) -> None:
    """FastAPI makes one route per method; the 405's Allow names them all, not the first only."""
    response = httpx.delete(
        services["welfare"].url + "/v1/stations",
        headers={"Authorization": f"Bearer {TOKENS['work_group_staff']}"},
        timeout=5,
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_a_query_value_outside_its_enum_is_refused_naming_it(services: dict[str, ServiceProcess]) -> None:
    response = get(services["roster"], "/v1/members?status=nonsense", token=TOKENS["work_group_staff"])
    assert response.status_code == 422
    [error] = response.json()["error"]["fields"]
    assert error["field"] == "query.status"
