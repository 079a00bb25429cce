"""Identity as two processes on one database (mongo-java-server, whose filtered updates are atomic as
on MongoDB): they sign with one keyring, so a token from one is good at the other; wrong passwords
sent to both at once are all counted, so the fifth locks the username; and refreshes sent through
both while one is killed with -9 (its callers sending the same refresh token again to the other, as
a phone whose answer was lost would) keep every session alive, none taken for a stolen token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from identity_support import Identity
from pymongo import AsyncMongoClient
from replicas import Call, post_through_a_crash, with_a_replica
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.mongojava import MongoJavaServer
from roadbranch_shared.devstack.services import ServiceProcess

pytestmark = pytest.mark.integration

PASSWORD = "Fuben-mima-2026"


@pytest.fixture
def replicas(
    stack_info: StackInfo, mongo_java: MongoJavaServer, tmp_path: Path
) -> Iterator[tuple[Identity, ServiceProcess]]:
    first = Identity(
        stack_info, tmp_path, mongo_uri=mongo_java.uri, relay_lease_seconds="3", kafka_heartbeat_seconds="0.5"
    )
    with with_a_replica(first.process, tmp_path / "2.log") as second:
        yield first, second


async def test_one_keyring_and_one_lockout_across_two_replicas(
    replicas: tuple[Identity, ServiceProcess],
) -> None:
    identity, second = replicas
    staff = identity.staff(["work_group_staff"], PASSWORD)
    async with httpx.AsyncClient(timeout=60) as client:
        me = await client.get(
            second.url + "/v1/whoami", headers={"Authorization": f"Bearer {staff['access_token']}"}
        )
        assert me.status_code == 200, "signed by one replica, accepted by the other"
        refreshed = await client.post(
            second.url + "/v1/sessions/refresh", json={"refresh_token": staff["refresh_token"]}
        )
        assert refreshed.status_code == 200, refreshed.text
        assert identity.call("GET", "/v1/whoami", refreshed.json()["access_token"]).status_code == 200

        # Five wrong passwords at once, through both replicas (each refused as wrong): every one is
        # counted on the one counter, and the fifth locks the username.
        target = identity.staff(["operator"], PASSWORD)["username"]
        wrong = await asyncio.gather(
            *(
                client.post(url + "/v1/sessions", json={"username": target, "password": "Cuowu-mima-000"})
                for url in [identity.url, second.url] * 2 + [identity.url]
            )
        )
        assert [a.status_code for a in wrong] == [401] * 5
        for url in (identity.url, second.url):
            locked = await client.post(url + "/v1/sessions", json={"username": target, "password": PASSWORD})
            assert locked.status_code == 423, "even the right password, on either replica"


async def test_refreshes_through_a_replica_killed_mid_run_keep_every_session(
    replicas: tuple[Identity, ServiceProcess], mongo_java: MongoJavaServer
) -> None:
    identity, second = replicas
    staff = identity.staff(["work_group_staff"], PASSWORD)
    signed_in = [identity.sign_in(staff["username"], PASSWORD) for _ in range(24)]
    assert {s.status_code for s in signed_in} == {201}
    calls: list[Call] = [
        ("/v1/sessions/refresh", {"refresh_token": s.json()["refresh_token"]}, {}) for s in signed_in
    ]
    answers, retried = await post_through_a_crash(
        identity.url, second, calls, kill_after=8, landed=lambda a: a.status_code == 200
    )
    assert second.proc is None, "the second replica was killed during the run"
    assert retried > 0, "calls meant for the killed replica were sent again"
    # Each session goes on with the token its last answer gave, wherever that answer came from.
    for answer in answers:
        again = identity.call(
            "POST", "/v1/sessions/refresh", json={"refresh_token": answer.json()["refresh_token"]}
        )
        assert again.status_code == 200, again.text
    db = AsyncMongoClient(mongo_java.uri, tz_aware=True)[identity.database]
    sessions = [
        s async for s in db.sessions.find({"_id": {"$in": [s.json()["session_id"] for s in signed_in]}})
    ]
    assert len(sessions) == 24
    assert [s["ended_reason"] for s in sessions if s["ended_at"] is not None] == [], "none ended as reused"
