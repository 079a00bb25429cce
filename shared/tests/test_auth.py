"""Bearer tokens and roles, seen through a small app the way a service uses them."""

import json
import os
import time
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from pydantic import ValidationError
from roadbranch_shared.auth import (
    CurrentPrincipal,
    Principal,
    Role,
    TokenFile,
    TokenTable,
    require_roles,
    token_digest,
)
from roadbranch_shared.errors import install_error_handlers

STAFF_TOKEN = "staff-token-0123456789abcdef"
DRIVER_TOKEN = "driver-token-0123456789abcdef"
SECRETARY_TOKEN = "secretary-token-0123456789"

TABLE_JSON = json.dumps(
    {
        STAFF_TOKEN: {"subject": "u-staff-1", "role": "work_group_staff"},
        DRIVER_TOKEN: {"subject": "u-driver-9", "role": "driver", "driver_id": "d-9"},
        token_digest(SECRETARY_TOKEN): {
            "subject": "u-sec-2",
            "role": "branch_secretary",
            "org_scope": "org-mobile-branch",
        },
    }
)


def make_app(table: TokenTable | None) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    if table is not None:
        app.state.token_table = table

    @app.get("/me")
    def me(principal: CurrentPrincipal) -> Principal:
        return principal

    @app.get("/ledger")
    def ledger(
        principal: Annotated[Principal, Depends(require_roles(Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT))],
    ) -> dict[str, str]:
        return {"read_by": principal.subject}

    @app.post("/ledger/export", dependencies=[Depends(require_roles(Role.ORG_DEPARTMENT))])
    def export() -> dict[str, bool]:
        return {"exported": True}

    return app


async def call(
    app: FastAPI, path: str, token: str | None = None, scheme: str = "Bearer", method: str = "GET"
) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    # App exceptions become responses, as under a real server.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, headers=headers)


@pytest.fixture
def app() -> FastAPI:
    return make_app(TokenTable.from_json(TABLE_JSON))


async def test_missing_token_is_401_with_bearer_challenge(app: FastAPI) -> None:
    response = await call(app, "/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "unauthenticated"
    assert error["field"] == "Authorization"
    assert "缺少访问令牌" in error["message"]


async def test_unknown_token_is_401(app: FastAPI) -> None:
    response = await call(app, "/me", "not-a-real-token-0123456789")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "error": {
            "code": "unauthenticated",
            "message": "访问令牌无效或已停用，请联系管理员。",
            "field": "Authorization",
            "reason": "token_invalid",
        }
    }


async def test_other_scheme_is_401(app: FastAPI) -> None:
    response = await call(app, "/me", STAFF_TOKEN, scheme="Basic")
    assert response.status_code == 401


async def test_valid_token_gives_the_principal(app: FastAPI) -> None:
    response = await call(app, "/me", DRIVER_TOKEN)
    assert response.status_code == 200
    assert response.json() == {
        "subject": "u-driver-9",
        "role": "driver",
        "org_scope": None,
        "driver_id": "d-9",
    }


async def test_token_configured_by_digest_works(app: FastAPI) -> None:
    response = await call(app, "/me", SECRETARY_TOKEN)
    assert response.json()["org_scope"] == "org-mobile-branch"


async def test_scheme_is_case_insensitive(app: FastAPI) -> None:
    assert (await call(app, "/me", STAFF_TOKEN, scheme="bearer")).status_code == 200


async def test_allowed_role_passes(app: FastAPI) -> None:
    response = await call(app, "/ledger", STAFF_TOKEN)
    assert response.status_code == 200
    assert response.json() == {"read_by": "u-staff-1"}


async def test_other_role_is_403_naming_the_roles_needed(app: FastAPI) -> None:
    response = await call(app, "/ledger", DRIVER_TOKEN)
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "forbidden",
            "message": "此操作需要以下角色之一：试点工作专班、县委组织部。",
            "required_roles": ["work_group_staff", "org_department"],
        }
    }


async def test_role_check_as_a_route_dependency(app: FastAPI) -> None:
    assert (await call(app, "/ledger/export", STAFF_TOKEN, method="POST")).status_code == 403
    assert (await call(app, "/ledger/export", method="POST")).status_code == 401


async def test_role_check_still_needs_a_token(app: FastAPI) -> None:
    assert (await call(app, "/ledger")).status_code == 401


async def test_app_without_token_table_fails_closed() -> None:
    response = await call(make_app(None), "/me", STAFF_TOKEN)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"


def test_table_keeps_no_plain_tokens() -> None:
    table = TokenTable.from_json(TABLE_JSON)
    assert len(table) == 3
    assert STAFF_TOKEN not in repr(vars(table))
    assert table.authenticate(STAFF_TOKEN) == Principal(subject="u-staff-1", role=Role.WORK_GROUP_STAFF)
    assert table.authenticate(STAFF_TOKEN + "x") is None


def test_table_from_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(TABLE_JSON, encoding="utf-8")
    assert TokenTable.from_file(path).authenticate(DRIVER_TOKEN) is not None


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        (
            '{"short": {"subject": "u", "role": "driver", "driver_id": "d"}}',
            "entry 1: token shorter than 16",
        ),
        (json.dumps({STAFF_TOKEN: {"subject": "u", "role": "admin"}}), "entry 1: role"),
        (
            json.dumps({STAFF_TOKEN: {"subject": "u", "role": "driver"}}),
            "driver principal needs driver_id",
        ),
        (json.dumps({STAFF_TOKEN: {"subject": "", "role": "operator"}}), "entry 1: subject"),
        (
            json.dumps({STAFF_TOKEN: {"subject": "u", "role": "operator", "name": "张三"}}),
            "entry 1: name",
        ),
        (json.dumps({"sha256:abc": {"subject": "u", "role": "operator"}}), "entry 1: digest"),
        (
            f'{{"{STAFF_TOKEN}": {{"subject": "a", "role": "operator"}}, '
            f'"{STAFF_TOKEN}": {{"subject": "b", "role": "operator"}}}}',
            "entry 2 repeats",
        ),
        (
            json.dumps(
                {
                    STAFF_TOKEN: {"subject": "a", "role": "operator"},
                    token_digest(STAFF_TOKEN): {"subject": "b", "role": "operator"},
                }
            ),
            "entry 2 repeats",
        ),
    ],
)
def test_bad_token_config_is_explained_without_the_token(config: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as raised:
        TokenTable.from_json(config)
    assert STAFF_TOKEN not in str(raised.value)


def test_principal_is_frozen() -> None:
    principal = Principal(subject="u-1", role=Role.OPERATOR)
    with pytest.raises(ValidationError):
        principal.role = Role.ORG_DEPARTMENT


def test_every_role_has_a_chinese_label() -> None:
    assert len({role.label for role in Role}) == len(Role)
    assert Role.OPERATOR.label == "运维人员（只读）"


def test_require_roles_needs_a_role() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        require_roles()


def test_a_token_file_is_read_again_when_it_changes_and_a_broken_edit_keeps_the_old_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TokenFile, "RECHECK_SECONDS", 0.0)
    path = tmp_path / "tokens.json"
    staff, driver = "s" * 20, "d" * 20
    path.write_text(json.dumps({staff: {"subject": "staff-1", "role": "work_group_staff"}}))
    table = TokenFile(path)
    assert table.authenticate(driver) is None

    path.write_text(
        json.dumps(
            {
                staff: {"subject": "staff-1", "role": "work_group_staff"},
                driver: {"subject": "driver-1", "role": "driver", "driver_id": "drv_1"},
            }
        )
    )
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    principal = table.authenticate(driver)
    assert principal is not None
    assert principal.driver_id == "drv_1"

    path.write_text("{ half saved")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 2_000_000))
    assert table.authenticate(driver) is not None, "a broken edit keeps the previous table"
