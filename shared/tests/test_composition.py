"""Each service is put together by its `create_app` alone (ADR 0022): importing `main` builds
nothing, and the factory builds a whole app, as often as asked, without touching a server."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from roadbranch_shared.asyncapi_docs import ServiceModule, built, discover
from roadbranch_shared.service import Service

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def root_logging_kept() -> Iterator[None]:
    """A factory configures the process's logging as a service would; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


SERVICES = discover(ROOT)


def test_every_service_is_found() -> None:
    assert [s.name for s in SERVICES] == ["activities", "briefing", "identity", "notify", "roster", "welfare"]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_importing_main_builds_nothing(service: ServiceModule) -> None:
    module = importlib.import_module(f"{service.package}.main")
    made = [name for name, value in vars(module).items() if isinstance(value, Service | FastAPI)]
    assert made == [], f"{service.package}.main builds {made} at import; build them in create_app"
    assert callable(module.create_app)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_the_factory_builds_the_whole_service(service: ServiceModule) -> None:
    found = built(service)
    assert found.name == service.name
    assert found.app.state.service is found
    paths = set(found.app.openapi()["paths"])
    assert {"/health/live", "/health/ready", "/v1/whoami"} <= paths
    assert len(paths) > 5, "the service's own routes are included"
    if service.name != "briefing":
        assert found.outbox_collections, "a service that publishes has an outbox"
    reads = bool(found.broker.subscribers)
    assert reads == (service.name != "roster"), "every service but the roster reads some topic"


def test_two_apps_of_one_service_share_nothing() -> None:
    from pydantic import SecretStr
    from welfare.main import create_app
    from welfare.settings import Settings

    first = create_app(Settings(tokens=SecretStr("{}")))
    second = create_app(Settings(tokens=SecretStr("{}")))
    assert first is not second
    assert first.state.service.metrics.registry is not second.state.service.metrics.registry
    assert first.state.needs is not second.state.needs
    assert first.state.service.db is not second.state.service.db
