"""A driver's app replays what it queued without signal: with one `Idempotency-Key` a real welfare
process files one need and keeps one rating, however often (and however concurrently) the request
comes, and after a crash between the filing and the stored answer."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack import StackInfo
from welfare_support import Welfare

pytestmark = pytest.mark.integration

DRIVER = "drv_idem_a"
AS_DRIVER = f"driver:{DRIVER}"
NEED = {"category": "medical", "description": "想去县医院看病", "location": {"text": "G5 K30"}}


@pytest.fixture(scope="module")
def welfare(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Welfare]:
    running = Welfare(stack_info, tmp_path_factory.mktemp("welfare-idem"), drivers=(DRIVER,)).start()
    yield running
    running.stop()


@pytest.fixture
async def keys(stack_info: StackInfo, welfare: Welfare) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
    yield client[welfare.database].idempotency_keys
    await client.close()


def file(welfare: Welfare, key: str, body: dict[str, Any] = NEED) -> Any:
    return welfare.call("POST", "/v1/needs", AS_DRIVER, json=body, headers={"Idempotency-Key": key})


def my_needs(welfare: Welfare, description: str) -> list[dict[str, Any]]:
    needs = welfare.ok("GET", "/v1/needs", AS_DRIVER, params={"limit": 500})["needs"]
    return [n for n in needs if n["description"] == description]


def test_a_replayed_need_is_filed_once_and_answered_the_same(welfare: Welfare) -> None:
    key = str(uuid.uuid4())
    body = {**NEED, "description": "重放一次的诉求"}
    first, second = file(welfare, key, body), file(welfare, key, body)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert [n["need_id"] for n in my_needs(welfare, "重放一次的诉求")] == [first.json()["need_id"]]

    # The same key with other words: refused naming the header, nothing filed.
    other = file(welfare, key, {**body, "description": "另一件事"})
    assert other.status_code == 422
    assert other.json()["error"]["field"] == "Idempotency-Key"
    assert other.json()["error"]["reason"] == "idempotency_key_reused"
    assert "Idempotency-Key" in other.json()["error"]["message"]
    assert my_needs(welfare, "另一件事") == []

    # The same JSON spelt differently is the same request; a bad key is refused naming the header.
    respelt = welfare.call(
        "POST",
        "/v1/needs",
        AS_DRIVER,
        content=json_respelt(body),
        headers={"Idempotency-Key": f'"{key}"', "Content-Type": "application/json"},
    )
    assert (respelt.status_code, respelt.json()) == (201, first.json())
    bad = file(welfare, "short", body)
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "Idempotency-Key")


def json_respelt(body: dict[str, Any]) -> bytes:
    return json.dumps(dict(reversed(list(body.items()))), indent=2, ensure_ascii=False).encode()


def test_racing_requests_with_one_key_file_one_need(welfare: Welfare) -> None:
    key = str(uuid.uuid4())
    body = {**NEED, "description": "同时发出的两次请求"}
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: file(welfare, key, body), range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, [a.text for a in answers]
    assert 201 in statuses
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json()["error"]["reason"] == "idempotency_key_in_use"
        assert refused.headers["Retry-After"] == "1"
    ids = {a.json()["need_id"] for a in answers if a.status_code == 201}
    assert len(ids) == 1
    assert [n["need_id"] for n in my_needs(welfare, "同时发出的两次请求")] == list(ids)
    # The app retries what was refused as still running: it gets the one answer.
    again = file(welfare, key, body)
    assert (again.status_code, again.json()["need_id"]) == (201, ids.pop())


async def crashed_after_the_write(keys: Any, route: str, key: str) -> None:
    """Leave the stored key as a crash between the use case's write and the stored answer leaves it:
    claimed (`running`), no answer, its lease over."""
    digest = hashlib.sha256(f"driver-{DRIVER}\n{route}\n{key}".encode()).hexdigest()
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    result = await keys.update_one(
        {"_id": digest, "state": "done"},
        {"$set": {"state": "running", "lease_until": long_ago}, "$unset": {"status": "", "body": ""}},
    )
    assert result.modified_count == 1


async def test_a_replay_after_a_crash_finds_the_need_and_the_rating_it_made(
    welfare: Welfare, keys: Any
) -> None:
    key = str(uuid.uuid4())
    body = {**NEED, "description": "崩溃后重放的诉求"}
    first = file(welfare, key, body)
    assert first.status_code == 201
    await crashed_after_the_write(keys, "POST /v1/needs", key)

    replay = file(welfare, key, body)
    assert replay.status_code == 201
    assert replay.json()["need_id"] == first.json()["need_id"]
    assert [n["need_id"] for n in my_needs(welfare, "崩溃后重放的诉求")] == [first.json()["need_id"]]

    need_id = first.json()["need_id"]
    welfare.solve_need(need_id)
    rating_key = str(uuid.uuid4())
    rate = {"rating": 4, "comment": "及时"}
    headers = {"Idempotency-Key": rating_key}
    rated = welfare.call("POST", f"/v1/needs/{need_id}/rating", AS_DRIVER, json=rate, headers=headers)
    assert rated.status_code == 200
    await crashed_after_the_write(keys, "POST /v1/needs/{need_id}/rating", rating_key)
    replay = welfare.call("POST", f"/v1/needs/{need_id}/rating", AS_DRIVER, json=rate, headers=headers)
    assert replay.status_code == 200, "not 'already rated': it is the same rating"
    assert replay.json()["rating"] == rated.json()["rating"]
    need = welfare.ok("GET", f"/v1/needs/{need_id}", AS_DRIVER)
    assert [h["action"] for h in need["history"]].count("rated") == 1
    # Another rating (another key) is still refused as before.
    again = welfare.call(
        "POST",
        f"/v1/needs/{need_id}/rating",
        AS_DRIVER,
        json=rate,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert (again.status_code, again.json()["error"]["reason"]) == (409, "already_rated")


def test_a_refusal_is_not_kept_so_the_fixed_request_can_run(welfare: Welfare) -> None:
    key = str(uuid.uuid4())
    refused = file(welfare, key, {"category": "lottery", "description": "填错了类别"})
    assert refused.status_code == 422
    fixed = file(welfare, key, {"category": "other", "description": "填错了类别"})
    assert fixed.status_code == 201
    assert len(my_needs(welfare, "填错了类别")) == 1
