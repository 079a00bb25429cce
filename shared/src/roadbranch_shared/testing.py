"""pytest plugin: the real local Kafka and FerretDB for a test session, service processes, polling.

Loaded from the repo's root conftest. The stack is started fresh for every session in the session's
temporary folder, so no test depends on servers left over from an earlier run. `mongo_java` is a
second MongoDB-wire server (mongo-java-server, in memory, atomic) for the tests that ask for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from roadbranch_shared.devstack import Stack, StackInfo
from roadbranch_shared.devstack.kafka import SHORT_RUN_JVM_OPTIONS
from roadbranch_shared.devstack.mongojava import MongoJavaServer
from roadbranch_shared.devstack.process import DevstackError
from roadbranch_shared.devstack.services import ServiceProcess, reading_from, run_aside
from roadbranch_shared.devstack.stack import start_on_free_ports
from roadbranch_shared.kafka_tools import list_topics, read_topic, topic_ends
from roadbranch_shared.topics import PROJECT_TOPICS, ensure_topics

__all__ = ["ServiceProcess", "eventually", "list_topics", "read_topic", "reading_from_now"]

T = TypeVar("T")

# The session's stack once a test asked for it (the module fixture below must not start it).
_running: list[Stack] = []


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Kafka and FerretDB started for this session, with the project's topics created."""
    running = Stack(tmp_path_factory.mktemp("stack"), kafka_jvm_options=SHORT_RUN_JVM_OPTIONS)
    info = running.up()
    try:
        asyncio.run(ensure_topics(info.kafka_bootstrap))
        _running.append(running)
        yield running
    finally:
        _running.clear()
        running.down()


@contextmanager
def reading_from_now(info: StackInfo) -> Iterator[None]:
    """Service processes spawned in this block read the topics from this moment on: each consumer
    group they are the first to use starts at the topics' current ends (`reading_from`)."""
    topics = [topic.name for topic in PROJECT_TOPICS]
    with reading_from(run_aside(topic_ends(info.kafka_bootstrap, topics))):
        yield


@pytest.fixture(scope="module", autouse=True)
def _services_read_from_the_module_start(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test module's services read what is published from the module's start on, not the
    events every earlier module of the session left on the shared topics (which each new consumer
    group would otherwise read and skip, slower with every module). A module that starts the
    stack itself gets the mark too: the session's stack is set up before this fixture. A module of
    unit tests only starts no service and asks Kafka nothing."""
    integration = any(
        item.get_closest_marker("integration") for item in request.session.items if item.path == request.path
    )
    if not (_running and integration):
        yield
        return
    with reading_from_now(_running[0].info()):
        yield


@pytest.fixture(scope="session")
def stack_info(stack: Stack) -> StackInfo:
    return stack.info()


@pytest.fixture(scope="session")
def mongo_java(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoJavaServer]:
    """mongo-java-server for this session, started only if a test asks: a MongoDB-wire server that
    applies filtered updates atomically, for tests of several processes on one database. Never
    skipped: a server that cannot be built or started fails the tests that asked, saying why."""
    server = MongoJavaServer(tmp_path_factory.mktemp("mongojava"))
    try:
        start_on_free_ports(server)
    except DevstackError as e:
        pytest.fail(f"mongo-java-server could not start: {e}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


async def eventually(
    check: Callable[[], Awaitable[T]],
    *,
    timeout: float = 90.0,  # noqa: ASYNC109 (a polling deadline, not a cancellation scope)
    interval: float = 0.1,
    message: str = "condition",
) -> T:
    """Poll `check` until it returns something truthy; fail with `message` and the last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}; last value: {last!r}")
