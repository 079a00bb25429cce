"""Every HTTP error a client sees has the same shape: {"error": {"code", "message", ...}}."""

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Body, FastAPI, HTTPException
from pydantic import BaseModel, Field, field_validator
from roadbranch_shared.errors import ApiError, FieldError, install_error_handlers


class DriverIn(BaseModel):
    name: str = Field(min_length=2, max_length=20)
    id_number: str
    vehicles: int = Field(default=1, ge=0)

    @field_validator("id_number")
    @classmethod
    def _check_digit(cls, value: str) -> str:
        if not value.endswith("0"):
            raise ValueError(f"身份证号码 {value} 校验位不符")
        return value


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/drivers")
    def create_driver(driver: DriverIn) -> dict[str, str]:
        return {"name": driver.name}

    drivers = APIRouter(prefix="/drivers")  # an included router, as the services have them

    @drivers.get("")
    def list_drivers() -> list[str]:
        return []

    app.include_router(drivers)

    @app.get("/meetings/{meeting_id}")
    def get_meeting(meeting_id: int) -> dict[str, int]:
        if meeting_id == 404:
            raise HTTPException(404, "会议不存在。")
        if meeting_id == 409:
            raise ApiError(409, "already_closed", "会议已结束，不能再签到。", field="meeting_id")
        return {"id": meeting_id}

    @app.post("/imports")
    def import_rows(rows: Annotated[list[str], Body()]) -> None:
        raise ApiError.invalid(
            [FieldError(f"rows.{i}", "check_digit", "身份证号码校验位不符。") for i in (2, 5)]
        )

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("bug with 13812345678")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # The app's exceptions become responses, as under a real server.
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_api_error_is_rendered_with_its_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/meetings/409")
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "already_closed",
            "message": "会议已结束，不能再签到。",
            "field": "meeting_id",
        }
    }


async def test_request_validation_lists_every_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/drivers", json={"name": "张", "vehicles": -1})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "提交的数据有误，请按字段提示修改。"
    assert error["fields"] == [
        {"field": "body.name", "reason": "string_too_short", "message": "至少 2 个字符。"},
        {"field": "body.id_number", "reason": "required", "message": "必填。"},
        {"field": "body.vehicles", "reason": "greater_than_equal", "message": "应不小于 0。"},
    ]


async def test_validator_message_is_shown_without_echoing_the_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/drivers", json={"name": "张三", "id_number": "513436199001011234"})
    assert response.status_code == 422
    (field,) = response.json()["error"]["fields"]
    assert field["field"] == "body.id_number"
    assert field["reason"] == "value_error"
    assert field["message"] == "身份证号码 [REDACTED:id_number] 校验位不符"
    assert "513436199001011234" not in response.text


async def test_path_parameter_of_wrong_type(client: httpx.AsyncClient) -> None:
    response = await client.get("/meetings/abc")
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"field": "path.meeting_id", "reason": "int_parsing", "message": "应为整数。"}
    ]


async def test_body_that_is_not_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/drivers", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    (field,) = response.json()["error"]["fields"]
    assert field["reason"] == "json_invalid"
    assert field["message"] == "请求内容不是有效的 JSON。"


async def test_invalid_built_by_a_service_has_the_same_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/imports", json=["a", "b"])
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"field": "rows.2", "reason": "check_digit", "message": "身份证号码校验位不符。"},
        {"field": "rows.5", "reason": "check_digit", "message": "身份证号码校验位不符。"},
    ]


async def test_unknown_route_is_not_found_in_chinese(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "找不到请求的内容。"}}


async def test_http_exception_keeps_its_own_detail(client: httpx.AsyncClient) -> None:
    response = await client.get("/meetings/404")
    assert response.json() == {"error": {"code": "not_found", "message": "会议不存在。"}}


async def test_wrong_method(client: httpx.AsyncClient) -> None:
    response = await client.delete("/drivers")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["allow"] == "GET, POST"  # both routes of the path, not the first only


async def test_crash_reveals_nothing_internal(client: httpx.AsyncClient) -> None:
    response = await client.get("/crash")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal", "message": "服务器内部错误，请稍后重试。"}}


def test_api_error_headers_and_details() -> None:
    error = ApiError(
        429, "too_many", "请稍后再试。", details={"retry_after": 5}, headers={"Retry-After": "5"}
    )
    response = error.response()
    assert response.status_code == 429
    assert response.headers["retry-after"] == "5"
    assert error.body() == {"error": {"code": "too_many", "message": "请稍后再试。", "retry_after": 5}}
    assert str(error) == "请稍后再试。"


async def test_a_body_that_cannot_be_parsed_is_refused_in_chinese_naming_the_body() -> None:
    """FastAPI's own 400 ("There was an error parsing the body") for a broken upload."""
    from fastapi import File, UploadFile

    api = FastAPI()
    install_error_handlers(api)

    @api.post("/upload")
    async def upload(file: Annotated[UploadFile, File()]) -> dict[str, str]:
        return {"name": file.filename or ""}

    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        broken = await client.post(
            "/upload", content=b"abc", headers={"content-type": "multipart/form-data; boundary="}
        )
    assert broken.status_code == 400
    error = broken.json()["error"]
    assert (error["code"], error["field"]) == ("invalid", "body")
    assert "无法解析" in error["message"]
