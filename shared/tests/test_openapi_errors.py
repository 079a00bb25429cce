"""Each operation's OpenAPI lists the error answers it can give, in the shared error body."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, File, UploadFile
from pydantic import BaseModel
from roadbranch_shared.openapi_errors import declare_error_responses


class Station(BaseModel):
    name: str


def app() -> FastAPI:
    api = FastAPI()

    @api.get("/health/live")
    async def live() -> dict[str, str]:
        return {}

    @api.get("/v1/stations/{station_id}")
    async def station(station_id: str) -> dict[str, str]:
        return {}

    @api.post("/v1/stations")
    async def open_station(body: Station) -> dict[str, str]:
        return {}

    @api.post("/v1/imports")
    async def upload(file: Annotated[UploadFile, File()]) -> dict[str, str]:
        return {}

    declare_error_responses(api)
    return api


def statuses(schema: dict, path: str, method: str) -> list[str]:
    return sorted(s for s in schema["paths"][path][method]["responses"] if s != "200")


def test_errors_follow_from_the_route() -> None:
    schema = app().openapi()
    assert statuses(schema, "/health/live", "get") == ["422"]
    assert statuses(schema, "/v1/stations/{station_id}", "get") == ["401", "403", "404", "422"]
    # A write with a body may name an object that is not there (a driver, a venue): 404 too.
    assert statuses(schema, "/v1/stations", "post") == ["400", "401", "403", "404", "409", "422"]
    assert statuses(schema, "/v1/imports", "post") == ["400", "401", "403", "404", "409", "422"]


def test_every_error_is_the_shared_body_and_fastapis_own_422_model_is_gone() -> None:
    schema = app().openapi()
    answer = schema["paths"]["/v1/stations"]["post"]["responses"]["422"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    assert "HTTPValidationError" not in str(schema)


def test_free_text_declares_the_characters_the_services_refuse() -> None:
    schema = app().openapi()
    name = schema["components"]["schemas"]["Station"]["properties"]["name"]
    assert "\\u0000-\\u001f" in name["pattern"], "a name holds no line break or control character"
    station_id = next(p for p in schema["paths"]["/v1/stations/{station_id}"]["get"]["parameters"])
    assert "\\u000b" in station_id["schema"]["pattern"]
