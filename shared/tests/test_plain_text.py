"""Control characters refused at every service's door, through a real ASGI app (no servers)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from roadbranch_shared.errors import install_error_handlers
from roadbranch_shared.plain_text import RefuseControlCharacters


class Venue(BaseModel):
    name: str
    notes: str = ""
    tags: list[str] = []


def app() -> FastAPI:
    api = FastAPI()
    install_error_handlers(api)
    api.add_middleware(RefuseControlCharacters)

    @api.post("/venues")
    async def create(venue: Venue, q: str = "") -> dict[str, str]:
        return {"name": venue.name, "notes": venue.notes, "q": q}

    return api


async def call(
    json: object | None = None, *, params: dict[str, str] | None = None, content: bytes | None = None
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        if content is not None:
            return await client.post("/venues", content=content, headers={"content-type": "application/json"})
        return await client.post("/venues", json=json, params=params)


def fields(response: httpx.Response) -> list[tuple[str, str]]:
    return [(f["field"], f["reason"]) for f in response.json()["error"]["fields"]]


async def test_a_control_character_in_a_name_a_list_or_the_query_is_refused_naming_the_field() -> None:
    bell = await call({"name": "阿地惹口\x07", "tags": ["ok", "坏\x1b[31m"]})
    assert bell.status_code == 422
    assert fields(bell) == [("body.name", "control_characters"), ("body.tags.1", "control_characters")]
    assert "控制字符" in bell.json()["error"]["fields"][0]["message"]
    c1 = await call({"name": "拉者\u0085惹哈"})
    assert fields(c1) == [("body.name", "control_characters")]
    query = await call({"name": "站"}, params={"q": "a\x00b"})
    assert fields(query) == [("query.q", "control_characters")]


async def test_line_breaks_are_text_in_notes_but_not_in_a_name() -> None:
    notes = await call({"name": "美姑驿站", "notes": "第一行\n第二行\t备注"})
    assert notes.status_code == 200
    assert notes.json()["notes"] == "第一行\n第二行\t备注", "the body reaches the route unchanged"
    broken = await call({"name": "美姑\n驿站"})
    assert fields(broken) == [("body.name", "control_characters")]


async def test_a_body_that_is_no_json_is_refused_in_chinese_naming_the_body() -> None:
    bad = await call(content=b"{not json")
    assert bad.status_code == 422
    assert fields(bad) == [("body", "json_invalid")]
    assert "JSON" in bad.json()["error"]["fields"][0]["message"]
